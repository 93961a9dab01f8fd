#!/usr/bin/env bash
# A private, throwaway PostgreSQL server for the run-store tests.
#
#   bash scripts/postgres-test-server.sh start    # init (first time) and start; prints the URL
#   bash scripts/postgres-test-server.sh url      # print the URL
#   bash scripts/postgres-test-server.sh status   # exit 0 if running
#   bash scripts/postgres-test-server.sh stop     # stop, keep the data directory
#   bash scripts/postgres-test-server.sh clean    # stop and delete the data directory
#
# Then: export TIDEFLOW_TEST_DATABASE_URL="$(bash scripts/postgres-test-server.sh url)"
#
# It uses Debian's PostgreSQL binaries (/usr/lib/postgresql/<version>/bin), installing the
# `postgresql` package with apt-get when they are missing and we are root. The server listens on
# 127.0.0.1 only, on a private port (PG_TEST_PORT, default 54329), with its data, socket and log
# in PG_TEST_DIR (default .pg-test/ in the repository, gitignored). Authentication is `trust`,
# which is acceptable only because of that: a local, disposable server holding test data.
# initdb refuses to run as root, so as root the server runs as the `postgres` system user.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${PG_TEST_PORT:-54329}"
DIR="${PG_TEST_DIR:-$ROOT/.pg-test}"
DATA="$DIR/data"
LOG="$DIR/server.log"
DB="tideflow_test"
SUPERUSER="tideflow"
URL="postgresql+psycopg://$SUPERUSER@127.0.0.1:$PORT/$DB"

die() { echo "postgres-test-server: $*" >&2; exit 1; }

find_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$bin" ]]; then
        [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed; run: sudo apt-get install -y postgresql"
        echo "postgres-test-server: installing PostgreSQL with apt-get" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    echo "$bin"
}

# Run a PostgreSQL program as the user owning the data directory.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

prepare_dir() {
    mkdir -p "$DIR"
    if [[ "$(id -u)" == 0 ]]; then
        id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres: "$DIR"
        runuser -u postgres -- test -w "$DIR" \
            || die "user postgres cannot write to $DIR (a parent directory is not traversable); set PG_TEST_DIR"
    fi
}

is_running() {
    [[ -d "$DATA" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

start() {
    prepare_dir
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
        as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    fi
    if ! is_running; then
        # Sockets in our own directory, TCP on loopback only, no fsync: it is a test server.
        as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
            -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
            >/dev/null || { tail -n 20 "$LOG" >&2; die "the server did not start; see $LOG"; }
    fi
    if ! as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" "$DB"
    fi
    echo "$URL"
}

stop() {
    if is_running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -w -m fast stop >/dev/null
    fi
}

case "${1:-}" in
    start) BIN="$(find_bin)"; start ;;
    stop) BIN="$(find_bin)"; stop ;;
    clean) BIN="$(find_bin)"; stop; rm -rf "$DIR" ;;
    url) echo "$URL" ;;
    status) BIN="$(find_bin)"; is_running ;;
    *) die "usage: $0 start|stop|clean|url|status" ;;
esac
