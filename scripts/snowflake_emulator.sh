#!/usr/bin/env bash
# The Snowflake emulator for the package's Snowflake tests: fakesnow's HTTP server on
# loopback (scripts/snowflake_emulator.py), which dbt-snowflake and the Snowflake Python
# connector reach as an account (`protocol: http`, integration_tests/profiles.yml).
#
#   scripts/snowflake_emulator.sh [start|stop|status]   (default: start; `make snowflake-emulator`)
#
# start is idempotent: creates the emulator's own virtualenv from
# requirements-snowflake-emulator.txt when it is missing or older than that file,
# starts the server when nothing answers on the port, and waits until it answers. Its
# databases are in memory: a restart starts empty.
#
# Settings (environment variables, as the test harness reads them):
#   ACTIVATION_SNOWFLAKE_PORT   8765   port on 127.0.0.1
#   ACTIVATION_SNOWFLAKE_DIR    where the pid file and server log live; default
#                               ~/.cache/milestone_activation/snowflake-emulator
#   ACTIVATION_SNOWFLAKE_VENV   the virtualenv; default .venv-snowflake-emulator in the repository
set -euo pipefail

ACTION="${1:-start}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${ACTIVATION_SNOWFLAKE_PORT:-8765}"
STATE_DIR="${ACTIVATION_SNOWFLAKE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/milestone_activation/snowflake-emulator}"
VENV="${ACTIVATION_SNOWFLAKE_VENV:-$ROOT/.venv-snowflake-emulator}"
REQUIREMENTS="$ROOT/requirements-snowflake-emulator.txt"
PID_FILE="$STATE_DIR/server-$PORT.pid"
LOG_FILE="$STATE_DIR/server-$PORT.log"
PYTHON="${PYTHON:-python3}"

die() {
    echo "snowflake_emulator.sh: $*" >&2
    exit 1
}

case "$ACTION" in
    start | stop | status) ;;
    *) die "unknown action '$ACTION' (use start, stop or status)" ;;
esac
[[ "$PORT" =~ ^[0-9]+$ ]] || die "ACTIVATION_SNOWFLAKE_PORT '$PORT' is not a port number"

answering() {
    "$PYTHON" - "$PORT" <<'EOF'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
except OSError:
    sys.exit(1)
EOF
}

running_pid() {
    [ -f "$PID_FILE" ] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

ensure_venv() {
    local stamp="$VENV/.installed"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$REQUIREMENTS" ]; then
        return
    fi
    echo "snowflake_emulator.sh: installing the emulator into $VENV"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS"
    touch "$stamp"
}

case "$ACTION" in
    status)
        if pid="$(running_pid)"; then
            echo "Snowflake emulator running on 127.0.0.1:$PORT (pid $pid, log $LOG_FILE)"
        elif answering; then
            echo "something other than this script's emulator answers on 127.0.0.1:$PORT"
        else
            echo "Snowflake emulator not running on 127.0.0.1:$PORT"
            exit 3
        fi
        ;;
    stop)
        if pid="$(running_pid)"; then
            kill "$pid"
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
            echo "Snowflake emulator on 127.0.0.1:$PORT stopped"
        else
            echo "Snowflake emulator not running on 127.0.0.1:$PORT"
        fi
        rm -f "$PID_FILE"
        ;;
    start)
        mkdir -p "$STATE_DIR"
        ensure_venv
        if pid="$(running_pid)" && answering; then
            echo "Snowflake emulator already running on 127.0.0.1:$PORT (pid $pid)"
            exit 0
        fi
        answering && die "port $PORT on 127.0.0.1 is taken by another program (set ACTIVATION_SNOWFLAKE_PORT)"
        nohup "$VENV/bin/python" "$ROOT/scripts/snowflake_emulator.py" --port "$PORT" >>"$LOG_FILE" 2>&1 &
        echo $! >"$PID_FILE"
        for _ in $(seq 1 100); do
            if answering; then
                echo "Snowflake emulator on 127.0.0.1:$PORT (pid $(cat "$PID_FILE"), log $LOG_FILE)"
                exit 0
            fi
            kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break
            sleep 0.3
        done
        tail -n 20 "$LOG_FILE" >&2 || true
        die "the emulator did not start (log: $LOG_FILE)"
        ;;
esac
