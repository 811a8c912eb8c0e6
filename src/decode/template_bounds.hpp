#pragma once
// What formatting a decoded record may cost, from its call site's template
// alone: which argument each replacement field shows, with what width,
// precision and presentation type, and the longest text fmt makes of it.
// The decoder formats a record only when this bound is small enough
// (decoder.hpp: allocation bounded by the input). Pure functions; any thread.

#include <agora/log/detail/record.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

namespace agora::log::detail::decode {

/// Widest field (width or precision) a decoded template may ask fmt for: the
/// template and its dynamic widths come from the file, and fmt would
/// allocate whatever they say.
inline constexpr std::uint64_t kMaxFieldWidth = 4096;

inline std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}
inline std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}

/// Bytes a record's message may take before it is cut to
/// max_message_length: a bound above it is not formatted. Generous (a real
/// message is at most its template plus each field once), because fmt
/// builds the whole message first and only then is it cut.
std::uint64_t message_bound_cap(std::size_t max_message_length) noexcept;

/// How a call site's template uses format argument i (TemplateShape::uses).
struct ArgUse {
    std::uint32_t refs = 0;          // fields showing it
    std::uint32_t debug_refs = 0;    // ... with '?' (escaped: up to 6 bytes per byte)
    std::uint64_t width_weight = 0;  // fields taking their width from it, times their fill's bytes
    std::uint32_t precision_refs = 0;
};

/// What fmt can make of a call site's template at most, computed once per
/// site so that a record costs a few additions (TemplateScanner).
struct TemplateShape {
    /// fmt 9.1's grammar accepts the template. If not, fmt throws part way,
    /// after formatting the fields before the error: such a template is
    /// not formatted at all (no writer produces one: templates are checked
    /// against fmt at compile time).
    bool parses = true;
    bool too_wide = false;  // a static width or precision above kMaxFieldWidth
    /// Upper bound of the message in bytes without what depends on the
    /// record: the template twice (text, and the template again in a format
    /// error note), 256 bytes of note, and per field the longest text of its
    /// argument's type, its static precision and its static width times its
    /// fill's bytes.
    std::uint64_t static_bound = 0;
    /// The record's bytes matter (string, context or exception arguments, or
    /// widths and precisions taken from arguments): Parser::check_args.
    bool per_record = false;
    std::vector<ArgUse> uses;  // by format argument index
};

/// The longest text fmt makes of one argument of type `t` without width or
/// precision (template_bounds.cpp).
std::uint64_t longest_text(TypeCode t) noexcept;

/// The shape of `fmt_template` for a site whose argument types are `types`
/// (terminated by TypeCode::end).
TemplateShape scan_template(std::string_view fmt_template, const TypeCode* types);

/// The integer value of a format argument at `p` (its bytes are there), for
/// a width or precision; nullopt for other types (fmt then throws "width is
/// not integer").
std::optional<std::int64_t> integer_value(TypeCode t, const std::byte* p) noexcept;

}  // namespace agora::log::detail::decode
