// Redaction and masking at render time (format/redaction.hpp).

#include "format/redaction.hpp"

#include "base/redaction_regex.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace agora::log::detail {

namespace {

void lower_into(std::string& out, std::string_view s) {
    out.assign(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
}

/// Bytes of UTF-8 text that begin a character (not continuation bytes).
bool starts_char(char c) noexcept { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }

}  // namespace

Redactor::Redactor(const SensitiveDataConfig& config) : config_(config) {
    for (const auto& f : config_.redact_fields) {
        if (f.empty()) continue;  // would match every key
        std::string l;
        lower_into(l, f);
        redact_lower_.push_back(std::move(l));
    }
    for (const auto& [name, rule] : config_.mask_fields) {
        if (name.empty()) continue;
        std::string l;
        lower_into(l, name);
        masks_.emplace_back(std::move(l), &rule);
    }
    for (const auto& p : config_.redact_patterns) {
        std::string error;
        if (auto re = compile_redaction_pattern(p, error)) patterns_.push_back(std::move(re));
        else errors_.push_back(fmt::format("'{}': {}", p, error));
    }
}

Redactor::~Redactor() = default;

Redactor::Decision Redactor::decide_uncached(std::string_view key) {
    Decision d;
    if (!config_.enabled) return d;
    std::string& lowered = lowered_;
    lower_into(lowered, key);
    for (const auto& f : redact_lower_) {
        if (lowered.find(f) != std::string::npos) {
            d.action = Decision::Action::redact;
            return d;
        }
    }
    for (const auto& [name, rule] : masks_) {
        if (lowered.find(name) != std::string::npos) {
            d.action = Decision::Action::mask;
            d.rule = rule;
            return d;
        }
    }
    return d;
}

Redactor::Decision Redactor::decide(std::string_view key) {
    if (!config_.enabled) return {};
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    const Decision d = decide_uncached(key);
    if (cache_.size() >= kMaxCachedKeys) cache_.clear();
    cache_.emplace(std::string(key), d);
    return d;
}

bool Redactor::redact_text(std::string& text) const {
    if (!has_patterns() || text.empty()) return false;
    bool changed = false;
    std::string out;
    for (const auto& re : patterns_) {
        // Own loop rather than RE2::GlobalReplace: redaction_text is written
        // as is (no \1 rewrites) and an empty match replaces nothing.
        std::size_t pos = 0, copied = 0;
        bool any = false;
        re2::StringPiece m;
        const re2::StringPiece whole(text.data(), text.size());
        while (pos <= text.size() && re->Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
            const auto start = static_cast<std::size_t>(m.data() - text.data());
            if (m.empty()) {
                pos = start + 1;
                continue;
            }
            if (!any) out.clear();
            any = true;
            ++applied_;
            out.append(text, copied, start - copied);
            out.append(config_.redaction_text);
            copied = pos = start + m.size();
        }
        if (any) {
            out.append(text, copied, std::string::npos);
            text.swap(out);
            changed = true;
        }
    }
    return changed;
}

void Redactor::mask(std::string_view value, const MaskRule& rule, std::string& out) {
    if (value.empty()) return;
    if (rule.kind == MaskRule::Kind::email) {
        const auto at = value.find('@');
        if (at == std::string_view::npos) {
            out.append("***");
        } else {
            out.append(rule.mask_domain ? std::string_view("***") : value.substr(0, at));
            out.append("@***");
        }
        return;
    }
    // last_chars, counted in UTF-8 characters so that a cut never splits one.
    std::size_t chars = static_cast<std::size_t>(std::count_if(value.begin(), value.end(), starts_char));
    if (chars <= rule.show_last) {
        out.append(chars, rule.mask_char);
        return;
    }
    std::size_t hidden = chars - rule.show_last;
    std::size_t i = 0, seen = 0;
    for (; i < value.size(); ++i) {
        if (starts_char(value[i]) && seen++ == hidden) break;
    }
    out.append(hidden, rule.mask_char);
    out.append(value.substr(i));
}

void append_raw_value_text(std::string& out, const RawValue& v) {
    switch (v.kind) {
        case RawValue::Kind::string: out.append(v.s); break;
        case RawValue::Kind::integer: fmt::format_to(std::back_inserter(out), "{}", v.i); break;
        case RawValue::Kind::unsigned_integer: fmt::format_to(std::back_inserter(out), "{}", v.u); break;
        case RawValue::Kind::floating: fmt::format_to(std::back_inserter(out), "{}", v.d); break;
        case RawValue::Kind::boolean: out.append(v.b ? "true" : "false"); break;
    }
}

bool Redactor::apply(std::string_view key, const RawValue& in, RawValue& out, std::string& scratch) {
    if (!config_.enabled) return false;
    const Decision d = decide(key);
    switch (d.action) {
        case Decision::Action::redact:
            ++applied_;
            out = RawValue{};
            out.s = config_.redaction_text;
            return true;
        case Decision::Action::mask: {
            ++applied_;
            std::string text;
            append_raw_value_text(text, in);
            scratch.clear();
            mask(text, *d.rule, scratch);
            out = RawValue{};
            out.s = scratch;
            return true;
        }
        case Decision::Action::pass: break;
    }
    if (in.kind != RawValue::Kind::string || !has_patterns()) return false;
    scratch.assign(in.s);
    if (!redact_text(scratch)) return false;
    out = RawValue{};
    out.s = scratch;
    return true;
}

// ---- the identity entry's section -------------------------------------------

namespace {
void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_string(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}
}  // namespace

std::string encode_sensitive_data(const SensitiveDataConfig& c) {
    std::string out;
    put_u8(out, c.enabled ? 1 : 0);
    put_string(out, c.redaction_text);
    put_u32(out, static_cast<std::uint32_t>(c.redact_fields.size()));
    for (const auto& f : c.redact_fields) put_string(out, f);
    put_u32(out, static_cast<std::uint32_t>(c.mask_fields.size()));
    for (const auto& [name, rule] : c.mask_fields) {
        put_string(out, name);
        put_u8(out, rule.kind == MaskRule::Kind::email ? 1 : 0);
        put_u32(out, rule.show_last);
        put_u8(out, static_cast<std::uint8_t>(rule.mask_char));
        put_u8(out, rule.mask_domain ? 1 : 0);
    }
    put_u32(out, static_cast<std::uint32_t>(c.redact_patterns.size()));
    for (const auto& p : c.redact_patterns) put_string(out, p);
    return out;
}

bool decode_sensitive_data(BlobReader& r, SensitiveDataConfig& out) {
    // Counts come from the input: nothing is reserved from them, and each
    // element reads at least 4 bytes, so a damaged count ends at the bytes.
    SensitiveDataConfig c;
    c.enabled = r.get<std::uint8_t>() != 0;
    c.redaction_text = std::string(r.string());
    c.redact_fields.clear();
    for (std::uint32_t n = r.get<std::uint32_t>(); r.ok && n > 0; --n) {
        const std::string_view f = r.string();
        if (r.ok) c.redact_fields.emplace_back(f);
    }
    for (std::uint32_t n = r.get<std::uint32_t>(); r.ok && n > 0; --n) {
        const std::string_view name = r.string();
        MaskRule rule;
        rule.kind = r.get<std::uint8_t>() == 1 ? MaskRule::Kind::email : MaskRule::Kind::last_chars;
        rule.show_last = std::min<std::uint32_t>(r.get<std::uint32_t>(), 1024);
        rule.mask_char = static_cast<char>(r.get<std::uint8_t>());
        rule.mask_domain = r.get<std::uint8_t>() != 0;
        if (r.ok) c.mask_fields.insert_or_assign(std::string(name), rule);
    }
    for (std::uint32_t n = r.get<std::uint32_t>(); r.ok && n > 0; --n) {
        const std::string_view p = r.string();
        if (r.ok) c.redact_patterns.emplace_back(p);
    }
    if (!r.ok) return false;
    out = std::move(c);
    return true;
}

}  // namespace agora::log::detail
