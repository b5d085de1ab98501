#!/usr/bin/env bash
# The management dashboard at scale: generate ORDERS work orders (two years, with their clocks,
# surveys and a backlog of open orders) with `aftersales gen`, then
#   1. time `aftersales dashboard refresh` (the backfill of every closed day into
#      dashboard_day_stats) and once more (nothing new: only the days of recently changed
#      orders are counted again),
#   2. serve and time, with curl, the first load of the dashboard for several filters (each a
#      miss of the 30 s result cache; the very first request also counts today live) and 20
#      repeats of each (served from the cache), then wrk on loopback over the same pages,
#   3. the quarterly fault analysis (not cached: every request reads the quarter's orders).
#   bench/dashboard/run.sh [--postgres] [ORDERS]     # default 1000000, SQLite
#   bench/dashboard/run.sh 5000000                   # the issue's size (generation takes long)
# --postgres uses a fresh database on 127.0.0.1:5432 (user postgres, trust), dropped at the end
# unless KEEP=1. REUSE=DATABASE_URL measures again on a kept data set (no generation).
# DURATION (default 10s) bounds the wrk run. Writes
# bench/results/dashboard-ORDERS-BACKEND-DATE.md. Needs curl, bc, sqlite3/psql, wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=sqlite
SIZES=()
for a in "$@"; do
  case $a in
    --postgres) BACKEND=postgres ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) SIZES+=("$a") ;;
  esac
done
ORDERS=${SIZES[0]:-1000000}
CUSTOMERS=$(( ORDERS / 10 > 1000 ? ORDERS / 10 : 1000 ))
UNITS=$(( CUSTOMERS * 2 ))
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
REPEATS=${REPEATS:-20}
PORT=${PORT:-18098}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
# BIN=path runs a binary built before.
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN="$CARGO_TARGET_DIR/release/aftersales"
fi
WORK=$(mktemp -d)
PGDB=""
if [ -n "${REUSE:-}" ]; then
  export DATABASE_URL="$REUSE"
  case $REUSE in postgres*) BACKEND=postgres ;; *) BACKEND=sqlite ;; esac
elif [ "$BACKEND" = postgres ]; then
  PGDB="as_bench_dash_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
else
  export DATABASE_URL="sqlite://$WORK/bench.db"
fi
if [ "$BACKEND" = postgres ]; then
  sql() { psql -Atq "$DATABASE_URL" -F' ' -c "$1"; }
else
  DBFILE=${DATABASE_URL#sqlite://}
  sql() { sqlite3 -separator ' ' "$DBFILE" "$1"; }
fi
export AFTERSALES_LOG=warn AFTERSALES_FILES_DIR="$WORK/files"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ] || [ -n "${REUSE:-}" ]; then
    echo "kept: $DATABASE_URL" >&2
  else
    [ -n "$PGDB" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

if [ -z "${REUSE:-}" ]; then
  "$BIN" demo >/dev/null
  START=$(date +%s.%N)
  "$BIN" gen --customers "$CUSTOMERS" --units "$UNITS" --orders "$ORDERS" --engineers 200 --backlog 3000 \
    --seed 1 --append | tail -n 1 | tee "$WORK/gen.txt"
  GEN_S=$(echo "$(date +%s.%N) - $START" | bc)
else
  echo "reused data set" > "$WORK/gen.txt"
  GEN_S=0
fi
if [ "$BACKEND" = postgres ] && [ "$(sql "SHOW autovacuum")" = off ]; then
  # Autovacuum is off on this PostgreSQL (the machine's CI setting): vacuum the bulk-loaded
  # tables as it would have by now, or every index-only scan still reads the table's rows.
  sql "VACUUM (ANALYZE)"
fi
START=$(date +%s.%N)
REFRESH1=$("$BIN" dashboard refresh 2>/dev/null | tail -n 1)
REFRESH1_S=$(echo "$(date +%s.%N) - $START" | bc)
echo "$REFRESH1 ($REFRESH1_S s wall)"
START=$(date +%s.%N)
REFRESH2=$("$BIN" dashboard refresh 2>/dev/null | tail -n 1)
REFRESH2_S=$(echo "$(date +%s.%N) - $START" | bc)
echo "again: $REFRESH2 ($REFRESH2_S s wall)"
ROWS=$(sql "SELECT COUNT(*) FROM dashboard_day_stats")
ALL_ORDERS=$(sql "SELECT COUNT(*) FROM work_orders")
if [ "$BACKEND" = postgres ]; then
  DB_SIZE=$(sql "SELECT pg_size_pretty(pg_database_size(current_database()))")
else
  DB_SIZE=$(du -sh "$DBFILE" | cut -f1)
fi
TOKEN=$("$BIN" token create --login manager --name bench)

"$BIN" serve --listen 127.0.0.1:$PORT >"$WORK/server.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 400); do curl -fs -o /dev/null "$BASE/healthz" && break; sleep 0.025; done
cookie() {
  curl -fs -o /dev/null -c "$WORK/cookies-$1" -d "login=$1&password=demo1234" "$BASE/login"
  awk '$6 == "as_sid" {print $6 "=" $7}' "$WORK/cookies-$1" | head -1
}
MANAGER=$(cookie manager)
DISPATCHER=$(cookie dispatcher)
[ -n "$MANAGER" ] && [ -n "$DISPATCHER" ] || { echo "could not sign in" >&2; exit 1; }

TODAY=$(TZ=Asia/Shanghai date +%Y-%m-%d)
Y=$(TZ=Asia/Shanghai date +%Y); M=$(TZ=Asia/Shanghai date +%-m)
Q=$(( (M - 1) / 3 + 1 ))
if [ $Q = 1 ]; then PQ="$((Y - 1))Q4"; else PQ="${Y}Q$((Q - 1))"; fi
LAST_MONTH=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-15) - 1 month" +%Y-%m)
YEAR_AGO=$(TZ=Asia/Shanghai date -d "$TODAY - 364 days" +%Y-%m-%d)

# A generated team of the dispatcher's region (east) and one of another region.
TEAM=$(sql "SELECT MIN(id) FROM teams WHERE region_code = 'east' AND name <> '华东维修一组'")
TEAM2=$(sql "SELECT MIN(id) FROM teams WHERE region_code = 'south' AND name <> '华南服务组'")
# name | path | header
SCENARIOS=(
  "page, this quarter, all regions (first request after start: also counts today)|/dashboard|Cookie: $MANAGER"
  "API, this quarter, all regions|/api/v1/dashboard|Authorization: Bearer $TOKEN"
  "page, this quarter, region east|/dashboard?region=east|Cookie: $MANAGER"
  "page, this quarter, region south, air conditioners|/dashboard?region=south&category=air_conditioner|Cookie: $MANAGER"
  "page, previous quarter ($PQ)|/dashboard?quarter=$PQ|Cookie: $MANAGER"
  "page, last month ($LAST_MONTH)|/dashboard?month=$LAST_MONTH|Cookie: $MANAGER"
  "page, a year of days ($YEAR_AGO to $TODAY)|/dashboard?from=$YEAR_AGO&to=$TODAY|Cookie: $MANAGER"
  "page, dispatcher (own region), this quarter|/dashboard|Cookie: $DISPATCHER"
  "page, this quarter, one team (east)|/dashboard?team=$TEAM|Cookie: $MANAGER"
  "API, this quarter, another team (south)|/api/v1/dashboard?team=$TEAM2|Authorization: Bearer $TOKEN"
  "page, previous quarter ($PQ), one team (south)|/dashboard?quarter=$PQ&team=$TEAM2|Cookie: $MANAGER"
  "page, a year of days, one team (east)|/dashboard?from=$YEAR_AGO&to=$TODAY&team=$TEAM|Cookie: $MANAGER"
  "page, dispatcher (own region), this quarter, a team of his region|/dashboard?team=$TEAM|Cookie: $DISPATCHER"
  "fault analysis, this quarter by fault code (API, not cached)|/api/v1/analysis/faults|Authorization: Bearer $TOKEN"
  "fault analysis, this quarter by cost (page)|/analysis/faults?rank=cost|Cookie: $MANAGER"
  "fault analysis, this quarter by region (API)|/api/v1/analysis/faults?by=region|Authorization: Bearer $TOKEN"
)
ms() { curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "$2" "$BASE$1" | awk '{ if ($1 != 200) print "ERR" $1; else printf "%.1f", $2 * 1000 }'; }
RESULTS=()
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r name path header <<<"$s"
  first=$(ms "$path" "$header")
  case $first in ERR*) echo "$name: answered ${first#ERR}" >&2; exit 1 ;; esac
  reps=()
  for _ in $(seq 1 "$REPEATS"); do reps+=("$(ms "$path" "$header")"); done
  sorted=$(printf '%s\n' "${reps[@]}" | sort -n)
  med=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  max=$(echo "$sorted" | tail -n 1)
  RESULTS+=("| $name | $first | $med | $max |")
  echo "   $name: first $first ms, repeated median $med ms, max $max ms" >&2
done
WRK_LINE="(wrk not installed)"
if command -v wrk >/dev/null; then
  paths="/dashboard /dashboard?region=east /dashboard?region=south&category=air_conditioner /dashboard?quarter=$PQ"
  line=$(WRK_PATHS="$paths" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $MANAGER" -s bench/archive/scenario.lua "$BASE" | grep '^RESULT')
  read -r _ reqs secs p50 p95 p99 max errs <<<"$line"
  rps=$(echo "scale=0; $reqs / $secs" | bc)
  WRK_LINE="| four manager pages in turn (wrk -t2 -c$CONNECTIONS -d$DURATION; results reused for 30 s) | $rps | $p50 | $p95 | $p99 | $max | $errs |"
fi
RSS=$(awk '$1 == "VmRSS:" {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status")

OUT=$(bench/result-path "bench/results/dashboard-$ORDERS-$BACKEND-$(date +%Y-%m-%d)")
{
  echo "# Management dashboard at $ORDERS orders, $BACKEND ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Command: \`bench/dashboard/run.sh $*\`; $(nproc) cores (shared, load average $(cut -d' ' -f1-3 /proc/loadavg)),"
  echo "release build, loopback; curl and wrk on the same machine. Targets: first load < 300 ms, repeated < 50 ms;"
  echo "the quarterly fault analysis < 1 s."
  echo
  echo "- Data: $(cat "$WORK/gen.txt") ($GEN_S s); $ALL_ORDERS orders in the database; database $DB_SIZE."
  echo "- Backfill: $REFRESH1 — $REFRESH1_S s wall."
  echo "- Again: $REFRESH2 — $REFRESH2_S s wall."
  echo "- dashboard_day_stats: $ROWS rows. Server RSS after the load: $RSS MiB."
  echo
  echo "| page | first load ms | repeated median ms ($REPEATS) | repeated max ms |"
  echo "|---|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
  echo
  echo "| scenario | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |"
  echo "|---|---|---|---|---|---|---|"
  echo "$WRK_LINE"
} > "$OUT"
cat "$OUT"
echo "wrote $OUT"
