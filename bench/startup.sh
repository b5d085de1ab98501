#!/usr/bin/env bash
# Cold start to first served request and resident memory at rest, release build, SQLite.
#   bench/startup.sh            # writes bench/results/startup-DATE.md and prints it
# Cases: a new (empty) database, which is created and migrated; a new database with the demo
# loaded on start (--demo); and a restart on that existing demo database.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK=$(mktemp -d)
PORT=18181
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

now_ms() { date +%s%3N; }

# start_and_measure NAME ARGS... : prints "NAME | ms to first /healthz 200 | RSS KiB after 3 s idle"
start_and_measure() {
  local name=$1; shift
  local t0 pid ms rss
  t0=$(now_ms)
  (cd "$WORK" && exec "$BIN" serve --listen 127.0.0.1:$PORT "$@" >/dev/null 2>&1) &
  pid=$!
  for _ in $(seq 1 2000); do
    if curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"; then break; fi
    sleep 0.005
  done
  ms=$(( $(now_ms) - t0 ))
  sleep 3
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  kill -TERM $pid; wait $pid || true
  printf '| %s | %d | %d |\n' "$name" "$ms" "$((rss / 1024))"
}

OUT=$(bench/result-path "bench/results/startup-$(date +%Y-%m-%d)")
{
  echo "# Start-up and memory at rest ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build, SQLite)"
  echo
  echo "| case | cold start to first /healthz 200 (ms) | RSS at rest (MiB) |"
  echo "|---|---|---|"
  rm -rf "$WORK/data"; start_and_measure "new empty database (create + migrate)"
  rm -rf "$WORK/data"; start_and_measure "new database, demo loaded on start (8 argon2 hashes)" --demo
  start_and_measure "restart on the existing demo database"
  echo
  echo "Measured from process spawn until curl gets 200 from /healthz (curl polling every 5 ms adds up to ~5 ms)."
} | tee "$OUT"
