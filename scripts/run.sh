#!/usr/bin/env bash
# Set up a virtual environment (once) and launch the PeroPix TUI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PEROPIX_VENV:-.venv}
if [ ! -x "$VENV/bin/peropix" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -e .
fi
exec "$VENV/bin/peropix" "$@"
