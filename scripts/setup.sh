#!/usr/bin/env bash
# Create (or reuse) the virtual environment .venv and install M into it.
# torch==2.13.0 goes in first: with no torch present, pip would resolve a multi-GB CUDA build
# for packages that depend on torch.  Usage: scripts/setup.sh [EXTRA]   (EXTRA: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null 2>&1 || python_bin=python3

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate

# Skip the installs when nothing they depend on changed since the last successful run.
stamp=".venv/.m-installed-$(sha256sum < pyproject.toml | cut -c1-16)-${extra:-base}"
if [ ! -f "$stamp" ]; then
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet torch==2.13.0
    python -m pip install --quiet -e ".${extra:+[$extra]}"
    touch "$stamp"
fi
