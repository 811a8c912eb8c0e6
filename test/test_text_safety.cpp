// Log injection (seed "Log Injection Prevention"): the text output escapes
// CR and LF, removes terminal escape sequences, writes the other control
// characters and every byte that is not valid UTF-8 as \xHH
// (src/sinks/text_safety.hpp); the JSON output stays one line, without a
// raw control character, whatever the input.

#define BOOST_TEST_MODULE text_safety
#include "common.hpp"

#include "format/format.hpp"
#include "format/text_safety.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

using agora::log::detail::append_json_string;
using agora::log::detail::append_text_safe;

namespace {

std::string safe(std::string_view s) {
    std::string out;
    append_text_safe(out, s);
    return out;
}

std::string json(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

/// Parses the output of append_json_string back (strict UTF-8).
std::optional<std::string> decode_json(const std::string& text) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
    if (d.HasParseError() || !d.IsString()) return std::nullopt;
    return std::string(d.GetString(), d.GetStringLength());
}

/// The first byte of `s` that a line of text output must not contain (a C0
/// control other than TAB, DEL, or the UTF-8 form of a C1 control), as an
/// offset, or -1 if there is none.
long first_unsafe_byte(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7f) return static_cast<long>(i);
        if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(s[i + 1]) <= 0x9f)
            return static_cast<long>(i);
    }
    return -1;
}

/// True when `s` is valid UTF-8: shortest forms only, no surrogates, nothing
/// above U+10FFFF (decoded here independently of the library).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) { len = 1; cp = c; }
        else if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1fu; }
        else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0fu; }
        else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07u; }
        else return false;
        if (i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3fu);
        }
        static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

std::size_t count(std::string_view s, char c) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), c)); }

/// Inputs an attacker could put in a message, a name or a value.
const std::vector<std::string> kHostile = {
    "user=bob\n2026-01-01T00:00:00.000000Z CRITICAL auth  admin logged in",
    "progress\r2026-01-01T00:00:00.000000Z INFO     forged",
    "\x1b[31mred\x1b[0m",
    "\x1b[2J\x1b[H\x1b[10;20H\x1b[?25l",
    "\x1b]0;pwned\x07title",
    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "\x1b" "c\x1b(B\x1b#8",
    "hidden\x1b[8m text\x08\x08\x08\x08 over",
    std::string("nul\0byte", 8),
    "abc\x1b[12",
    "abc\x1b",
    "\xc2\x9b" "2J",
    "del\x7f",
    "\x1b]0;unterminated title",
    "\x1b]8;;http://evil.example/\nnext line",
};

}  // namespace

BOOST_AUTO_TEST_SUITE(text_safe)

BOOST_AUTO_TEST_CASE(plain_text_is_copied_and_appended) {
    BOOST_TEST(safe("") == "");
    BOOST_TEST(safe("hello world {} [x] \\ \"q\"") == "hello world {} [x] \\ \"q\"");
    std::string out = "x=";
    append_text_safe(out, "y");
    BOOST_TEST(out == "x=y");
}

BOOST_AUTO_TEST_CASE(newline_and_carriage_return_are_escaped) {
    BOOST_TEST(safe("a\nb") == "a\\nb");
    BOOST_TEST(safe("a\rb") == "a\\rb");
    BOOST_TEST(safe("\r\n") == "\\r\\n");
    BOOST_TEST(safe("line1\nline2\n") == "line1\\nline2\\n");
    BOOST_TEST(safe("tab\tkept") == "tab\tkept");
}

BOOST_AUTO_TEST_CASE(sgr_colour_codes_are_removed) {
    BOOST_TEST(safe("\x1b[31mred\x1b[0m") == "red");
    BOOST_TEST(safe("a\x1b[mb") == "ab");
    BOOST_TEST(safe("\x1b[1;38;5;196mbold\x1b[22;39m!") == "bold!");
    BOOST_TEST(safe("\x1b[38:2:255:0:0mrgb") == "rgb");
}

BOOST_AUTO_TEST_CASE(cursor_and_screen_sequences_are_removed) {
    BOOST_TEST(safe("a\x1b[2Jb") == "ab");                  // clear screen
    BOOST_TEST(safe("a\x1b[10;20Hb") == "ab");              // cursor position
    BOOST_TEST(safe("a\x1b[?25lb") == "ab");                // hide cursor (private parameter)
    BOOST_TEST(safe("a\x1b[1Ab\x1b[2Kc") == "abc");         // cursor up, erase line
    BOOST_TEST(safe("a\x1b[2 qb") == "ab");                 // intermediate byte
    BOOST_TEST(safe("\x1b[2J\x1b[H\x1b[3J") == "");
}

BOOST_AUTO_TEST_CASE(osc_and_other_string_sequences_are_removed) {
    BOOST_TEST(safe("x\x1b]0;pwned\x07y") == "xy");        // title, BEL terminator
    BOOST_TEST(safe("x\x1b]0;pwned\x1b\\y") == "xy");      // title, ST terminator
    BOOST_TEST(safe("\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\") == "click");  // hyperlink
    BOOST_TEST(safe("x\x1b]52;c;cm0gLXJmIH4=\x07y") == "xy");  // clipboard write
    BOOST_TEST(safe("x\x1bPq#0;2;0;0;0\x1b\\y") == "xy");   // DCS
    BOOST_TEST(safe("x\x1b_app\x1b\\y") == "xy");           // APC
    BOOST_TEST(safe("x\x1b]0;Größe\x07y") == "xy");         // UTF-8 in the payload
}

BOOST_AUTO_TEST_CASE(other_escape_sequences_are_removed) {
    BOOST_TEST(safe("a\x1b" "cb") == "ab");   // full reset
    BOOST_TEST(safe("a\x1b" "7b\x1b" "8c") == "abc");  // save / restore cursor
    BOOST_TEST(safe("a\x1b" "Db") == "ab");   // index
    BOOST_TEST(safe("a\x1b(Bb") == "ab");     // designate character set (intermediate byte)
    BOOST_TEST(safe("a\x1b#8b") == "ab");     // screen alignment test
    BOOST_TEST(safe("a\x1b\x1b[31mb") == "ab");  // ESC ESC
}

BOOST_AUTO_TEST_CASE(truncated_sequences_are_removed_to_the_end) {
    BOOST_TEST(safe("abc\x1b") == "abc");
    BOOST_TEST(safe("abc\x1b[") == "abc");
    BOOST_TEST(safe("abc\x1b[12") == "abc");
    BOOST_TEST(safe("abc\x1b[12;") == "abc");
    BOOST_TEST(safe("abc\x1b(") == "abc");
    BOOST_TEST(safe("\x1b") == "");
}

BOOST_AUTO_TEST_CASE(a_sequence_ends_at_a_byte_that_cannot_belong_to_it) {
    // A line break inside a sequence is escaped, not swallowed.
    BOOST_TEST(safe("a\x1b[1\nb") == "a\\nb");
    BOOST_TEST(safe("a\x1b\nb") == "a\\nb");
    // Bytes that are not part of the sequence are kept.
    BOOST_TEST(safe("a\x1b[1\xc3\xa9") == "a\xc3\xa9");
    BOOST_TEST(safe("a\x1b\xc3\xa9") == "a\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(c0_controls_and_del_are_written_as_hex) {
    BOOST_TEST(safe(std::string_view("a\0b", 3)) == "a\\x00b");
    BOOST_TEST(safe("a\bb") == "a\\x08b");
    BOOST_TEST(safe("\a") == "\\x07");
    BOOST_TEST(safe("\x01\x1f") == "\\x01\\x1f");
    BOOST_TEST(safe("\v\f") == "\\x0b\\x0c");
    BOOST_TEST(safe("a\x7f" "b") == "a\\x7fb");
    BOOST_TEST(safe("\x0e" "shift") == "\\x0eshift");
}

BOOST_AUTO_TEST_CASE(c1_controls_in_utf8_are_written_as_code_points) {
    BOOST_TEST(safe("a\xc2\x9b" "2Jb") == "a\\u009b2Jb");   // U+009B, CSI for some terminals
    BOOST_TEST(safe("\xc2\x85") == "\\u0085");               // NEL
    BOOST_TEST(safe("\xc2\x80\xc2\x9f") == "\\u0080\\u009f");
    BOOST_TEST(safe("\xc2\xa0\xc2\xbf") == "\xc2\xa0\xc2\xbf");  // U+00A0, U+00BF: text
    // A 0xC2 without its second byte cannot be joined to a later 0x80-0x9F.
    BOOST_TEST(safe("\xc2\x1b[m\x9b") == "\\xc2\\x9b");
    BOOST_TEST(safe("\xc2") == "\\xc2");
    // 0x9B as the continuation byte of a valid character is text.
    BOOST_TEST(safe("\xc3\x9b") == "\xc3\x9b");  // "Û"
}

// A terminal in 8-bit mode reads the raw bytes 0x80-0x9F as C1 controls: 0x9B
// as CSI, 0x9D as OSC, 0x9C as ST. Outside a valid UTF-8 sequence they are
// written as \xHH.
BOOST_AUTO_TEST_CASE(raw_c1_bytes_are_written_as_hex) {
    BOOST_TEST(safe("a\x9b" "2Jb") == "a\\x9b2Jb");                      // CSI, clear screen
    BOOST_TEST(safe("\x9b" "31mred\x9b" "0m") == "\\x9b31mred\\x9b0m");  // CSI, colours
    BOOST_TEST(safe("\x9d" "0;title\x9c" "x") == "\\x9d0;title\\x9cx");  // OSC ... ST
    BOOST_TEST(safe("\x9d" "0;title\x07") == "\\x9d0;title\\x07");
    BOOST_TEST(safe("\x9c") == "\\x9c");
    BOOST_TEST(safe("\x90q\x9c") == "\\x90q\\x9c");  // DCS ... ST
    BOOST_TEST(safe("\x85") == "\\x85");                // NEL
    BOOST_TEST(safe("\x80\x9f") == "\\x80\\x9f");
    // Continuation bytes 0xA0-0xBF without a lead byte are invalid too.
    BOOST_TEST(safe("\xa0\xbf") == "\\xa0\\xbf");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_bytes_are_written_as_hex) {
    // Lead bytes that start no valid sequence.
    BOOST_TEST(safe("\xff\xfe") == "\\xff\\xfe");
    BOOST_TEST(safe("\xf5\x80\x80\x80") == "\\xf5\\x80\\x80\\x80");
    BOOST_TEST(safe("\xf8\x88\x80\x80\x80") == "\\xf8\\x88\\x80\\x80\\x80");
    // Truncated: by the end of the string, by ASCII, by another lead byte.
    BOOST_TEST(safe("ab\xe2\x82") == "ab\\xe2\\x82");
    BOOST_TEST(safe("\xe2\x82" "A") == "\\xe2\\x82A");
    BOOST_TEST(safe("\xf0\x9f\x98") == "\\xf0\\x9f\\x98");
    BOOST_TEST(safe("\xe2\xc3\xa9") == "\\xe2\xc3\xa9");  // the é after it stays
    BOOST_TEST(safe("\xc3") == "\\xc3");
    BOOST_TEST(safe("\xc3\n") == "\\xc3\\n");
    // A removed sequence does not join the bytes around it into a character.
    BOOST_TEST(safe("\xc3\x1b[m\xa9") == "\\xc3\\xa9");
    BOOST_TEST(safe("\xe2\x1b]0;t\x07\x82\xac") == "\\xe2\\x82\\xac");
    // Too many continuation bytes: the extra one is invalid.
    BOOST_TEST(safe("\xc3\xa9\xa9") == "\xc3\xa9\\xa9");
}

BOOST_AUTO_TEST_CASE(overlong_forms_are_written_as_hex) {
    BOOST_TEST(safe("\xc0\xaf") == "\\xc0\\xaf");                  // '/' in two bytes
    BOOST_TEST(safe("\xc1\xbf") == "\\xc1\\xbf");
    BOOST_TEST(safe("\xc0\x9b") == "\\xc0\\x9b");                  // ESC-less CSI, overlong
    BOOST_TEST(safe("\xe0\x82\x9b") == "\\xe0\\x82\\x9b");        // U+009B in three bytes
    BOOST_TEST(safe("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");
    BOOST_TEST(safe("\xe0\x9f\xbf") == "\\xe0\\x9f\\xbf");        // U+07FF in three bytes
    BOOST_TEST(safe("\xf0\x80\x80\xaf") == "\\xf0\\x80\\x80\\xaf");
    BOOST_TEST(safe("\xf0\x8f\xbf\xbf") == "\\xf0\\x8f\\xbf\\xbf");  // U+FFFF in four bytes
    // The shortest forms at the same boundaries are text.
    BOOST_TEST(safe("\xdf\xbf") == "\xdf\xbf");                  // U+07FF
    BOOST_TEST(safe("\xe0\xa0\x80") == "\xe0\xa0\x80");          // U+0800
    BOOST_TEST(safe("\xef\xbf\xbf") == "\xef\xbf\xbf");          // U+FFFF
    BOOST_TEST(safe("\xf0\x90\x80\x80") == "\xf0\x90\x80\x80");  // U+10000
}

BOOST_AUTO_TEST_CASE(surrogates_and_code_points_above_10ffff_are_written_as_hex) {
    BOOST_TEST(safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // U+D800
    BOOST_TEST(safe("\xed\xbf\xbf") == "\\xed\\xbf\\xbf");  // U+DFFF
    BOOST_TEST(safe("\xed\xa0\xbd\xed\xb8\x80") ==            // CESU-8 pair for U+1F600
               "\\xed\\xa0\\xbd\\xed\\xb8\\x80");
    BOOST_TEST(safe("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // U+110000
    BOOST_TEST(safe("\xed\x9f\xbf") == "\xed\x9f\xbf");                // U+D7FF
    BOOST_TEST(safe("\xee\x80\x80") == "\xee\x80\x80");                // U+E000
    BOOST_TEST(safe("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf");        // U+10FFFF
}

// A string sequence (OSC, DCS, SOS, PM, APC) without BEL or ST before the end
// or before a control character loses only its ESC and introducer: the text
// after it is kept (and rendered by the same rules).
BOOST_AUTO_TEST_CASE(unterminated_string_sequences_keep_the_text) {
    BOOST_TEST(safe("abc\x1b]0;title") == "abc0;title");
    BOOST_TEST(safe("abc\x1b]0;title\x1b") == "abc0;title");
    BOOST_TEST(safe("user=\x1b]bob logged in from 10.0.0.1") == "user=bob logged in from 10.0.0.1");
    BOOST_TEST(safe("a\x1bPdata") == "adata");   // DCS
    BOOST_TEST(safe("a\x1bXdata") == "adata");   // SOS
    BOOST_TEST(safe("a\x1b^data") == "adata");   // PM
    BOOST_TEST(safe("a\x1b_data") == "adata");   // APC
    BOOST_TEST(safe("\x1b]") == "");
    // Ended by a control character: it and what follows are rendered as usual.
    BOOST_TEST(safe("a\x1b]0;x\ny") == "a0;x\\ny");
    BOOST_TEST(safe("a\x1b]0;x\x08y") == "a0;x\\x08y");
    // Ended by an ESC that is not ST: that ESC starts the next sequence.
    BOOST_TEST(safe("a\x1b]0;x\x1b[31mb") == "a0;xb");
    BOOST_TEST(safe("a\x1b]0;x\x1b]0;y\x07z") == "a0;xz");
    BOOST_TEST(safe("\x1b]\x1b]\x1b]x") == "x");
    // The kept payload is checked as UTF-8 like any text.
    BOOST_TEST(safe("a\x1b]0;Gr\xc3\xb6\xc3\x9f\xc3" "e") == "a0;Gr\xc3\xb6\xc3\x9f\\xc3e");
}

BOOST_AUTO_TEST_CASE(terminated_string_sequences_are_removed_whole) {
    BOOST_TEST(safe("a\x1b]0;title\x07" "b") == "ab");
    BOOST_TEST(safe("a\x1b]0;title\x1b\\b") == "ab");
    BOOST_TEST(safe("a\x1bPdata\x1b\\b") == "ab");
    BOOST_TEST(safe("a\x1b_data\x07" "b") == "ab");
    // In the payload only BEL and ESC '\' terminate: a raw 0x9C (8-bit ST)
    // or invalid UTF-8 there is removed with the rest.
    BOOST_TEST(safe("a\x1b]0;x\x9cy\x07" "b") == "ab");
    BOOST_TEST(safe("a\x1b]0;\xff\xc3\x07" "b") == "ab");
    BOOST_TEST(safe("\x1b]0;\x07") == "");
}

BOOST_AUTO_TEST_CASE(mixed_input) {
    const std::string input =
        "ok \xc3\xa9 \x9b" "2J \x1b]0;t\x07\x1b]2;keep \xc2\x9d \xed\xa0\x80 \xc0\xaf \xe2\x82\xac\x1b[0m\n"
        "\x9d" "8;;http://x\x9c end\xe2";
    const std::string expected =
        "ok \xc3\xa9 \\x9b2J 2;keep \\u009d \\xed\\xa0\\x80 \\xc0\\xaf \xe2\x82\xac\\n"
        "\\x9d8;;http://x\\x9c end\\xe2";
    BOOST_TEST(safe(input) == expected);
    BOOST_TEST(valid_utf8(safe(input)));
    BOOST_TEST(first_unsafe_byte(safe(input)) == -1);
}

BOOST_AUTO_TEST_CASE(utf8_text_is_unchanged) {
    const std::string text = "Größe 価格 € 😀 Ωμέγα";
    BOOST_TEST(safe(text) == text);
    BOOST_TEST(safe("日本語\x1b[31m赤\x1b[0m\n") == "日本語赤\\n");
}

BOOST_AUTO_TEST_CASE(random_bytes_give_a_safe_line) {
    std::mt19937 rng(20261125);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string input(1 << 20, '\0');
    for (char& c : input) c = static_cast<char>(byte(rng));
    // Sequences introducers are frequent enough to matter.
    for (std::size_t i = 0; i + 1 < input.size(); i += 997) {
        input[i] = '\x1b';
        input[i + 1] = "[]P(#c"[i % 6];
    }
    BOOST_TEST_REQUIRE(count(input, '\x1b') > 1000u);
    BOOST_TEST_REQUIRE(count(input, '\n') > 1000u);
    BOOST_TEST_REQUIRE(first_unsafe_byte(input) != -1);

    const std::string out = safe(input);
    BOOST_TEST(!out.empty());
    BOOST_TEST(count(out, '\x1b') == 0u);
    BOOST_TEST(count(out, '\n') == 0u);
    BOOST_TEST(count(out, '\r') == 0u);
    BOOST_TEST(first_unsafe_byte(out) == -1);
    BOOST_TEST(valid_utf8(out));
    // The output has nothing left to change.
    BOOST_TEST((safe(out) == out));
}

BOOST_AUTO_TEST_CASE(format_text_gives_one_line_without_escape_sequences) {
    agora::log::LogRecordView r{};
    r.level = agora::log::Level::warning;
    r.timestamp = "2026-11-25T08:54:39.123456Z";
    r.message = "login failed for bob\n2026-11-25T08:54:40.000000Z INFO     auth  login ok for admin"
                "\x1b[2J\x1b]0;pwned\x07\r";
    r.logger_name = "auth\x1b[8m";
    r.file = "auth\x1b" "c.cpp";
    r.line = 42;
    r.function = "Auth::check\x1b[1A\x1b[2K";
    r.json = "{}";

    std::string out;
    agora::log::format_text(r, out, false);
    BOOST_TEST(out ==
               "2026-11-25T08:54:39.123456Z WARNING  auth  login failed for bob\\n2026-11-25T08:54:40.000000Z "
               "INFO     auth  login ok for admin\\r  [auth.cpp:42 Auth::check]");
    BOOST_TEST(count(out, '\x1b') == 0u);
    BOOST_TEST(count(out, '\n') == 0u);
    BOOST_TEST(first_unsafe_byte(out) == -1);

    // With colours, the only escape sequences are the two around the level.
    out.clear();
    agora::log::format_text(r, out, true);
    BOOST_TEST(count(out, '\x1b') == 2u);
    BOOST_TEST(out.find("\x1b[33mWARNING\x1b[0m") != std::string::npos);
    BOOST_TEST(count(out, '\n') == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_stays_one_line)

BOOST_AUTO_TEST_CASE(hostile_strings_are_escaped_in_json) {
    for (const auto& input : kHostile) {
        BOOST_TEST_CONTEXT("input " << json(input)) {
            const std::string out = json(input);
            BOOST_TEST(count(out, '\n') == 0u);
            BOOST_TEST(count(out, '\r') == 0u);
            BOOST_TEST(count(out, '\x1b') == 0u);
            BOOST_TEST(std::none_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
            if (input.find('\x1b') != std::string::npos) BOOST_TEST(out.find("\\u001b") != std::string::npos);
            // JSON keeps the text: it decodes back to the input.
            BOOST_TEST((decode_json(out) == std::optional<std::string>(input)));
        }
    }
}

BOOST_AUTO_TEST_CASE(random_bytes_give_one_json_line) {
    std::mt19937 rng(20261126);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string input(1 << 20, '\0');
    for (char& c : input) c = static_cast<char>(byte(rng));
    BOOST_TEST_REQUIRE(count(input, '\n') > 1000u);
    BOOST_TEST_REQUIRE(count(input, '\x1b') > 1000u);
    const std::string out = json(input);
    BOOST_TEST(count(out, '\n') == 0u);
    BOOST_TEST(count(out, '\x1b') == 0u);
    BOOST_TEST(std::none_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
    BOOST_TEST(decode_json(out).has_value());  // valid JSON, valid UTF-8
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(end_to_end)

// Through the logger: the JSON file has one schema-valid line per record with
// the message intact, and a text console has one line per record, no ESC.
BOOST_AUTO_TEST_CASE(hostile_messages_through_the_logger) {
    agora_test::TempDir dir;
    const std::string text_path = dir.file("console.txt");
    const int fd = ::open(text_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    {
        agora_test::ShutdownGuard guard;
        auto config = agora_test::quiet_config(dir.file("out.log"));
        auto console = std::make_shared<agora::log::ConsoleHandler>(agora::log::ConsoleFormat::text, true, fd);
        BOOST_REQUIRE(agora::log::initialize(config, {console}));
        auto log = agora::log::get_logger("injection.test");
        for (const auto& input : kHostile) log.warning("value={}", input);
        agora::log::shutdown();
    }
    ::close(fd);

    const auto entries = agora_test::read_entries(dir.file("out.log"));
    BOOST_TEST(entries.errors.empty(), agora_test::join_errors(entries.errors));
    BOOST_TEST_REQUIRE(entries.entries.size() == kHostile.size());
    for (std::size_t i = 0; i < kHostile.size(); ++i) {
        BOOST_TEST(entries.entries[i].message == "value=" + kHostile[i]);
        BOOST_TEST(count(entries.entries[i].raw, '\x1b') == 0u);
    }

    const auto text = agora_test::read_lines(text_path);
    BOOST_TEST(!text.unterminated);
    BOOST_TEST_REQUIRE(text.lines.size() == kHostile.size());
    for (const auto& line : text.lines) {
        BOOST_TEST_CONTEXT("line " << json(line)) {
            BOOST_TEST(line.find(" WARNING  injection.test  value=") != std::string::npos);
            BOOST_TEST(count(line, '\x1b') == 0u);  // not a terminal: no colours either
            BOOST_TEST(first_unsafe_byte(line) == -1);
            BOOST_TEST(valid_utf8(line));
        }
    }
    // An unterminated OSC loses only its introducer, not the text after it.
    BOOST_TEST(text.lines[kHostile.size() - 2].find("  value=0;unterminated title  [") != std::string::npos,
               text.lines[kHostile.size() - 2]);
    BOOST_TEST(text.lines[kHostile.size() - 1].find("  value=8;;http://evil.example/\\nnext line  [") !=
                   std::string::npos,
               text.lines[kHostile.size() - 1]);
}

BOOST_AUTO_TEST_SUITE_END()
