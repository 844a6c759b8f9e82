#!/usr/bin/env bash
# Idempotent set-up of .venv-peer: the virtual environment of the benchmarks' peers (RecTools' SASRec
# for `make bench BENCH=seqrec`). Bench-only, never a dependency of the package: rectools 0.19 pins
# numpy<2 and the project locks numpy 2, so the peer cannot share .venv. It gets the same Python and the
# same torch as .venv (the version in requirements.lock), so the uv cache is reused and both sides of
# the comparison run on one torch. A second run installs nothing while the pins below are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE_DIR=${RECAUG_CACHE_DIR:-$HOME/.cache/recaug-spark}
PEER_VENV=.venv-peer  # the benchmarks look for it there
RECTOOLS=0.19.0
TORCH=$(sed -n 's/^torch==\([^ ]*\).*/\1/p' requirements.lock)
STAMP="$PEER_VENV/.recaug-peer-stamp"
wanted="rectools[torch]==$RECTOOLS torch==$TORCH"

if [ -z "$TORCH" ]; then
    echo "peer_env: no torch pin in requirements.lock" >&2
    exit 1
fi
if [ -x "$PEER_VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
    echo "peer_env: $PEER_VENV is up to date ($wanted)"
    exit 0
fi

if command -v uv >/dev/null 2>&1; then
    uv=$(command -v uv)
elif [ -x "$CACHE_DIR/bootstrap/bin/uv" ]; then
    uv="$CACHE_DIR/bootstrap/bin/uv"
else
    echo "peer_env: uv not found; run 'make setup' first (it installs uv under $CACHE_DIR/bootstrap)" >&2
    exit 1
fi
# The same interpreter as .venv (Python 3.11), so both sides run on one Python too.
python=${PYTHON:-$(.venv/bin/python -c 'import sys; print(sys._base_executable)' 2>/dev/null || command -v python3.11)}

[ -x "$PEER_VENV/bin/python" ] || "$uv" venv --quiet --python "$python" "$PEER_VENV"
VIRTUAL_ENV="$PEER_VENV" "$uv" pip install --quiet "rectools[torch]==$RECTOOLS" "torch==$TORCH"
echo "$wanted" > "$STAMP"
echo "peer_env: $PEER_VENV installed ($wanted)"
