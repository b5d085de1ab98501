#!/usr/bin/env bash
# Work orders at scale: generate two years of orders with `aftersales gen`, then load the get,
# filtered-list, dispatch-board, survey-answer and create paths with wrk on loopback.
#   bench/orders/run.sh [--postgres] [ORDERS]            # default 10000, SQLite
#   bench/orders/run.sh 1000000                          # the issue's size
#   DURATION=20s CONNECTIONS=32 bench/orders/run.sh --postgres 1000000
# Customers are ORDERS/10 (at least 1,000), units twice that, 200 engineers over the regions.
# --postgres uses a fresh database on 127.0.0.1:5432 (user postgres, trust), dropped at the end
# unless KEEP=1. Writes bench/results/orders-ORDERS-BACKEND-DATE.md. Needs wrk, curl, sqlite3/psql.
# REUSE=NAME reruns the scenarios on a data set kept by an earlier KEEP=1 run (the PostgreSQL
# database NAME, or the SQLite file NAME) without generating it again; it is kept afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=sqlite
SIZES=()
for a in "$@"; do
  case $a in
    --postgres) BACKEND=postgres ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) SIZES+=("$a") ;;
  esac
done
ORDERS=${SIZES[0]:-10000}
CUSTOMERS=$(( ORDERS / 10 > 1000 ? ORDERS / 10 : 1000 ))
UNITS=$(( CUSTOMERS * 2 ))
ENGINEERS=${ENGINEERS:-200}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18284}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK=$(mktemp -d)
PGDB=""
REUSE=${REUSE:-}
if [ "$BACKEND" = postgres ]; then
  PGDB="${REUSE:-as_bench_$$}"
  [ -n "$REUSE" ] || psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
  sql() { psql -Atq -h 127.0.0.1 -U postgres -d "$PGDB" -F: -c "$1"; }
else
  DBFILE="${REUSE:-$WORK/bench.db}"
  export DATABASE_URL="sqlite://$DBFILE"
  sql() { sqlite3 -separator : "$DBFILE" "$1"; }
fi
export AFTERSALES_LOG=warn AFTERSALES_FILES_DIR="$WORK/files"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  if [ -n "$REUSE" ]; then
    rm -rf "$WORK" # only this run's logs: the data set is elsewhere, and stays
  elif [ "${KEEP:-0}" = 1 ]; then
    echo "kept: $DATABASE_URL" >&2
  else
    [ -n "$PGDB" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

if [ -z "$REUSE" ]; then
  "$BIN" demo >/dev/null
  GEN_START=$(date +%s.%N)
  "$BIN" gen --customers "$CUSTOMERS" --units "$UNITS" --orders "$ORDERS" --engineers "$ENGINEERS" --seed 1 --append | tee "$WORK/gen.txt"
  GEN_S=$(echo "$(date +%s.%N) - $GEN_START" | bc)
  # The dashboard's figures of the generated days, before serving: the server's first refresh
  # would otherwise backfill them while the load runs (a one-off after generation or upgrade).
  REFRESH_START=$(date +%s.%N)
  "$BIN" dashboard refresh >/dev/null 2>&1
  REFRESH_S=$(echo "$(date +%s.%N) - $REFRESH_START" | bc)
fi
if [ "$BACKEND" = postgres ]; then
  DB_SIZE=$(psql -Atq -h 127.0.0.1 -U postgres -d postgres -c "SELECT pg_size_pretty(pg_database_size('$PGDB'))")
else
  DB_SIZE=$(du -sh "$DBFILE" | cut -f1)
fi
TOKEN=$("$BIN" token create --login manager --name bench)
IDS=$(sql "SELECT id FROM work_orders ORDER BY random() LIMIT 64" | tr '\n' ' ')
# Creates go to 5,000 random units: a unit gets a handful of new requests in a run, as on a
# busy day, rather than hundreds each (which would make every create read a long history).
PAIRS=$(sql "SELECT id, customer_id FROM units ORDER BY random() LIMIT 5000" | tr '\n' ' ')
ENGS=$(sql "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id AND r.role = 'engineer' ORDER BY u.id LIMIT 16" | tr '\n' ' ')
MONTH_AGO=$(date -d '30 days ago' +%Y-%m-%d)

"$BIN" serve --listen 127.0.0.1:$PORT >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 400); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.025; done
BASE="http://127.0.0.1:$PORT"
rss() { awk -v k="$1:" '$1 == k {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
# At rest means after the start-up passes: on a freshly generated data set the visit planner's
# first pass plans the look-ahead for every customer. Its peak is kept apart from the load's
# (writing 5 to clear_refs resets the kernel's peak RSS of the process).
# The pass is over when the stored watermark reaches the 14-day look-ahead (13 days here, so
# the company's time zone cannot make it wait for a day that is not yet "today" there).
AHEAD=$(date -d '13 days' +%Y-%m-%d)
STARTED=$(date +%s)
until [ "$(sql "SELECT planned_to FROM visit_schedule WHERE id = 1")" \> "$AHEAD" ] || [ $(( $(date +%s) - STARTED )) -ge 300 ]; do
  sleep 1
done
START_S=$(( $(date +%s) - STARTED ))
# At rest: no request for 25 s, so the idle job (src/jobs/idle.rs, after 10 quiet seconds) has
# dropped the page caches.
sleep 25
RSS_REST=$(rss VmRSS)
RSS_START_PEAK=$(rss VmHWM)
echo 5 > "/proc/$SERVER/clear_refs" 2>/dev/null || true
# The peak of each scenario (reset before each), and the highest of them all.
PEAK_ALL=0
peak() { P=$(rss VmHWM); if [ "$P" -gt "$PEAK_ALL" ]; then PEAK_ALL=$P; fi; }
curl -fs -o /dev/null -c "$WORK/cookies" -d 'login=manager&password=demo1234' "$BASE/login"
COOKIE="$(awk '$6 == "as_sid" {print $6 "=" $7}' "$WORK/cookies" | head -1)"
[ -n "$COOKIE" ] || { echo "could not sign in for the page scenarios" >&2; exit 1; }

GETS=""; for i in $IDS; do GETS+="/api/v1/work-orders/$i "; done
BY_ENGINEER=""; for e in $ENGS; do BY_ENGINEER+="/api/v1/work-orders?engineer_id=$e&kind=repair&limit=50 "; done
OPEN="/api/v1/work-orders?status=open,assigned,accepted&region=east&limit=50 /api/v1/work-orders?status=on_site&limit=50 /api/v1/work-orders?overdue=1&limit=50"
RECENT="/api/v1/work-orders?from=$MONTH_AGO&category=air_conditioner&limit=50 /api/v1/work-orders?from=$MONTH_AGO&region=south&limit=50"
PAGES=""; for i in $(echo "$IDS" | cut -d' ' -f1-16); do PAGES+="/work-orders/$i "; done

# name | paths | header | connections
SCENARIOS=(
  "get one order (API)|$GETS|auth|$CONNECTIONS"
  "list: open orders of a region, status, overdue|$OPEN|auth|$CONNECTIONS"
  "list: one engineer's repairs|$BY_ENGINEER|auth|$CONNECTIONS"
  "list: last 30 days by category or region|$RECENT|auth|$CONNECTIONS"
  "order web page (HTML)|$PAGES|cookie|$CONNECTIONS"
  "dispatch board, $ENGINEERS engineers, one week (HTML, 1 connection)|/dispatch|cookie|1"
)
RESULTS=()
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r name paths kind conns <<<"$s"
  if [ "$kind" = cookie ]; then H="Cookie: $COOKIE"; else H="Authorization: Bearer $TOKEN"; fi
  first=${paths%% *}
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" "$BASE$first")
  [ "$code" = 200 ] || { echo "$name: $first answered $code" >&2; exit 1; }
  echo "== $name" >&2
  echo 5 > "/proc/$SERVER/clear_refs" 2>/dev/null || true
  line=$(WRK_PATHS="$paths" wrk -t"$(( conns > 1 ? 2 : 1 ))" -c"$conns" -d"$DURATION" --latency -H "$H" -s bench/archive/scenario.lua "$BASE" | grep '^RESULT')
  read -r _ reqs secs p50 p95 p99 max errs <<<"$line"
  rps=$(echo "scale=0; $reqs / $secs" | bc)
  peak
  RESULTS+=("| $name | $rps | $p50 | $p95 | $p99 | $max | $errs | $P |")
  echo "   $rps req/s, p50 $p50 ms, p95 $p95 ms, p99 $p99 ms, errors $errs" >&2
done
# Customers answering their survey links (no account): every request answers another link.
sql "SELECT token FROM surveys WHERE kind = 'job' AND answered_at IS NULL ORDER BY random() LIMIT 300000" >"$WORK/tokens.txt"
LINKS=$(wc -l <"$WORK/tokens.txt")
if [ "$LINKS" -gt 0 ]; then
  echo "== answer a survey link ($LINKS unanswered links)" >&2
  echo 5 > "/proc/$SERVER/clear_refs" 2>/dev/null || true
  line=$(WRK_TOKENS="$WORK/tokens.txt" WRK_THREADS=2 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/orders/answer.lua "$BASE" | grep '^RESULT')
  read -r _ reqs secs p50 p95 p99 max errs out <<<"$line"
  rps=$(echo "scale=0; $reqs / $secs" | bc)
  # A thread that used up its links stopped early: the count is not a rate over the run.
  [ "$out" = 1 ] && rps="links ran out after $reqs answers"
  peak
  RESULTS+=("| customer answers a survey link (public API, every request another link of $LINKS unanswered) | $rps | $p50 | $p95 | $p99 | $max | $errs | $P |")
  echo "   $rps req/s, p50 $p50 ms, p95 $p95 ms, p99 $p99 ms, errors $errs" >&2
fi
# Creates last: they add orders. Requests arriving together are written in groups (see
# src/service/intake.rs), so the second run shows what more concurrent callers get.
for conns in "$CONNECTIONS" 64; do
  echo "== create order, $conns connections" >&2
  echo 5 > "/proc/$SERVER/clear_refs" 2>/dev/null || true
  line=$(TOKEN="$TOKEN" WRK_PAIRS="$PAIRS" wrk -t2 -c"$conns" -d"$DURATION" --latency -s bench/orders/create.lua "$BASE" | grep '^RESULT')
  read -r _ reqs secs p50 p95 p99 max errs <<<"$line"
  rps=$(echo "scale=0; $reqs / $secs" | bc)
  peak
  RESULTS+=("| create order, $conns connections (API: entitlement, repeat check, time line, audit, outbox) | $rps | $p50 | $p95 | $p99 | $max | $errs | $P |")
  echo "   $rps req/s, p50 $p50 ms, p95 $p95 ms, p99 $p99 ms, errors $errs" >&2
done
PER_GROUP=$(curl -fs "$BASE/metrics" | awk '/^intake_group_orders_(sum|count)/ {v[$1]=$2} END {if (v["intake_group_orders_count"] > 0) printf "%.1f", v["intake_group_orders_sum"] / v["intake_group_orders_count"]}')
RSS_AFTER=$(rss VmRSS)
RSS_PEAK=$PEAK_ALL
sleep 25
RSS_QUIET=$(rss VmRSS)

OUT=$(bench/result-path "bench/results/orders-$ORDERS-$BACKEND-$(date +%Y-%m-%d)")
{
  echo "# Work orders at $ORDERS orders, $BACKEND ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), release build, loopback; wrk runs on"
  echo "the same cores as the server."
  echo
  echo "Command: \`bench/orders/run.sh $([ "$BACKEND" = postgres ] && echo '--postgres ')$ORDERS\`"
  echo "(DURATION=$DURATION CONNECTIONS=$CONNECTIONS; \`wrk -t2 -c$CONNECTIONS -d$DURATION --latency\` with"
  echo "bench/archive/scenario.lua for reads and bench/orders/create.lua for creates)"
  echo
  if [ -n "$REUSE" ]; then
    echo "- data set: kept from an earlier run of this script (\`REUSE=$REUSE\`), with the orders its creates added; not generated again"
    echo "- database size: $DB_SIZE"
  else
    echo "- generation: \`aftersales gen --customers $CUSTOMERS --units $UNITS --orders $ORDERS --engineers $ENGINEERS --seed 1 --append\`"
    echo "  after \`aftersales demo\`: $(printf '%.1f' "$GEN_S") s wall clock; the command said: $(tail -1 "$WORK/gen.txt")"
    echo "- the dashboard's backfill of the generated days (\`aftersales dashboard refresh\`, before serving): $(printf '%.1f' "$REFRESH_S") s"
    echo "- database size after generation: $DB_SIZE"
  fi
  echo "- server RSS: $RSS_REST MiB at rest (25 s after the visit planner's first pass, over after $START_S s; start-up peak $RSS_START_PEAK MiB),"
  echo "  $RSS_AFTER MiB after the load and $RSS_QUIET MiB 25 s later, highest peak of a scenario $RSS_PEAK MiB (each scenario's in the table)"
  echo "- new orders per write transaction during the creates (intake_group_orders): ${PER_GROUP:-n/a} on average"
  echo
  echo "| scenario | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
} > "$OUT"
cat "$OUT"
echo "wrote $OUT" >&2
