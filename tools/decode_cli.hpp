#pragma once
// agora-log-decode's command line (tools/decode_cli.cpp), callable in-process:
// main() in tools/agora-log-decode.cpp passes the standard streams, tests
// their own files.

#include <cstdio>

namespace agora::log::detail {

/// Runs agora-log-decode with argv[1..argc-1]: reads FILE "-" from `in`'s
/// descriptor with read(2) (nothing must be in its stdio buffer),
/// writes records (or --info, --help) to `out` unless --output names a file,
/// problems to `err`. Returns the exit status (see --help).
int decode_cli(int argc, char** argv, std::FILE* in, std::FILE* out, std::FILE* err);

}  // namespace agora::log::detail
