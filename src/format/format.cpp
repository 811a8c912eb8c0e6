#include "format/format.hpp"

#include "format/record_codec.hpp"
#include "format/utf8.hpp"

#include <fmt/compile.h>

#include <agora/log/detail/frontend.hpp>

#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>
#include <type_traits>

namespace agora::log::detail {

namespace {

/// Adds a fixed-size format argument (every format type but string) read
/// from `p`. False for the other types. Inlined: it is the per-argument step
/// of every rendered record.
[[gnu::always_inline]] inline bool push_scalar(TypeCode type, const std::byte* p, ArgStore& store) {
    switch (type) {
        case TypeCode::boolean: store.push_back(load<std::uint8_t>(p) != 0); return true;
        case TypeCode::character: store.push_back(load<char>(p)); return true;
        case TypeCode::i8: store.push_back(static_cast<int>(load<std::int8_t>(p))); return true;
        case TypeCode::u8: store.push_back(static_cast<unsigned>(load<std::uint8_t>(p))); return true;
        case TypeCode::i16: store.push_back(static_cast<int>(load<std::int16_t>(p))); return true;
        case TypeCode::u16: store.push_back(static_cast<unsigned>(load<std::uint16_t>(p))); return true;
        case TypeCode::i32: store.push_back(load<std::int32_t>(p)); return true;
        case TypeCode::u32: store.push_back(load<std::uint32_t>(p)); return true;
        case TypeCode::i64: store.push_back(static_cast<long long>(load<std::int64_t>(p))); return true;
        case TypeCode::u64: store.push_back(static_cast<unsigned long long>(load<std::uint64_t>(p))); return true;
        case TypeCode::f32: store.push_back(load<float>(p)); return true;
        case TypeCode::f64: store.push_back(load<double>(p)); return true;
        case TypeCode::pointer:
            store.push_back(reinterpret_cast<const void*>(static_cast<std::uintptr_t>(load<std::uint64_t>(p))));
            return true;
        default: return false;
    }
}

/// Notes a duration, context or exception argument in `extras` (the
/// arguments that are not formatted).
void note_extra(const ArgRef& a, RecordExtras& extras) noexcept {
    switch (a.type) {
        case TypeCode::duration:
            extras.duration_ticks = load<std::uint64_t>(a.data);
            extras.has_duration = true;
            break;
        case TypeCode::context:
            extras.context = a.data;
            extras.context_size = a.size;
            break;
        case TypeCode::exception:
            extras.exception = a.data;
            extras.exception_size = a.size;
            break;
        default: break;
    }
}

/// Adds the record's format arguments to `store` and notes its other
/// arguments in `extras`. False if the bytes do not frame as the types say.
bool push_args(const TypeCode* types, const std::byte* p, const std::byte* end, ArgStore& store,
               RecordExtras& extras) {
    ArgIterator args(types, p, end);
    ArgRef a;
    while (args.next(a)) {
        switch (a.type) {
            case TypeCode::string:
                // A view into the record: valid until the record is released.
                store.push_back(fmt::string_view(reinterpret_cast<const char*>(a.data), a.size));
                break;
            case TypeCode::duration: case TypeCode::context: case TypeCode::exception: note_extra(a, extras); break;
            case TypeCode::end: break;
            default: push_scalar(a.type, a.data, store); break;
        }
        if (is_format_arg(a.type)) {
            if (extras.arg_count >= RecordExtras::kMaxArgs) return false;
            // ArgRef in RecordExtras points at the value (a string's at its length).
            extras.args[extras.arg_count++] = FormatArgRef{a.type, a.type == TypeCode::string ? a.data - 4 : a.data};
        }
    }
    return !args.damaged();
}

}  // namespace

bool format_message(std::string_view format, const TypeCode* types, const std::byte* args, std::size_t size,
                    ArgStore& store, std::string& out, RecordExtras& extras) noexcept {
    try {
        store.clear();
        extras.reset();
        if (!push_args(types, args, args + size, store, extras)) {
            out.append(format);
            out.append(" [agora-log: record arguments are damaged]");
            return false;
        }
        fmt::vformat_to(std::back_inserter(out), fmt::string_view(format.data(), format.size()), store);
        extras.intact = true;
        return true;
    } catch (const std::exception& e) {
        // noexcept: the note needs memory too (after a std::bad_alloc there
        // may be none), and an exception from here would end the process.
        try {
            out.append(format);
            out.append(" [agora-log: format error: ");
            out.append(e.what());
            out.push_back(']');
        } catch (...) {
        }
        return false;
    } catch (...) {
        return false;
    }
}

PlainTemplate plan_plain_template(std::string_view format, const TypeCode* types) {
    PlainTemplate plan;
    plan.known = true;
    std::size_t format_args = 0;
    for (const TypeCode* t = types; *t != TypeCode::end; ++t) {
        if (is_format_arg(*t)) ++format_args;
        else if (*t != TypeCode::duration && *t != TypeCode::context && *t != TypeCode::exception) return plan;
    }
    plan.literals.emplace_back();
    for (std::size_t i = 0; i < format.size(); ++i) {
        const char c = format[i];
        if (c != '{' && c != '}') {
            plan.literals.back().push_back(c);
        } else if (i + 1 < format.size() && format[i + 1] == c) {  // "{{" or "}}"
            plan.literals.back().push_back(c);
            ++i;
        } else if (c == '{' && i + 1 < format.size() && format[i + 1] == '}') {
            plan.literals.emplace_back();
            ++i;
        } else {
            return plan;  // a field with an index, a name or a spec, or a lone brace: fmt's
        }
    }
    // fmt fails on a missing argument: that case stays with fmt.
    plan.usable = plan.literals.size() == format_args + 1;
    return plan;
}

namespace {
/// Appends `value` as fmt writes it for "{}" (same overloads as ArgStore's).
template <class T>
void append_plain(std::string& out, T value) {
    if constexpr (std::is_integral_v<T>) {
        const fmt::format_int digits(value);  // fmt's own integer writer
        out.append(digits.data(), digits.size());
    } else {
        char buf[64];
        char* end = fmt::format_to(buf, FMT_COMPILE("{}"), value);
        out.append(buf, static_cast<std::size_t>(end - buf));
    }
}

/// The value of a fixed-size format argument at `p`, appended as push_scalar()'s store would format it.
[[gnu::always_inline]] inline bool append_scalar(std::string& out, TypeCode type, const std::byte* p) {
    switch (type) {
        case TypeCode::boolean: out.append(load<std::uint8_t>(p) != 0 ? "true" : "false"); return true;
        case TypeCode::character: out.push_back(load<char>(p)); return true;
        case TypeCode::i8: append_plain(out, static_cast<int>(load<std::int8_t>(p))); return true;
        case TypeCode::u8: append_plain(out, static_cast<unsigned>(load<std::uint8_t>(p))); return true;
        case TypeCode::i16: append_plain(out, static_cast<int>(load<std::int16_t>(p))); return true;
        case TypeCode::u16: append_plain(out, static_cast<unsigned>(load<std::uint16_t>(p))); return true;
        case TypeCode::i32: append_plain(out, load<std::int32_t>(p)); return true;
        case TypeCode::u32: append_plain(out, load<std::uint32_t>(p)); return true;
        case TypeCode::i64: append_plain(out, static_cast<long long>(load<std::int64_t>(p))); return true;
        case TypeCode::u64: append_plain(out, static_cast<unsigned long long>(load<std::uint64_t>(p))); return true;
        case TypeCode::f32: append_plain(out, load<float>(p)); return true;
        case TypeCode::f64: append_plain(out, load<double>(p)); return true;
        case TypeCode::pointer:
            append_plain(out, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(load<std::uint64_t>(p))));
            return true;
        default: return false;
    }
}
}  // namespace

bool format_message_plain(const PlainTemplate& plan, std::string_view format, const TypeCode* types,
                          const std::byte* args, std::size_t size, ArgStore& store, std::string& out,
                          RecordExtras& extras) noexcept {
    const std::size_t start = out.size();
    try {
        extras.reset();
        ArgIterator it(types, args, args + size);
        ArgRef a;
        std::size_t field = 0;
        bool ok = true;
        out.append(plan.literals[0]);
        while (ok && it.next(a)) {
            switch (a.type) {
                case TypeCode::string: out.append(reinterpret_cast<const char*>(a.data), a.size); break;
                case TypeCode::duration: case TypeCode::context: case TypeCode::exception:
                    note_extra(a, extras);
                    break;
                default: ok = append_scalar(out, a.type, a.data); break;
            }
            if (ok && is_format_arg(a.type)) {
                if (extras.arg_count >= RecordExtras::kMaxArgs) {
                    ok = false;
                    break;
                }
                extras.args[extras.arg_count++] =
                    FormatArgRef{a.type, a.type == TypeCode::string ? a.data - 4 : a.data};
                out.append(plan.literals[++field]);
            }
        }
        if (ok && !it.damaged() && field + 1 == plan.literals.size()) {
            extras.intact = true;
            return true;
        }
    } catch (...) {
    }
    // Damaged bytes or no memory: fmt's path says so, in its words.
    out.resize(start);  // shrinking does not allocate
    return format_message(format, types, args, size, store, out, extras);
}

bool format_with_replacements(std::string_view format, const RecordExtras& extras,
                              const std::string* const* replacements, ArgStore& store, std::string& out) noexcept {
    try {
        store.clear();
        for (std::size_t i = 0; i < extras.arg_count; ++i) {
            const FormatArgRef& a = extras.args[i];
            if (replacements[i] != nullptr) {
                store.push_back(fmt::string_view(replacements[i]->data(), replacements[i]->size()));
                continue;
            }
            if (a.type == TypeCode::string) {  // FormatArgRef points at the u32 length
                store.push_back(fmt::string_view(reinterpret_cast<const char*>(a.data) + 4, load<std::uint32_t>(a.data)));
            } else if (!push_scalar(a.type, a.data, store)) {
                return false;
            }
        }
        fmt::vformat_to(std::back_inserter(out), fmt::string_view(format.data(), format.size()), store);
        return true;
    } catch (...) {
        return false;
    }
}

namespace {
// 0: copy as is; 1: needs escaping or validation.
constexpr std::array<std::uint8_t, 256> kNeedsWork = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) ? 1 : 0;
    return t;
}();
}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t run = 0;  // start of the pending run of bytes copied as is
    std::size_t i = 0;
    while (i < n) {
        // Skip 8 plain bytes at a time: none below 0x20, none >= 0x7f, no " or \.
        while (i + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            const std::uint64_t below_space = w - ones * 0x20;
            const std::uint64_t quote = (w ^ (ones * '"')) - ones;
            const std::uint64_t backslash = (w ^ (ones * '\\')) - ones;
            const std::uint64_t del_or_high = w + ones * 0x01;  // 0x7f -> 0x80; >= 0x80 keeps its high bit
            if (((below_space | quote | backslash | del_or_high | w) & highs) != 0) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned char c = p[i];
        if (!kNeedsWork[c]) { ++i; continue; }
        if (c >= 0x80) {
            std::size_t len = utf8_sequence(p + i, n - i);
            if (len != 0) { i += len; continue; }
        }
        out.append(s.data() + run, i - run);
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            default:
                if (c < 0x20) {
                    char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
                    out.append(esc, 6);
                } else if (c == 0x7f) {
                    out.append("\\u007f");
                } else {
                    out.append("\xef\xbf\xbd");  // U+FFFD for an invalid byte
                }
        }
        ++i;
        run = i;
    }
    out.append(s.data() + run, n - run);
    out.push_back('"');
}

void append_json_string_limited(std::string& out, std::string_view s, std::size_t limit) {
    if (s.size() <= limit) return append_json_string(out, s);
    append_json_string(out, cut_utf8(s, limit));
    out.pop_back();  // reopen the string for the marker
    out.append(kTruncatedMarker);
    out.push_back('"');
}

void append_json_double(std::string& out, double v) {
    if (std::isnan(v)) out.append("\"NaN\"");
    else if (std::isinf(v)) out.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else fmt::format_to(std::back_inserter(out), "{}", v);
}

bool truncate_message(std::string& message, std::size_t limit) {
    if (message.size() <= limit) return false;
    message.resize(cut_utf8(message, limit).size());
    message.append(kTruncatedMarker);
    return true;
}

void append_timestamp(std::string& out, std::int64_t unix_ns) {
    std::int64_t secs = unix_ns / 1'000'000'000;
    std::int64_t frac = unix_ns % 1'000'000'000;
    if (frac < 0) { frac += 1'000'000'000; --secs; }
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(frac / 1000));
    out.append(buf, static_cast<std::size_t>(n));
}

std::string_view clean_function_name(std::string_view s) noexcept {
    // Drop GCC's " [with T = ...]" template argument list.
    if (auto w = s.find(" [with "); w != std::string_view::npos) s = s.substr(0, w);
    // Drop trailing cv/ref/noexcept qualifiers of member functions.
    for (bool again = true; again;) {
        again = false;
        for (std::string_view q : {" const", " volatile", " &&", " &", " noexcept"}) {
            if (s.size() > q.size() && s.substr(s.size() - q.size()) == q) {
                s.remove_suffix(q.size());
                again = true;
            }
        }
    }
    std::size_t end = s.size();
    if (!s.empty() && s.back() == ')') {
        // Cut the parameter list: the '(' matching the final ')'.
        int depth = 0;
        for (std::size_t i = s.size(); i-- > 0;) {
            if (s[i] == ')') ++depth;
            else if (s[i] == '(' && --depth == 0) { end = i; break; }
        }
    }
    // An operator's symbols ("<", "<<", "->", ">=", "()") are not brackets:
    // look for the return type only before the "operator" keyword.
    std::size_t scan_end = end;
    auto is_ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t pos = s.substr(0, end).rfind("operator"); pos != std::string_view::npos;
         pos = pos == 0 ? std::string_view::npos : s.substr(0, pos).rfind("operator")) {
        if ((pos == 0 || !is_ident(s[pos - 1])) && (pos + 8 >= end || !is_ident(s[pos + 8]))) {
            scan_end = pos;
            break;
        }
    }
    // The name starts after the last space outside <> and () (the return type).
    int depth = 0;
    std::size_t start = 0;
    for (std::size_t i = scan_end; i-- > 0;) {
        char c = s[i];
        if (c == '>' || c == ')') ++depth;
        else if (c == '<' || c == '(') --depth;
        else if (c == ' ' && depth == 0) {
            // "Foo::operator int" is a conversion operator, not a return type.
            std::string_view before = s.substr(0, i);
            if (before.size() >= 8 && before.substr(before.size() - 8) == "operator") continue;
            start = i + 1;
            break;
        }
    }
    if (start >= end) return s;
    return s.substr(start, end - start);
}

std::string_view file_base_name(std::string_view path) noexcept {
    auto pos = path.find_last_of("/\\");
    return pos == std::string_view::npos ? path : path.substr(pos + 1);
}

}  // namespace agora::log::detail
