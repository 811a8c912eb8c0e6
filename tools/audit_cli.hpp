#pragma once
// agora-log-audit's command line (tools/audit_cli.cpp), callable in-process:
// main() in tools/agora-log-audit.cpp passes the standard streams, tests
// their own files.

#include <cstdio>

namespace agora::log::detail {

/// Runs agora-log-audit with argv[1..argc-1]; writes the verdict to `out`,
/// usage errors to `err`. Returns the exit status: 0 intact, 1 broken,
/// 2 a file could not be read, 64 usage.
int audit_cli(int argc, char** argv, std::FILE* out, std::FILE* err);

}  // namespace agora::log::detail
