#!/usr/bin/env bash
# Archive at scale: generate customers and sold units with `aftersales gen`, then load the
# list, filter, search, serial-prefix and customer-page paths with wrk on loopback.
#   bench/archive/run.sh [--postgres] [CUSTOMERS [UNITS]]     # defaults 10000 20000, SQLite
#   bench/archive/run.sh 1000000 2000000                        # the issue's size (~10 min in all)
#   DURATION=30s CONNECTIONS=32 bench/archive/run.sh --postgres 100000 200000
# --postgres creates a fresh database on 127.0.0.1:5432 as user postgres (psql, trust) and drops
# it at the end (KEEP=1 keeps it, and the SQLite file, and prints where they are).
# REUSE=DATABASE_URL measures again on a data set kept earlier (KEEP=1) with the same sizes,
# skipping the demo and the generation; that database is never dropped.
# Writes bench/results/archive-CUSTOMERS-BACKEND-DATE.md and prints it. Needs wrk and curl.
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
CUSTOMERS=${SIZES[0]:-10000}
UNITS=${SIZES[1]:-$((CUSTOMERS * 2))}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18283}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aftersales-target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/aftersales"
WORK=$(mktemp -d)
PGDB=""
if [ -n "${REUSE:-}" ]; then
  export DATABASE_URL="$REUSE"
elif [ "$BACKEND" = postgres ]; then
  PGDB="as_bench_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$PGDB"
else
  export DATABASE_URL="sqlite://$WORK/bench.db"
fi
export AFTERSALES_LOG=warn
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
  echo "reused $(echo "$REUSE" | sed 's/:[^:@]*@/:…@/') (generated earlier)" > "$WORK/gen.txt"
  GEN_S=0
else
  "$BIN" demo >/dev/null
  # The demo has customers, hence --append.
  GEN_START=$(date +%s.%N)
  "$BIN" gen --customers "$CUSTOMERS" --units "$UNITS" --seed 1 --append | tee "$WORK/gen.txt"
  GEN_S=$(echo "$(date +%s.%N) - $GEN_START" | bc)
fi
if [ "$BACKEND" = postgres ]; then
  DB_SIZE=$(psql -Atq -h 127.0.0.1 -U postgres -d postgres -c "SELECT pg_size_pretty(pg_database_size('${PGDB:-$(basename "${REUSE%%\?*}")}'))")
else
  DB_SIZE=$(du -sh "$WORK" | cut -f1)
fi
TOKEN=$("$BIN" token create --login admin --name bench)

"$BIN" serve --listen 127.0.0.1:$PORT >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 400); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.025; done
BASE="http://127.0.0.1:$PORT"
rss() { awk -v k="$1:" '$1 == k {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
sleep 2
RSS_REST=$(rss VmRSS)

# A session cookie for the web page (pages take the session, the API takes the token).
curl -fs -o /dev/null -c "$WORK/cookies" -d 'login=admin&password=demo1234' "$BASE/login"
COOKIE="$(awk '$6 == "as_sid" {print $6 "=" $7}' "$WORK/cookies" | head -1)"
[ -n "$COOKIE" ] || { echo "could not sign in for the page scenario" >&2; exit 1; }

enc() { python3 -c 'import sys, urllib.parse; print(" ".join(urllib.parse.quote(w) for w in sys.argv[1:]))' "$@"; }
WORDS=$(enc 空调 维修 保养 异响 漏水 压缩机 物业 酒店 冷链 上海 杭州市 成都 张伟 医院 "空调 维修" "压缩机 异响" 浦东新区 工程部经理 Smith 有限公司)
SEARCH_WORDS=""; for w in $WORDS; do SEARCH_WORDS+="/api/v1/search?q=$w "; done
# Phone prefixes: mobile prefixes with 4 more digits, and landline area codes with 2.
PHONES=""; for p in 1381 1391 1502 1580 1861 1890 1355 1771 1331 1990; do PHONES+="/api/v1/search?q=${p}$((RANDOM % 900 + 100)) "; done
for p in 02158 01062 02038 075586 02885 057188; do PHONES+="/api/v1/search?q=$p "; done
SERIALS=""; for p in KF2624 KF3525 KFR7223 MDV22 AH1221 LG12024 LG20025 LX50023 LHXEV01 LHXEV02S FS1024 FS1623 DH2025 KF3521; do
  SERIALS+="/api/v1/units?number=$p&limit=50 "
done
MAXC=$((CUSTOMERS + 5))
PAGES=""; for _ in $(seq 1 64); do PAGES+="/customers/$(( (RANDOM * 32768 + RANDOM) % MAXC + 1 )) "; done

# name | paths | header
SCENARIOS=(
  "customer list, 50 newest|/api/v1/customers?limit=50|auth"
  "customer list, class A, 50|/api/v1/customers?class=A&limit=50|auth"
  "search, Chinese words (20 kinds)|$SEARCH_WORDS|auth"
  "search, phone prefix|$PHONES|auth"
  "units, serial prefix|$SERIALS|auth"
  "customer web page (HTML)|$PAGES|cookie"
)
RESULTS=()
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r name paths kind <<<"$s"
  if [ "$kind" = cookie ]; then H="Cookie: $COOKIE"; else H="Authorization: Bearer $TOKEN"; fi
  first=${paths%% *}
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$H" "$BASE$first")
  [ "$code" = 200 ] || { echo "$name: $first answered $code" >&2; exit 1; }
  echo "== $name" >&2
  line=$(WRK_PATHS="$paths" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$H" -s bench/archive/scenario.lua "$BASE" | grep '^RESULT')
  read -r _ reqs secs p50 p95 p99 max errs <<<"$line"
  rps=$(echo "scale=0; $reqs / $secs" | bc)
  RESULTS+=("| $name | $rps | $p50 | $p95 | $p99 | $max | $errs |")
  echo "   $rps req/s, p50 $p50 ms, p95 $p95 ms, p99 $p99 ms, errors $errs" >&2
done
RSS_AFTER=$(rss VmRSS)
RSS_PEAK=$(rss VmHWM)

OUT=$(bench/result-path "bench/results/archive-$CUSTOMERS-$BACKEND-$(date +%Y-%m-%d)")
{
  echo "# Archive at $CUSTOMERS customers / $UNITS units, $BACKEND ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), release build, loopback; wrk runs on"
  echo "the same cores as the server (and whatever else shares the machine)."
  echo
  echo "Command: \`bench/archive/run.sh $([ "$BACKEND" = postgres ] && echo '--postgres ')$CUSTOMERS $UNITS\`"
  echo "(DURATION=$DURATION CONNECTIONS=$CONNECTIONS: \`wrk -t2 -c$CONNECTIONS -d$DURATION --latency -s bench/archive/scenario.lua\`)"
  echo
  echo "- generation: \`aftersales gen --customers $CUSTOMERS --units $UNITS --seed 1 --append\` after \`aftersales demo\`:"
  echo "  $(printf '%.1f' "$GEN_S") s wall clock including start-up; the command said: $(tail -1 "$WORK/gen.txt")"
  echo "- database size after generation: $DB_SIZE"
  echo "- server RSS: $RSS_REST MiB at rest, $RSS_AFTER MiB after the load, peak $RSS_PEAK MiB"
  echo
  echo "| scenario | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
  echo
  echo "Searches vary their input: 20 word queries (空调, 维修, 保养, 异响, … \"空调 维修\", Smith), 16 phone"
  echo "prefixes (7-digit mobile, 5-6 digit landline), 14 serial prefixes; the page scenario opens 64 random customers."
} > "$OUT"
cat "$OUT"
echo "wrote $OUT" >&2
