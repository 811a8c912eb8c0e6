#pragma once
// Redaction and masking of sensitive values at render time
// (Config::sensitive_data, docs/redaction.md). Used by EntryRenderer, so the
// live backend and agora-log-decode redact alike; never on a calling thread.
//
// Threads: one Redactor per renderer (its decision cache is unsynchronised).
// The compiled patterns are only read after construction.

#include "format/record_codec.hpp"

#include <agora/log/config.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace re2 {
class RE2;
}

namespace agora::log::detail {

class Redactor {
public:
    /// What happens to a field's value, by its key.
    struct Decision {
        enum class Action : std::uint8_t { pass, redact, mask };
        Action action = Action::pass;
        const MaskRule* rule = nullptr;  // mask only; into this Redactor's config
    };

    /// A pattern that does not compile (Config::validate() refuses those; a
    /// decoded file may still hold one) is left out and listed in errors().
    explicit Redactor(const SensitiveDataConfig& config);
    ~Redactor();
    Redactor(const Redactor&) = delete;
    Redactor& operator=(const Redactor&) = delete;

    bool enabled() const noexcept { return config_.enabled; }
    /// Some pattern applies to string values and messages.
    bool has_patterns() const noexcept { return config_.enabled && !patterns_.empty(); }
    /// "pattern: why" for each pattern left out.
    const std::vector<std::string>& errors() const noexcept { return errors_; }
    const SensitiveDataConfig& config() const noexcept { return config_; }

    /// The decision for `key`, cached per key (the cache is cleared whole
    /// past kMaxCachedKeys, so keys made per record cannot grow it unbounded).
    Decision decide(std::string_view key);

    /// Replaces every non-empty match of every pattern in `text` with
    /// redaction_text, pattern by pattern. Returns true if it changed `text`.
    bool redact_text(std::string& text) const;

    /// The value `key` = `in` is written as: `in` itself (returns false) or
    /// `out`, a string whose text is in `scratch` (returns true).
    bool apply(std::string_view key, const RawValue& in, RawValue& out, std::string& scratch);

    /// `value` masked as `rule` says, appended to `out`.
    static void mask(std::string_view value, const MaskRule& rule, std::string& out);

    static constexpr std::size_t kMaxCachedKeys = 4096;

    /// Values redacted or masked and pattern matches replaced so far (the
    /// agora_log_redactions_total metric). Owner thread only.
    std::uint64_t applied() const noexcept { return applied_; }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    Decision decide_uncached(std::string_view key);

    SensitiveDataConfig config_;
    std::vector<std::string> redact_lower_;                        // redact_fields, lower case
    std::vector<std::pair<std::string, const MaskRule*>> masks_;  // mask_fields names, lower case
    std::vector<std::unique_ptr<re2::RE2>> patterns_;
    std::vector<std::string> errors_;
    std::unordered_map<std::string, Decision, Hash, std::equal_to<>> cache_;
    std::string lowered_;  // scratch for decide_uncached
    mutable std::uint64_t applied_ = 0;
};

/// A value as text, as a masked field shows it: a string as is, a number
/// or a bool as JSON writes it (masking applies to the text).
void append_raw_value_text(std::string& out, const RawValue& v);

/// The sensitive-data section of an identity entry (docs/binary-format.md):
/// u8 enabled, string redaction_text, u32 n + n strings redact_fields,
/// u32 m + m × (string name, u8 kind, u32 show_last, u8 mask_char,
/// u8 mask_domain), u32 p + p strings redact_patterns.
std::string encode_sensitive_data(const SensitiveDataConfig& config);
/// Reads what encode_sensitive_data() wrote; false (and `r.ok` false) if
/// the bytes are damaged.
bool decode_sensitive_data(BlobReader& r, SensitiveDataConfig& out);

}  // namespace agora::log::detail
