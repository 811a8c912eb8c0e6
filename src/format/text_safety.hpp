#pragma once
// Safe rendering of untrusted strings (messages, names, values) into the
// human-readable text output (seed "Log Injection Prevention").

#include <string>
#include <string_view>

namespace agora::log::detail {

/// Appends `s` to `out` so that it can neither split the line nor drive a
/// terminal that shows it, whether the terminal reads UTF-8 or 8-bit C1
/// controls:
///  - LF and CR are written as the two characters \n and \r;
///  - terminal escape sequences are removed: CSI (ESC '[' parameter bytes
///    0x30-0x3F, intermediate bytes 0x20-0x2F, final byte 0x40-0x7E) and the
///    other ESC sequences (ESC, intermediate bytes 0x20-0x2F, one final byte
///    0x30-0x7E, e.g. ESC 'c' or ESC '(' 'B'), also when cut off by the end
///    of `s`; a lone ESC is removed. Such a sequence ends early at a byte that
///    cannot belong to it: a control character there is then escaped as
///    below, an ESC starts a new sequence, other bytes are kept;
///  - the string sequences OSC, DCS, SOS, PM and APC (ESC ']', 'P', 'X', '^',
///    '_'): one terminated by BEL or by ST (ESC '\') is removed whole,
///    payload and terminator included. One that is not terminated (the end of
///    `s`, a control character, or an ESC not followed by '\' comes first)
///    loses only its ESC and introducer byte; the rest is kept and rendered
///    by these same rules, so an unterminated OSC can neither swallow the
///    rest of the message nor a line break. In the payload only BEL and ESC
///    '\' terminate: a raw 0x9C there is UTF-8 continuation material;
///  - every other C0 control character and DEL is written as \xHH (lower-case
///    hex: NUL -> \x00, backspace -> \x08, DEL -> \x7f), so nothing can move
///    the cursor or overwrite text; TAB is kept as is;
///  - bytes 0x80-0xFF are checked as UTF-8. A valid sequence (shortest form,
///    no surrogate U+D800-U+DFFF, at most U+10FFFF) is copied unchanged,
///    except the C1 controls U+0080-U+009F (0xC2 0x80-0x9F), which are
///    written as \u0080-\u009f (some terminals read U+009B as CSI). Every
///    byte that is not part of a valid sequence -- a lone continuation byte
///    such as a raw 8-bit CSI 0x9B, OSC 0x9D or ST 0x9C, a lead byte 0xC0,
///    0xC1 or 0xF5-0xFF, a truncated sequence, an overlong form, a surrogate,
///    a code point above U+10FFFF -- is written as \xHH, one escape per byte.
///    Validity is decided on `s` as given, so removing a sequence never joins
///    the bytes around it into a character.
/// The output is therefore valid UTF-8 with no control character but TAB.
/// Runs of plain text are appended in one go. A backslash is not escaped, so
/// a literal "\n" in `s` reads like an escaped newline; the JSON output is
/// the unambiguous form.
void append_text_safe(std::string& out, std::string_view s);

}  // namespace agora::log::detail
