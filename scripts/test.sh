#!/usr/bin/env bash
# Set up with the test extra, then run the test suite (slow tests excluded; pass `-m slow` for them).
# First the toolchains the interop tests build with (g++/cmake, a JDK, node/npm and the Node
# example's packages), only what is missing, so this is quick when they are there; should an
# install fail, the suite still runs and those tests skip, each saying what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash examples/interop/install-toolchains.sh || echo "test.sh: some interop toolchains could not be installed (see above)" >&2
scripts/setup.sh dev
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python -m pytest -q "$@"
