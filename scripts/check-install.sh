#!/usr/bin/env bash
# Installs agora-log into a scratch root and builds the README example
# against it as consumer projects would: through pkg-config, through the
# CMake package (find_package(agora-log), agora::log; test/consumers/cmake)
# and, from the source tree, as a Meson subproject (dependency('agora-log');
# test/consumers/meson). Each consumer is run and its log file checked; and the gRPC
# interceptor's example against agora-log-grpc, when it was built.
#
#   scripts/check-install.sh [BUILD_DIR]
#
# With BUILD_DIR (a configured, built tree, as CI's `build`), installs that
# one under build-install/root with DESTDIR instead of configuring and
# building a tree of its own; pkg-config then reads a copy of the installed
# .pc file whose prefix is under the root (not PKG_CONFIG_SYSROOT_DIR, which
# would also move the absolute paths of system libraries a static build's
# Libs name), and CMake finds the package under the root.
set -euo pipefail
cd "$(dirname "$0")/.."
src="$PWD"
work="$PWD/build-install"
rm -rf "$work"
mkdir -p "$work"
root="$work/root"

part_start=$SECONDS
part_name=""
part() {
    if [ -n "$part_name" ]; then
        echo "-- $part_name: $((SECONDS - part_start)) s"
    fi
    part_name="$1"
    part_start=$SECONDS
}

# The option values of a configured build directory.
build_option() {
    meson introspect --buildoptions "$1" | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$2"
}

# Runs a consumer in its own directory and checks the log file the README
# example writes there.
check_readme_example() {
    local dir="$1" exe="$2"
    (cd "$dir" && "$exe" >/dev/null)
    grep -q '"message":"Quote AAPL bid 189.21 ask 189.23"' "$dir/logs/readme-example.log"
    grep -q '"message":"Feed gap of 12 messages on channel 7"' "$dir/logs/readme-example.log"
}

part "install"
if [ $# -ge 1 ]; then
    build="$1"
    meson install -C "$build" --destdir "$root" >/dev/null
    prefix="$root$(build_option "$build" prefix)"
    pc="$(find "$root" -name agora-log.pc | head -n 1)"
else
    build="$work/build"
    meson setup "$build" --prefix="$root" --libdir=lib -Dtests=false -Dexamples=false -Dperf=false >/dev/null
    meson install -C "$build" >/dev/null
    prefix="$root"
    pc="$root/lib/pkgconfig/agora-log.pc"
fi
version="$(meson introspect --projectinfo "$build" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')"
default_library="$(build_option "$build" default_library)"
[ -f "$pc" ] || { echo "agora-log.pc was not installed"; exit 1; }
mkdir -p "$work/pkgconfig"
sed "s|^prefix=.*|prefix=$prefix|" "$pc" > "$work/pkgconfig/agora-log.pc"
export PKG_CONFIG_PATH="$work/pkgconfig"
libdir="$(dirname "$(dirname "$pc")")"
bindir="$(find "$root" -type d -name bin | head -n 1)"
for f in agora-logConfig.cmake agora-logConfigVersion.cmake; do
    [ -f "$libdir/cmake/agora-log/$f" ] || { echo "$libdir/cmake/agora-log/$f was not installed"; exit 1; }
done

part "pkg-config consumer"
mkdir -p "$work/pkg-config"
g++ -std=c++20 -O2 -o "$work/pkg-config/consumer" examples/readme_example.cpp \
    $(pkg-config --cflags --libs agora-log) -Wl,-rpath,"$libdir"
check_readme_example "$work/pkg-config" ./consumer
# libagora-log-grpc, where the build found grpc++ (meson feature grpc): its
# example against the installed .pc, header and library.
grpc_pc="$(dirname "$pc")/agora-log-grpc.pc"
if [ -f "$grpc_pc" ]; then
    sed "s|^prefix=.*|prefix=$prefix|" "$grpc_pc" > "$work/pkgconfig/agora-log-grpc.pc"
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
"$bindir/agora-log-audit" --help > "$work/audit-help.txt"
grep -q '^Usage: agora-log-audit verify' "$work/audit-help.txt"
if nm -D --defined-only "$libdir"/libagora-log.so* 2>/dev/null | grep -q 'verify_audit_files'; then
    echo "libagora-log.so carries the audit verifier"; exit 1
fi

# The CMake consumer: find_package() with versions the install must meet and
# versions it must not (test/consumers/cmake/CMakeLists.txt), then the README
# example linked with agora::log, run from the build tree. Variants: the
# library found by default (the shared one where there is one); the static
# one (AGORA_LOG_USE_STATIC_LIBS) with its dependencies through their CMake
# packages where they have one; the static one with them all through
# pkg-config.
cmake_consumer() {
    local name="$1" expected="$2"; shift 2
    local dir="$work/cmake-$name"
    cmake -S test/consumers/cmake -B "$dir" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
        -DAGORA_LOG_VERSION="$version" "$@" > "$dir.configure.log" \
        || { cat "$dir.configure.log"; echo "CMake consumer ($name) failed to configure"; exit 1; }
    ninja -C "$dir" > "$dir.build.log" || { cat "$dir.build.log"; echo "CMake consumer ($name) failed to build"; exit 1; }
    check_readme_example "$dir" ./readme_example
    # The agora::log CMake used: the installed library, of the kind expected.
    local type file needed=STATIC_LIBRARY
    read -r type file < "$dir/agora-log-library.txt"
    case "$file" in "$libdir"/*) ;; *) echo "CMake consumer ($name) linked $file, not the installed library"; exit 1;; esac
    readelf -d "$dir/readme_example" | grep -q 'NEEDED.*libagora-log\.so' && needed=SHARED_LIBRARY
    if [ "$type" != "$expected" ] || [ "$needed" != "$expected" ]; then
        echo "CMake consumer ($name): agora::log is a $type, the program links it as a $needed, expected $expected"; exit 1
    fi
}
part "CMake consumer (default)"
if [ "$default_library" = static ]; then cmake_consumer default STATIC_LIBRARY; else cmake_consumer default SHARED_LIBRARY; fi
if [ "$default_library" = both ]; then
    part "CMake consumer (static)"
    cmake_consumer static STATIC_LIBRARY -DAGORA_LOG_USE_STATIC_LIBS=ON
fi
if [ "$default_library" != shared ]; then
    part "CMake consumer (static, dependencies through pkg-config)"
    cmake_consumer static-pkg-config STATIC_LIBRARY -DAGORA_LOG_USE_STATIC_LIBS=ON \
        -DCMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp=ON -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=ON
fi

# The Meson consumer: this source tree as subprojects/agora-log (a symbolic
# link), built static at -O0 (plain) with the parent; the fallback is forced,
# so an agora-log installed on the machine cannot stand in for it.
part "Meson subproject consumer"
mc="$work/meson-consumer"
mkdir -p "$mc/subprojects"
cp test/consumers/meson/meson.build examples/readme_example.cpp "$mc/"
ln -s "$src" "$mc/subprojects/agora-log"
(cd "$mc" && meson setup build --buildtype=plain --force-fallback-for=agora-log > setup.log) \
    || { cat "$mc/setup.log"; echo "Meson consumer failed to configure"; exit 1; }
grep -q 'Dependency agora-log found: YES .* (overridden)' "$mc/setup.log" \
    || { cat "$mc/setup.log"; echo "Meson consumer: dependency('agora-log') did not come from the subproject"; exit 1; }
ninja -C "$mc/build" > "$mc/build.log" || { cat "$mc/build.log"; echo "Meson consumer failed to build"; exit 1; }
# As a subproject, agora-log builds the library and nothing of its own checks.
for t in agora-log-decode libagora-layer-check-base.so layers.stamp; do
    [ ! -e "$mc/build/subprojects/agora-log/$t" ] || { echo "Meson consumer: the subproject built $t"; exit 1; }
done
check_readme_example "$mc/build" ./readme_example
part ""

echo "consumer builds against the installed library (pkg-config, CMake find_package) and the subproject (Meson) work;" \
    "agora-log-decode is installed"
