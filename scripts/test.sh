#!/usr/bin/env bash
# Set up with the test extra, then run the test suite (slow tests excluded; pass `-m slow` for them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python -m pytest -q "$@"
