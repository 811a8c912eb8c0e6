#include <agora/log/handlers/handler.hpp>

#include "format/text_safety.hpp"
#include "format/utf8.hpp"

namespace agora::log {

namespace {
std::string_view level_color(Level level) noexcept {
    switch (level) {
        case Level::debug: return "\x1b[36m";     // cyan
        case Level::info: return "\x1b[32m";      // green
        case Level::warning: return "\x1b[33m";   // yellow
        case Level::error: return "\x1b[31m";     // red
        case Level::critical: return "\x1b[1;41m";  // bold, red background
    }
    return "";
}
}  // namespace

void format_text(const LogRecordView& r, std::string& out, bool colors) {
    out.append(r.timestamp);
    out.push_back(' ');
    std::string_view name = to_string(r.level);
    if (colors) out.append(level_color(r.level));
    out.append(name);
    if (colors) out.append("\x1b[0m");
    out.append(9 - name.size(), ' ');
    detail::append_text_safe(out, r.logger_name);
    out.append("  ");
    detail::append_text_safe(out, r.message);
    if (!r.fields_json.empty()) {
        // The entry's other fields, as in the JSON output (values already escaped there).
        out.append("  {");
        detail::append_text_safe(out, r.fields_json);
        out.push_back('}');
    }
    out.append("  [");
    detail::append_text_safe(out, r.file);
    out.push_back(':');
    out.append(std::to_string(r.line));
    out.push_back(' ');
    detail::append_text_safe(out, r.function);
    out.push_back(']');
}

namespace detail {

namespace {
constexpr unsigned char kBel = 0x07;
constexpr unsigned char kEsc = 0x1b;
constexpr unsigned char kDel = 0x7f;
constexpr unsigned char kC1Lead = 0xc2;  // UTF-8 lead byte of U+0080-U+00BF

constexpr bool in_range(unsigned char c, unsigned char lo, unsigned char hi) noexcept {
    return c >= lo && c <= hi;
}

constexpr bool is_control(unsigned char c) noexcept { return c < 0x20 || c == kDel; }

/// Returns the index just past what is removed for the escape sequence whose
/// ESC is at `p[i]` (see append_text_safe for what one sequence covers).
std::size_t skip_escape(const unsigned char* p, std::size_t n, std::size_t i) noexcept {
    std::size_t j = i + 1;
    if (j == n) return n;
    const unsigned char kind = p[j];
    if (kind == '[') {  // CSI
        ++j;
        while (j < n && in_range(p[j], 0x30, 0x3f)) ++j;
        while (j < n && in_range(p[j], 0x20, 0x2f)) ++j;
        if (j < n && in_range(p[j], 0x40, 0x7e)) ++j;
        return j;
    }
    if (kind == ']' || kind == 'P' || kind == 'X' || kind == '^' || kind == '_') {  // OSC, DCS, SOS, PM, APC
        // Terminated (BEL or ST = ESC '\'): removed whole. Otherwise (the end
        // of `s`, a control character or an ESC that starts something else
        // comes first) only ESC and the introducer go: a terminal then shows
        // the rest as text too. The scan stops at the next ESC, so each byte
        // is scanned at most twice.
        for (++j; j < n; ++j) {
            const unsigned char c = p[j];
            if (c == kBel) return j + 1;
            if (c == kEsc) return (j + 1 < n && p[j + 1] == '\\') ? j + 2 : i + 2;
            if (is_control(c)) return i + 2;
        }
        return i + 2;
    }
    while (j < n && in_range(p[j], 0x20, 0x2f)) ++j;  // intermediate bytes
    if (j < n && in_range(p[j], 0x30, 0x7e)) ++j;     // final byte
    return j;
}

void append_hex_escape(std::string& out, char prefix, std::size_t digits, unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('\\');
    out.push_back(prefix);
    out.append(digits - 2, '0');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
}
}  // namespace

void append_text_safe(std::string& out, std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t run = 0;  // start of the bytes not yet appended
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if ((c >= 0x20 && c < kDel) || c == '\t') {
            ++i;
            continue;
        }
        std::size_t utf8_len = 0;
        if (c >= 0x80) {
            // Validity is decided on the input as given, before any sequence
            // is removed, so a removal never joins bytes into a new character.
            utf8_len = utf8_sequence(p + i, n - i);
            if (utf8_len != 0 && !(c == kC1Lead && p[i + 1] <= 0x9f)) {
                i += utf8_len;  // U+00A0 and above
                continue;
            }
        }
        out.append(s.data() + run, i - run);
        std::size_t next = i + 1;
        if (c == '\n') {
            out.append("\\n");
        } else if (c == '\r') {
            out.append("\\r");
        } else if (c == kEsc) {
            next = skip_escape(p, n, i);
        } else if (utf8_len != 0) {
            append_hex_escape(out, 'u', 4, p[i + 1]);  // a C1 control, U+0080-U+009F
            next = i + 2;
        } else {  // C0 control, DEL, or a byte of no valid UTF-8 sequence
            append_hex_escape(out, 'x', 2, c);
        }
        i = run = next;
    }
    out.append(s.data() + run, n - run);
}

}  // namespace detail

}  // namespace agora::log
