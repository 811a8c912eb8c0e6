#!/usr/bin/env bash
# Installs what building and testing agora-log needs on Debian 12, if missing.
# Idempotent; uses apt-get as root (or through sudo).
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config
  # The CMake consumer of the installed package (scripts/check-install.sh).
  cmake
  libfmt-dev rapidjson-dev libconcurrentqueue-dev libyaml-cpp-dev libre2-dev
  # The logger's metrics and the admin endpoint; the Prometheus server and
  # promtool check them in the tests.
  prometheus-cpp-dev libcpp-httplib-dev prometheus curl
  # SHA-256 of the audit hash chain (OpenSSL libcrypto).
  libssl-dev
  # The deploy/ checks (tools/check_deploy.py): YAML and JSON Schema for
  # Python, yamllint, and LuaJIT for Fluent Bit's Lua filter.
  python3-yaml python3-jsonschema yamllint luajit
  # libagora-log-grpc (meson option grpc) and its test's generated service.
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libboost-test-dev libboost-stacktrace-dev libbenchmark-dev valgrind libspdlog-dev
  # The decoder's fuzz build (.ci/run): clang 16 and its libFuzzer runtime
  # (clang 14 cannot compile std::source_location with libstdc++ 12).
  clang-16 libclang-rt-16-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
