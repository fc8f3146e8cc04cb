#!/bin/sh
# First start: initdb, password auth from the network, the application database. Then postgres in
# the foreground (it handles SIGTERM as a fast shutdown).
set -eu
BIN=/usr/lib/postgresql/15/bin
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
DB="${POSTGRES_DB:-switchyard}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    PWFILE="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$PWFILE"
    "$BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$PWFILE" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$PWFILE"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql -v ON_ERROR_STOP=1 -U postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
    "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' -c max_connections="${POSTGRES_MAX_CONNECTIONS:-200}"
