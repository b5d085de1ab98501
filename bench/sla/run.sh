#!/usr/bin/env bash
# The SLA sweeper at scale: generate OPEN open orders (a backlog registered over the last two
# days, three running clocks each) with `aftersales gen --backlog`, then time
#   1. the sweeper's scan when nothing is due (what every instance does every 30 s),
#   2. a catch-up: sweeping as if an hour had passed with every instance down,
# with `aftersales sla sweep` (and `--at`), and show the query plan of the scan.
#   bench/sla/run.sh [--postgres] [OPEN]      # default 100000, SQLite
#   bench/sla/run.sh 1000000                  # the issue's size (generation takes minutes)
# --postgres uses a fresh database on 127.0.0.1:5432 (user postgres, trust), dropped at the end
# unless KEEP=1. Writes bench/results/sla-OPEN-BACKEND-DATE.md. Needs sqlite3/psql, bc.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=sqlite
SIZES=()
for a in "$@"; do
  case $a in
    --postgres) BACKEND=postgres ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) SIZES+=("$a") ;;
  esac
done
OPEN=${SIZES[0]:-100000}
CUSTOMERS=$(( OPEN / 10 > 1000 ? OPEN / 10 : 1000 ))
UNITS=$(( CUSTOMERS * 2 ))

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK=$(mktemp -d)
PGDB=""
if [ "$BACKEND" = postgres ]; then
  PGDB="as_bench_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
  sql() { psql -Atq -h 127.0.0.1 -U postgres -d "$PGDB" -F' ' -c "$1"; }
  PLAN="EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)"
else
  export DATABASE_URL="sqlite://$WORK/bench.db"
  sql() { sqlite3 -separator ' ' "$WORK/bench.db" "$1"; }
  PLAN="EXPLAIN QUERY PLAN"
fi
export AFTERSALES_LOG=warn AFTERSALES_FILES_DIR="$WORK/files"
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept: $DATABASE_URL" >&2
  else
    [ -n "$PGDB" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

"$BIN" demo >/dev/null
GEN_START=$(date +%s.%N)
"$BIN" gen --customers "$CUSTOMERS" --units "$UNITS" --orders 0 --backlog "$OPEN" --engineers 200 --seed 1 --append | tee "$WORK/gen.txt"
GEN_S=$(echo "$(date +%s.%N) - $GEN_START" | bc)
NOW_SQL=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
OPEN_ORDERS=$(sql "SELECT COUNT(*) FROM work_orders WHERE status NOT IN ('completed','closed','cancelled')")
CLOCKS=$(sql "SELECT COUNT(*) FROM work_order_clocks")
RUNNING=$(sql "SELECT COUNT(*) FROM work_order_clocks WHERE next_check_at IS NOT NULL")
HOUR=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S+00:00)
DUE_HOUR=$(sql "SELECT COUNT(*) FROM work_order_clocks WHERE next_check_at IS NOT NULL AND next_check_at <= '$HOUR'")

# 1. Nothing due: five scans, as every instance makes every 30 s (the first run also sends
# what fell due during the generation; each run's last pass found nothing).
SCANS=()
for _ in 1 2 3 4 5; do
  OUT=$("$BIN" sla sweep)
  SCANS+=("$(echo "$OUT" | sed -n 's/.*found [0-9]* due, \([0-9.]*\) s).*/\1/p')")
done
echo "idle scans: ${SCANS[*]} s"
# 2. Catch-up: an hour passed while every instance was down.
CATCH=$("$BIN" sla sweep --at "$HOUR")
echo "$CATCH"
PASSES=$(echo "$CATCH" | sed -n 's/SLA sweep: \([0-9]*\) passes.*/\1/p')
CHECKED=$(echo "$CATCH" | sed -n 's/.* passes, \([0-9]*\) clocks checked.*/\1/p')
RECORDED=$(echo "$CATCH" | sed -n 's/.*checked, \([0-9]*\) warnings.*/\1/p')
TOTAL_S=$(echo "$CATCH" | sed -n 's/.*recorded in \([0-9.]*\) s.*/\1/p')
SLOWEST=$(echo "$CATCH" | sed -n 's/.*slowest pass \([0-9.]*\) s.*/\1/p')
MESSAGES=$(sql "SELECT COUNT(*) FROM outbox WHERE event LIKE 'sla_%'")
SCAN_SQL="SELECT order_id, target FROM work_order_clocks WHERE next_check_at IS NOT NULL AND next_check_at <= '$NOW_SQL' ORDER BY next_check_at LIMIT 500"
QPLAN=$(sql "$PLAN $SCAN_SQL")
echo "$QPLAN"

DATE=$(date +%Y-%m-%d)
OUTFILE=$(bench/result-path "bench/results/sla-$OPEN-$BACKEND-$DATE")
{
  echo "# SLA sweeper, $OPEN open orders, $BACKEND, $DATE"
  echo
  echo "Command: \`bench/sla/run.sh $*\` on $(nproc) cores ($(uname -m)); release build."
  echo
  echo "- Generation: $(cat "$WORK/gen.txt" | tail -n 1) ($GEN_S s wall)"
  echo "- Open orders: $OPEN_ORDERS; clocks: $CLOCKS, of which $RUNNING wait for a check; $DUE_HOUR fall due within the next hour."
  echo
  echo "| measurement | result |"
  echo "|---|---|"
  echo "| scan with nothing due (5 runs of \`aftersales sla sweep\`, the last pass) | ${SCANS[*]} s |"
  echo "| catch-up after an hour down (\`sla sweep --at +1h\`) | $CHECKED clocks in $PASSES passes of 500, $TOTAL_S s; slowest pass $SLOWEST s |"
  echo "| recorded | $RECORDED warnings and escalations; $MESSAGES notices queued |"
  echo
  echo "Plan of the scan (\`$PLAN\`):"
  echo
  echo '```'
  echo "$QPLAN"
  echo '```'
} > "$OUTFILE"
echo "wrote $OUTFILE"
