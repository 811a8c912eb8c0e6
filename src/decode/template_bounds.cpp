#include "decode/template_bounds.hpp"

#include "format.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace agora::log::detail::decode {

std::uint64_t message_bound_cap(std::size_t max_message_length) noexcept {
    return std::min<std::uint64_t>(std::uint64_t{64} << 20, (std::uint64_t{1} << 20) + 64 * std::uint64_t{max_message_length});
}

/// The longest text fmt 9.1 makes of one argument of type `t` without width
/// or precision, whatever the presentation type and locale (digit grouping
/// may put a separator after every digit). Strings: only the quotes of '?';
/// their bytes count per record.
std::uint64_t longest_text(TypeCode t) noexcept {
    switch (t) {
        case TypeCode::boolean: return 8;
        case TypeCode::character: return 16;  // '?': quoted escape
        case TypeCode::i8:
        case TypeCode::u8:
        case TypeCode::i16:
        case TypeCode::u16:
        case TypeCode::i32:
        case TypeCode::u32:
        case TypeCode::i64:
        case TypeCode::u64: return 160;  // 64 binary digits, separators, "0b", sign
        case TypeCode::f32:
        case TypeCode::f64: return 1024;  // DBL_MAX in fixed notation (309 digits), separators, 6 decimals
        case TypeCode::pointer: return 24;
        case TypeCode::string: return 8;
        default: return 0;
    }
}

namespace {

/// Walks a template exactly as fmt 9.1's parse_format_string and
/// parse_format_specs (fmt/core.h) do at run time, for what decides the
/// size of the output: which argument each field shows, its fill, width,
/// precision and presentation type. Step for step, because a scanner that
/// frames a field differently from fmt can be fooled: fmt takes any one code
/// point but '{' as fill, '}' included ("{:}<2000000000}"), and reads the
/// spec to the end of the template, not to the next '}'. Where fmt would
/// throw, the scan stops and the template does not parse.
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
                // fmt: "unmatched '}' in format string" unless doubled.
                if (i_ + 1 < s_.size() && s_[i_ + 1] == '}') i_ += 2;
                else fail();
            } else if (c == '{') {
                replacement_field();
            } else {
                ++i_;
            }
        }
        shape_.parses = ok_;
        for (const ArgUse& u : shape_.uses)
            if (u.width_weight != 0 || u.precision_refs != 0) shape_.per_record = true;
        return std::move(shape_);
    }

private:
    static constexpr std::uint32_t kNoArg = std::numeric_limits<std::uint32_t>::max();
    struct Field {
        std::uint32_t arg = kNoArg;
        std::uint32_t width_arg = kNoArg, precision_arg = kNoArg;
        std::uint64_t width = 0, precision = 0;
        std::uint32_t fill_bytes = 1;
        bool debug = false;
    };

    void fail() noexcept { ok_ = false; }
    bool at_end() const noexcept { return i_ >= s_.size(); }
    static bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
    static bool is_name_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

    // basic_format_parse_context::next_arg_id and check_arg_id: automatic
    // and manual indexing do not mix.
    std::uint32_t automatic_id() noexcept {
        if (next_arg_id_ < 0) {
            fail();
            return kNoArg;
        }
        return static_cast<std::uint32_t>(next_arg_id_++);
    }
    std::uint32_t manual_id(std::uint32_t id) noexcept {
        if (next_arg_id_ > 0) {
            fail();
            return kNoArg;
        }
        next_arg_id_ = -1;
        return id;
    }

    // parse_nonnegative_int: s_[i_] is a digit. error_value if above INT_MAX.
    std::int64_t nonnegative_int(std::int64_t error_value) noexcept {
        const std::size_t start = i_;
        unsigned value = 0, prev = 0;
        do {
            prev = value;
            value = value * 10 + static_cast<unsigned>(s_[i_] - '0');
            ++i_;
        } while (i_ < s_.size() && is_digit(s_[i_]));
        const std::size_t digits = i_ - start;
        if (digits <= static_cast<std::size_t>(std::numeric_limits<int>::digits10)) return value;
        const auto max = static_cast<unsigned long long>(std::numeric_limits<int>::max());
        return digits == static_cast<std::size_t>(std::numeric_limits<int>::digits10) + 1 &&
                       prev * 10ull + static_cast<unsigned>(s_[i_ - 1] - '0') <= max
                   ? static_cast<std::int64_t>(value)
                   : error_value;
    }

    // parse_arg_id and do_parse_arg_id; i_ < size. A name never resolves:
    // the decoder's argument store has no named arguments.
    std::uint32_t arg_id() noexcept {
        const char c = s_[i_];
        if (c == '}' || c == ':') return automatic_id();
        if (is_digit(c)) {
            std::int64_t index = 0;
            if (c != '0') index = nonnegative_int(std::numeric_limits<int>::max());
            else ++i_;
            if (at_end() || (s_[i_] != '}' && s_[i_] != ':')) {
                fail();
                return kNoArg;
            }
            return manual_id(static_cast<std::uint32_t>(index));
        }
        fail();  // a name ("argument not found") or not an id ("invalid format string")
        return kNoArg;
    }

    // parse_replacement_field; s_[i_] == '{'.
    void replacement_field() {
        ++i_;
        if (at_end()) return fail();
        if (s_[i_] == '}') {
            Field f;
            f.arg = automatic_id();
            if (ok_) add(f);
            ++i_;
            return;
        }
        if (s_[i_] == '{') {  // "{{"
            ++i_;
            return;
        }
        Field f;
        f.arg = arg_id();
        if (!ok_) return;
        const char c = at_end() ? '\0' : s_[i_];
        if (c == ':') {
            ++i_;
            specs(f);
            if (!ok_) return;
            if (at_end() || s_[i_] != '}') return fail();
        } else if (c != '}') {
            return fail();
        }
        add(f);
        ++i_;
    }

    // parse_format_specs; the spec may run to the end of the template.
    void specs(Field& f) {
        const std::size_t n = s_.size();
        auto is_ascii_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
        if (n - i_ > 1 && s_[i_ + 1] == '}' && is_ascii_letter(s_[i_]) && s_[i_] != 'L') {
            presentation_type(f);
            return;
        }
        if (at_end()) return;
        align(f);
        if (!ok_ || at_end()) return;
        if (s_[i_] == '+' || s_[i_] == '-' || s_[i_] == ' ') ++i_;
        if (at_end()) return;
        if (s_[i_] == '#' && ++i_ == n) return;
        if (s_[i_] == '0' && ++i_ == n) return;
        // parse_width
        if (is_digit(s_[i_])) {
            const std::int64_t w = nonnegative_int(-1);
            if (w < 0) return fail();  // "number is too big"
            f.width = static_cast<std::uint64_t>(w);
        } else if (s_[i_] == '{') {
            ++i_;
            if (!at_end()) f.width_arg = arg_id();
            if (!ok_) return;
            if (at_end() || s_[i_] != '}') return fail();
            ++i_;
        }
        if (at_end()) return;
        // parse_precision
        if (s_[i_] == '.') {
            ++i_;
            const char c = at_end() ? '\0' : s_[i_];
            if (is_digit(c)) {
                const std::int64_t p = nonnegative_int(-1);
                if (p < 0) return fail();
                f.precision = static_cast<std::uint64_t>(p);
            } else if (c == '{') {
                ++i_;
                if (!at_end()) f.precision_arg = arg_id();
                if (!ok_) return;
                if (at_end() || s_[i_++] != '}') return fail();
            } else {
                return fail();  // "missing precision specifier"
            }
            if (at_end()) return;
        }
        if (s_[i_] == 'L') ++i_;
        if (!at_end() && s_[i_] != '}') presentation_type(f);
    }

    // parse_align: a fill is one code point, framed by its lead byte alone
    // (code_point_length), then '<', '>' or '^'; '{' is the only fill refused.
    void align(Field& f) noexcept {
        static constexpr char kLength[] = "\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\0\0\0\0\0\0\0\0\2\2\2\2\3\3\4";
        const int len = kLength[static_cast<unsigned char>(s_[i_]) >> 3];
        std::size_t p = i_ + static_cast<std::size_t>(len + !len);
        if (p >= s_.size()) p = i_;
        for (;;) {
            const char c = s_[p];
            if (c == '<' || c == '>' || c == '^') {
                if (p != i_) {
                    if (s_[i_] == '{') return fail();  // "invalid fill character '{'"
                    f.fill_bytes = static_cast<std::uint32_t>(p - i_);
                    i_ = p + 1;
                } else {
                    ++i_;
                }
                return;
            }
            if (p == i_) return;
            p = i_;
        }
    }

    // parse_presentation_type: s_[i_] is the type; anything else is an error.
    void presentation_type(Field& f) noexcept {
        const char c = s_[i_++];
        if (std::string_view("doxXbBaAeEfFgGcsp?").find(c) == std::string_view::npos) return fail();
        f.debug = c == '?';
    }

    void add(const Field& f) {
        if (f.width > kMaxFieldWidth || f.precision > kMaxFieldWidth) shape_.too_wide = true;
        const TypeCode type = f.arg < arg_types_.size() ? arg_types_[f.arg] : TypeCode::end;
        std::uint64_t bound = add_sat(longest_text(type), f.precision);
        bound = add_sat(bound, mul_sat(f.width, f.fill_bytes));
        shape_.static_bound = add_sat(shape_.static_bound, bound);
        // An argument index past the arguments: fmt throws "argument not found" there.
        if (f.arg < shape_.uses.size()) {
            ArgUse& u = shape_.uses[f.arg];
            ++(f.debug ? u.debug_refs : u.refs);
        }
        if (f.width_arg < shape_.uses.size()) shape_.uses[f.width_arg].width_weight += f.fill_bytes;
        if (f.precision_arg < shape_.uses.size()) ++shape_.uses[f.precision_arg].precision_refs;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    int next_arg_id_ = 0;  // fmt's: > 0 automatic indexing used, -1 manual
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
