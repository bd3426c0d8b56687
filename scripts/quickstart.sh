#!/usr/bin/env bash
# The main job: set up, then fine-tune, evaluate and save the quickstart sentiment classifier.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec m run examples/quickstart.m "$@"
