#!/usr/bin/env bash
# Set up hwep on a fresh Debian/Ubuntu machine: ngspice and its shared library (apt),
# a virtual environment in .venv, and the package with the given extras.
# Usage: scripts/setup.sh [EXTRAS]      e.g. scripts/setup.sh "spice,dev"
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-spice}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "setup: no apt-get here; install these by hand: $*" >&2
        return 1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# ngspice (batch program) and libngspice0 (shared library used through PySpice).
if ! command -v ngspice >/dev/null || ! ldconfig -p 2>/dev/null | grep -q 'libngspice\.so'; then
    echo "setup: installing ngspice and libngspice0"
    apt_install ngspice libngspice0
fi

# Python >= 3.10 with venv support.
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then
    apt_install python3 python3-venv python3-pip
fi
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "setup: hwep needs Python >= 3.10; found $("$python" --version)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
    if ! "$python" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        apt_install "python${version}-venv" || apt_install python3-venv
        "$python" -m venv .venv
    fi
fi

.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
