#pragma once
// UTF-8 validation shared by the JSON and the text output.

#include <cstddef>
#include <cstdint>

namespace agora::log::detail {

/// Length (2-4) of the valid UTF-8 sequence at `s`, whose first byte is
/// >= 0x80, within `n` bytes; 0 if those bytes start no valid sequence: a
/// continuation byte (0x80-0xBF) without a lead, a lead 0xC0, 0xC1 or
/// 0xF5-0xFF, a sequence cut short by `n` or by a byte that is not a
/// continuation byte, an overlong form, a surrogate (U+D800-U+DFFF) or a code
/// point above U+10FFFF.
inline std::size_t utf8_sequence(const unsigned char* s, std::size_t n) noexcept {
    const unsigned char c = s[0];
    std::size_t len;
    std::uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (std::size_t i = 1; i < len; ++i) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;  // overlong / range
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;  // surrogates
    return len;
}

}  // namespace agora::log::detail
