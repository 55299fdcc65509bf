#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1:$PGPORT (default 54329) for the tests and
# print its URL. Needs Debian's postgresql package; runs the server as the postgres user.
# Usage: eval "$(bash .ci/postgres.sh start)"   ...   bash .ci/postgres.sh stop
set -euo pipefail
PORT="${PGPORT:-54329}"
STATE=/tmp/tuning-studio-pg
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
case "${1:-start}" in
start)
    if [ -f "$STATE/data/postmaster.pid" ]; then
        su postgres -c "$PGBIN/pg_ctl -D $STATE/data -m fast stop" >/dev/null 2>&1 || true
    fi
    rm -rf "$STATE" && mkdir -p "$STATE" && chown postgres "$STATE"
    su postgres -c "$PGBIN/initdb -D $STATE/data -A trust -U postgres" >/dev/null
    su postgres -c "$PGBIN/pg_ctl -D $STATE/data -l $STATE/log -w -o '-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c max_connections=200' start" >/dev/null
    su postgres -c "$PGBIN/createdb -h 127.0.0.1 -p $PORT tuning_test"
    echo "export TUNING_STUDIO_TEST_PG=postgresql://postgres@127.0.0.1:$PORT/tuning_test"
    ;;
stop)
    su postgres -c "$PGBIN/pg_ctl -D $STATE/data -m fast stop" >/dev/null 2>&1 || true
    ;;
esac
