#!/usr/bin/env bash
# The feed experiment end to end: the learned mixer (DQN-GRU) and the best
# fixed mix as two arms of one served pipeline, simulated users browsing it
# over loopback (/recommend, /feedback), then `ember experiment report`;
# beside it `ember mixer eval` scores the same policies offline on the same
# held-out session stream. Writes OUT/report.md and OUT/report.json.
# Usage: scripts/feed_experiment.sh [OUT] [RUNS] [SESSIONS]
#        (defaults: reports/feed, runs, 10000)
set -euo pipefail
out=${1:-reports/feed}
runs=${2:-runs}
sessions=${3:-10000}
port=${EMBER_FEED_PORT:-18080}
bin=${EMBER_BIN:-}
if [[ -z "$bin" ]]; then
  cargo build --workspace --all-targets
  bin="${CARGO_TARGET_DIR:-target}/debug/ember"
fi
mkdir -p "$out" "$runs"
mixer="$runs/mixer-dqn-gru/artifact"
if [[ ! -f "$mixer/manifest.json" ]]; then
  "$bin" mixer train --config configs/mixer/dqn_gru.toml --set "output_dir=\"$runs\""
fi
"$bin" mixer eval --model "$mixer" --sessions 10000 --tuning-sessions 2000 --out "$runs/feed-offline"
best=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(','.join(str(s) for s in r['best_mix']))" "$runs/feed-offline/report.json")
"$bin" feed catalog --out "$runs/feed" --mixer "$mixer" --fixed-mix "$best"
rm -rf "$runs/feed/log"
"$bin" serve --pipeline "$runs/feed/pipeline.toml" --addr "127.0.0.1:$port" \
  --feedback-log "$runs/feed/log" 2> "$runs/feed/serve.log" &
server=$!
trap 'kill $server 2> /dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
  sleep 0.5
done
"$bin" feed simulate --addr "127.0.0.1:$port" --sessions "$sessions" --connections 2
kill $server
"$bin" experiment report --log "$runs/feed/log" --pipeline "$runs/feed/pipeline.toml" \
  --control fixed-mix --out "$out" > /dev/null
{
  printf '\n%s simulated sessions (held-out stream of `ember mixer eval`) over loopback, in the same sitting as the offline evaluation below; fixed mix %s.\n' \
    "$sessions" "$best"
  printf 'Each simulated user is new (no history), so the interest metrics are 0 and unexpectedness 1 by definition.\n'
  printf '\nOffline, the same policies on 10,000 sessions of the same stream (`ember mixer eval`):\n\n'
  sed -n '/^| policy /,/^$/p' "$runs/feed-offline/report.md" | grep -E '^\|(---| policy | best fixed mix | DQN-GRU )'
  python3 - "$out/report.json" "$runs/feed-offline/report.json" <<'PY'
import json, sys
online = {a["arm"]: a["clicks_per_session"]["value"] for a in json.load(open(sys.argv[1]))["arms"]}
offline = {p["policy"]: p for p in json.load(open(sys.argv[2]))["policies"]}
print()
for arm, policy in [("mixer", "DQN-GRU"), ("fixed-mix", "best fixed mix")]:
    p = offline[policy]
    low, high = p["mean_clicks"] - p["ci95"], p["mean_clicks"] + p["ci95"]
    inside = "inside" if low <= online[arm] <= high else "OUTSIDE"
    print(f"- served arm `{arm}`: {online[arm]:.3f} clicks/session, {inside} the offline 95% CI of {policy} [{low:.3f}, {high:.3f}]")
lift = online["mixer"] / online["fixed-mix"] - 1
off = offline["DQN-GRU"]["mean_clicks"] / offline["best fixed mix"]["mean_clicks"] - 1
print(f"- served lift {100 * lift:+.1f}%, offline {100 * off:+.1f}%")
PY
} >> "$out/report.md"
cat "$out/report.md"
