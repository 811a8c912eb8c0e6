#!/usr/bin/env bash
# Installs what is missing, builds agora-log, and runs the market-data demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build examples/market_data_demo examples/crash_example agora-log-decode
./build/examples/market_data_demo "$@"
