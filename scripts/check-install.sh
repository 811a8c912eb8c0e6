#!/usr/bin/env bash
# Installs agora-log into a scratch prefix and builds the README example
# against it through pkg-config, as a consumer project would.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="$PWD/build-install/prefix"
rm -rf build-install
meson setup build-install --prefix="$prefix" --libdir=lib -Dtests=false -Dexamples=false -Dperf=false >/dev/null
meson install -C build-install >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
g++ -std=c++20 -O2 -o build-install/consumer examples/readme_example.cpp \
    $(pkg-config --cflags --libs agora-log) -Wl,-rpath,"$prefix/lib"
(cd build-install && ./consumer >/dev/null)
grep -q '"message":"Quote AAPL bid 189.21 ask 189.23"' build-install/logs/readme-example.log
"$prefix/bin/agora-log-decode" --help > build-install/decode-help.txt
grep -q '^Usage: agora-log-decode' build-install/decode-help.txt
echo "consumer build against the installed library through pkg-config works; agora-log-decode is installed"
