#!/usr/bin/env bash
# Staff appraisal at data size: generate two years of orders with `aftersales gen` (200
# engineers), then time opening last month for the engineers (every engineer's KPIs measured from
# the orders, clocks, surveys and repeat repairs, one transaction), reading the month with all
# rows, and exporting it; then the same for the dispatchers. Loopback, one request each (curl).
#   bench/appraisal/run.sh [--postgres] [ORDERS]      # default 100000, SQLite
#   PROFILE=debug bench/appraisal/run.sh 100000       # without a release build (slower Rust side)
# Writes bench/results/appraisal-ORDERS-BACKEND-DATE.md. Needs curl, sqlite3/psql.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=sqlite
SIZES=()
for a in "$@"; do
  case $a in
    --postgres) BACKEND=postgres ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) SIZES+=("$a") ;;
  esac
done
ORDERS=${SIZES[0]:-100000}
CUSTOMERS=$(( ORDERS / 10 > 1000 ? ORDERS / 10 : 1000 ))
UNITS=$(( CUSTOMERS * 2 ))
ENGINEERS=${ENGINEERS:-200}
PROFILE=${PROFILE:-release}
PORT=${PORT:-18291}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
if [ "$PROFILE" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
BIN="$CARGO_TARGET_DIR/$PROFILE/aftersales"
WORK=$(mktemp -d)
PGDB=""
if [ "$BACKEND" = postgres ]; then
  PGDB="as_bench_ap_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
else
  export DATABASE_URL="sqlite://$WORK/bench.db"
fi
export AFTERSALES_LOG=warn AFTERSALES_FILES_DIR="$WORK/files"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  [ -n "$PGDB" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" demo >/dev/null
GEN_START=$(date +%s.%N)
"$BIN" gen --customers "$CUSTOMERS" --units "$UNITS" --orders "$ORDERS" --engineers "$ENGINEERS" --seed 1 --append >"$WORK/gen.txt"
GEN_S=$(echo "$(date +%s.%N) - $GEN_START" | bc)
TOKEN=$("$BIN" token create --login manager --name bench)
"$BIN" serve --listen 127.0.0.1:$PORT >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 400); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.025; done
BASE="http://127.0.0.1:$PORT"
MONTH=$(date -d "$(date +%Y-%m-01) -1 day" +%Y-%m)
timed() { # method path [body] → "status seconds"
  if [ -n "${3:-}" ]; then
    curl -s -o "$WORK/out" -w '%{http_code} %{time_total}\n' -X "$1" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' -d "$3" "$BASE$2"
  else
    curl -s -o "$WORK/out" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN" "$BASE$2"
  fi
}
OUT=$(bench/result-path "bench/results/appraisal-$ORDERS-$BACKEND-$(date +%Y-%m-%d)")
{
  echo "# Staff appraisal, $ORDERS orders, $ENGINEERS engineers, $BACKEND ($PROFILE build), $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Command: \`${PROFILE:+PROFILE=$PROFILE }bench/appraisal/run.sh $([ "$BACKEND" = postgres ] && echo '--postgres ')$ORDERS\`; gen ${GEN_S%.*} s; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| step | status | seconds | rows |"
  echo "|---|---|---|---|"
  for role in engineer dispatcher; do
    read -r st t < <(timed POST /api/v1/appraisal/months "{\"month\":\"$MONTH\",\"role\":\"$role\"}")
    ID=$(grep -o '"month":{"id":[0-9]*' "$WORK/out" | grep -o '[0-9]*$')
    ROWS=$(grep -o '"user_name"' "$WORK/out" | wc -l)
    echo "| open $MONTH for $role (measure everyone) | $st | $t | $ROWS |"
    read -r st t < <(timed POST /api/v1/appraisal/months "{\"month\":\"$MONTH\",\"role\":\"$role\"}")
    echo "| open again (idempotent) | $st | $t | |"
    read -r st t < <(timed GET "/api/v1/appraisal/months/$ID")
    echo "| read the month, all rows | $st | $t | |"
    read -r st t < <(timed GET "/api/v1/appraisal/months/$ID/export?format=xlsx")
    echo "| export .xlsx | $st | $t | |"
  done
} | tee "$OUT"
