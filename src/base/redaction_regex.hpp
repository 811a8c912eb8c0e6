#pragma once
// How a redaction pattern (SensitiveDataConfig::redact_patterns) is compiled:
// one definition for Config::validate() (config/) and the Redactor
// (format/), so a pattern validate() accepts is one the renderer compiles.
// Header only: its users link RE2 themselves (meson: re2_dep).
//
// RE2 matches in time linear in the input whatever the pattern (no
// backtracking), so neither a hostile pattern nor a hostile value can stall
// the backend; max_mem bounds the memory one compiled pattern may use (a
// pattern that needs more fails to compile, and is then a config error).

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace agora::log::detail {

/// Memory one compiled pattern may use (RE2's own default is 8 MiB too).
inline constexpr std::int64_t kRedactionPatternMaxMem = std::int64_t{8} << 20;
/// Longest pattern accepted, in bytes.
inline constexpr std::size_t kRedactionPatternMaxLength = 4096;

inline RE2::Options redaction_regex_options() {
    RE2::Options o;
    o.set_case_sensitive(false);
    o.set_log_errors(false);  // errors are returned, never written to stderr
    o.set_max_mem(kRedactionPatternMaxMem);
    o.set_encoding(RE2::Options::EncodingUTF8);
    return o;
}

/// The compiled pattern, or null with `error` set to why it does not compile.
inline std::unique_ptr<RE2> compile_redaction_pattern(std::string_view pattern, std::string& error) {
    if (pattern.empty()) {
        error = "an empty pattern matches nothing to redact";
        return nullptr;
    }
    if (pattern.size() > kRedactionPatternMaxLength) {
        error = "longer than 4096 bytes";
        return nullptr;
    }
    auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), redaction_regex_options());
    if (!re->ok()) {
        error = re->error();
        return nullptr;
    }
    return re;
}

}  // namespace agora::log::detail
