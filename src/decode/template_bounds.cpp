#include "decode/template_bounds.hpp"

#include "format/format.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace agora::log::detail::decode {

std::uint64_t message_bound_cap(std::size_t max_message_length) noexcept {
    return std::min<std::uint64_t>(std::uint64_t{64} << 20, (std::uint64_t{1} << 20) + 64 * std::uint64_t{max_message_length});
}

// Every bound below holds for fmt 8 to 11 alike: none depends on a
// version's algorithm, only on what any of them can print for the value.
std::uint64_t longest_text(TypeCode t) noexcept {
    switch (t) {
        // "false" (5); as an integer ('d', 'x', ...) one digit, or "0b1".
        case TypeCode::boolean: return 8;
        // One byte; '?' quotes and escapes it ('\x{ff}', 8), as an integer
        // ('d', 'b', ...) at most "0b11111111" (10).
        case TypeCode::character: return 16;
        // 64 binary digits, "0b" and a sign: 67. With 'L' the global locale
        // may put its separator (one char: std::numpunct<char>) after every
        // digit: 130. The decoder never installs fmt 11's format_facet, whose
        // separator could be a longer string.
        case TypeCode::i8:
        case TypeCode::u8:
        case TypeCode::i16:
        case TypeCode::u16:
        case TypeCode::i32:
        case TypeCode::u32:
        case TypeCode::i64:
        case TypeCode::u64: return 160;
        // Without a precision, any presentation type: at most DBL_MAX in
        // fixed notation (309 digits) with a separator after each with 'L'
        // (617), a sign and "." with 6 decimals ('f' and '#g'): 625. A
        // precision adds at most its value (counted per field).
        case TypeCode::f32:
        case TypeCode::f64: return 1024;
        // "0x" and 16 hex digits.
        case TypeCode::pointer: return 24;
        // The quotes of '?'; the string's own bytes (6 per byte escaped)
        // count per record.
        case TypeCode::string: return 8;
        default: return 0;
    }
}

namespace {

/// Reads a template as every fmt version from 8 to 11 reads it, accepting
/// only a conservative subset of fmt's replacement-field grammar on which
/// those versions agree byte for byte; anything else does not parse and is
/// not formatted (TemplateShape::parses), whatever fmt would make of it.
/// The subset (docs/binary-format.md):
///
///   text     any byte but '{' and '}'; "{{" and "}}" stand for one brace
///   field    '{' [id] [':' spec] '}'
///   id       '0' or [1-9][0-9]* (at most INT_MAX): all fields use ids or
///            none does (automatic numbering)
///   spec     [[fill] align] [sign] ['#'] ['0'] [width] ['.' precision] ['L'] [type]
///   fill     one ASCII byte 0x20-0x7e other than '{' and '}'
///   align    '<', '>' or '^'
///   sign     '+', '-' or ' '
///   width    [1-9][0-9]* or '{' [id] '}'
///   precision [0-9]+ or '{' [id] '}'
///   type     one of b B c d o x X a A e E f F g G s p ?
///
/// Why a subset: where fmt's own grammar is wider, versions frame a field
/// differently, and a template framed one way by this scanner and another
/// by fmt can ask fmt for what the bound did not count. fmt 9 takes any
/// code point but '{' as fill, '}' included, framed by its lead byte alone,
/// so "{:}<2000000000}" is a field of two billion '}' there and text with a
/// stray '}' here; a non-ASCII or control fill, a leading zero before a
/// width (fmt 11 refuses "{:00}") and named ids are other such places. The
/// writers' templates are checked against fmt at compile time and stay
/// within the subset. Numbers above INT_MAX are refused as fmt does; a
/// static width or precision above kMaxFieldWidth sets too_wide.
class TemplateScanner {
public:
    TemplateScanner(std::string_view s, const TypeCode* types) : s_(s) {
        for (const TypeCode* t = types; *t != TypeCode::end; ++t) {
            // format_message refuses a record with more format arguments
            // than RecordExtras holds: no use to track more.
            if (is_format_arg(*t) && arg_types_.size() < RecordExtras::kMaxArgs) arg_types_.push_back(*t);
            if (*t == TypeCode::string || *t == TypeCode::context || *t == TypeCode::exception)
                shape_.per_record = true;
        }
        shape_.uses.resize(arg_types_.size());
        shape_.static_bound = add_sat(mul_sat(2, s.size()), 256);
    }

    TemplateShape run() && {
        while (ok_ && i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '}') {
                if (peek(1) == '}') i_ += 2;
                else fail("a '}' that is not doubled");
            } else if (c == '{') {
                if (peek(1) == '{') i_ += 2;
                else replacement_field();
            } else {
                ++i_;
            }
        }
        shape_.parses = ok_;
        for (const ArgUse& u : shape_.uses)
            if (u.width_refs != 0 || u.precision_refs != 0) shape_.per_record = true;
        return std::move(shape_);
    }

private:
    static constexpr std::uint32_t kNoArg = std::numeric_limits<std::uint32_t>::max();
    struct Field {
        std::uint32_t arg = kNoArg;
        std::uint32_t width_arg = kNoArg, precision_arg = kNoArg;
        std::uint64_t width = 0, precision = 0;
        bool debug = false;
    };

    /// The first reason is kept; the scan stops.
    void fail(std::string_view why) noexcept {
        if (ok_) {
            shape_.why = why;
            shape_.where = i_;
        }
        ok_ = false;
    }
    /// The byte `ahead` positions on, or '\0' past the end (a NUL byte in
    /// the template is never a brace, digit or spec character either).
    char peek(std::size_t ahead = 0) const noexcept { return s_.size() - i_ > ahead ? s_[i_ + ahead] : '\0'; }
    static bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
    static bool is_align(char c) noexcept { return c == '<' || c == '>' || c == '^'; }

    // Automatic and manual numbering do not mix (every version throws).
    std::uint32_t automatic_id() noexcept {
        if (numbering_ < 0) {
            fail("automatic and manual argument numbering mixed");
            return kNoArg;
        }
        numbering_ = 1;
        return next_arg_id_++;
    }
    std::uint32_t manual_id(std::uint32_t id) noexcept {
        if (numbering_ > 0) {
            fail("automatic and manual argument numbering mixed");
            return kNoArg;
        }
        numbering_ = -1;
        return id;
    }

    /// Decimal digits at i_ (at least one): nullopt above INT_MAX.
    std::optional<std::uint64_t> number() noexcept {
        std::uint64_t value = 0;
        do {
            value = value * 10 + static_cast<unsigned>(s_[i_] - '0');
            if (value > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
            ++i_;
        } while (is_digit(peek()));
        return value;
    }

    /// An id, or none (automatic numbering) before '}' or ':'.
    std::uint32_t arg_id() noexcept {
        const char c = peek();
        if (c == '}' || c == ':') return automatic_id();
        if (!is_digit(c)) {
            fail("an argument id that is not a number");
            return kNoArg;
        }
        if (c == '0' && is_digit(peek(1))) {
            fail("an argument id with a leading zero");
            return kNoArg;
        }
        const auto id = number();
        if (!id) {
            fail("an argument id above INT_MAX");
            return kNoArg;
        }
        return manual_id(static_cast<std::uint32_t>(*id));
    }

    // s_[i_] == '{', not "{{".
    void replacement_field() {
        ++i_;
        Field f;
        f.arg = arg_id();
        if (!ok_) return;
        if (peek() == ':') {
            ++i_;
            specs(f);
            if (!ok_) return;
        }
        if (peek() != '}') return fail("a field that does not close with '}' where its spec ends");
        ++i_;
        add(f);
    }

    /// '{' [id] '}' in a spec (s_[i_] == '{'): the argument it names.
    std::uint32_t nested_arg() noexcept {
        ++i_;
        const std::uint32_t id = arg_id();
        if (!ok_) return kNoArg;
        if (peek() != '}') {
            fail("a nested width or precision that does not close with '}'");
            return kNoArg;
        }
        ++i_;
        return id;
    }

    void specs(Field& f) {
        // [[fill] align]: a fill is one byte, so every version sees the
        // same two bytes. A '}' or '{' before an align character is where
        // versions differ ("{:}<5}"): refused, as are non-ASCII and control
        // fills.
        if (is_align(peek(1))) {
            const auto fill = static_cast<unsigned char>(peek());
            if (fill == '{' || fill == '}') return fail("'{' or '}' as a fill");
            if (fill < 0x20 || fill == 0x7f) return fail("a control character as a fill");
            if (fill >= 0x80) return fail("a non-ASCII fill");
            i_ += 2;
        } else if (is_align(peek())) {
            ++i_;
        } else if (static_cast<unsigned char>(peek()) >= 0x80) {
            // fmt 9 frames a fill by its lead byte: "\xE2\x82\xAC^" is one.
            return fail("a non-ASCII fill");
        }
        if (peek() == '+' || peek() == '-' || peek() == ' ') ++i_;
        if (peek() == '#') ++i_;
        if (peek() == '0') ++i_;
        if (is_digit(peek())) {
            if (peek() == '0') return fail("a width with a leading zero");
            const auto w = number();
            if (!w) return fail("a width above INT_MAX");
            f.width = *w;
        } else if (peek() == '{') {
            f.width_arg = nested_arg();
            if (!ok_) return;
        }
        if (peek() == '.') {
            ++i_;
            if (is_digit(peek())) {
                const auto p = number();
                if (!p) return fail("a precision above INT_MAX");
                f.precision = *p;
            } else if (peek() == '{') {
                f.precision_arg = nested_arg();
                if (!ok_) return;
            } else {
                return fail("a '.' without a precision");
            }
        }
        if (peek() == 'L') ++i_;
        const char type = peek();
        if (type == '}') return;
        if (type == '\0' && i_ == s_.size()) return fail("a field that does not close");
        if (std::string_view("bBcdoxXaAeEfFgGsp?").find(type) == std::string_view::npos)
            return fail("a spec character outside [[fill]align][sign][#][0][width][.precision][L][type]");
        ++i_;
        f.debug = type == '?';
    }

    void add(const Field& f) {
        if (f.width > kMaxFieldWidth || f.precision > kMaxFieldWidth) shape_.too_wide = true;
        const TypeCode type = f.arg < arg_types_.size() ? arg_types_[f.arg] : TypeCode::end;
        // A one-byte fill: the padding is at most `width` bytes.
        std::uint64_t bound = add_sat(longest_text(type), f.precision);
        bound = add_sat(bound, f.width);
        shape_.static_bound = add_sat(shape_.static_bound, bound);
        // An argument index past the arguments: fmt throws "argument not found" there.
        if (f.arg < shape_.uses.size()) {
            ArgUse& u = shape_.uses[f.arg];
            ++(f.debug ? u.debug_refs : u.refs);
        }
        if (f.width_arg < shape_.uses.size()) ++shape_.uses[f.width_arg].width_refs;
        if (f.precision_arg < shape_.uses.size()) ++shape_.uses[f.precision_arg].precision_refs;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::uint32_t next_arg_id_ = 0;
    int numbering_ = 0;  // > 0 automatic, < 0 manual, 0 neither yet
    bool ok_ = true;
    std::vector<TypeCode> arg_types_;
    TemplateShape shape_;
};

}  // namespace

TemplateShape scan_template(std::string_view fmt_template, const TypeCode* types) {
    return TemplateScanner(fmt_template, types).run();
}

std::optional<std::int64_t> integer_value(TypeCode t, const std::byte* p) noexcept {
    switch (t) {
        case TypeCode::i8: return static_cast<std::int64_t>(static_cast<std::int8_t>(p[0]));
        case TypeCode::u8: return static_cast<std::int64_t>(static_cast<std::uint8_t>(p[0]));
        case TypeCode::i16: { std::int16_t v; std::memcpy(&v, p, 2); return v; }
        case TypeCode::u16: { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
        case TypeCode::i32: { std::int32_t v; std::memcpy(&v, p, 4); return v; }
        case TypeCode::u32: { std::uint32_t v; std::memcpy(&v, p, 4); return v; }
        case TypeCode::i64: { std::int64_t v; std::memcpy(&v, p, 8); return v; }
        case TypeCode::u64: {
            std::uint64_t v;
            std::memcpy(&v, p, 8);
            return v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                       ? std::numeric_limits<std::int64_t>::max()
                       : static_cast<std::int64_t>(v);
        }
        default: return std::nullopt;
    }
}

}  // namespace agora::log::detail::decode
