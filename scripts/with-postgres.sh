#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL 15 server on loopback, then stop and remove it.
# ATTT_DATABASE_URL is set for the command. If ATTT_TEST_POSTGRES_URL is already set, use that server.
set -euo pipefail
if [ -n "${ATTT_TEST_POSTGRES_URL:-}" ]; then
  ATTT_DATABASE_URL="$ATTT_TEST_POSTGRES_URL" exec "$@"
fi
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL 15 is not installed (run scripts/system-deps.sh)." >&2; exit 1
  fi
  echo "PostgreSQL 15 is not installed: skipping the PostgreSQL run (scripts/system-deps.sh installs it)." >&2
  exit 0
fi
dir=$(mktemp -d /tmp/attt-pg.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$dir"
  run_as=(runuser -u postgres --)
fi
cleanup() { "${run_as[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
"${run_as[@]}" "$PGBIN/initdb" -D "$dir/data" -U attt --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${run_as[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
"${run_as[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U attt attt
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
ATTT_DATABASE_URL="postgres://attt@127.0.0.1:$port/attt" "$@"
