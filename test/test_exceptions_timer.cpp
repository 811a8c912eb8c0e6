// Exceptions in entries (type, what(), stack, nested chain), Timer entries
// (duration, context, cancel, failure during unwinding, moves) and the
// max_message_length cut (calling-thread cut of huge strings, UTF-8
// boundaries, the marker in JSON and text output, context values).
// Every line read back is checked against the schema (read_entries), which
// also parses it as strict UTF-8.

#define BOOST_TEST_MODULE exceptions_timer
#include "common.hpp"

#include <fmt/format.h>

#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using agora::log::Context;
using agora::log::Logger;
using agora::log::Timer;
using agora_test::Entry;

namespace {

constexpr std::string_view kMarker = "...[truncated]";

/// An entry parsed again, for the members read_entries does not extract.
struct Json {
    rapidjson::Document doc;
    explicit Json(const Entry& e) { doc.Parse(e.raw.c_str(), e.raw.size()); }

    const rapidjson::Value* find(std::initializer_list<const char*> path) const {
        const rapidjson::Value* v = &doc;
        for (const char* key : path) {
            if (!v->IsObject()) return nullptr;
            auto it = v->FindMember(key);
            if (it == v->MemberEnd()) return nullptr;
            v = &it->value;
        }
        return v;
    }
    bool has(std::initializer_list<const char*> path) const { return find(path) != nullptr; }
    std::string str(std::initializer_list<const char*> path) const {
        const rapidjson::Value* v = find(path);
        return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string("<missing>");
    }
    std::optional<double> number(std::initializer_list<const char*> path) const {
        const rapidjson::Value* v = find(path);
        if (v == nullptr || !v->IsNumber()) return std::nullopt;
        return v->GetDouble();
    }
};

/// The entries of `logger`, after checking every line of the file.
std::vector<Entry> logged(const std::string& path, std::string_view logger) {
    auto all = agora_test::read_entries(path);
    BOOST_TEST(all.errors.empty(), agora_test::join_errors(all.errors));
    return agora_test::with_logger(all.entries, logger);
}

const Entry* find_message(const std::vector<Entry>& entries, std::string_view message) {
    for (const auto& e : entries)
        if (e.message == message) return &e;
    return nullptr;
}

std::size_t count_message(const std::vector<Entry>& entries, std::string_view message) {
    std::size_t n = 0;
    for (const auto& e : entries) n += e.message == message;
    return n;
}

/// `s` is `prefix` followed by the marker (compared without printing long strings).
bool is_cut(std::string_view s, std::string_view prefix) {
    return s.size() == prefix.size() + kMarker.size() && s.substr(0, prefix.size()) == prefix &&
           s.substr(prefix.size()) == kMarker;
}

/// Busy work until the steady clock has advanced by `d` (measured here, by the test).
void spin_for(std::chrono::nanoseconds d) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < d) {
    }
}

}  // namespace

// ---- exceptions ------------------------------------------------------------

namespace trading::errors {

class OrderRejected : public std::runtime_error {
public:
    explicit OrderRejected(const std::string& why) : std::runtime_error(why) {}
};
class BookUnavailable : public std::logic_error {
public:
    explicit BookUnavailable(const std::string& why) : std::logic_error(why) {}
};
class Inner : public std::exception {
public:
    const char* what() const noexcept override { return "inner cause"; }
};
template <class T>
class Wrapped : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace trading::errors

namespace {

// Not inlined, with a name to look for in the stack trace: the stack is the
// logging call's (captured by error()/critical()).
[[gnu::noinline]] void agora_test_log_a_rejection(const Logger& log) {
    try {
        throw trading::errors::OrderRejected("price outside the band");
    } catch (const std::exception& e) {
        log.error("Order failed", e);
    }
}

[[gnu::noinline]] void agora_test_throw_nested_twice() {
    try {
        try {
            throw trading::errors::Inner();
        } catch (...) {
            std::throw_with_nested(trading::errors::BookUnavailable("book closed"));
        }
    } catch (...) {
        std::throw_with_nested(trading::errors::OrderRejected("could not route"));
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(exception_type_message_and_stack) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("exception.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("exc.basic");

    agora_test_log_a_rejection(log);
    try {
        throw trading::errors::BookUnavailable("no book for XYZ");
    } catch (const std::exception& e) {
        log.critical("Routing failed", e, {{"symbol", "XYZ"}, {"attempt", 3}});
    }
    try {
        throw trading::errors::Wrapped<int>("templated type");
    } catch (const std::exception& e) {
        log.error("Templated", e);
    }
    agora::log::flush();

    auto entries = logged(path, "exc.basic");
    BOOST_TEST_REQUIRE(entries.size() == 3u);

    const Json first(entries[0]);
    BOOST_TEST(entries[0].level == "ERROR");
    BOOST_TEST(entries[0].message == "Order failed");
    BOOST_TEST(first.str({"exception", "type"}) == "trading::errors::OrderRejected");
    BOOST_TEST(first.str({"exception", "message"}) == "price outside the band");
    BOOST_TEST(!first.has({"exception", "nested"}));
    BOOST_TEST(!first.has({"context"}));
    BOOST_TEST(first.has({"exception", "stacktrace"}));
    const std::string trace = first.str({"exception", "stacktrace"});
#if AGORA_LOG_HAVE_STACKTRACE
    // "#0 <frame>\n#1 <frame>..." from the logging call outwards. The release
    // build has no debug information, so frames carry no file:line; function
    // names come from the symbol table and the logging function is named
    // within the first few frames (frame #0 may be the library's own inlined
    // log_exception, as the stack is captured inside error()).
    BOOST_TEST(trace.starts_with("#0 "));
    std::vector<std::string> frames;
    for (std::size_t start = 0; start <= trace.size();) {
        const std::size_t nl = std::min(trace.find('\n', start), trace.size());
        frames.push_back(trace.substr(start, nl - start));
        start = nl + 1;
    }
    BOOST_TEST_REQUIRE(frames.size() >= 3u);
    for (std::size_t i = 0; i < frames.size(); ++i)
        BOOST_TEST(frames[i].starts_with("#" + std::to_string(i) + " "), "frame " << i << ": " << frames[i]);
    bool named = false;
    for (std::size_t i = 0; i < std::min<std::size_t>(frames.size(), 4); ++i)
        named = named || frames[i].find("agora_test_log_a_rejection") != std::string::npos;
    BOOST_TEST(named, "the first frames do not name the logging function:\n" << trace.substr(0, 2000));
#else
    // Built without Boost.Stacktrace (meson option stacktrace): the field is
    // there, empty.
    BOOST_TEST(trace.empty(), trace);
#endif

    const Json second(entries[1]);
    BOOST_TEST(entries[1].level == "CRITICAL");
    BOOST_TEST(second.str({"exception", "type"}) == "trading::errors::BookUnavailable");
    BOOST_TEST(second.str({"exception", "message"}) == "no book for XYZ");
    BOOST_TEST(second.str({"context", "symbol"}) == "XYZ");
    BOOST_TEST(second.number({"context", "attempt"}).value_or(-1) == 3);
    BOOST_TEST(second.str({"exception", "stacktrace"}).empty() == !AGORA_LOG_HAVE_STACKTRACE);
    // The exception is its own member, after the context.
    BOOST_TEST(entries[1].raw.find("\"context\":") < entries[1].raw.find("\"exception\":"));

    const Json third(entries[2]);
    BOOST_TEST(third.str({"exception", "type"}) == "trading::errors::Wrapped<int>");
}

BOOST_AUTO_TEST_CASE(nested_exceptions_are_listed_outermost_first) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("nested.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("exc.nested");

    try {
        agora_test_throw_nested_twice();
    } catch (const std::exception& e) {
        log.error("Two levels", e, {{"order_id", 42}});
    }
    try {
        try {
            throw 42;
        } catch (...) {
            std::throw_with_nested(trading::errors::OrderRejected("wraps an int"));
        }
    } catch (const std::exception& e) {
        log.critical("Over a non-exception", e);
    }
    agora::log::flush();

    auto entries = logged(path, "exc.nested");
    BOOST_TEST_REQUIRE(entries.size() == 2u);

    const Json two(entries[0]);
    // The thrown type is std::_Nested_exception<OrderRejected>: named as the wrapped type.
    BOOST_TEST(two.str({"exception", "type"}) == "trading::errors::OrderRejected");
    BOOST_TEST(two.str({"exception", "message"}) == "could not route");
    BOOST_TEST(two.number({"context", "order_id"}).value_or(-1) == 42);
    const rapidjson::Value* nested = two.find({"exception", "nested"});
    BOOST_TEST_REQUIRE(nested != nullptr);
    BOOST_TEST_REQUIRE(nested->IsArray());
    BOOST_TEST_REQUIRE(nested->Size() == 2u);
    BOOST_TEST(std::string((*nested)[0]["type"].GetString()) == "trading::errors::BookUnavailable");
    BOOST_TEST(std::string((*nested)[0]["message"].GetString()) == "book closed");
    BOOST_TEST(std::string((*nested)[1]["type"].GetString()) == "trading::errors::Inner");
    BOOST_TEST(std::string((*nested)[1]["message"].GetString()) == "inner cause");
    BOOST_TEST(entries[0].raw.find("_Nested_exception") == std::string::npos);

    const Json over_int(entries[1]);
    BOOST_TEST(entries[1].level == "CRITICAL");
    BOOST_TEST(over_int.str({"exception", "type"}) == "trading::errors::OrderRejected");
    BOOST_TEST(over_int.str({"exception", "message"}) == "wraps an int");
    nested = over_int.find({"exception", "nested"});
    BOOST_TEST_REQUIRE(nested != nullptr);
    BOOST_TEST_REQUIRE(nested->IsArray());
    BOOST_TEST_REQUIRE(nested->Size() == 1u);
    BOOST_TEST(std::string((*nested)[0]["type"].GetString()) == "unknown (not a std::exception)");
    BOOST_TEST(std::string((*nested)[0]["message"].GetString()) == "");
}

BOOST_AUTO_TEST_CASE(long_exception_messages_are_cut) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("long_what.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));  // max_message_length 10000
    const Logger log = agora::log::get_logger("exc.long");

    const std::string what(50'000, 'w');
    const std::string inner_what(20'000, 'i');
    try {
        try {
            throw std::runtime_error(inner_what);
        } catch (...) {
            std::throw_with_nested(std::runtime_error(what));
        }
    } catch (const std::exception& e) {
        log.error("Long what", e);
    }
    try {
        throw std::runtime_error(std::string(10'000, 'x'));  // exactly the limit: kept whole
    } catch (const std::exception& e) {
        log.error("Exact what", e);
    }
    agora::log::flush();

    auto entries = logged(path, "exc.long");
    BOOST_TEST_REQUIRE(entries.size() == 2u);
    const Json j(entries[0]);
    const std::string message = j.str({"exception", "message"});
    BOOST_TEST(message.size() == 10'000 + kMarker.size());
    BOOST_TEST(is_cut(message, std::string_view(what).substr(0, 10'000)));
    const rapidjson::Value* nested = j.find({"exception", "nested"});
    BOOST_TEST_REQUIRE((nested != nullptr && nested->IsArray() && nested->Size() == 1u));
    const std::string inner((*nested)[0]["message"].GetString());
    BOOST_TEST(is_cut(inner, std::string_view(inner_what).substr(0, 10'000)));

    const std::string exact = Json(entries[1]).str({"exception", "message"});
    BOOST_TEST(exact.size() == 10'000u);
    BOOST_TEST((exact == std::string(10'000, 'x')));
}

// ---- Timer -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(timer_writes_its_duration_and_context) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("timer.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("timer.basic");

    {
        auto t = log.timer("Database query", {{"table", "orders"}, {"rows", 12}});
        // Real work of at least 2 ms by the steady clock. The assertion below
        // is a lower bound on the measured duration of that work, not a
        // statement about how fast the logger is.
        spin_for(std::chrono::milliseconds(2));
    }
    { auto t = log.timer("Empty"); }
    {
        // The timer keeps its logger's bound context after that logger is gone.
        std::optional<Logger> child = log.with_context({{"desk", "fx"}, {"table", "bound"}});
        auto t = child->timer("Bound", {{"table", "orders"}});
        child.reset();
    }
    { auto t = log.timer("Braces {} {name} are text"); }
    {
        auto t = log.timer("Cancelled");
        t.cancel();
    }
    log.info("end");
    agora::log::flush();

    auto entries = logged(path, "timer.basic");
    BOOST_TEST_REQUIRE(entries.size() == 5u);

    const Json query(entries[0]);
    BOOST_TEST(entries[0].level == "INFO");
    BOOST_TEST(entries[0].message == "Database query");
    const auto ms = query.number({"duration_ms"});
    BOOST_TEST_REQUIRE(ms.has_value());
    BOOST_TEST(*ms >= 1.5);
    BOOST_TEST(query.str({"context", "table"}) == "orders");
    BOOST_TEST(query.number({"context", "rows"}).value_or(-1) == 12);
    // duration_ms is top-level, with 3 decimals.
    BOOST_TEST(!query.has({"context", "duration_ms"}));
    BOOST_TEST(std::regex_search(entries[0].raw, std::regex(R"("duration_ms":\d+\.\d{3}[,}])")));

    const Json empty(entries[1]);
    BOOST_TEST(entries[1].message == "Empty");
    BOOST_TEST(empty.number({"duration_ms"}).value_or(-1) >= 0);
    BOOST_TEST(!empty.has({"context"}));

    const Json bound(entries[2]);
    BOOST_TEST(entries[2].message == "Bound");
    BOOST_TEST(bound.str({"context", "desk"}) == "fx");
    BOOST_TEST(bound.str({"context", "table"}) == "orders");  // the timer's own field wins
    BOOST_TEST(bound.has({"duration_ms"}));

    BOOST_TEST(entries[3].message == "Braces {} {name} are text");
    BOOST_TEST(entries[4].message == "end");  // nothing for the cancelled timer
    BOOST_TEST(count_message(entries, "Cancelled") == 0u);
}

namespace {
/// Runs a timer entirely inside its destructor: during unwinding, but the
/// timer itself is not left by it.
struct TimesInItsDestructor {
    const Logger* log;
    ~TimesInItsDestructor() {
        auto t = log->timer("Cleanup during unwinding");
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(timer_left_by_an_exception_writes_an_error) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("timer_failed.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("timer.failed");

    bool caught = false;
    try {
        auto t = log.timer("Risky step", {{"step", 1}});
        spin_for(std::chrono::milliseconds(2));  // real work, see timer_writes_its_duration_and_context
        throw std::runtime_error("step failed");
    } catch (const std::exception&) {
        caught = true;
        // A timer inside the handler: no exception is in flight any more.
        auto t = log.timer("In the handler");
    }
    BOOST_TEST(caught);
    try {
        TimesInItsDestructor cleanup{&log};
        throw std::runtime_error("unwinds cleanup");
    } catch (const std::exception&) {
    }
    agora::log::flush();

    auto entries = logged(path, "timer.failed");
    BOOST_TEST_REQUIRE(entries.size() == 3u);
    const Json failed(entries[0]);
    BOOST_TEST(entries[0].level == "ERROR");
    BOOST_TEST(entries[0].message == "Risky step failed");
    BOOST_TEST(failed.number({"duration_ms"}).value_or(-1) >= 1.5);
    BOOST_TEST(failed.number({"context", "step"}).value_or(-1) == 1);
    BOOST_TEST(entries[1].level == "INFO");
    BOOST_TEST(entries[1].message == "In the handler");
    BOOST_TEST(entries[2].level == "INFO");
    BOOST_TEST(entries[2].message == "Cleanup during unwinding");
}

BOOST_AUTO_TEST_CASE(moved_timers_write_once_at_the_end_of_their_new_owner) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("timer_moves.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("timer.moves");

    // Move construction into an outer owner.
    std::optional<Timer> holder;
    {
        auto t = log.timer("Moved op", {{"how", "constructed"}});
        holder.emplace(std::move(t));
        log.info("inner scope of the move ends");
    }
    log.info("before the new owner ends");
    holder.reset();

    // Move assignment over a cancelled timer: the cancelled one writes nothing.
    {
        auto target = log.timer("Placeholder");
        target.cancel();
        {
            auto t = log.timer("Assigned op", {{"how", "assigned"}});
            target = std::move(t);
            log.info("inner scope of the assignment ends");
        }
        log.info("before the assigned owner ends");
    }

    // Move assignment over an active timer: that one is finished first.
    {
        auto first = log.timer("First op");
        auto second = log.timer("Second op");
        log.info("before the assignment");
        first = std::move(second);
        log.info("after the assignment");
    }
    log.info("end");
    agora::log::flush();

    const std::vector<std::string> want{
        "inner scope of the move ends",
        "before the new owner ends",
        "Moved op",
        "inner scope of the assignment ends",
        "before the assigned owner ends",
        "Assigned op",
        "before the assignment",
        "First op",
        "after the assignment",
        "Second op",
        "end",
    };
    auto entries = logged(path, "timer.moves");
    std::vector<std::string> got;
    for (const auto& e : entries) got.push_back(e.message);
    BOOST_TEST(got == want, boost::test_tools::per_element());
    if (const Entry* moved = find_message(entries, "Moved op")) {
        BOOST_TEST(Json(*moved).str({"context", "how"}) == "constructed");
        BOOST_TEST(Json(*moved).has({"duration_ms"}));
    }
    if (const Entry* assigned = find_message(entries, "Assigned op"))
        BOOST_TEST(Json(*assigned).str({"context", "how"}) == "assigned");
}

// ---- truncation ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(huge_string_arguments_are_cut_and_never_block) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("huge.log");
    auto config = agora_test::quiet_config(path);
    config.queue_full_policy = agora::log::QueueFullPolicy::block;
    config.queue_capacity_bytes = 65536;
    config.queue_max_capacity_bytes = 65536;
    BOOST_REQUIRE(agora::log::initialize(config));
    BOOST_REQUIRE(config.max_message_length == 10'000u);  // the default
    const Logger log = agora::log::get_logger("trunc.huge");

    std::string one_mb(1u << 20, 'm');
    std::string ten_mb(10u << 20, 't');
    for (std::size_t i = 0; i < ten_mb.size(); i += 4096) ten_mb[i] = 'T';  // the cut must keep the start
    constexpr int kRounds = 20;  // ~400 KB of records through a 64 KiB ring
    // A new thread: its ring is created now, with the small capacity.
    std::thread([&] {
        for (int i = 0; i < kRounds; ++i) {
            log.info("{}", one_mb);
            log.info("{}", std::string_view(ten_mb));
            log.info("ten {}", ten_mb.c_str());
        }
    }).join();
    agora::log::flush();

    auto entries = logged(path, "trunc.huge");
    BOOST_TEST(entries.size() == 3u * kRounds);
    std::size_t bad = 0;
    std::string first_bad;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::string& m = entries[i].message;
        std::string expect_prefix;
        switch (i % 3) {
            case 0: expect_prefix = one_mb.substr(0, 10'000); break;
            case 1: expect_prefix = ten_mb.substr(0, 10'000); break;
            default: expect_prefix = "ten " + ten_mb.substr(0, 10'000 - 4); break;
        }
        if (!is_cut(m, expect_prefix)) {
            if (bad++ == 0)
                first_bad = fmt::format("entry {}: size {}, starts '{}', ends '{}'", i, m.size(), m.substr(0, 20),
                                        m.substr(m.size() > 20 ? m.size() - 20 : 0));
        }
        // The line holds the cut message and little else.
        if (entries[i].raw.size() > 10'000 + 1000) ++bad;
    }
    BOOST_TEST(bad == 0u, first_bad);
    BOOST_TEST(agora::log::stats().records_dropped == 0u);
}

BOOST_AUTO_TEST_CASE(cut_keeps_utf8_characters_whole) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("utf8.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("trunc.utf8");
    constexpr std::size_t kLimit = 10'000;

    // For characters of 2, 3 and 4 bytes, every position of the limit inside
    // a character (and on its boundaries): 'a' * (kLimit - k) followed by
    // characters; the message keeps the characters that fit whole.
    struct Case {
        std::string input, expect_prefix;
    };
    std::vector<Case> cases;
    for (std::string ch : {std::string("\xc3\xa9"), std::string("\xe2\x82\xac"), std::string("\xf0\x9f\x98\x80")}) {
        for (std::size_t k = 0; k < 2 * ch.size(); ++k) {
            std::string input(kLimit - k, 'a');
            for (int i = 0; i < 8; ++i) input += ch;
            const std::size_t whole = k / ch.size();  // characters that fit
            std::string expect(kLimit - k, 'a');
            for (std::size_t i = 0; i < whole; ++i) expect += ch;
            cases.push_back({std::move(input), std::move(expect)});
        }
    }
    for (const auto& c : cases) log.info("{}", c.input);
    // The same cut on a named field's context value and a Context value.
    log.info("{note}", cases[1].input);
    log.info("Context value", {{"note", cases[1].input}});
    agora::log::flush();

    auto entries = logged(path, "trunc.utf8");  // strict UTF-8 on every line
    BOOST_TEST_REQUIRE(entries.size() == cases.size() + 2);
    const std::string replacement = "\xef\xbf\xbd";  // what an invalid sequence would become
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const std::string& m = entries[i].message;
        BOOST_TEST_CONTEXT("case " << i << ": message size " << m.size() << ", expected "
                                   << cases[i].expect_prefix.size() + kMarker.size()) {
            BOOST_TEST(is_cut(m, cases[i].expect_prefix));
            BOOST_TEST(m.find(replacement) == std::string::npos);
        }
    }
    const std::string expect_note = cases[1].expect_prefix;
    BOOST_TEST(is_cut(entries[cases.size()].message, expect_note));
    BOOST_TEST(is_cut(Json(entries[cases.size()]).str({"context", "note"}), expect_note));
    BOOST_TEST(entries[cases.size() + 1].message == "Context value");
    BOOST_TEST(is_cut(Json(entries[cases.size() + 1]).str({"context", "note"}), expect_note));
}

BOOST_AUTO_TEST_CASE(empty_and_null_strings_are_encoded) {
    // The edge of the cut: nothing to copy (an empty view has no data at all).
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("empty.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("trunc.empty");

    log.info("[{}]", std::string_view{});
    log.info("[{}]", std::string());
    log.info("[{}]", static_cast<const char*>(nullptr));
    log.info("[{name}]", std::string_view{});
    agora::log::flush();

    auto entries = logged(path, "trunc.empty");
    BOOST_TEST_REQUIRE(entries.size() == 4u);
    BOOST_TEST(entries[0].message == "[]");
    BOOST_TEST(entries[1].message == "[]");
    BOOST_TEST(entries[2].message == "[(null)]");
    BOOST_TEST(entries[3].message == "[]");
    BOOST_TEST(Json(entries[3]).str({"context", "name"}) == "");
}

namespace {
/// Renders every record as a text console line (format_text, no colours).
class TextCapture : public agora::log::Handler {
public:
    void emit(const agora::log::LogRecordView& r) noexcept override {
        try {
            std::string line;
            agora::log::format_text(r, line, false);
            std::lock_guard lock(mutex_);
            lines_.push_back(std::move(line));
        } catch (...) {
        }
    }
    void flush() noexcept override {}
    void close() noexcept override {}
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};
}  // namespace

BOOST_AUTO_TEST_CASE(configured_limit_applies_to_messages_fields_and_text_output) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("limit100.log");
    auto config = agora_test::quiet_config(path);
    config.max_message_length = 100;
    auto text = std::make_shared<TextCapture>();
    BOOST_REQUIRE(agora::log::initialize(config, {text}));
    const Logger log = agora::log::get_logger("trunc.limit");

    const std::string x100(100, 'x'), x101(101, 'x'), long_arg(5000, 'y');
    log.info("{}", x100);                     // exactly the limit: whole
    log.info("{}", x101);                     // one over: cut
    log.info("head {} tail", long_arg);       // cut inside the argument
    log.info("{:>150}", "padded");            // long only after formatting
    log.info("Order {payload} done", long_arg);  // named: message and context value
    log.info("Context argument", {{"note", long_arg}, {"short", "kept"}});
    log.with_context({{"bound_note", long_arg}}).info("Bound");
    {
        agora::log::ScopedContext scope{{{"scope_note", long_arg}}};
        log.info("Scoped");
    }
    agora::log::flush();

    auto entries = logged(path, "trunc.limit");
    BOOST_TEST_REQUIRE(entries.size() == 8u);
    const std::string y100(100, 'y');
    BOOST_TEST(entries[0].message == x100);
    BOOST_TEST(is_cut(entries[1].message, x100));
    BOOST_TEST(is_cut(entries[2].message, "head " + long_arg.substr(0, 95)));
    BOOST_TEST(is_cut(entries[3].message, std::string(100, ' ')));
    BOOST_TEST(is_cut(entries[4].message, "Order " + long_arg.substr(0, 94)));
    BOOST_TEST(is_cut(Json(entries[4]).str({"context", "payload"}), y100));
    BOOST_TEST(entries[5].message == "Context argument");
    BOOST_TEST(is_cut(Json(entries[5]).str({"context", "note"}), y100));
    BOOST_TEST(Json(entries[5]).str({"context", "short"}) == "kept");
    BOOST_TEST(is_cut(Json(entries[6]).str({"context", "bound_note"}), y100));
    BOOST_TEST(is_cut(Json(entries[7]).str({"context", "scope_note"}), y100));

    // The text output shows the same cut message, and the fields as in JSON.
    std::vector<std::string> lines;
    for (const auto& l : text->lines())
        if (l.find(" trunc.limit  ") != std::string::npos) lines.push_back(l);
    BOOST_TEST_REQUIRE(lines.size() == 8u);
    BOOST_TEST(lines[0].find("  " + x100 + "  [") != std::string::npos);
    BOOST_TEST(lines[1].find("  " + x100 + std::string(kMarker) + "  [") != std::string::npos);
    BOOST_TEST(lines[1].find(x101) == std::string::npos);
    BOOST_TEST(lines[4].find("  Order " + long_arg.substr(0, 94) + std::string(kMarker) + "  {") != std::string::npos);
    BOOST_TEST(lines[4].find("\"payload\":\"" + y100 + std::string(kMarker) + "\"") != std::string::npos);
    for (const auto& l : lines) BOOST_TEST(l.size() < 600u);
}

BOOST_AUTO_TEST_CASE(context_made_under_another_limit_uses_the_running_one) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("other_limit.log");
    const std::string long_value(5000, 'z');
    auto big = agora_test::quiet_config(path);
    big.max_message_length = 1u << 20;
    auto small = agora_test::quiet_config(path);
    small.max_message_length = 100;
    const Logger log = agora::log::get_logger("trunc.other");

    // Made while no logger runs, after a run with a large limit (a logger at
    // namespace scope is made before initialize(), for example).
    BOOST_REQUIRE(agora::log::initialize(big));
    agora::log::shutdown();
    std::optional<Logger> early = log.with_context({{"early_note", long_value}});
    std::optional<agora::log::ScopedContext> early_scope;
    early_scope.emplace(Context{{"early_scope_note", long_value}});
    BOOST_REQUIRE(agora::log::initialize(small));
    early->info("Early, small limit");
    early_scope.reset();
    // Made while the small limit runs, used by the next run with a large one.
    const Logger during = log.with_context({{"during_note", long_value}});
    agora::log::shutdown();
    BOOST_REQUIRE(agora::log::initialize(big));
    during.info("During, large limit");
    early.reset();
    agora::log::flush();

    auto entries = logged(path, "trunc.other");
    BOOST_TEST_REQUIRE(entries.size() == 2u);
    const Json first(entries[0]);
    const std::string z100(100, 'z');
    BOOST_TEST(is_cut(first.str({"context", "early_note"}), z100),
               "size " << first.str({"context", "early_note"}).size());
    BOOST_TEST(is_cut(first.str({"context", "early_scope_note"}), z100),
               "size " << first.str({"context", "early_scope_note"}).size());
    const std::string during_note = Json(entries[1]).str({"context", "during_note"});
    BOOST_TEST(during_note.size() == long_value.size());
    BOOST_TEST((during_note == long_value));
}
