#!/usr/bin/env bash
# Debian's headless Chromium for the dashboard's browser test (`make chromium`).
#
#   scripts/chromium.sh
#
# Idempotent: installs the `chromium` package with apt-get only when no chromium binary
# is on PATH (as root, or through sudo when it is available), then prints the binary's
# path and version. The browser test (integration_tests/tests/test_dashboard.py) finds
# the binary through ACTIVATION_CHROMIUM (default: `chromium` on PATH).
set -euo pipefail

BINARY="${ACTIVATION_CHROMIUM:-chromium}"

die() {
    echo "chromium.sh: $*" >&2
    exit 1
}

if ! command -v "$BINARY" >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        die "'$BINARY' is not installed and apt-get needs root: install Debian's chromium package"
    fi
    command -v apt-get >/dev/null 2>&1 || die "'$BINARY' is not installed and there is no apt-get"
    echo "chromium.sh: installing Debian's chromium (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    BINARY=chromium
    command -v "$BINARY" >/dev/null 2>&1 || die "apt-get finished but no chromium binary is on PATH"
fi

echo "chromium.sh: $(command -v "$BINARY") ($("$BINARY" --headless --version 2>/dev/null || "$BINARY" --version))"
