#!/usr/bin/env bash
# DIN against DeepFM on ml100k-implicit, ember beside its fair peer
# (scripts/torch_implicit_din.py: both models in PyTorch on exactly ember's
# rows, written by `ember rows`), interleaved per seed in one sitting:
# ember DeepFM, PyTorch DeepFM, ember DIN (softmax weights), with DIN_RAW=1
# ember DIN with the paper's raw weights (`model.din_softmax=false`), then
# PyTorch DIN, built as the preset builds it (its din_interest_product,
# din_keep_mean, din_first_order and din_fm keys, and either preset's
# train.embedding_l2, become the peer's flags). After each seed,
# `ember compare` gives DeLong's paired test of DIN against DeepFM on the
# test rows, for ember's pair (their artifacts) and the peer's (the scores
# its --test-scores wrote), into OUT/compare.log. Run logs and summaries go
# to OUT.
# Usage: [DIN_RAW=1] [PEER=0] scripts/din_vs_deepfm.sh OUT SEED... (e.g. OUT 42 1)
# PEER=0 leaves the PyTorch runs out (ember's two models alone).
set -euo pipefail
out=$1; shift
bin=${EMBER_BIN:-target/debug/ember}
mkdir -p "$out"
din_flags=()
preset_key() { grep -Eq "^$1 *= *true" configs/ml100k-implicit/din.toml; }
if preset_key din_interest_product; then din_flags+=(--interest-product); fi
if preset_key din_keep_mean; then din_flags+=(--keep-mean); fi
if preset_key din_first_order; then din_flags+=(--first-order); fi
if preset_key din_fm; then din_flags+=(--fm); fi
# A preset's `embedding_l2` (the touched-row L2) becomes the peer's flag.
l2_flag() { # preset
  local l2
  l2=$(sed -nE 's/^embedding_l2 *= *([0-9.eE+-]+).*/\1/p' "$1")
  if [ -n "$l2" ]; then echo "--embedding-l2 $l2"; fi
}
deepfm_l2=$(l2_flag configs/ml100k-implicit/deepfm.toml)
din_l2=$(l2_flag configs/ml100k-implicit/din.toml)
if [ "${PEER:-1}" != 0 ]; then
  # Fail before the first run, not after it: a sitting without its peer
  # is not the comparison this script exists for.
  if ! python3 -c "import torch" 2>/dev/null; then
    echo "the PyTorch peer needs torch (pip install torch), or run with PEER=0" >&2
    exit 2
  fi
  "$bin" rows --config configs/ml100k-implicit/deepfm.toml --out "$out/rows" >&2
fi
for seed in "$@"; do
  run_ember() { # name config overrides...
    local name=$1 cfg=$2; shift 2
    "$bin" train --config "$cfg" --device cpu --set train.seed="$seed" \
      --set output_dir="\"$out/runs/$name-s$seed\"" "$@" \
      --summary "$out/$name-s$seed.json" > "$out/$name-s$seed.log" 2>&1
    jq -c --arg n "$name" --arg s "$seed" \
      '{run: $n, seed: $s, test_auc: .test.auc, test_gauc: .test.gauc, logloss: .test.logloss, valid_auc: .valid.auc, best_epoch, seconds: .train_seconds}' \
      "$out/$name-s$seed.json" | tee -a "$out/results.jsonl"
  }
  run_torch() { # model flags...
    if [ "${PEER:-1}" = 0 ]; then return; fi
    python3 scripts/torch_implicit_din.py "$out/rows" --model "$@" --seed "$seed" \
      --test-scores "$out/torch-$1-s$seed.scores.csv" 2>>"$out/torch.err" \
      | tee -a "$out/torch.log"
  }
  run_ember deepfm configs/ml100k-implicit/deepfm.toml
  # shellcheck disable=SC2086 # the flag and its value, or nothing
  run_torch deepfm $deepfm_l2
  run_ember din configs/ml100k-implicit/din.toml
  if [ "${DIN_RAW:-0}" = 1 ]; then
    run_ember din-raw configs/ml100k-implicit/din.toml --set model.din_softmax=false
  fi
  # shellcheck disable=SC2086
  run_torch din "${din_flags[@]}" $din_l2
  {
    echo "seed $seed, ember: DIN (A) against DeepFM (B)"
    "$bin" compare --device cpu --model "$out/runs/din-s$seed/ml100k-implicit-din/artifact" \
      --model "$out/runs/deepfm-s$seed/ml100k-implicit-deepfm/artifact"
    if [ "${PEER:-1}" != 0 ]; then
      echo "seed $seed, the PyTorch peer: DIN (A) against DeepFM (B)"
      "$bin" compare --scores "$out/torch-din-s$seed.scores.csv" \
        --scores "$out/torch-deepfm-s$seed.scores.csv"
    fi
  } 2>&1 | tee -a "$out/compare.log"
done
