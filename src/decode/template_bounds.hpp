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
    std::uint32_t width_refs = 0;  // fields taking their width from it (their fill is one byte)
    std::uint32_t precision_refs = 0;
};

/// What fmt can make of a call site's template at most, computed once per
/// site so that a record costs a few additions (TemplateScanner).
struct TemplateShape {
    /// The template is within the subset of fmt's grammar that fmt 8 to 11
    /// all read alike (scan_template). If not, it is not formatted at all:
    /// fmt might throw part way, or frame a field otherwise than the bound
    /// did. No writer produces one: templates are checked against fmt at
    /// compile time and keep to the subset.
    bool parses = true;
    std::string_view why;    // !parses: what is outside the subset (static text)
    std::size_t where = 0;   // !parses: the byte of the template where the scan stopped
    bool too_wide = false;  // a static width or precision above kMaxFieldWidth
    /// Upper bound of the message in bytes without what depends on the
    /// record: the template twice (text, and the template again in a format
    /// error note), 256 bytes of note, and per field the longest text of its
    /// argument's type, its static precision and its static width (a fill is
    /// one byte).
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
/// (terminated by TypeCode::end). Accepts only templates within a subset of
/// fmt's replacement-field grammar that fmt 8 to 11 frame identically, so
/// the bound holds whatever fmt the decoder is built with:
///   field = '{' [id] [':' spec] '}', id = '0' | [1-9][0-9]* (all fields
///   numbered or none), spec = [[fill]align][sign]['#']['0'][width]
///   ['.'precision]['L'][type], fill = one ASCII byte 0x20-0x7e but '{' and
///   '}', width = [1-9][0-9]* | '{' [id] '}', precision = [0-9]+ | '{' [id]
///   '}', type = one of bBcdoxXaAeEfFgGsp?; "{{" and "}}" in text.
/// The grammar and why in template_bounds.cpp (TemplateScanner).
TemplateShape scan_template(std::string_view fmt_template, const TypeCode* types);

/// The integer value of a format argument at `p` (its bytes are there), for
/// a width or precision; nullopt for other types (fmt then throws "width is
/// not integer").
std::optional<std::int64_t> integer_value(TypeCode t, const std::byte* p) noexcept;

}  // namespace agora::log::detail::decode
