#!/usr/bin/env bash
# Import of a large customer spreadsheet (.xlsx) through POST /api/v1/import/customers.
#   bench/import/run.sh [--postgres] [ROWS]      # default 100000 rows, SQLite
#   bench/import/run.sh [--postgres] --units [ROWS]   # ROWS sold units instead (see below)
# The file is made by the product itself: `aftersales gen` fills a scratch SQLite archive with
# ROWS synthetic customers (with contacts, phones, Chinese addresses and notes) and the export
# (/api/v1/customers/export?format=xlsx) writes them out. The file is then imported into a
# fresh database holding only the demo, with every check on (phones, e-mails, regions,
# duplicates inside the file and against the archive, jieba terms); `only_valid=true`, because
# the export also carries the demo's own customers, which are duplicates there.
# --units: the scratch archive gets ROWS/2 customers and ROWS units and the unit export is the
# file; the target gets the same ROWS/2 customers (same seed, so the same ids) and the demo, and
# imports the units (each checked: serial unique in the file and the archive, model, owner by
# customer number, dates, numbers).
# Writes bench/results/import[-units]-ROWS-BACKEND-DATE.md and prints it. Needs curl. PERF_OUT=FILE records
# a perf profile of the server during the import; REPORT=FILE keeps the import's JSON answer.
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=sqlite
ROWS=100000
KIND=customers
for a in "$@"; do
  case $a in
    --postgres) BACKEND=postgres ;;
    --units) KIND=units ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) ROWS=$a ;;
  esac
done
PORT=${PORT:-18384}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK=$(mktemp -d)
PGDB=""
SERVER=""
export AFTERSALES_LOG=${AFTERSALES_LOG:-warn}
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi
}
cleanup() {
  stop_server
  [ -n "$PGDB" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
serve() {
  "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 400); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && return; sleep 0.025; done
  echo "server did not start" >&2; exit 1
}

# 1. The spreadsheet.
export DATABASE_URL="sqlite://$WORK/source.db"
"$BIN" demo >/dev/null
if [ "$KIND" = units ]; then
  GEN=(--customers $((ROWS / 2)) --seed 7)
  "$BIN" gen "${GEN[@]}" --units "$ROWS" --append >/dev/null
else
  GEN=(--customers "$ROWS" --seed 7)
  "$BIN" gen "${GEN[@]}" --units 0 --append >/dev/null
fi
TOKEN=$("$BIN" token create --login admin --name bench)
serve
curl -fs -H "Authorization: Bearer $TOKEN" -o "$WORK/$KIND.xlsx" \
  "http://127.0.0.1:$PORT/api/v1/$KIND/export?format=xlsx"
stop_server
FILE_MB=$(echo "scale=1; $(stat -c %s "$WORK/$KIND.xlsx") / 1048576" | bc)

# 2. The import into a fresh database.
if [ "$BACKEND" = postgres ]; then
  PGDB="as_import_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
else
  export DATABASE_URL="sqlite://$WORK/target.db"
fi
"$BIN" demo >/dev/null
# Units need their owners: the same customers as in the scratch archive, without units.
[ "$KIND" = units ] && "$BIN" gen "${GEN[@]}" --units 0 --append >/dev/null
TOKEN=$("$BIN" token create --login manager --name bench)
serve
PERF=""
if [ -n "${PERF_OUT:-}" ]; then perf record -q -F 299 -g -p "$SERVER" -o "$PERF_OUT" 2>/dev/null & PERF=$!; sleep 0.5; fi
START=$(date +%s.%N)
STATUS=$(curl -s -o "$WORK/report.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/$KIND.xlsx" \
  "http://127.0.0.1:$PORT/api/v1/import/$KIND?filename=$KIND.xlsx&only_valid=true")
SECONDS_TAKEN=$(echo "$(date +%s.%N) - $START" | bc)
if [ -n "$PERF" ]; then kill -INT "$PERF"; wait "$PERF" || true; fi
HWM=$(grep VmHWM "/proc/$SERVER/status" | awk '{print $2}')
IMPORTED=$(grep -o '"imported":[0-9]*' "$WORK/report.json" | cut -d: -f2)
ROWS_IN=$(grep -o '"rows":[0-9]*' "$WORK/report.json" | cut -d: -f2)
ERRORS=$(grep -o '"row":' "$WORK/report.json" | wc -l)
[ -n "${REPORT:-}" ] && cp "$WORK/report.json" "$REPORT"
grep -a "import" "$WORK/server.log" | tail -3 >&2 || true
stop_server

SUFFIX=""; [ "$KIND" = units ] && SUFFIX="-units"
OUT=$(bench/result-path "bench/results/import$SUFFIX-$ROWS-$BACKEND-$(date +%Y-%m-%d)")
{
  echo "# Import of $ROWS $KIND from .xlsx ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, release build, $BACKEND, loopback)"
  echo
  echo "Command: \`bench/import/run.sh${PGDB:+ --postgres}${SUFFIX:+ --units} $ROWS\` — \`POST /api/v1/import/$KIND?only_valid=true\` with a"
  if [ "$KIND" = units ]; then
    echo "$FILE_MB MB .xlsx exported by the product from \`aftersales gen ${GEN[*]} --units $ROWS\`, into a database with the"
    echo "demo and the same customers (\`aftersales gen ${GEN[*]} --units 0\`)."
  else
    echo "$FILE_MB MB .xlsx exported by the product from \`aftersales gen ${GEN[*]}\`."
  fi
  echo
  echo "| rows in file | imported | rows refused | HTTP | time (upload, parse, check, write, one transaction) | server peak RSS |"
  echo "|---|---|---|---|---|---|"
  echo "| $ROWS_IN | $IMPORTED | $ERRORS | $STATUS | ${SECONDS_TAKEN} s | $((HWM / 1024)) MiB |"
} > "$OUT"
cat "$OUT"
