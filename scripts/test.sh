#!/usr/bin/env bash
# Set up a virtual environment with the test dependencies (once), then run the checks CI runs:
# ruff, mypy --strict on the package, and the whole test suite (import contracts included).
# Every check runs even when one fails; the exit status is non-zero if any failed.
# Arguments go to pytest (e.g. `bash scripts/test.sh tests/unit -x`).
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
failed=()
echo "== ruff check ." >&2
"$VENV/bin/ruff" check . || failed+=("ruff")
echo "== mypy --strict peropix_tui/" >&2
"$VENV/bin/mypy" --strict peropix_tui/ || failed+=("mypy")
echo "== pytest" >&2
"$VENV/bin/python" -m pytest -q "$@" || failed+=("pytest")
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
