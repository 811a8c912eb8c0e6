#!/usr/bin/env bash
# Builds two variants of agora-log that the default build does not cover and
# runs only the tests whose outcome depends on what differs:
#
#   build-wraps   fmt, RapidJSON and ConcurrentQueue from the wraps in
#                 subprojects/ (downloaded from deb.debian.org on first use):
#                 fmt 10.1.1 where Debian 12's is 9.1.0. Builds the library
#                 (static and shared) and agora-log-decode, and runs what
#                 depends on fmt: the decoder's template bounds and fmt
#                 formatting (test_decoder), argument formatting
#                 (test_format_internals), the compile-time format checks
#                 (suite compile_fail) and the public header size.
#   build-nofeat  -Dyaml=disabled -Dstacktrace=disabled -Dgrpc=disabled,
#                 system packages: configuration files are refused with an
#                 error (test_config_file, config_file_example), logged
#                 exceptions carry an empty stacktrace (test_exceptions_timer),
#                 and libagora-log-grpc, its test and example are not built
#                 (the configuration is checked to have none of them).
#
# Both are built unoptimised without debug information (--buildtype=plain):
# what they check does not depend on optimisation, and -O0 compiles the test
# programs several times faster.
#
# A build directory that exists is reconfigured with these options, not
# wiped. CI sets CCACHE_DISABLE=1 (.ci/run) so the figures are a fresh
# machine's.
#
# Usage: scripts/check-build-variants.sh [wraps|nofeat]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(wraps nofeat)

setup() {  # setup DIR OPTIONS...
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

for variant in "${variants[@]}"; do
    start=$SECONDS
    case "$variant" in
    wraps)
        echo "== build-wraps: fmt, RapidJSON, ConcurrentQueue from subprojects/"
        setup build-wraps --buildtype=plain -Dperf=false -Dexamples=false \
            -Dwrap_mode=default --force-fallback-for=fmt,rapidjson,concurrentqueue
        meson introspect build-wraps --projectinfo | python3 -c '
import json, sys
print("subprojects:", ", ".join(s["name"] + " " + s["version"] for s in json.load(sys.stdin)["subprojects"]))'
        meson compile -C build-wraps agora-log:static_library agora-log:shared_library agora-log-decode \
            test/test_decoder test/test_format_internals
        compile_fail=$(meson test -C build-wraps --list 2>/dev/null | sed -n 's|^agora-log:compile_fail / ||p')
        # shellcheck disable=SC2086  # one test name per word
        meson test -C build-wraps --no-rebuild --print-errorlogs decoder format_internals header-size $compile_fail
        ;;
    nofeat)
        echo "== build-nofeat: -Dyaml=disabled -Dstacktrace=disabled -Dgrpc=disabled"
        setup build-nofeat --buildtype=plain -Dperf=false -Dexamples=true -Dyaml=disabled -Dstacktrace=disabled \
            -Dgrpc=disabled
        meson introspect build-nofeat --targets | python3 -c '
import json, sys
names = [t["name"] for t in json.load(sys.stdin) if "grpc" in t["name"] or "proto" in t["name"]]
if names:
    sys.exit("build-nofeat has gRPC targets although -Dgrpc=disabled: " + ", ".join(names))'
        meson compile -C build-nofeat test/test_config_file test/test_exceptions_timer examples/config_file_example
        meson test -C build-nofeat --no-rebuild --print-errorlogs config_file exceptions_timer run_config_file_example
        ;;
    *)
        echo "unknown variant '$variant' (wraps or nofeat)" >&2
        exit 2
        ;;
    esac
    echo "== $variant: $((SECONDS - start)) s"
done
