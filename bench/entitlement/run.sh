#!/usr/bin/env bash
# Throughput of POST /api/v1/entitlement/evaluate on loopback, release build, SQLite.
#   bench/entitlement/run.sh [DURATION] [CONNECTIONS]     # defaults 10s 32
# Writes bench/results/entitlement-DATE.md and prints it. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10s}
CONNECTIONS=${2:-32}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK=$(mktemp -d)
PORT=18182
export DATABASE_URL="sqlite://$WORK/bench.db"
export AFTERSALES_LOG=warn
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN" demo >/dev/null
TOKEN=$("$BIN" token create --login engineer --name bench)
export TOKEN
"$BIN" serve --listen 127.0.0.1:$PORT >/dev/null 2>&1 &
for _ in $(seq 1 400); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.025; done

URL="http://127.0.0.1:$PORT/api/v1/entitlement/evaluate"
# The answer must be a decision, not an error.
curl -fs -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  --data-binary "$(sed -n '/^wrk.body = \[\[/,/\]\]$/p' bench/entitlement/post.lua | sed -e 's/^wrk.body = \[\[//' -e 's/\]\]$//')" \
  "$URL" | grep -q '"decisions"'

wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/entitlement/post.lua "$URL" | tee "$WORK/wrk.txt"

OUT=$(bench/result-path "bench/results/entitlement-$(date +%Y-%m-%d)")
{
  echo "# POST /api/v1/entitlement/evaluate ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build, SQLite, loopback)"
  echo
  echo "Command: \`wrk -t2 -c$CONNECTIONS -d$DURATION -s bench/entitlement/post.lua $URL\` (bearer token, built-in policy,"
  echo "five-entry history; wrk runs on the same two cores as the server)."
  echo
  echo '```'
  cat "$WORK/wrk.txt"
  echo '```'
} > "$OUT"
echo "wrote $OUT"
