#!/usr/bin/env bash
# Spare parts at scale (issue 8): generate a parts catalogue, warehouses and vans and MOVEMENTS
# stock movements with `aftersales gen`, serve, and load with wrk on loopback:
#   1. a busy warehouse's stock-on-hand page (HTML, as the `warehouse` demo user) and the same
#      stock through the API,
#   2. a filtered movement history (a van's issues, a regional warehouse's transfers),
#   3. issuing a part: POST /api/v1/stock/movements {"kind":"issue", part, qty 1, from a van, to
#      an order in progress}, spread over the vans' bins that hold several pieces;
# then checks that the stock still equals the sum of the movements.
#   bench/parts/run.sh [--postgres] [MOVEMENTS]     # default 5000000 (the issue's size), SQLite
#   PARTS=10000 WAREHOUSES=100 ORDERS=100000 DURATION=10s CONNECTIONS=16 bench/parts/run.sh 500000
# --postgres uses a fresh database on 127.0.0.1:5432 (user postgres, trust), dropped at the end
# unless KEEP=1. Writes bench/results/parts-MOVEMENTS-BACKEND-DATE.md. Needs wrk, curl, bc,
# sqlite3/psql.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=sqlite
SIZES=()
for a in "$@"; do
  case $a in
    --postgres) BACKEND=postgres ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) SIZES+=("$a") ;;
  esac
done
MOVEMENTS=${SIZES[0]:-5000000}
PARTS=${PARTS:-10000}
WAREHOUSES=${WAREHOUSES:-100}
# Issues go to work orders: two years of them (about 20 movements per order at the default
# size) and a backlog of open ones, which the issue scenario posts to.
ORDERS=${ORDERS:-100000}
BACKLOG=${BACKLOG:-3000}
ENGINEERS=${ENGINEERS:-100}
CUSTOMERS=$(( ORDERS / 10 > 1000 ? ORDERS / 10 : 1000 ))
UNITS=$(( CUSTOMERS * 2 ))
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18331}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
# BIN=path runs a binary built before (e.g. to compare two builds on the same machine).
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN="$CARGO_TARGET_DIR/release/aftersales"
fi
WORK=$(mktemp -d)
PGDB=""
if [ "$BACKEND" = postgres ]; then
  PGDB="as_bench_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
  sql() { psql -Atq -h 127.0.0.1 -U postgres -d "$PGDB" -F: -c "$1"; }
else
  export DATABASE_URL="sqlite://$WORK/bench.db"
  sql() { sqlite3 -separator : "$WORK/bench.db" "$1"; }
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

# The ledger check of store::stock::ledger_mismatches: (location, part) bins whose stock differs
# from the sum of their movements (a stock row's sums looked up by key, then sums without a row).
LEDGER="WITH eff AS (
  SELECT to_id AS w, part_id, CASE WHEN kind = 'return_faulty' THEN 0 ELSE qty END AS u,
    CASE WHEN kind = 'return_faulty' THEN qty ELSE 0 END AS f FROM stock_movements WHERE to_id IS NOT NULL
  UNION ALL
  SELECT from_id, part_id, CASE WHEN kind = 'dispose_faulty' THEN 0 ELSE -qty END,
    CASE WHEN kind = 'dispose_faulty' THEN -qty ELSE 0 END FROM stock_movements WHERE from_id IS NOT NULL),
 sums AS (SELECT w, part_id, SUM(u) AS u, SUM(f) AS f FROM eff GROUP BY w, part_id)
SELECT (SELECT COUNT(*) FROM stock s LEFT JOIN sums x ON x.w = s.warehouse_id AND x.part_id = s.part_id
        WHERE COALESCE(x.u, 0) <> s.on_hand OR COALESCE(x.f, 0) <> s.faulty)
     + (SELECT COUNT(*) FROM sums x WHERE (x.u <> 0 OR x.f <> 0)
        AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.warehouse_id = x.w AND s.part_id = x.part_id))"

"$BIN" demo >/dev/null
GEN_START=$(date +%s.%N)
"$BIN" gen --customers "$CUSTOMERS" --units "$UNITS" --orders "$ORDERS" --backlog "$BACKLOG" --engineers "$ENGINEERS" \
  --parts "$PARTS" --warehouses "$WAREHOUSES" --movements "$MOVEMENTS" --seed 1 --append | tee "$WORK/gen.txt"
GEN_S=$(echo "$(date +%s.%N) - $GEN_START" | bc)
# The dashboard's figures of the generated days, before serving: the server's first refresh
# would otherwise backfill them while the load runs (a one-off after generation or upgrade).
REFRESH_START=$(date +%s.%N)
"$BIN" dashboard refresh >/dev/null 2>&1
REFRESH_S=$(echo "$(date +%s.%N) - $REFRESH_START" | bc)
if [ "$BACKEND" = postgres ] && [ "$(sql "SHOW autovacuum")" = off ]; then
  # Autovacuum is off on this PostgreSQL (the machine's CI setting): vacuum the bulk-loaded
  # tables as it would have by now, or every index-only scan still reads the table's rows.
  sql "VACUUM (ANALYZE)"
fi
if [ "$BACKEND" = postgres ]; then
  DB_SIZE=$(psql -Atq -h 127.0.0.1 -U postgres -d postgres -c "SELECT pg_size_pretty(pg_database_size('$PGDB'))")
else
  DB_SIZE=$(du -sh "$WORK" | cut -f1)
fi
LEDGER_BEFORE=$(sql "$LEDGER")
KINDS=$(sql "SELECT kind || ' ' || COUNT(*) FROM stock_movements GROUP BY kind ORDER BY COUNT(*) DESC" | paste -sd, | sed 's/,/, /g')
TOKEN=$("$BIN" token create --login warehouse --name bench)
# The busiest locations: most stock rows (the central warehouses), and a busy van and regional
# warehouse by movements out.
BUSY=$(sql "SELECT warehouse_id FROM stock GROUP BY warehouse_id ORDER BY COUNT(*) DESC, warehouse_id LIMIT 2" | tr '\n' ' ')
BUSY_ROWS=$(sql "SELECT COUNT(*) FROM stock WHERE warehouse_id = ${BUSY%% *}")
VANS=$(sql "SELECT w.id FROM warehouses w WHERE w.kind = 'van' ORDER BY (SELECT COUNT(*) FROM stock s WHERE s.warehouse_id = w.id) DESC, w.id LIMIT 4" | tr '\n' ' ')
REGIONALS=$(sql "SELECT id FROM warehouses WHERE kind = 'regional' ORDER BY id" | tr '\n' ' ')
# Issues: vans' bins of untracked parts holding at least 5 pieces, and orders that take parts.
sql "SELECT s.warehouse_id || ':' || s.part_id FROM stock s JOIN warehouses w ON w.id = s.warehouse_id AND w.kind = 'van'
     JOIN parts p ON p.id = s.part_id AND NOT p.serial_tracked AND p.active WHERE s.on_hand >= 5 ORDER BY random()" >"$WORK/pairs.txt"
PAIRS_N=$(wc -l <"$WORK/pairs.txt")
ORDERS_OPEN=$(sql "SELECT id FROM work_orders WHERE status IN ('assigned', 'accepted', 'travelling', 'on_site', 'waiting_customer', 'waiting_approval') ORDER BY random() LIMIT 2000" | tr '\n' ' ')
PIECES=$(sql "SELECT SUM(s.on_hand) FROM stock s JOIN warehouses w ON w.id = s.warehouse_id AND w.kind = 'van'
     JOIN parts p ON p.id = s.part_id AND NOT p.serial_tracked WHERE s.on_hand >= 5")

"$BIN" serve --listen 127.0.0.1:$PORT >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 400); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.025; done
BASE="http://127.0.0.1:$PORT"
rss() { awk -v k="$1:" '$1 == k {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
sleep 2
RSS_REST=$(rss VmRSS)
curl -fs -o /dev/null -c "$WORK/cookies" -d 'login=warehouse&password=demo1234' "$BASE/login"
COOKIE="$(awk '$6 == "as_sid" {print $6 "=" $7}' "$WORK/cookies" | head -1)"
[ -n "$COOKIE" ] || { echo "could not sign in for the page scenarios" >&2; exit 1; }

STOCK_PAGES=""; STOCK_API=""
for w in $BUSY; do STOCK_PAGES+="/stock?warehouse_id=$w "; STOCK_API+="/api/v1/stock?warehouse_id=$w "; done
HISTORY=""
for v in $VANS; do HISTORY+="/stock/movements?warehouse_id=$v&kind=issue "; done
for r in $REGIONALS; do HISTORY+="/stock/movements?warehouse_id=$r&kind=transfer "; done

# name | paths | header | connections (1: the latency is the server's own time)
SCENARIOS=(
  "stock-on-hand page of a central warehouse ($BUSY_ROWS parts held; HTML, first 50 by part number with the totals)|$STOCK_PAGES|cookie|$CONNECTIONS"
  "the same page, 1 connection|$STOCK_PAGES|cookie|1"
  "stock of a central warehouse (API, same page)|$STOCK_API|auth|$CONNECTIONS"
  "movement history, filtered: a van's issues, a regional warehouse's transfers (HTML, 50 newest)|$HISTORY|cookie|$CONNECTIONS"
)
RESULTS=()
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r name paths kind conns <<<"$s"
  if [ "$kind" = cookie ]; then H="Cookie: $COOKIE"; else H="Authorization: Bearer $TOKEN"; fi
  for p in $paths; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" "$BASE$p")
    [ "$code" = 200 ] || { echo "$name: $p answered $code" >&2; exit 1; }
  done
  echo "== $name" >&2
  line=$(WRK_PATHS="$paths" wrk -t"$(( conns > 1 ? 2 : 1 ))" -c"$conns" -d"$DURATION" --latency -H "$H" -s bench/archive/scenario.lua "$BASE" | grep '^RESULT')
  read -r _ reqs secs p50 p95 p99 max errs <<<"$line"
  rps=$(echo "scale=0; $reqs / $secs" | bc)
  RESULTS+=("| $name | $rps | $p50 | $p95 | $p99 | $max | $errs |")
  echo "   $rps req/s, p50 $p50 ms, p95 $p95 ms, p99 $p99 ms, errors $errs" >&2
done

MOVES_BEFORE=$(sql "SELECT COUNT(*) FROM stock_movements")
first_pair=$(head -1 "$WORK/pairs.txt"); first_order=${ORDERS_OPEN%% *}
code=$(curl -s -o "$WORK/first.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"kind\":\"issue\",\"part_id\":${first_pair#*:},\"qty\":1,\"from_id\":${first_pair%:*},\"order_id\":$first_order}" "$BASE/api/v1/stock/movements")
[ "$code" = 201 ] || { echo "issue: answered $code: $(head -c 400 "$WORK/first.json")" >&2; exit 1; }
echo "== issue a part, $CONNECTIONS connections ($PAIRS_N van bins, $PIECES pieces)" >&2
line=$(TOKEN="$TOKEN" WRK_PAIRS="$WORK/pairs.txt" WRK_ORDERS="$ORDERS_OPEN" \
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/parts/issue.lua "$BASE" | grep '^RESULT')
read -r _ reqs secs p50 p95 p99 max errs <<<"$line"
rps=$(echo "scale=0; $reqs / $secs" | bc)
RESULTS+=("| issue a part from a van to an order (API: checks, stock, movement, order cost, time line, audit), $CONNECTIONS connections | $rps | $p50 | $p95 | $p99 | $max | $errs |")
echo "   $rps req/s, p50 $p50 ms, p95 $p95 ms, p99 $p99 ms, errors $errs" >&2
RSS_AFTER=$(rss VmRSS)
RSS_PEAK=$(rss VmHWM)
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
ISSUED=$(( $(sql "SELECT COUNT(*) FROM stock_movements") - MOVES_BEFORE ))
LEDGER_AFTER=$(sql "$LEDGER")
NEGATIVE=$(sql "SELECT COUNT(*) FROM stock WHERE on_hand < 0 OR faulty < 0")

OUT=$(bench/result-path "bench/results/parts-$MOVEMENTS-$BACKEND-$(date +%Y-%m-%d)")
{
  echo "# Spare parts at $PARTS parts, $WAREHOUSES locations, $MOVEMENTS movements, $BACKEND ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), release build, loopback; wrk runs on"
  echo "the same cores as the server. Load average before the load: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Command: \`bench/parts/run.sh $([ "$BACKEND" = postgres ] && echo '--postgres ')$MOVEMENTS\`"
  echo "(PARTS=$PARTS WAREHOUSES=$WAREHOUSES ORDERS=$ORDERS BACKLOG=$BACKLOG DURATION=$DURATION CONNECTIONS=$CONNECTIONS;"
  echo "\`wrk -t2 -c$CONNECTIONS -d$DURATION --latency\` with bench/archive/scenario.lua for reads and bench/parts/issue.lua for issues)"
  echo
  echo "- generation: \`aftersales gen --customers $CUSTOMERS --units $UNITS --orders $ORDERS --backlog $BACKLOG --engineers $ENGINEERS --parts $PARTS --warehouses $WAREHOUSES --movements $MOVEMENTS --seed 1 --append\`"
  echo "  after \`aftersales demo\`: $(printf '%.1f' "$GEN_S") s wall clock; the command said: $(grep -h '^Spare parts' "$WORK/gen.txt") $(tail -1 "$WORK/gen.txt")"
  echo "- the dashboard's backfill of the generated days (\`aftersales dashboard refresh\`, before serving): $(printf '%.1f' "$REFRESH_S") s"
  echo "- movements by kind: $KINDS"
  echo "- database size after generation: $DB_SIZE"
  echo "- server RSS: $RSS_REST MiB at rest, $RSS_AFTER MiB after the load, peak $RSS_PEAK MiB"
  echo "- issues: $ISSUED written (one before the run, to check the request), spread over $PAIRS_N van bins holding ≥ 5 pieces and $(echo "$ORDERS_OPEN" | wc -w) orders in progress"
  echo "- ledger (bins whose stock differs from the sum of their movements): $LEDGER_BEFORE after generation, $LEDGER_AFTER after the load; bins below zero: $NEGATIVE"
  echo
  echo "| scenario | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
} > "$OUT"
cat "$OUT"
echo "wrote $OUT" >&2
