#!/usr/bin/env bash
# Installs what is missing, builds agora-log, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build
meson test -C build --print-errorlogs
