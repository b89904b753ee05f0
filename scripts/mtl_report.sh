#!/usr/bin/env bash
# The multi-task benchmark report in one command: mmoe-synthetic (shared-
# bottom / MMoE / CGC over p = 1, 0.9, 0.5, 0), ESMM vs a clicked-only CVR
# model, and fixed / GradNorm / PCGrad on ml100k-ctr. Writes REPORT.md, an
# SVG plot and JSON lines of every run under OUT (default runs/bench-mtl).
# Usage: scripts/mtl_report.sh [OUT] [SEEDS]
set -euo pipefail
out=${1:-runs/bench-mtl}
seeds=${2:-5}
bin=${EMBER_BIN:-target/debug/ember}
"$bin" bench-mtl all --seeds "$seeds" --out "$out" --device cpu
