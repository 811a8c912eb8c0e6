#include "audit/audit_chain.hpp"

#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <stdexcept>

namespace agora::log::detail {

namespace {

constexpr std::string_view kHashKey = ",\"hash\":\"";

bool is_lower_hex(std::string_view s) noexcept {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1 || size != 32)
        throw std::runtime_error("SHA-256 failed (libcrypto)");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(kAuditHashHexSize, '0');
    for (unsigned i = 0; i < size; ++i) {
        out[2 * i] = kHex[digest[i] >> 4];
        out[2 * i + 1] = kHex[digest[i] & 15];
    }
    return out;
}

std::string seal_audit_line(std::string& entry, std::uint64_t seq, std::string_view prev_hash) {
    entry += ",\"audit\":{\"seq\":";
    entry += std::to_string(seq);
    entry += ",\"prev_hash\":\"";
    entry += prev_hash;
    entry += '"';
    std::string hash = sha256_hex(entry);
    entry += kHashKey;
    entry += hash;
    entry += "\"}}\n";
    return hash;
}

std::optional<AuditLink> parse_audit_line(std::string_view line, std::string& why) {
    const std::size_t at = line.rfind(kHashKey);
    if (at == std::string_view::npos) {
        why = "no audit hash";
        return std::nullopt;
    }
    const std::string_view tail = line.substr(at + kHashKey.size());
    if (tail.size() != kAuditHashHexSize + 3 || tail.substr(kAuditHashHexSize) != "\"}}" ||
        !is_lower_hex(tail.substr(0, kAuditHashHexSize))) {
        why = "the line does not end with the audit member";
        return std::nullopt;
    }
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) {
        why = "not a JSON object";
        return std::nullopt;
    }
    const auto audit = doc.FindMember("audit");
    if (audit == doc.MemberEnd() || !audit->value.IsObject()) {
        why = "no \"audit\" object";
        return std::nullopt;
    }
    const auto& a = audit->value;
    const auto seq = a.FindMember("seq");
    const auto prev = a.FindMember("prev_hash");
    const auto hash = a.FindMember("hash");
    if (seq == a.MemberEnd() || !seq->value.IsUint64() || seq->value.GetUint64() == 0 || prev == a.MemberEnd() ||
        !prev->value.IsString() || hash == a.MemberEnd() || !hash->value.IsString()) {
        why = "the \"audit\" object lacks seq, prev_hash or hash";
        return std::nullopt;
    }
    AuditLink link;
    link.seq = seq->value.GetUint64();
    link.prev_hash.assign(prev->value.GetString(), prev->value.GetStringLength());
    link.hash = std::string(tail.substr(0, kAuditHashHexSize));
    if (link.prev_hash.size() != kAuditHashHexSize || !is_lower_hex(link.prev_hash) ||
        std::string_view(hash->value.GetString(), hash->value.GetStringLength()) != link.hash) {
        why = "malformed prev_hash or hash";
        return std::nullopt;
    }
    link.hash_matches = sha256_hex(line.substr(0, at)) == link.hash;
    return link;
}

}  // namespace agora::log::detail
