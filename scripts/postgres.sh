#!/usr/bin/env bash
# A local PostgreSQL server for the package's Postgres target (tests and demo).
#
#   scripts/postgres.sh [start|stop|status]      (default: start; `make postgres`)
#
# start is idempotent: installs Debian's `postgresql` with apt-get only when no server
# binaries are found, creates a data directory outside the repository on first use,
# starts the server when it is not running, and creates (or updates) the package's role
# and database. The server listens on 127.0.0.1 only, uses timezone UTC and the C
# locale (text sorts by bytes, as on DuckDB). It is a throwaway test server: fsync is
# off, so a crash of the machine can lose its data.
#
# Settings (environment variables, same names as profiles.example.yml):
#   ACTIVATION_PG_HOST                     127.0.0.1   address clients connect to
#   ACTIVATION_PG_PORT                     5433        port (not the default 5432)
#   ACTIVATION_PG_USER                     activation  role created for the package
#   DBT_ENV_SECRET_ACTIVATION_PG_PASSWORD  activation  its password
#   ACTIVATION_PG_DATABASE                 activation  database created for the package
#   ACTIVATION_PG_DIR   where the server lives (data/, run/, server.log); default
#                       ~/.cache/milestone_activation/postgres, or
#                       /var/lib/milestone_activation/postgres when run as root
#
# initdb and pg_ctl refuse to run as root: as root the server runs as the OS user
# `postgres` (created by the Debian package), which then owns ACTIVATION_PG_DIR.
set -euo pipefail

ACTION="${1:-start}"
PG_HOST="${ACTIVATION_PG_HOST:-127.0.0.1}"
PG_PORT="${ACTIVATION_PG_PORT:-5433}"
PG_USER="${ACTIVATION_PG_USER:-activation}"
PG_PASSWORD="${DBT_ENV_SECRET_ACTIVATION_PG_PASSWORD:-activation}"
PG_DATABASE="${ACTIVATION_PG_DATABASE:-activation}"
if [ "$(id -u)" -eq 0 ]; then
    DEFAULT_DIR=/var/lib/milestone_activation/postgres
else
    DEFAULT_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/milestone_activation/postgres"
fi
PG_DIR="${ACTIVATION_PG_DIR:-$DEFAULT_DIR}"
DATA_DIR="$PG_DIR/data"
SOCKET_DIR="$PG_DIR/run"
LOG_FILE="$PG_DIR/server.log"
SUPERUSER=postgres

die() {
    echo "postgres.sh: $*" >&2
    exit 1
}

case "$ACTION" in
    start | stop | status) ;;
    *) die "unknown action '$ACTION' (use start, stop or status)" ;;
esac
for name in PG_USER PG_DATABASE; do
    [[ "${!name}" =~ ^[a-z_][a-z0-9_]*$ ]] || die "$name '${!name}' must be a plain lower-case identifier"
done
[[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "ACTIVATION_PG_PORT '$PG_PORT' is not a port number"
case "$PG_DIR" in
    /*) ;;
    *) die "ACTIVATION_PG_DIR must be an absolute path (got '$PG_DIR')" ;;
esac
REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
case "$PG_DIR/" in
    "$REPO_DIR"/*) die "ACTIVATION_PG_DIR must be outside the repository ($REPO_DIR)" ;;
esac

# --- server binaries ------------------------------------------------------------------

find_bin_dir() {
    # The version the data directory was made with, else the newest installed.
    local wanted=""
    if [ -f "$DATA_DIR/PG_VERSION" ]; then
        wanted="$(cat "$DATA_DIR/PG_VERSION")"
        if [ -x "/usr/lib/postgresql/$wanted/bin/pg_ctl" ]; then
            echo "/usr/lib/postgresql/$wanted/bin"
            return
        fi
        die "$DATA_DIR was made by PostgreSQL $wanted, which is not installed; remove $PG_DIR to start afresh"
    fi
    local candidate
    candidate="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/pg_ctl' 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$candidate" ] && dirname "$candidate"
    return 0
}

BIN_DIR="$(find_bin_dir)"
if [ -z "$BIN_DIR" ]; then
    [ "$ACTION" = start ] || die "PostgreSQL is not installed (run: scripts/postgres.sh start)"
    echo "PostgreSQL server binaries not found; installing Debian's postgresql with apt-get"
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null; then
        SUDO=(sudo)
    else
        die "installing postgresql needs root: run this script as root or install the 'postgresql' package"
    fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    BIN_DIR="$(find_bin_dir)"
    [ -n "$BIN_DIR" ] || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/pg_ctl was found"
fi

# --- who runs the server ----------------------------------------------------------------

if [ "$(id -u)" -eq 0 ]; then
    getent passwd postgres >/dev/null ||
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    as_server() { runuser -u postgres -- "$@"; }
else
    as_server() { "$@"; }
fi

pg_ctl() { as_server "$BIN_DIR/pg_ctl" -D "$DATA_DIR" "$@"; }
is_running() { pg_ctl status >/dev/null 2>&1; }
admin_psql() {
    as_server "$BIN_DIR/psql" --no-psqlrc --quiet --set ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PG_PORT" \
        -U "$SUPERUSER" "$@"
}

if [ "$ACTION" = status ]; then
    if [ -d "$DATA_DIR" ] && is_running; then
        echo "PostgreSQL is running ($DATA_DIR, port $PG_PORT)"
        exit 0
    fi
    echo "PostgreSQL is not running ($DATA_DIR)"
    exit 3
fi
if [ "$ACTION" = stop ]; then
    if [ -d "$DATA_DIR" ] && is_running; then
        pg_ctl -m fast -w stop
    else
        echo "PostgreSQL is not running ($DATA_DIR)"
    fi
    exit 0
fi

# --- data directory -------------------------------------------------------------------

mkdir -p "$PG_DIR"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PG_DIR"
    as_server test -w "$PG_DIR" ||
        die "the OS user 'postgres' cannot write to $PG_DIR (is a parent directory closed to it?); set ACTIVATION_PG_DIR elsewhere"
fi
as_server mkdir -p "$SOCKET_DIR"
chmod 700 "$SOCKET_DIR"

if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
    echo "Creating a PostgreSQL data directory in $DATA_DIR"
    as_server "$BIN_DIR/initdb" --pgdata="$DATA_DIR" --username="$SUPERUSER" --encoding=UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    echo "include_if_exists = 'activation.conf'" | as_server tee -a "$DATA_DIR/postgresql.conf" >/dev/null
fi

# Rewritten on every start so a changed port takes effect.
as_server tee "$DATA_DIR/activation.conf" >/dev/null <<EOF
# Written by scripts/postgres.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCKET_DIR'
unix_socket_permissions = 0700
timezone = 'UTC'
log_timezone = 'UTC'
# A throwaway test server: durability traded for speed (dbt creates and drops many tables).
fsync = off
synchronous_commit = off
full_page_writes = off
# Small builds: compiling the plans of the package's wide queries costs seconds, more
# than running them.
jit = off
EOF

if is_running; then
    if ! "$BIN_DIR/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        echo "PostgreSQL is running with other settings; restarting it"
        pg_ctl -m fast -w -t 60 restart -l "$LOG_FILE" >/dev/null
    else
        pg_ctl reload >/dev/null
    fi
else
    echo "Starting PostgreSQL ($BIN_DIR) on 127.0.0.1:$PG_PORT"
    if ! pg_ctl -w -t 60 -l "$LOG_FILE" start >/dev/null; then
        tail -n 20 "$LOG_FILE" >&2 || true
        die "PostgreSQL did not start; see $LOG_FILE"
    fi
fi

# --- role and database ------------------------------------------------------------------

# CREATEDB: the test suite makes one database per session and drops it at the end.
admin_psql -d postgres --set=role="$PG_USER" --set=password="$PG_PASSWORD" --set=db="$PG_DATABASE" <<'SQL'
select format('create role %I login createdb', :'role')
where not exists (select from pg_roles where rolname = :'role') \gexec
select format('alter role %I login createdb password %L', :'role', :'password') \gexec
select format('create database %I owner %I', :'db', :'role')
where not exists (select from pg_database where datname = :'db') \gexec
SQL

VERSION="$("$BIN_DIR/postgres" --version | awk '{print $3}')"
cat <<EOF
PostgreSQL $VERSION is running on $PG_HOST:$PG_PORT (data: $DATA_DIR, log: $LOG_FILE)
  role $PG_USER, database $PG_DATABASE (password from DBT_ENV_SECRET_ACTIVATION_PG_PASSWORD, default 'activation')
  psql: PGPASSWORD=... $BIN_DIR/psql -h $PG_HOST -p $PG_PORT -U $PG_USER $PG_DATABASE
  dbt:  dbt build --target postgres     (profiles read the ACTIVATION_PG_* variables)
  stop: scripts/postgres.sh stop
EOF
