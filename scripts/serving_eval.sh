#!/usr/bin/env bash
# Everything behind reports/serving/: trains the three ml100k artifacts the
# pipeline preset uses (skipped when present), then
#   - the offline table (two-tower + co-occurrence + popular recall → LR →
#     DeepFM → each re-ranker) on the 943 test users,
#   - the serving benchmark (fine ranking latency, DPP ratio, hashing rate),
#   - the loopback load test (10,000 clean + 10,000 with 10% malformed).
# Dev profile: ember-infer is optimised even there (see Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --all-targets >&2
target=${CARGO_TARGET_DIR:-target}
ember="$target/debug/ember"
for preset in ml100k-retrieval/two_tower ml100k-implicit/lr ml100k-implicit/deepfm; do
    name=$(grep -m1 '^name' "configs/$preset.toml" | cut -d'"' -f2)
    [ -f "runs/$name/artifact/manifest.json" ] || "$ember" train --config "configs/$preset.toml" --device cpu
done
mkdir -p reports/serving
"$ember" eval-serving --pipeline configs/serving/ml100k.toml --out reports/serving
"$ember" bench-serving --out runs/bench/serving.json | tee reports/serving/bench.txt
"$ember" load-test --pipeline configs/serving/ml100k.toml | tee reports/serving/load_test.txt
