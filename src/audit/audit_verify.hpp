#pragma once
// Checks audit files against the hash chain (audit_chain.hpp): what
// agora-log-audit verify runs (docs/audit.md). The tool's and the tests';
// not part of libagora-log.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace agora::log::detail {

struct AuditVerifyOptions {
    /// Accept a chain that does not start at seq 1 (older files removed by
    /// retention); its first line's prev_hash is then taken on trust.
    bool allow_partial = false;
    /// The newest line must have this sequence number / hash (an anchor kept
    /// elsewhere): catches lines cut from the end of the newest file, which
    /// the files alone cannot show.
    std::optional<std::uint64_t> expect_last_seq;
    std::string expect_last_hash;
};

enum class AuditVerdict {
    intact,  ///< every line links; exit code 0
    broken,  ///< a link is broken; exit code 1
    unreadable,  ///< a file could not be read; exit code 2
};

struct AuditVerifyResult {
    AuditVerdict verdict = AuditVerdict::intact;
    /// The first broken link ("" when intact), and where: the file and its
    /// 1-based line (0: the file as a whole).
    std::string problem;
    std::string file;
    std::size_t line = 0;
    /// What was read, in chain order.
    std::uint64_t lines = 0;
    std::uint64_t first_seq = 0;
    std::uint64_t last_seq = 0;
    std::string last_hash;
    std::vector<std::string> files;  // as ordered (by first sequence number); empty files left out
};

/// Verifies `files` (any order: they are ordered by their first line's
/// sequence number) as one chain.
AuditVerifyResult verify_audit_files(const std::vector<std::string>& files, const AuditVerifyOptions& options = {});

}  // namespace agora::log::detail
