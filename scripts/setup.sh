#!/usr/bin/env bash
# Idempotent set-up: a virtual environment with the locked dependencies, this package installed
# editable, and the Delta Lake jars resolved into a local cache. A second run downloads nothing:
# the environment is skipped while requirements.lock and pyproject.toml are unchanged, and the
# jars are skipped while their manifest in the cache is complete.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE_DIR=${RECAUG_CACHE_DIR:-$HOME/.cache/recaug-spark}
VENV=${RECAUG_VENV:-.venv}
STAMP="$VENV/.recaug-setup-stamp"

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "setup: Python 3.11 is required; install it or set PYTHON=/path/to/python3.11" >&2
    return 1
}

find_uv() {
    if command -v uv >/dev/null 2>&1; then command -v uv; return 0; fi
    if [ ! -x "$CACHE_DIR/bootstrap/bin/uv" ]; then
        "$1" -m venv "$CACHE_DIR/bootstrap" >&2 &&
            "$CACHE_DIR/bootstrap/bin/pip" install --quiet uv >&2 || return 1
    fi
    echo "$CACHE_DIR/bootstrap/bin/uv"
}

wanted=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
    echo "setup: environment $VENV is up to date"
else
    python=$(find_python)
    mkdir -p "$CACHE_DIR"
    if uv=$(find_uv "$python"); then
        [ -x "$VENV/bin/python" ] || "$uv" venv --quiet --python "$python" "$VENV"
        VIRTUAL_ENV="$VENV" "$uv" pip install --quiet -r requirements.lock
        VIRTUAL_ENV="$VENV" "$uv" pip install --quiet --no-deps -e .
    else
        echo "setup: uv unavailable, falling back to pip (slower)" >&2
        [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
        "$VENV/bin/pip" install --quiet -r requirements.lock
        "$VENV/bin/pip" install --quiet --no-deps -e .
    fi
    echo "$wanted" > "$STAMP"
    echo "setup: environment $VENV installed"
fi

"$VENV/bin/python" -m recaug_spark.jars fetch
