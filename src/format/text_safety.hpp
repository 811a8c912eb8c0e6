#pragma once
// Safe rendering of untrusted strings (messages, names, values) into the
// human-readable text output (seed "Log Injection Prevention").

#include <string>
#include <string_view>

namespace agora::log::detail {

/// Appends `s` to `out` so that it can neither split the line nor drive a
/// terminal that shows it:
///  - LF and CR are written as the two characters \n and \r;
///  - terminal escape sequences are removed entirely: CSI (ESC '[' parameter
///    bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, final byte 0x40-0x7E),
///    the string sequences OSC, DCS, SOS, PM and APC (ESC ']', 'P', 'X', '^',
///    '_' up to BEL or ESC '\'), and the other ESC sequences (ESC, intermediate
///    bytes 0x20-0x2F, one final byte 0x30-0x7E, e.g. ESC 'c' or ESC '(' 'B').
///    A sequence cut off by the end of `s` is removed to the end; a lone ESC
///    is removed. A sequence ends early at a byte that cannot belong to it: a
///    control character there is then escaped as below (an unterminated OSC
///    cannot swallow a line break), an ESC starts a new sequence;
///  - every other C0 control character and DEL is written as \xHH (lower-case
///    hex: NUL -> \x00, backspace -> \x08, DEL -> \x7f), so nothing can move
///    the cursor or overwrite text; TAB is kept as is;
///  - the C1 controls U+0080-U+009F encoded in UTF-8 (0xC2 0x80-0x9F) are
///    written as \u0080-\u009f (some terminals read U+009B as CSI), and a
///    0xC2 not followed by a byte 0x80-0xBF (invalid UTF-8) as \xc2, so that
///    removing a sequence cannot join it to a later 0x80-0x9F into one.
/// Everything else, valid UTF-8 included, is copied unchanged, runs of it in
/// one append. Single bytes 0x80-0x9F outside that two-byte form are left
/// alone: they are also UTF-8 continuation bytes (0x9B in "Û" = C3 9B), only
/// a terminal in an 8-bit, non-UTF-8 mode reads them as C1 controls. A
/// backslash is not escaped, so a literal "\n" in `s` reads like an escaped
/// newline; the JSON output is the unambiguous form.
void append_text_safe(std::string& out, std::string_view s);

}  // namespace agora::log::detail
