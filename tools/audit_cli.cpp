#include "audit_cli.hpp"

#include "audit/audit_verify.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log::detail {

namespace {

constexpr int kExitUsage = 64;

constexpr std::string_view kUsage = R"(Usage: agora-log-audit verify [OPTIONS] FILE...

Checks audit files (Logger::audit(), docs/audit.md) against their SHA-256
hash chain: the live file and its rotated files, in any order. Reports the
first broken link: a changed, deleted, moved or inserted line, a truncated
file, a missing rotated file.

Options:
  --allow-partial       accept a chain that does not start at seq 1 (older
                        files removed by retention)
  --expect-last SEQ     the newest line must be seq SEQ (an anchor kept
                        elsewhere: catches lines cut from the end)
  --expect-hash HASH    the newest line's hash must be HASH
  -h, --help            this text

Exit status:
  0   intact: every line links (prints the count, the sequence numbers and
      the last hash)
  1   broken: prints FILE:LINE and what is wrong with the first bad link
  2   a file could not be read
  64  usage error
)";

}  // namespace

int audit_cli(int argc, char** argv, std::FILE* out, std::FILE* err) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) {
        fmt::print(err, "{}", kUsage);
        return kExitUsage;
    }
    if (args[0] == "-h" || args[0] == "--help") {
        fmt::print(out, "{}", kUsage);
        return 0;
    }
    if (args[0] != "verify") {
        fmt::print(err, "agora-log-audit: unknown command '{}' (expected verify; see --help)\n", args[0]);
        return kExitUsage;
    }
    AuditVerifyOptions options;
    std::vector<std::string> files;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string_view a = args[i];
        if (a == "--allow-partial") {
            options.allow_partial = true;
        } else if (a == "--expect-last" || a == "--expect-hash") {
            if (i + 1 == args.size()) {
                fmt::print(err, "agora-log-audit: {} needs a value\n", a);
                return kExitUsage;
            }
            const std::string_view v = args[++i];
            if (a == "--expect-hash") {
                options.expect_last_hash = std::string(v);
                continue;
            }
            std::uint64_t seq = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seq);
            if (ec != std::errc() || end != v.data() + v.size() || seq == 0) {
                fmt::print(err, "agora-log-audit: --expect-last '{}' is not a sequence number (1 or more)\n", v);
                return kExitUsage;
            }
            options.expect_last_seq = seq;
        } else if (a == "-h" || a == "--help") {
            fmt::print(out, "{}", kUsage);
            return 0;
        } else if (a.starts_with("--")) {
            fmt::print(err, "agora-log-audit: unknown option '{}' (see --help)\n", a);
            return kExitUsage;
        } else {
            files.emplace_back(a);
        }
    }
    if (files.empty()) {
        fmt::print(err, "agora-log-audit: verify needs at least one FILE\n");
        return kExitUsage;
    }
    const AuditVerifyResult r = verify_audit_files(files, options);
    switch (r.verdict) {
        case AuditVerdict::intact:
            fmt::print(out, "OK: {} lines in {} file(s), seq {} to {}, last hash {}\n", r.lines, r.files.size(),
                       r.first_seq, r.last_seq, r.last_hash);
            return 0;
        case AuditVerdict::broken:
            if (r.line > 0) fmt::print(out, "BROKEN: {}:{}: {}\n", r.file, r.line, r.problem);
            else fmt::print(out, "BROKEN: {}: {}\n", r.file, r.problem);
            return 1;
        case AuditVerdict::unreadable:
            fmt::print(out, "ERROR: {}: {}\n", r.file, r.problem);
            return 2;
    }
    return 2;
}

}  // namespace agora::log::detail
