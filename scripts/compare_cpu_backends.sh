#!/usr/bin/env bash
# Trains the same preset for a fixed number of epochs on flex and on ndarray
# (same seed, same data) and prints each backend's training throughput and
# test AUC, with ndarray's throughput as a ratio of flex's.
# Usage: scripts/compare_cpu_backends.sh [CONFIG] [EPOCHS]
set -euo pipefail
config=${1:-configs/frappe-ctr/deepfm.toml}
epochs=${2:-2}
bin=${EMBER_BIN:-target/debug/ember}
out=$(mktemp -d)
for device in flex ndarray; do
  "$bin" train --config "$config" --device "$device" \
    --set "train.epochs=$epochs" --set "output_dir=\"$out\"" --set "name=\"$device\"" \
    --summary "$out/$device.json" >/dev/null 2>&1
done
python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
r = {k: json.load(open(f"{d}/{k}.json")) for k in ("flex", "ndarray")}
for k, s in r.items():
    print(f"{k:8} {s['train_samples_per_second']:>10.0f} train samples/s  test AUC {s['test']['auc']:.4f}")
print(f"ndarray / flex throughput: {r['ndarray']['train_samples_per_second'] / r['flex']['train_samples_per_second']:.2f}x")
PY
rm -rf "$out"
