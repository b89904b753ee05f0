#!/usr/bin/env bash
# Peak memory of reading the input: one process against each of N ranks
# reading their shares (README, "Distributed training", Data). Writes a
# Criteo-like TSV of ROWS rows (default 1 M, 274 MB) under a temporary
# directory, trains LR for one epoch on it once in one process and once on
# N ranks (default 2), and prints every process's peak RSS (GNU time).
set -euo pipefail
ranks=${1:-2}
rows=${ROWS:-1000000}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${EMBER_BIN:-$here/target/debug/ember}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$rows" "$work" <<'PY'
import random, sys
rows, out = int(sys.argv[1]), sys.argv[2]
random.seed(1)
cards = [1000, 5000, 20000, 200000, 50000, 100, 10, 3000, 70000, 1000000] * 3
def write(path, n):
    with open(path, "w") as f:
        for _ in range(n):
            c = [random.randrange(cards[j]) for j in range(26)]
            x = [random.randrange(100) for _ in range(13)]
            logit = (c[0] % 7 - 3) * 0.3 + (x[0] - 50) / 50.0
            y = 1 if random.random() < 1 / (1 + 2.718 ** -logit) else 0
            f.write(f"{y}\t" + "\t".join(map(str, x)) + "\t" + "\t".join("%08x" % v for v in c) + "\n")
write(f"{out}/train.tsv", rows)
write(f"{out}/test.tsv", rows // 20)
PY
cat > "$work/lr.toml" <<TOML
name = "input-memory"
output_dir = "$work/runs"
device = "flex"
[data]
source = "criteo-tsv"
train = "$work/train.tsv"
valid = "$work/test.tsv"
test = "$work/test.tsv"
[model]
kind = "lr"
[train]
epochs = 1
batch_size = 4096
lr = 1e-2
embedding_update = "row_sparse"
TOML
echo "train file: $(du -h "$work/train.tsv" | cut -f1), $rows rows"
/usr/bin/time -f "1 process: peak RSS %M KiB" "$bin" train --config "$work/lr.toml" --set 'name="one"' 2>&1 | grep "peak RSS"
RAYON_NUM_THREADS=1 "$here/scripts/mpirun.sh" -np "$ranks" \
    /usr/bin/time -f "a rank of $ranks: peak RSS %M KiB" "$bin" train --distributed --config "$work/lr.toml" --set 'name="ranks"' 2>&1 | grep "peak RSS"
