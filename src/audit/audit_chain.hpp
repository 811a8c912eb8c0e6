#pragma once
// The audit line format (docs/audit.md, "The hash chain"), shared by the
// writer (audit_log.hpp) and the verifier (audit_verify.hpp).
//
// An audit line is one JSON entry whose last member is
//   "audit":{"seq":N,"prev_hash":"<64 hex>","hash":"<64 hex>"}
// where `hash` is the SHA-256 of the line's bytes up to, not including,
// `,"hash":"`, and `prev_hash` is the previous line's `hash` (64 zeros for
// seq 1). So a line's hash covers its own content, its sequence number and
// every line before it. The text `,"hash":"` can occur only there: inside a
// JSON string a quote is always escaped.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agora::log::detail {

inline constexpr std::size_t kAuditHashHexSize = 64;
/// The prev_hash of seq 1.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 of `data`, 64 lower-case hexadecimal digits (OpenSSL libcrypto).
/// Throws std::runtime_error if libcrypto fails.
std::string sha256_hex(std::string_view data);

/// Completes an entry: `entry` is a JSON object without its closing brace;
/// appends the "audit" member with `seq`, `prev_hash` and the hash, the
/// closing braces and a newline. Returns the new hash.
std::string seal_audit_line(std::string& entry, std::uint64_t seq, std::string_view prev_hash);

/// What one line (without its newline) says about the chain.
struct AuditLink {
    std::uint64_t seq = 0;
    std::string prev_hash;
    std::string hash;
    /// The stored hash is the SHA-256 of the line's content.
    bool hash_matches = false;
};

/// Reads the chain members of `line`. nullopt (with `why`) if it is not an
/// audit line: not a JSON object, or without a well-formed "audit" member
/// in last place.
std::optional<AuditLink> parse_audit_line(std::string_view line, std::string& why);

}  // namespace agora::log::detail
