#!/usr/bin/env bash
# The criteo-synth benchmark on a GPU machine: ember on wgpu (dense and
# row-sparse embeddings, batches 1024/4096/16384) and the PyTorch reference
# (../shared/bench/torch_deepfm.py, eager and compiled) side by side, on the
# same machine in one run.
#
# Usage: scripts/bench_gpu.sh [OUT_DIR]
#   EMBER_BIN     the ember binary (default: target/release/ember, else target/debug/ember)
#   TORCH_BENCH   path of torch_deepfm.py (default: ../shared/bench/torch_deepfm.py)
# On a machine without Vulkan loaders, install libvulkan1 first (see
# /work/.library/device/README.md for carrying them to the lent GPU machine).
set -euo pipefail
out=${1:-runs/bench}
mkdir -p "$out"
bin=${EMBER_BIN:-}
if [[ -z "$bin" ]]; then
  if [[ -x target/release/ember ]]; then bin=target/release/ember; else bin=target/debug/ember; fi
fi
torch_bench=${TORCH_BENCH:-../shared/bench/torch_deepfm.py}

echo "== ember (wgpu)"
"$bin" bench --device wgpu --embeddings dense,row_sparse --batch 1024,4096,16384 \
  --out "$out/ember_wgpu.json" | tee "$out/ember_wgpu.txt"

if [[ -f "$torch_bench" ]] && python3 -c 'import torch' 2>/dev/null; then
  for mode in eager compile; do
    echo "== PyTorch ($mode)"
    python3 "$torch_bench" cuda 100 "$mode" | tee "$out/torch_$mode.txt"
  done
else
  echo "PyTorch or $torch_bench not available: skipping the reference" >&2
fi

echo "== vocabulary scaling (wgpu, row-sparse, batch 4096)"
"$bin" bench --device wgpu --embeddings dense,row_sparse --batch 4096 \
  --vocab 10000,100000,1000000,10000000 --out "$out/ember_wgpu_vocab.json" | tee "$out/ember_wgpu_vocab.txt"
