#!/usr/bin/env bash
# Install what the interop examples (and tests/interop) need, and only what is missing:
#   C++        g++, cmake, nlohmann-json3-dev            (Debian packages; libtorch is in the torch wheel)
#   Java       a JDK: default-jdk-headless               (Debian package)
#   JavaScript node + npm (Debian packages), then the Node project's packages from its lockfile
# Idempotent and quick when everything is there (no apt, no network); never asks a question.
# apt-get runs only as root; otherwise what is missing is named, and those tests skip saying why.
set -uo pipefail
cd "$(dirname "$0")"

missing=()
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
[ -f /usr/include/nlohmann/json.hpp ] || missing+=(nlohmann-json3-dev)
{ command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1; } || missing+=(default-jdk-headless)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

status=0
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-toolchains: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
            || { echo "install-toolchains: apt-get could not install ${missing[*]}" >&2; status=1; }
    else
        echo "install-toolchains: missing ${missing[*]}; install them (as root: apt-get install" \
             "--no-install-recommends ${missing[*]})" >&2
        status=1
    fi
fi

# The Node project's packages, from package-lock.json; again only when the lockfile changed.
# --ignore-scripts: onnxruntime-node bundles its CPU runtime, and its postinstall script would
# fetch CUDA binaries from outside the npm registry.
if command -v npm >/dev/null 2>&1; then
    stamp="js/node_modules/.m-installed-$(sha256sum js/package-lock.json | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "install-toolchains: npm ci in examples/interop/js"
        if (cd js && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null); then
            touch "$stamp"
        else
            echo "install-toolchains: npm ci failed in examples/interop/js" >&2
            status=1
        fi
    fi
fi
exit $status
