#!/usr/bin/env bash
# Runs every test of the workspace. Installs what the tests need when it is missing (Debian's
# chromium and chromium-driver for the browser tests, a CJK font for readable screenshots) and
# starts the local PostgreSQL cluster if it is installed but stopped.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh -- browser).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -gt 0 ]; then
  echo "test setup: installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL for the database tests (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
if [ -z "${TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "test setup: starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
fi

cargo test --workspace "$@"
