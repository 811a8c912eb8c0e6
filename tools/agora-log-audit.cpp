// agora-log-audit: verifies the hash chain of audit files (docs/audit.md).
// The command line is tools/audit_cli.cpp, the checks src/audit/audit_verify.cpp.

#include "audit_cli.hpp"

#include <cstdio>

int main(int argc, char** argv) { return agora::log::detail::audit_cli(argc, argv, stdout, stderr); }
