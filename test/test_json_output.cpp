// End-to-end output: a run mixing every level and every supported argument
// type (including hostile strings and a 100 KB string) must produce lines
// that parse as strict JSON and validate against the schema, with the
// rendered message, the caller's file base name, line and cleaned function
// name, the logger name and the identity fields of the Config.

#define BOOST_TEST_MODULE json_output
#include "common.hpp"

#include <fmt/format.h>

#include <array>
#include <climits>
#include <cstdint>
#include <limits>
#include <source_location>
#include <string_view>
#include <utility>

using agora::log::Level;
using agora_test::Entry;

namespace {

/// What the test expects to find for one log call, in call order.
struct Expect {
    Level level;
    int line;
    std::string message;
    std::string function;
    std::string logger;
};

std::string_view level_name(Level l) { return agora::log::to_string(l); }

const std::string kThisFile = std::filesystem::path(__FILE__).filename().string();

void check_entries(const std::vector<Entry>& got, const std::vector<Expect>& want) {
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        BOOST_TEST_CONTEXT("entry " << i << " (logged at line " << want[i].line << ")") {
            BOOST_TEST(got[i].level == level_name(want[i].level));
            BOOST_TEST(got[i].message == want[i].message);
            BOOST_TEST(got[i].line == want[i].line);
            BOOST_TEST(got[i].file == kThisFile);
            BOOST_TEST(got[i].function == want[i].function);
            BOOST_TEST(got[i].logger_name == want[i].logger);
        }
    }
}

}  // namespace

namespace mixed_ns {

enum class Side : std::uint8_t { buy = 1, sell = 2 };
enum Plain { plain_seven = 7 };
enum class Wide : std::int64_t { big = -5'000'000'000 };

class Fixture {
public:
    explicit Fixture(agora::log::Logger logger) : logger_(logger) {}

    void method(std::vector<Expect>& out) {
        const int line = __LINE__; logger_.info("from method {}", 1);
        out.push_back({Level::info, line, "from method 1", "mixed_ns::Fixture::method", logger_.name()});
    }
    void const_method(std::vector<Expect>& out) const {
        const int line = __LINE__; logger_.error("from const method {}", "x");
        out.push_back({Level::error, line, "from const method x", "mixed_ns::Fixture::const_method", logger_.name()});
    }
    template <class T>
    void templated(T value, std::vector<Expect>& out) {
        const int line = __LINE__; logger_.warning("templated {}", value);
        out.push_back({Level::warning, line, fmt::format("templated {}", value), "mixed_ns::Fixture::templated",
                       logger_.name()});
    }
    static void static_method(agora::log::Logger logger, std::vector<Expect>& out) {
        const int line = __LINE__; logger.critical("static {}", 2.5);
        out.push_back({Level::critical, line, "static 2.5", "mixed_ns::Fixture::static_method", logger.name()});
    }
    bool operator()(std::vector<Expect>& out) {
        const int line = __LINE__; logger_.debug("call operator");
        out.push_back({Level::debug, line, "call operator", "mixed_ns::Fixture::operator()", logger_.name()});
        return true;
    }

private:
    agora::log::Logger logger_;
};

void free_function(agora::log::Logger logger, std::vector<Expect>& out) {
    const int line = __LINE__; logger.info("free {}", -1);
    out.push_back({Level::info, line, "free -1", "mixed_ns::free_function", logger.name()});
}

}  // namespace mixed_ns

BOOST_AUTO_TEST_CASE(mixed_run_every_line_is_valid) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("mixed.log"));
    config.max_message_length = 1u << 20;  // a 100 KiB argument below is written whole
    config.level = Level::debug;
    config.environment = "staging";
    config.version = "2.7.1-rc.1+build.5";
    config.host = "pod-\"7\"";
    BOOST_REQUIRE(agora::log::initialize(config));

    auto log = agora::log::get_logger("mixed.main");
    auto other = agora::log::get_logger("mixed.\"quoted\\name\"");
    const std::string fn = "mixed_run_every_line_is_valid::test_method";
    std::vector<Expect> want;
#define EXPECT_CALL(level, message) want.push_back({level, line, message, fn, log.name()})

    // Every level.
    { const int line = __LINE__; log.debug("debug {}", 1); EXPECT_CALL(Level::debug, "debug 1"); }
    { const int line = __LINE__; log.info("info {}", 2); EXPECT_CALL(Level::info, "info 2"); }
    { const int line = __LINE__; log.warning("warning {}", 3); EXPECT_CALL(Level::warning, "warning 3"); }
    { const int line = __LINE__; log.error("error {}", 4); EXPECT_CALL(Level::error, "error 4"); }
    { const int line = __LINE__; log.critical("critical {}", 5); EXPECT_CALL(Level::critical, "critical 5"); }
    { const int line = __LINE__; log.info("no arguments, {{braces}} escaped"); EXPECT_CALL(Level::info, "no arguments, {braces} escaped"); }

    // Integers of every width, signed and unsigned, at their limits.
    {
        const int line = __LINE__; log.info("i8={} u8={} i16={} u16={} i32={} u32={} i64={} u64={}", std::numeric_limits<std::int8_t>::min(), std::numeric_limits<std::uint8_t>::max(), std::numeric_limits<std::int16_t>::min(), std::numeric_limits<std::uint16_t>::max(), std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::uint64_t>::max());
        EXPECT_CALL(Level::info, "i8=-128 u8=255 i16=-32768 u16=65535 i32=-2147483648 u32=4294967295 "
                                 "i64=-9223372036854775808 u64=18446744073709551615");
    }
    {
        const int line = __LINE__; log.info("short={} ushort={} long={} ulong={} llong={} ullong={} schar={} uchar={}", short{-7}, static_cast<unsigned short>(7), -70L, 70UL, -700LL, 700ULL, static_cast<signed char>(-3), static_cast<unsigned char>(250));
        EXPECT_CALL(Level::info, "short=-7 ushort=7 long=-70 ulong=70 llong=-700 ullong=700 schar=-3 uchar=250");
    }
    {
        const int line = __LINE__; log.info("hex={:#x} padded={:08d} signed={:+d}", 255u, 42, 3);
        EXPECT_CALL(Level::info, "hex=0xff padded=00000042 signed=+3");
    }
    // Floating point, bool, char.
    {
        const double third = 1.0 / 3.0;
        const int line = __LINE__; log.info("double={} float={} fixed={:.3f} sci={:e} neg={}", 3.25, 1.5f, third, 12345.678, -0.1);
        EXPECT_CALL(Level::info, fmt::format("double={} float={} fixed={:.3f} sci={:e} neg={}", 3.25, 1.5f, third,
                                             12345.678, -0.1));
    }
    {
        const int line = __LINE__; log.info("float_shortest={} double_max={}", 0.1f, std::numeric_limits<double>::max());
        EXPECT_CALL(Level::info, fmt::format("float_shortest={} double_max={}", 0.1f, std::numeric_limits<double>::max()));
    }
    {
        const int line = __LINE__; log.info("bools {} {} char {} quote-char {}", true, false, 'x', '"');
        EXPECT_CALL(Level::info, "bools true false char x quote-char \"");
    }
    // Enums log their underlying value.
    {
        const int line = __LINE__; log.info("side={} plain={} wide={}", mixed_ns::Side::sell, mixed_ns::plain_seven, mixed_ns::Wide::big);
        EXPECT_CALL(Level::info, "side=2 plain=7 wide=-5000000000");
    }
    // Strings: const char*, literal, std::string, std::string_view (not terminated), null.
    {
        const char* cstr = "c-string";
        const std::string str = "std-string";
        const std::string backing = "view-and-more";
        const std::string_view view(backing.data(), 4);
        const char* null_cstr = nullptr;
        char buffer[16] = "buffer";
        const int line = __LINE__; log.info("{} {} {} {} {} {} [{:>8}]", cstr, "literal", str, view, null_cstr, buffer, "pad");
        EXPECT_CALL(Level::info, "c-string literal std-string view (null) buffer [     pad]");
    }
    // Pointers.
    {
        int local = 0;
        const void* vp = &local;
        const int* ip = &local;
        const void* null_ptr = nullptr;
        const int line = __LINE__; log.info("ptr={} iptr={} null={} nullptr={}", vp, ip, null_ptr, nullptr);
        EXPECT_CALL(Level::info, fmt::format("ptr={} iptr={} null={} nullptr={}", vp, static_cast<const void*>(ip),
                                             null_ptr, static_cast<const void*>(nullptr)));
    }
    // Hostile strings: quotes, backslashes, control characters.
    const std::string hostile = "q\"uo\"te back\\slash ctl\x01 nl\n cr\r tab\t bell\a esc\x1b end";
    {
        const int line = __LINE__; log.warning("hostile: {}", hostile);
        EXPECT_CALL(Level::warning, "hostile: " + hostile);
    }
    {
        const int line = __LINE__; log.error("template with \"quotes\" \\ and \t tab: {}", 1);
        EXPECT_CALL(Level::error, "template with \"quotes\" \\ and \t tab: 1");
    }
    {
        const std::string with_nul("a\0b", 3);
        const int line = __LINE__; log.info("nul={}", with_nul);
        EXPECT_CALL(Level::info, std::string("nul=a\0b", 7));
    }
    // Invalid UTF-8 becomes U+FFFD; valid multi-byte UTF-8 is kept.
    {
        const int line = __LINE__; log.info("invalid {} and {} end", "\xff", "\xc3\x28");
        EXPECT_CALL(Level::info, "invalid \xef\xbf\xbd and \xef\xbf\xbd( end");
    }
    {
        const std::string utf8 = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
        const int line = __LINE__; log.info("utf8 {}", utf8);
        EXPECT_CALL(Level::info, "utf8 " + utf8);
    }
    // A 100 KB string.
    std::string big(100 * 1024, 'x');
    for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('a' + (i / 1000) % 26);
    big[500] = '"';
    big[501] = '\\';
    big[502] = '\n';
    {
        const int line = __LINE__; log.info("big={}", big);
        EXPECT_CALL(Level::info, "big=" + big);
    }
    // Another logger, with a hostile name.
    {
        const int line = __LINE__; other.info("other logger {}", 9);
        want.push_back({Level::info, line, "other logger 9", fn, other.name()});
    }
    // Member functions, templates, static and free functions, operator().
    mixed_ns::Fixture fixture(log);
    fixture.method(want);
    fixture.const_method(want);
    fixture.templated(42, want);
    fixture.templated(std::string("s"), want);
    mixed_ns::Fixture::static_method(log, want);
    BOOST_TEST(fixture(want));
    mixed_ns::free_function(log, want);
#undef EXPECT_CALL

    agora::log::shutdown();

    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), "invalid lines:" << agora_test::join_errors(parsed.errors));
    std::vector<Entry> mine;
    for (const auto& e : parsed.entries)
        if (e.logger_name == log.name() || e.logger_name == other.name()) mine.push_back(e);
    // Nothing but our records (no warnings about drops or damaged records).
    BOOST_TEST(mine.size() == parsed.entries.size());
    check_entries(mine, want);
    for (const auto& e : parsed.entries) {
        BOOST_TEST(e.service == config.service_name);
        BOOST_TEST(e.environment == config.environment);
        BOOST_TEST(e.version == config.version);
        BOOST_TEST(e.host == config.host);
    }
}

BOOST_AUTO_TEST_CASE(timestamps_are_current_and_ordered) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("ts.log"));
    const auto before = std::chrono::system_clock::now();
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ts");
    for (int i = 0; i < 1000; ++i) log.info("n={}", i);
    agora::log::shutdown();
    const auto after = std::chrono::system_clock::now();

    auto to_string = [](std::chrono::system_clock::time_point t) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
        std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ns % 1'000'000'000) / 1000);
    };
    // The TSC-to-wall-clock conversion may be off by calibration error; a
    // second of slack on either side still catches a wrong epoch or unit.
    const std::string lo = to_string(before - std::chrono::seconds(1));
    const std::string hi = to_string(after + std::chrono::seconds(1));

    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    BOOST_TEST_REQUIRE(parsed.entries.size() == 1000u);
    for (std::size_t i = 0; i < parsed.entries.size(); ++i) {
        const auto& e = parsed.entries[i];
        BOOST_TEST(e.message == "n=" + std::to_string(i));
        BOOST_TEST(e.timestamp >= lo);
        BOOST_TEST(e.timestamp <= hi);
        if (i > 0) BOOST_TEST(e.timestamp >= parsed.entries[i - 1].timestamp);
    }
}

BOOST_AUTO_TEST_CASE(levels_filter_records) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("levels.log"));
    config.level = Level::warning;
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("levels.a");
    BOOST_TEST(!log.enabled(Level::info));
    BOOST_TEST(log.enabled(Level::warning));
    log.debug("dropped debug");
    log.info("dropped info");
    log.warning("kept warning");
    log.set_level(Level::debug);
    BOOST_TEST(log.level() == Level::debug);
    log.debug("kept debug");
    // Copies share the level.
    auto copy = agora::log::get_logger("levels.a");
    BOOST_TEST(copy.level() == Level::debug);
    copy.set_level(Level::error);
    log.warning("dropped warning");
    log.error("kept error");
    // A default-constructed logger discards everything.
    agora::log::Logger null_logger;
    BOOST_TEST(!null_logger.enabled(Level::critical));
    null_logger.critical("never written");
    agora::log::shutdown();

    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    std::vector<std::string> messages;
    for (const auto& e : parsed.entries) messages.push_back(e.message);
    const std::vector<std::string> expected = {"kept warning", "kept debug", "kept error"};
    BOOST_TEST(messages == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(extra_handler_sees_the_same_record_as_the_file) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("views.log"));
    auto capture = std::make_shared<agora_test::CaptureHandler>();
    BOOST_REQUIRE(agora::log::initialize(config, {capture}));
    auto log = agora::log::get_logger("views");
    const int line = __LINE__; log.warning("value {} and {}", 17, "text");
    agora::log::flush();
    auto records = capture->records();
    agora::log::shutdown();

    BOOST_TEST_REQUIRE(records.size() == 1u);
    const auto& r = records[0];
    BOOST_TEST(r.level == Level::warning);
    BOOST_TEST(r.message == "value 17 and text");
    BOOST_TEST(r.logger_name == "views");
    BOOST_TEST(r.file == kThisFile);
    BOOST_TEST(r.line == static_cast<std::uint32_t>(line));
    BOOST_TEST(r.function == "extra_handler_sees_the_same_record_as_the_file::test_method");
    BOOST_TEST(agora_test::is_timestamp(r.timestamp));
    auto lines = agora_test::read_lines(config.file_path);
    BOOST_TEST_REQUIRE(lines.lines.size() == 1u);
    BOOST_TEST(lines.lines[0] == r.json);
    BOOST_TEST(capture->closes() >= 1u);
}

BOOST_AUTO_TEST_CASE(text_console_format) {
    agora_test::TempDir dir;
    const std::string path = dir.file("console.txt");
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BOOST_REQUIRE(fd >= 0);
    {
        agora::log::ConsoleHandler text(agora::log::ConsoleFormat::text, true, fd);
        agora::log::LogRecordView r{};
        r.level = Level::warning;
        r.timestamp = "2026-11-25T08:54:39.123456Z";
        r.message = "two\nlines\r";
        r.logger_name = "feed.handler";
        r.file = "feed.cpp";
        r.line = 42;
        r.function = "FeedHandler::on_quote";
        r.json = "{}";
        text.emit(r);
        text.flush();
        agora::log::ConsoleHandler json(agora::log::ConsoleFormat::json, false, fd);
        json.emit(r);
        json.close();
        text.close();
    }
    ::close(fd);
    auto lines = agora_test::read_lines(path);
    BOOST_TEST_REQUIRE(lines.lines.size() == 2u);
    // Not a terminal: no colour codes even though colours were asked for.
    BOOST_TEST(lines.lines[0] ==
               "2026-11-25T08:54:39.123456Z WARNING  feed.handler  two\\nlines\\r  [feed.cpp:42 FeedHandler::on_quote]");
    BOOST_TEST(lines.lines[1] == "{}");
}

// ---- the calling thread's site cache ---------------------------------------------

namespace {

/// "site N of the cache test {}": one format string per N, each in its own
/// static storage, so each N is a call site of its own (SiteKey::format).
template <std::size_t N>
struct SiteText {
    static constexpr auto text = [] {
        std::array<char, 40> out{};
        constexpr std::string_view head = "site ", tail = " of the cache test {}";
        std::size_t n = 0;
        for (char c : head) out[n++] = c;
        char digits[8];
        std::size_t d = 0;
        std::size_t v = N;
        do {
            digits[d++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (d > 0) out[n++] = digits[--d];
        for (char c : tail) out[n++] = c;
        return out;
    }();
};

/// One source location for every site below: they all fall on one front slot
/// of the cache (SiteCache::front_slot hashes the location only).
constexpr std::source_location kOneLocation = std::source_location::current();

template <std::size_t... N>
void log_every_site(const agora::log::Logger& log, int pass, std::index_sequence<N...>) {
    (log.info(agora::log::FormatString<int>(std::string_view(SiteText<N>::text.data()), kOneLocation), pass), ...);
}

}  // namespace

// 300 sites on one front slot: more than half the cache's first table (so it
// grows), each found again behind the front on the second pass, each record
// with its own site's message.
BOOST_AUTO_TEST_CASE(many_sites_sharing_a_front_slot_keep_their_own_messages) {
    constexpr std::size_t kSites = 300;
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto capture = std::make_shared<agora_test::CaptureHandler>();
    BOOST_TEST_REQUIRE(agora::log::initialize(agora_test::quiet_config(dir.file("sites.log")), {capture}).has_value());
    auto log = agora::log::get_logger("site.cache");
    for (int pass = 0; pass < 2; ++pass) log_every_site(log, pass, std::make_index_sequence<kSites>{});
    agora::log::flush();
    const auto records = capture->records();
    BOOST_TEST_REQUIRE(records.size() == 2 * kSites);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const std::string expected =
            "site " + std::to_string(i % kSites) + " of the cache test " + std::to_string(i / kSites);
        if (records[i].message != expected) {
            if (wrong++ == 0) BOOST_TEST(records[i].message == expected, "record " << i);
        }
    }
    BOOST_TEST(wrong == 0u);
}
