#!/usr/bin/env bash
# Installs agora-log into a scratch root and builds the README example
# against it through pkg-config, as a consumer project would (and the gRPC
# interceptor's example against agora-log-grpc, when it was built).
#
#   scripts/check-install.sh [BUILD_DIR]
#
# With BUILD_DIR (a configured, built tree, as CI's `build`), installs that
# one under build-install/root with DESTDIR instead of configuring and
# building a tree of its own; pkg-config then reads the installed .pc file
# with the root as its sysroot.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$PWD/build-install"
rm -rf "$work"
mkdir -p "$work"
root="$work/root"
if [ $# -ge 1 ]; then
    meson install -C "$1" --destdir "$root" >/dev/null
    pc="$(find "$root" -name agora-log.pc | head -n 1)"
    export PKG_CONFIG_SYSROOT_DIR="$root"
else
    meson setup "$work/build" --prefix="$root" --libdir=lib -Dtests=false -Dexamples=false -Dperf=false >/dev/null
    meson install -C "$work/build" >/dev/null
    pc="$root/lib/pkgconfig/agora-log.pc"
fi
[ -f "$pc" ] || { echo "agora-log.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir="$(dirname "$(dirname "$pc")")"
bindir="$(find "$root" -type d -name bin | head -n 1)"
g++ -std=c++20 -O2 -o "$work/consumer" examples/readme_example.cpp \
    $(pkg-config --cflags --libs agora-log) -Wl,-rpath,"$libdir"
(cd "$work" && ./consumer >/dev/null)
grep -q '"message":"Quote AAPL bid 189.21 ask 189.23"' "$work/logs/readme-example.log"
# libagora-log-grpc, where the build found grpc++ (meson feature grpc): its
# example against the installed .pc, header and library.
grpc_pc="$(dirname "$pc")/agora-log-grpc.pc"
if [ -f "$grpc_pc" ]; then
    g++ -std=c++20 -O2 -o "$work/grpc-consumer" examples/grpc_server_example.cpp \
        $(pkg-config --cflags --libs agora-log-grpc) -Wl,-rpath,"$libdir"
    (cd "$work" && ./grpc-consumer > grpc-consumer.out)
    grep -q '"message":"Serving on 127.0.0.1:' "$work/grpc-consumer.out"
    echo "gRPC interceptor consumer built through pkg-config agora-log-grpc"
elif find "$root" -name grpc_interceptor.hpp | grep -q .; then
    echo "grpc_interceptor.hpp is installed without agora-log-grpc.pc"; exit 1
fi
# Only the library is installed for applications: the decoder is the tool's.
if nm -D --defined-only "$libdir"/libagora-log.so* 2>/dev/null | grep -q 'Decoder'; then
    echo "libagora-log.so carries the decoder"; exit 1
fi
# Nor the sinks' test seam and chunk protocol: they live in src/sinks/.
incdir="$(find "$root" -type d -path '*/include/agora' | head -n 1)"
if grep -rqE 'FileSystem|prepare_write|rotate_if_not_empty|generation\(' "$incdir"; then
    echo "the installed headers carry the sinks' internals"; exit 1
fi
"$bindir/agora-log-decode" --help > "$work/decode-help.txt"
grep -q '^Usage: agora-log-decode' "$work/decode-help.txt"
echo "consumer build against the installed library through pkg-config works; agora-log-decode is installed"
