// Unit tests of the rendering internals (src/format/format.hpp): JSON string
// escaping and UTF-8 repair, function-name cleaning, timestamps, file base
// names and message formatting from encoded arguments.

#define BOOST_TEST_MODULE format_internals
#include "common.hpp"

#include "format/format.hpp"

#include <agora/log/detail/frontend.hpp>

#include <cstring>
#include <limits>

using agora::log::detail::append_json_string;
using agora::log::detail::append_timestamp;
using agora::log::detail::clean_function_name;
using agora::log::detail::file_base_name;

namespace {

std::string json(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

/// Parses the output of append_json_string back (strict UTF-8) and returns the string.
std::optional<std::string> decode(const std::string& json_text) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(json_text.c_str(), json_text.size());
    if (d.HasParseError() || !d.IsString()) return std::nullopt;
    return std::string(d.GetString(), d.GetStringLength());
}

const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD in UTF-8

std::string timestamp(std::int64_t ns) {
    std::string out;
    append_timestamp(out, ns);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_string)

BOOST_AUTO_TEST_CASE(plain_text_is_copied_and_quoted) {
    BOOST_TEST(json("") == "\"\"");
    BOOST_TEST(json("hello world") == "\"hello world\"");
    // Appends: existing content stays.
    std::string out = "x=";
    append_json_string(out, "y");
    BOOST_TEST(out == "x=\"y\"");
}

BOOST_AUTO_TEST_CASE(quotes_backslashes_and_control_characters_are_escaped) {
    BOOST_TEST(json("a\"b") == R"("a\"b")");
    BOOST_TEST(json("a\\b") == R"("a\\b")");
    BOOST_TEST(json("\n\r\t\b\f") == R"("\n\r\t\b\f")");
    BOOST_TEST(json(std::string_view("\x01\x1f", 2)) == R"("\u0001\u001f")");
    BOOST_TEST(json(std::string_view("a\0b", 3)) == R"("a\u0000b")");
    // Every control character round-trips through a strict parser.
    std::string all;
    for (int c = 0; c < 0x20; ++c) all.push_back(static_cast<char>(c));
    all += "\"\\/ plain";
    auto back = decode(json(all));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(*back == all);
}

BOOST_AUTO_TEST_CASE(del_is_escaped_and_round_trips) {
    const std::string out = json("a\x7f" "b");
    BOOST_TEST(out.find('\x7f') == std::string::npos, "DEL must not appear raw: " << out);
    auto back = decode(out);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST((*back == "a\x7f" "b" || *back == "a" + kReplacement + "b"));
}

BOOST_AUTO_TEST_CASE(valid_multibyte_utf8_is_kept) {
    const std::string s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad \xf4\x8f\xbf\xbf \xc2\x80";
    BOOST_TEST(json(s) == "\"" + s + "\"");
    auto back = decode(json(s));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(*back == s);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_replacement_character) {
    struct Case {
        std::string in, expected;
    };
    const std::vector<Case> cases = {
        {"\xff", kReplacement},
        {"\xfe", kReplacement},
        {"\xc3\x28", kReplacement + "("},                          // lead byte, no continuation
        {"a\xc3", "a" + kReplacement},                             // truncated at the end
        {"\xe2\x82", kReplacement + kReplacement},                 // truncated 3-byte sequence
        {"\x80", kReplacement},                                    // lone continuation byte
        {"\xc0\xaf", kReplacement + kReplacement},                 // overlong '/'
        {"\xe0\x80\xaf", kReplacement + kReplacement + kReplacement},  // overlong 3-byte
        {"\xed\xa0\x80", kReplacement + kReplacement + kReplacement},  // UTF-16 surrogate
        {"\xf4\x90\x80\x80", kReplacement + kReplacement + kReplacement + kReplacement},  // > U+10FFFF
        {"ok\xff\"q\"\xc3\xa9", "ok" + kReplacement + "\"q\"\xc3\xa9"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT("input bytes of length " << c.in.size() << ": " << c.in) {
            auto back = decode(json(c.in));
            BOOST_TEST(back.has_value(), "output is not strict UTF-8 JSON: " << json(c.in));
            if (back) BOOST_TEST(*back == c.expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(random_bytes_always_give_valid_json) {
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 2000; ++round) {
        std::string s;
        const int n = static_cast<int>(x % 64);
        for (int i = 0; i < n; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push_back(static_cast<char>(x & 0xff));
        }
        auto back = decode(json(s));
        BOOST_TEST(back.has_value(), "round " << round << " produced invalid JSON");
        if (!back) break;
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(function_names)

BOOST_AUTO_TEST_CASE(return_type_and_parameters_are_removed) {
    BOOST_TEST(clean_function_name("void FeedHandler::on_quote(const Quote&)") == "FeedHandler::on_quote");
    BOOST_TEST(clean_function_name("int main()") == "main");
    BOOST_TEST(clean_function_name("int main(int, char**)") == "main");
    BOOST_TEST(clean_function_name("static void ns::Foo::create(int)") == "ns::Foo::create");
    BOOST_TEST(clean_function_name("const std::string& ns::Foo::name() const") == "ns::Foo::name");
    BOOST_TEST(clean_function_name("unsigned int ns::f(void (*)(int))") == "ns::f");
}

BOOST_AUTO_TEST_CASE(member_function_qualifiers_are_removed) {
    BOOST_TEST(clean_function_name("void ns::Foo::bar(int) const") == "ns::Foo::bar");
    BOOST_TEST(clean_function_name("void ns::Foo::bar(int) const volatile") == "ns::Foo::bar");
    BOOST_TEST(clean_function_name("void ns::Foo::bar() &&") == "ns::Foo::bar");
    BOOST_TEST(clean_function_name("void ns::Foo::bar() const &") == "ns::Foo::bar");
    BOOST_TEST(clean_function_name("void ns::Foo::bar() noexcept") == "ns::Foo::bar");
}

BOOST_AUTO_TEST_CASE(templates) {
    BOOST_TEST(clean_function_name("void ns::f(T) [with T = int]") == "ns::f");
    BOOST_TEST(clean_function_name("void ns::C<T>::m(const T&) const [with T = std::pair<int, int>]") ==
               "ns::C<T>::m");
    BOOST_TEST(clean_function_name("std::vector<int> ns::f<std::pair<int, int> >(int)") ==
               "ns::f<std::pair<int, int> >");
    BOOST_TEST(clean_function_name("std::map<int, std::vector<int> > ns::g()") == "ns::g");
}

BOOST_AUTO_TEST_CASE(operators) {
    BOOST_TEST(clean_function_name("void Foo::operator()(int)") == "Foo::operator()");
    BOOST_TEST(clean_function_name("bool ns::Foo::operator==(const ns::Foo&) const") == "ns::Foo::operator==");
    BOOST_TEST(clean_function_name("ns::Foo::operator int() const") == "ns::Foo::operator int");
    BOOST_TEST(clean_function_name("bool ns::Foo::operator<(const ns::Foo&) const") == "ns::Foo::operator<");
    BOOST_TEST(clean_function_name("std::ostream& ns::operator<<(std::ostream&, const ns::Foo&)") ==
               "ns::operator<<");
    BOOST_TEST(clean_function_name("ns::Foo* ns::Ptr::operator->() const") == "ns::Ptr::operator->");
    BOOST_TEST(clean_function_name("bool ns::Foo::operator>(const ns::Foo&) const") == "ns::Foo::operator>");
}

BOOST_AUTO_TEST_CASE(names_without_decoration_are_unchanged) {
    BOOST_TEST(clean_function_name("main") == "main");
    BOOST_TEST(clean_function_name("") == "");
    BOOST_TEST(clean_function_name("ns::Foo::Foo()") == "ns::Foo::Foo");  // constructor: no return type
}

BOOST_AUTO_TEST_CASE(real_source_locations) {
    // What GCC actually produces for these, through std::source_location.
    struct Local {
        static std::string_view here(std::source_location l = std::source_location::current()) {
            return clean_function_name(l.function_name());
        }
    };
    BOOST_TEST(Local::here() == "function_names::real_source_locations::test_method");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timestamps)

BOOST_AUTO_TEST_CASE(format_is_iso8601_utc_with_microseconds) {
    BOOST_TEST(timestamp(0) == "1970-01-01T00:00:00.000000Z");
    BOOST_TEST(timestamp(1'000) == "1970-01-01T00:00:00.000001Z");
    BOOST_TEST(timestamp(999) == "1970-01-01T00:00:00.000000Z");  // truncated, not rounded
    // 2026-11-25T08:54:39.123456Z
    const std::int64_t t = 1795596879LL * 1'000'000'000 + 123'456'789;
    BOOST_TEST(timestamp(t) == "2026-11-25T08:54:39.123456Z");
    // Leap day and end of year.
    BOOST_TEST(timestamp(951782400LL * 1'000'000'000) == "2000-02-29T00:00:00.000000Z");
    BOOST_TEST(timestamp(1735689599LL * 1'000'000'000 + 999'999'999) == "2024-12-31T23:59:59.999999Z");
    // Before the epoch: the fraction still counts forward within the second.
    BOOST_TEST(timestamp(-1'000) == "1969-12-31T23:59:59.999999Z");
    BOOST_TEST(agora_test::is_timestamp(timestamp(t)));
}

BOOST_AUTO_TEST_CASE(appends) {
    std::string out = "ts=";
    append_timestamp(out, 0);
    BOOST_TEST(out == "ts=1970-01-01T00:00:00.000000Z");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(file_base_names) {
    BOOST_TEST(file_base_name("/src/feed/handler.cpp") == "handler.cpp");
    BOOST_TEST(file_base_name("handler.cpp") == "handler.cpp");
    BOOST_TEST(file_base_name("../a/b.hpp") == "b.hpp");
    BOOST_TEST(file_base_name("C:\\src\\x.cpp") == "x.cpp");
}

BOOST_AUTO_TEST_SUITE(messages)

namespace {
template <class... Args>
std::pair<bool, std::string> format_encoded(std::string_view fmt_text, const Args&... args) {
    using namespace agora::log::detail;
    static constexpr TypeCode codes[] = {ArgType<decltype(to_wire(args))>::code()..., TypeCode::end};
    std::vector<std::byte> buf((std::size_t{0} + ... + encoded_size(to_wire(args))) + 1);
    std::byte* p = buf.data();
    ((p = encode(p, to_wire(args))), ...);
    ArgStore store;
    RecordExtras extras;
    std::string out;
    bool ok = format_message(fmt_text, codes, buf.data(), static_cast<std::size_t>(p - buf.data()), store, out, extras);
    return {ok, out};
}
}  // namespace

BOOST_AUTO_TEST_CASE(encoded_arguments_format_like_fmt) {
    auto [ok, out] = format_encoded("{} {} {} {:.2f} {} {}", 42, std::string("str"), true, 2.0 / 3, 'c',
                                    static_cast<std::uint64_t>(18446744073709551615ull));
    BOOST_TEST(ok);
    BOOST_TEST(out == "42 str true 0.67 c 18446744073709551615");
}

namespace {
/// The encoded record of `args` and its type codes.
template <class... Args>
struct Encoded {
    static constexpr agora::log::detail::TypeCode codes[] = {
        agora::log::detail::ArgType<decltype(agora::log::detail::to_wire(std::declval<const Args&>()))>::code()...,
        agora::log::detail::TypeCode::end};
    std::vector<std::byte> buf;
    std::size_t size = 0;
    explicit Encoded(const Args&... args) {
        using namespace agora::log::detail;
        buf.resize((std::size_t{0} + ... + encoded_size(to_wire(args))) + 1);
        std::byte* p = buf.data();
        ((p = encode(p, to_wire(args))), ...);
        size = static_cast<std::size_t>(p - buf.data());
    }
};

/// fmt's path and the plain path on the same record: same result, text and extras.
template <class... Args>
void check_plain_matches_fmt(std::string_view fmt_text, const Args&... args) {
    using namespace agora::log::detail;
    const Encoded<Args...> e(args...);
    const PlainTemplate plan = plan_plain_template(fmt_text, e.codes);
    BOOST_TEST_REQUIRE(plan.usable, fmt_text);
    ArgStore store;
    RecordExtras a, b;
    std::string out_fmt = "prefix:", out_plain = "prefix:";
    const bool ok_fmt = format_message(fmt_text, e.codes, e.buf.data(), e.size, store, out_fmt, a);
    const bool ok_plain = format_message_plain(plan, fmt_text, e.codes, e.buf.data(), e.size, store, out_plain, b);
    BOOST_TEST(ok_fmt == ok_plain);
    BOOST_TEST(out_fmt == out_plain);
    BOOST_TEST(a.arg_count == b.arg_count);
    for (std::size_t i = 0; i < std::min(a.arg_count, b.arg_count); ++i) {
        BOOST_TEST((a.args[i].type == b.args[i].type));
        BOOST_TEST((a.args[i].data == b.args[i].data));
    }
    BOOST_TEST(a.intact == b.intact);
}
}  // namespace

BOOST_AUTO_TEST_CASE(plain_templates_are_planned_only_when_fmt_would_do_the_same) {
    using namespace agora::log::detail;
    const Encoded<int, double> e(1, 2.0);
    BOOST_TEST(plan_plain_template("a {} b {} c", e.codes).usable);
    BOOST_TEST(plan_plain_template("{{}} {} {{x}} {}", e.codes).usable);
    BOOST_TEST(plan_plain_template("{{}} {} {{x}} {}", e.codes).literals[0] == "{} ");
    BOOST_TEST(!plan_plain_template("{} {:.2f}", e.codes).usable);  // a spec
    BOOST_TEST(!plan_plain_template("{1} {0}", e.codes).usable);    // indices
    BOOST_TEST(!plan_plain_template("{} {} {}", e.codes).usable);   // a field without an argument
    BOOST_TEST(!plan_plain_template("{} } {}", e.codes).usable);    // a lone brace
    BOOST_TEST(plan_plain_template("{}", e.codes).literals.size() == 2u);
    BOOST_TEST(!plan_plain_template("{}", e.codes).usable);  // fewer fields than arguments: fmt's
}

BOOST_AUTO_TEST_CASE(plain_templates_format_byte_for_byte_like_fmt) {
    check_plain_matches_fmt("Logging int: {}, int: {}, double: {}", 42, -7, 0.25);
    check_plain_matches_fmt("{} {} {} {} {} {}", std::numeric_limits<int>::min(), std::numeric_limits<int>::max(),
                            std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::uint64_t>::max(),
                            std::int8_t{-128}, std::uint16_t{65535});
    check_plain_matches_fmt("b={} c={} s={} p={}", true, 'x', std::string("{}{{ text }}"),
                            reinterpret_cast<const void*>(std::uintptr_t{0xdeadbeef}));
    check_plain_matches_fmt("{{literal}} {} }}{{ {}", false, std::string_view(""));
    check_plain_matches_fmt("no fields at all {{}}");
    const double specials[] = {0.0, -0.0, 1.0, 0.1, 1e21, 1e-7, 123456789012345680.0, 5e-324, 1.7976931348623157e308,
                               std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                               std::numeric_limits<double>::quiet_NaN(), 2.0 / 3};
    for (double d : specials) check_plain_matches_fmt("d={} f={}", d, static_cast<float>(d));
    // Doubles and floats from random bit patterns (every exponent range).
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        std::memcpy(&d, &x, sizeof d);
        float f;
        const auto bits32 = static_cast<std::uint32_t>(x >> 11);
        std::memcpy(&f, &bits32, sizeof f);
        check_plain_matches_fmt("{} {} {}", d, f, static_cast<std::int64_t>(x));
    }
}

BOOST_AUTO_TEST_CASE(plain_path_reports_damaged_arguments_as_fmt_path_does) {
    using namespace agora::log::detail;
    static constexpr TypeCode codes[] = {TypeCode::i32, TypeCode::string, TypeCode::end};
    std::byte buf[10] = {};
    std::uint32_t n = 1000;  // the string claims 1000 bytes
    std::memcpy(buf + 4, &n, sizeof n);
    const PlainTemplate plan = plan_plain_template("a={} s={}", codes);
    BOOST_TEST_REQUIRE(plan.usable);
    ArgStore store;
    RecordExtras a, b;
    std::string out_fmt, out_plain;
    BOOST_TEST(!format_message("a={} s={}", codes, buf, sizeof buf, store, out_fmt, a));
    BOOST_TEST(!format_message_plain(plan, "a={} s={}", codes, buf, sizeof buf, store, out_plain, b));
    BOOST_TEST(out_plain == out_fmt);
    BOOST_TEST(out_plain.find("damaged") != std::string::npos, out_plain);
}

BOOST_AUTO_TEST_CASE(damaged_arguments_are_reported_not_read_past) {
    using namespace agora::log::detail;
    static constexpr TypeCode codes[] = {TypeCode::string, TypeCode::end};
    // A string header claiming 1000 bytes in a 6-byte record.
    std::byte buf[6] = {};
    std::uint32_t n = 1000;
    std::memcpy(buf, &n, sizeof n);
    ArgStore store;
    RecordExtras extras;
    std::string out;
    BOOST_TEST(!format_message("v={}", codes, buf, sizeof buf, store, out, extras));
    BOOST_TEST(out.find("damaged") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
