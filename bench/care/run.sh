#!/usr/bin/env bash
# Follow-up visits at scale: generate CUSTOMERS customers (two units each) with `aftersales gen`,
# then
#   1. time `aftersales visits plan` for a year of visits (from 30 days ago, so the queue has
#      missed visits too) and once more (the idempotent re-run: every visit exists already),
#   2. serve and load the agents' queue with wrk on loopback: the dispatcher's region queue
#      page (HTML), the manager's all-regions queue page, the missed view, and the JSON API.
#   bench/care/run.sh [--postgres] [CUSTOMERS]     # default 100000, SQLite
#   bench/care/run.sh 1000000                      # the issue's size
# --postgres uses a fresh database on 127.0.0.1:5432 (user postgres, trust), dropped at the end
# unless KEEP=1. REUSE=DATABASE_URL measures the pages again on a data set kept earlier (KEEP=1):
# no generation and no planning. Before the load the bench waits (at most 10 minutes) for the
# server's first background passes: the maintenance reminders that came due mailed and the
# outbox drained, so the pages are measured in the steady state, not beside a start-up burst.
# DURATION (default 10s) bounds each wrk run. Writes
# bench/results/care-CUSTOMERS-BACKEND-DATE.md. Needs wrk, curl, bc, sqlite3/psql.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=sqlite
SIZES=()
for a in "$@"; do
  case $a in
    --postgres) BACKEND=postgres ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) SIZES+=("$a") ;;
  esac
done
CUSTOMERS=${SIZES[0]:-100000}
UNITS=$(( CUSTOMERS * 2 ))
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18097}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK=$(mktemp -d)
PGDB=""
if [ -n "${REUSE:-}" ]; then
  export DATABASE_URL="$REUSE"
  case $REUSE in
    postgres*) BACKEND=postgres; PGNAME=$(basename "${REUSE%%\?*}")
      sql() { psql -Atq -h 127.0.0.1 -U postgres -d "$PGNAME" -F' ' -c "$1"; } ;;
    *) BACKEND=sqlite; SQLITE_FILE=${REUSE#sqlite://}; SQLITE_FILE=${SQLITE_FILE%%\?*}
      sql() { sqlite3 -separator ' ' "$SQLITE_FILE" "$1"; } ;;
  esac
elif [ "$BACKEND" = postgres ]; then
  PGDB="as_bench_$$"
  PGNAME=$PGDB
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
  sql() { psql -Atq -h 127.0.0.1 -U postgres -d "$PGDB" -F' ' -c "$1"; }
else
  export DATABASE_URL="sqlite://$WORK/bench.db"
  sql() { sqlite3 -separator ' ' "$WORK/bench.db" "$1"; }
fi
export AFTERSALES_LOG=warn AFTERSALES_FILES_DIR="$WORK/files"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept: $DATABASE_URL" >&2
  else
    [ -n "$PGDB" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

if [ -n "${REUSE:-}" ]; then
  echo "reused $(echo "$REUSE" | sed 's/:[^:@]*@/:…@/') (generated and planned earlier)" > "$WORK/gen.txt"
  FROM=$(sql "SELECT MIN(due_on) FROM visit_tasks")
  TO=$(sql "SELECT MAX(due_on) FROM visit_tasks")
  PLAN1="not run (reused data)"; PLAN1_S=0; PLAN2="not run"; PLAN2_S=0
else
  "$BIN" demo >/dev/null
  "$BIN" gen --customers "$CUSTOMERS" --units "$UNITS" --orders 0 --seed 1 --append | tee "$WORK/gen.txt"
  FROM=$(date -d '30 days ago' +%Y-%m-%d)
  TO=$(date -d "$FROM + 1 year - 1 day" +%Y-%m-%d)
  START=$(date +%s.%N)
  PLAN1=$("$BIN" visits plan --from "$FROM" --to "$TO" 2>/dev/null | tail -n 1)
  PLAN1_S=$(echo "$(date +%s.%N) - $START" | bc)
  echo "$PLAN1 ($PLAN1_S s wall)"
  START=$(date +%s.%N)
  PLAN2=$("$BIN" visits plan --from "$FROM" --to "$TO" 2>/dev/null | tail -n 1)
  PLAN2_S=$(echo "$(date +%s.%N) - $START" | bc)
  echo "again: $PLAN2 ($PLAN2_S s wall)"
fi
TASKS=$(sql "SELECT COUNT(*) FROM visit_tasks")
BY_RULE=$(sql "SELECT rule_code, COUNT(*) FROM visit_tasks GROUP BY rule_code ORDER BY 2 DESC" | tr '\n' ';' | sed 's/;/; /g')
if [ "$BACKEND" = postgres ]; then
  DB_SIZE=$(psql -Atq -h 127.0.0.1 -U postgres -d postgres -c "SELECT pg_size_pretty(pg_database_size('$PGNAME'))")
else
  DB_SIZE=$(du -sh "${SQLITE_FILE:-$WORK/bench.db}" | cut -f1)
fi
TOKEN=$("$BIN" token create --login dispatcher --name bench)

"$BIN" serve --listen 127.0.0.1:$PORT >"$WORK/server.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 400); do curl -fs -o /dev/null "$BASE/healthz" && break; sleep 0.025; done
rss() { awk -v k="$1:" '$1 == k {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
# The first passes after a start: reminders due by today mailed (to the outbox), outbox drained.
TODAY=$(date +%Y-%m-%d)
WAITED=0
until [ "$(sql "SELECT (SELECT COUNT(*) FROM visit_tasks WHERE unit_id IS NOT NULL AND notified IS NULL AND due_on <= '$TODAY') + (SELECT COUNT(*) FROM outbox WHERE status = 'pending')")" = 0 ] || [ $WAITED -ge 600 ]; do
  sleep 2; WAITED=$((WAITED + 2))
done
sleep 2
WAITED=$((WAITED + 2))
RSS_REST=$(rss VmRSS)
cookie() {
  curl -fs -o /dev/null -c "$WORK/cookies-$1" -d "login=$1&password=demo1234" "$BASE/login"
  awk '$6 == "as_sid" {print $6 "=" $7}' "$WORK/cookies-$1" | head -1
}
DISPATCHER=$(cookie dispatcher)
MANAGER=$(cookie manager)
[ -n "$DISPATCHER" ] && [ -n "$MANAGER" ] || { echo "could not sign in" >&2; exit 1; }

# name | paths | header
SCENARIOS=(
  "dispatcher's queue page, own region, due this week (HTML)|/visits|Cookie: $DISPATCHER"
  "manager's queue page, all regions (HTML)|/visits|Cookie: $MANAGER"
  "missed visits page, own region (HTML)|/visits?view=missed|Cookie: $DISPATCHER"
  "queue API, own region, 50 a page|/api/v1/visits?view=due&limit=50|Authorization: Bearer $TOKEN"
)
RESULTS=()
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r name paths header <<<"$s"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$header" "$BASE${paths%% *}")
  [ "$code" = 200 ] || { echo "$name: answered $code" >&2; exit 1; }
  echo "== $name" >&2
  line=$(WRK_PATHS="$paths" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$header" -s bench/archive/scenario.lua "$BASE" | grep '^RESULT')
  read -r _ reqs secs p50 p95 p99 max errs <<<"$line"
  rps=$(echo "scale=0; $reqs / $secs" | bc)
  RESULTS+=("| $name | $rps | $p50 | $p95 | $p99 | $max | $errs |")
  echo "   $rps req/s, p50 $p50 ms, p95 $p95 ms, p99 $p99 ms, errors $errs" >&2
done
RSS_AFTER=$(rss VmRSS)
RSS_PEAK=$(rss VmHWM)

OUT=$(bench/result-path "bench/results/care-$CUSTOMERS-$BACKEND-$(date +%Y-%m-%d)")
{
  echo "# Follow-up visits at $CUSTOMERS customers, $BACKEND ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Command: \`bench/care/run.sh $*\`; $(nproc) cores, release build, loopback; wrk on the same machine"
  echo "(\`wrk -t2 -c$CONNECTIONS -d$DURATION --latency\`)."
  echo
  echo "- Data: $(tail -n 1 "$WORK/gen.txt")"
  echo "- A year of visits ($FROM to $TO): $PLAN1 — $PLAN1_S s wall."
  echo "- The same year again: $PLAN2 — $PLAN2_S s wall."
  echo "- Visit tasks stored: $TASKS ($BY_RULE); database $DB_SIZE."
  echo "- The server's first background passes (reminders due, outbox) settled after $WAITED s; the load started then."
  echo "- Server RSS: $RSS_REST MiB at rest, $RSS_AFTER MiB after the load, peak $RSS_PEAK MiB."
  echo
  echo "| scenario | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
} > "$OUT"
echo "wrote $OUT"
