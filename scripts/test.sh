#!/usr/bin/env bash
# Set up a virtual environment with the test dependencies (once) and run the whole test suite.
# torch is pinned to the CPU build that this kind of machine carries; on a CUDA box install your own first.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PEROPIX_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "$VENV/bin/pip" install -q "torch==2.13.0"
fi
"$VENV/bin/pip" install -q -e ".[dev,local]"
if ! command -v tmux >/dev/null 2>&1; then
  echo "tmux missing: the real-terminal smoke test will be skipped (install tmux to run it)" >&2
fi
exec "$VENV/bin/python" -m pytest -q "$@"
