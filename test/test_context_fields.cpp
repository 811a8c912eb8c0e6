// Structured context end to end: named placeholders (message text and typed
// context fields), positional placeholders (no context), the Context argument,
// ScopedContext, with_context and Config::default_context, the top-level ids
// (correlation_id, user_id, trace_id, span_id), precedence between the
// sources key by key, ContextBuilder and the UUID helpers, and the fields in
// the text output. Every entry is written to a file through initialize() and
// get_logger(), validated against the schema and parsed with rapidjson.

#define BOOST_TEST_MODULE context_fields
#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <thread>
#include <unordered_set>

using agora::log::Context;
using agora::log::ContextBuilder;
using agora::log::Level;
using agora::log::Logger;
using agora::log::ScopedContext;

namespace {

const std::string kThisFile = std::filesystem::path(__FILE__).filename().string();

/// The members every entry has, in the order they are written.
const std::vector<std::string> kFixedMembers = {"timestamp", "level",       "message", "service",
                                                "environment", "version",   "host",    "logger_name",
                                                "file",      "line",        "function"};

struct Parsed {
    agora_test::Entry entry;
    rapidjson::Document doc;
};

/// Shuts the logger down (writing everything) and returns the file's entries,
/// each validated against the schema and parsed.
std::vector<Parsed> shutdown_and_read(const std::string& path) {
    agora::log::shutdown();
    auto read = agora_test::read_entries(path);
    BOOST_TEST(read.errors.empty(), agora_test::join_errors(read.errors));
    std::vector<Parsed> out(read.entries.size());
    std::size_t parse_errors = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i].entry = read.entries[i];
        // Full precision: a double must read back exactly as written.
        out[i].doc.Parse<rapidjson::kParseFullPrecisionFlag>(out[i].entry.raw.c_str(), out[i].entry.raw.size());
        parse_errors += out[i].doc.HasParseError();
    }
    BOOST_TEST_REQUIRE(parse_errors == 0u);
    return out;
}

std::string to_json(const rapidjson::Value& v) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return std::string(sb.GetString(), sb.GetSize());
}

/// The JSON text of member `key` of `obj`, or "<absent>".
std::string json_member(const rapidjson::Value& obj, std::string_view key) {
    if (!obj.IsObject()) return "<not an object>";
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it)
        if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) return to_json(it->value);
    return "<absent>";
}

/// The JSON text of a top-level member of the entry.
std::string top(const Parsed& p, std::string_view key) { return json_member(p.doc, key); }

bool has_context(const Parsed& p) { return p.doc.HasMember("context"); }

/// The JSON text of member `key` of the entry's "context" object.
std::string ctx(const Parsed& p, std::string_view key) {
    auto it = p.doc.FindMember("context");
    if (it == p.doc.MemberEnd()) return "<no context>";
    return json_member(it->value, key);
}

std::vector<std::string> member_names(const rapidjson::Value& obj) {
    std::vector<std::string> out;
    if (!obj.IsObject()) return out;
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it)
        out.emplace_back(it->name.GetString(), it->name.GetStringLength());
    return out;
}

std::vector<std::string> context_names(const Parsed& p) {
    auto it = p.doc.FindMember("context");
    return it == p.doc.MemberEnd() ? std::vector<std::string>{} : member_names(it->value);
}

std::size_t count_members(const rapidjson::Value& obj, std::string_view key) {
    std::size_t n = 0;
    for (const auto& name : member_names(obj)) n += name == key;
    return n;
}

/// A JSON string literal, for comparisons with json_member().
std::string jstr(std::string_view s) {
    std::string out(1, '"');
    out.append(s);
    out.push_back('"');
    return out;
}

/// The entry with this message (the tests give every call its own message).
const Parsed* find(const std::vector<Parsed>& all, std::string_view message) {
    for (const auto& p : all)
        if (p.entry.message == message) return &p;
    return nullptr;
}

enum class Side : std::uint8_t { buy = 1, sell = 2 };
enum Plain : int { plain_minus_three = -3 };

}  // namespace

// ---------------------------------------------------------------------------
// 1. Named placeholders.

BOOST_AUTO_TEST_CASE(named_placeholders_fill_the_message_and_keep_json_types) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("named.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.named");

    const int i = 42;
    const std::int64_t neg = std::numeric_limits<std::int64_t>::min();
    const std::uint64_t umax = std::numeric_limits<std::uint64_t>::max();
    const bool b = true;
    const double d = 101.25;
    const float f = 2.5f;
    const char c = 'x';
    const char* cs = "c-string";
    const std::string s = "std \"quoted\" string";
    const std::string_view sv = "a view";
    int local = 0;
    const int* p = &local;
    const void* null = nullptr;
    log.info("i={i} neg={neg} umax={umax} b={b} d={d} f={f} c={c} cs={cs} s={s} sv={sv} side={side} plain={plain} "
             "p={p} null={null}",
             i, neg, umax, b, d, f, c, cs, s, sv, Side::sell, plain_minus_three, p, null);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    log.warning("nan={nan} inf={inf} ninf={ninf} fnan={fnan} finf={finf}", nan, inf, -inf,
                std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity());
    log.info("Order {order_id} filled at {price:.2f}", 42, 101.256);
    log.error("padded [{sym:>6}] hex {n:#x} sci {x:.1e} lit {{x}} }}", "AB", 255, 12345.0);
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 4u);

    const std::string pointer_text = fmt::format("{}", static_cast<const void*>(p));
    BOOST_TEST(pointer_text.rfind("0x", 0) == 0u);
    {
        const Parsed& e = all[0];
        BOOST_TEST(e.entry.message == "i=42 neg=-9223372036854775808 umax=18446744073709551615 b=true d=101.25 f=2.5 "
                                      "c=x cs=c-string s=std \"quoted\" string sv=a view side=2 plain=-3 p=" +
                                          pointer_text + " null=0x0");
        BOOST_TEST(ctx(e, "i") == "42");
        BOOST_TEST(ctx(e, "neg") == "-9223372036854775808");
        BOOST_TEST(ctx(e, "umax") == "18446744073709551615");
        // Exactly, as a JSON integer (not a double, not a string).
        BOOST_TEST(e.entry.raw.find("\"umax\":18446744073709551615,") != std::string::npos);
        const auto& context = e.doc["context"];
        BOOST_TEST(context["neg"].IsInt64());
        BOOST_TEST(context["neg"].GetInt64() == neg);
        BOOST_TEST(context["umax"].IsUint64());
        BOOST_TEST(context["umax"].GetUint64() == umax);
        BOOST_TEST(ctx(e, "b") == "true");
        BOOST_TEST(context["d"].IsDouble());
        BOOST_TEST(context["d"].GetDouble() == 101.25);
        BOOST_TEST(context["f"].IsNumber());
        BOOST_TEST(context["f"].GetDouble() == 2.5);
        BOOST_TEST(ctx(e, "c") == "\"x\"");
        BOOST_TEST(ctx(e, "cs") == "\"c-string\"");
        BOOST_TEST(ctx(e, "s") == R"("std \"quoted\" string")");
        BOOST_TEST(ctx(e, "sv") == "\"a view\"");
        BOOST_TEST(ctx(e, "side") == "2");
        BOOST_TEST(ctx(e, "plain") == "-3");
        BOOST_TEST(ctx(e, "p") == jstr(pointer_text));
        BOOST_TEST(ctx(e, "null") == "\"0x0\"");
        // Placeholder order.
        const std::vector<std::string> order = {"i",  "neg",  "umax", "b",     "d", "f",    "c",
                                                "cs", "s",    "sv",   "side", "plain", "p", "null"};
        BOOST_TEST(context_names(e) == order, boost::test_tools::per_element());
        BOOST_TEST(member_names(e.doc).size() == kFixedMembers.size() + 1);
    }
    {
        const Parsed& e = all[1];
        BOOST_TEST(e.entry.level == "WARNING");
        BOOST_TEST(e.entry.message == "nan=nan inf=inf ninf=-inf fnan=nan finf=-inf");
        BOOST_TEST(ctx(e, "nan") == "\"NaN\"");
        BOOST_TEST(ctx(e, "inf") == "\"Infinity\"");
        BOOST_TEST(ctx(e, "ninf") == "\"-Infinity\"");
        BOOST_TEST(ctx(e, "fnan") == "\"NaN\"");
        BOOST_TEST(ctx(e, "finf") == "\"-Infinity\"");
    }
    {
        // The format spec applies to the message only.
        const Parsed& e = all[2];
        BOOST_TEST(e.entry.message == "Order 42 filled at 101.26");
        BOOST_TEST(ctx(e, "order_id") == "42");
        BOOST_TEST(e.doc["context"]["price"].GetDouble() == 101.256);
        BOOST_TEST(e.entry.raw.find("\"price\":101.256}") != std::string::npos);
    }
    {
        const Parsed& e = all[3];
        BOOST_TEST(e.entry.message == "padded [    AB] hex 0xff sci 1.2e+04 lit {x} }");
        BOOST_TEST(ctx(e, "sym") == "\"AB\"");
        BOOST_TEST(ctx(e, "n") == "255");
        BOOST_TEST(e.doc["context"]["x"].GetDouble() == 12345.0);
    }
}

// ---------------------------------------------------------------------------
// 2. Positional placeholders.

BOOST_AUTO_TEST_CASE(positional_placeholders_add_no_context) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("positional.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.positional");
    log.info("Quote {} {:.2f}", "AAPL", 101.256);
    log.info("{1} then {0} then {1}", "a", 2);
    log.info("no placeholders at all");
    log.info("escaped {{name}} and {}", 7);
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 4u);
    const std::vector<std::string> messages = {"Quote AAPL 101.26", "2 then a then 2", "no placeholders at all",
                                               "escaped {name} and 7"};
    for (std::size_t i = 0; i < all.size(); ++i) {
        BOOST_TEST_CONTEXT("entry " << i) {
            BOOST_TEST(all[i].entry.message == messages[i]);
            BOOST_TEST(!has_context(all[i]));
            // Nothing but the fixed members: no ids, no empty "context":{}.
            BOOST_TEST(member_names(all[i].doc) == kFixedMembers, boost::test_tools::per_element());
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Keys named like the entry's own fields.

BOOST_AUTO_TEST_CASE(named_fields_called_like_top_level_fields_stay_in_context) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("shadow.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.shadow");
    const int line = __LINE__; log.info("{message}|{level}|{service}|{timestamp}|{file}|{line}|{function}|"
                                        "{logger_name}|{environment}|{version}|{host}|{context}|{exception}|"
                                        "{duration_ms}",
        "fake message", "CRITICAL", "fake-service", "yesterday", "fake.cpp", -7, "fake_function", "fake.logger",
        "nowhere", "v9", "fake-host", "fake-context", "fake-exception", 1.5);
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 1u);
    const Parsed& e = all[0];
    BOOST_TEST(e.entry.message ==
               "fake message|CRITICAL|fake-service|yesterday|fake.cpp|-7|fake_function|fake.logger|nowhere|v9|"
               "fake-host|fake-context|fake-exception|1.5");
    BOOST_TEST(e.entry.level == "INFO");
    BOOST_TEST(e.entry.service == "agora-log-test");
    BOOST_TEST(agora_test::is_timestamp(e.entry.timestamp));
    BOOST_TEST(e.entry.file == kThisFile);
    BOOST_TEST(e.entry.line == line);
    BOOST_TEST(e.entry.function == "named_fields_called_like_top_level_fields_stay_in_context::test_method");
    BOOST_TEST(e.entry.logger_name == "ctx.shadow");
    BOOST_TEST(e.entry.environment == "development");
    BOOST_TEST(e.entry.version == "1.2.3");
    BOOST_TEST(e.entry.host == "test-host");
    BOOST_TEST(!e.doc.HasMember("exception"));
    BOOST_TEST(!e.doc.HasMember("duration_ms"));
    // Each top-level member once; the named fields only inside "context".
    std::vector<std::string> expected = kFixedMembers;
    expected.push_back("context");
    BOOST_TEST(member_names(e.doc) == expected, boost::test_tools::per_element());
    BOOST_TEST(ctx(e, "message") == "\"fake message\"");
    BOOST_TEST(ctx(e, "level") == "\"CRITICAL\"");
    BOOST_TEST(ctx(e, "service") == "\"fake-service\"");
    BOOST_TEST(ctx(e, "timestamp") == "\"yesterday\"");
    BOOST_TEST(ctx(e, "file") == "\"fake.cpp\"");
    BOOST_TEST(ctx(e, "line") == "-7");
    BOOST_TEST(ctx(e, "function") == "\"fake_function\"");
    BOOST_TEST(ctx(e, "logger_name") == "\"fake.logger\"");
    BOOST_TEST(ctx(e, "environment") == "\"nowhere\"");
    BOOST_TEST(ctx(e, "version") == "\"v9\"");
    BOOST_TEST(ctx(e, "host") == "\"fake-host\"");
    BOOST_TEST(ctx(e, "context") == "\"fake-context\"");
    BOOST_TEST(ctx(e, "exception") == "\"fake-exception\"");
    BOOST_TEST(ctx(e, "duration_ms") == "1.5");
}

BOOST_AUTO_TEST_CASE(inherited_fields_called_like_top_level_fields_stay_in_context) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("shadow_inherited.log"));
    config.default_context = {{"service", "default-service"}, {"level", "DEBUG"}};
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.shadow.inherited").with_context({{"host", "bound-host"}, {"line", -1}});
    {
        ScopedContext scope{{{"file", "scoped.cpp"}, {"function", "scoped_function"}, {"context", "scoped"}}};
        log.warning("inherited shadows", {{"message", "call message"}, {"timestamp", "never"}});
    }
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 1u);
    const Parsed& e = all[0];
    BOOST_TEST(e.entry.message == "inherited shadows");
    BOOST_TEST(e.entry.level == "WARNING");
    BOOST_TEST(e.entry.service == "agora-log-test");
    BOOST_TEST(e.entry.host == "test-host");
    BOOST_TEST(e.entry.file == kThisFile);
    BOOST_TEST(e.entry.line > 0);
    BOOST_TEST(e.entry.function == "inherited_fields_called_like_top_level_fields_stay_in_context::test_method");
    BOOST_TEST(agora_test::is_timestamp(e.entry.timestamp));
    std::vector<std::string> expected = kFixedMembers;
    expected.push_back("context");
    BOOST_TEST(member_names(e.doc) == expected, boost::test_tools::per_element());
    // Call-site fields first (the Context's key order), then the inherited ones sorted by key.
    const std::vector<std::string> order = {"message", "timestamp", "context", "file", "function",
                                            "host",    "level",     "line",    "service"};
    BOOST_TEST(context_names(e) == order, boost::test_tools::per_element());
    BOOST_TEST(ctx(e, "message") == "\"call message\"");
    BOOST_TEST(ctx(e, "service") == "\"default-service\"");
    BOOST_TEST(ctx(e, "level") == "\"DEBUG\"");
    BOOST_TEST(ctx(e, "host") == "\"bound-host\"");
    BOOST_TEST(ctx(e, "line") == "-1");
    BOOST_TEST(ctx(e, "file") == "\"scoped.cpp\"");
    BOOST_TEST(ctx(e, "context") == "\"scoped\"");
}

// ---------------------------------------------------------------------------
// 4. Top-level ids.

BOOST_AUTO_TEST_CASE(ids_from_every_source_are_written_top_level) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("ids.log"));
    const std::string id_default = agora::log::generate_correlation_id();
    const std::string id_named = agora::log::generate_correlation_id();
    const std::string id_arg = agora::log::generate_correlation_id();
    const std::string id_scoped = agora::log::generate_correlation_id();
    const std::string id_bound = agora::log::generate_correlation_id();
    config.default_context = {{"correlation_id", id_default}, {"user_id", "u-default"}, {"trace_id", "t-default"},
                              {"span_id", "s-default"}};
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.ids");

    log.info("from default_context");
    log.info("named {correlation_id} {user_id} {trace_id} {span_id}", id_named, "u-named", "t-named", "s-named");
    log.info("from a Context argument",
             {{"correlation_id", id_arg}, {"user_id", "u-arg"}, {"trace_id", "t-arg"}, {"span_id", "s-arg"}});
    {
        ScopedContext scope{
            ContextBuilder().correlation_id(id_scoped).user_id("u-scoped").trace_id("t-scoped").span_id("s-scoped").build()};
        log.info("from a ScopedContext");
    }
    log.with_context({{"correlation_id", id_bound}, {"user_id", "u-bound"}, {"trace_id", "t-bound"}, {"span_id", "s-bound"}})
        .info("from with_context");
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 5u);

    struct Want {
        std::string message, correlation_id, source;
    };
    const std::vector<Want> want = {
        {"from default_context", id_default, "default"},
        {"named " + id_named + " u-named t-named s-named", id_named, "named"},
        {"from a Context argument", id_arg, "arg"},
        {"from a ScopedContext", id_scoped, "scoped"},
        {"from with_context", id_bound, "bound"},
    };
    std::vector<std::string> expected_members = kFixedMembers;
    for (const char* id : {"correlation_id", "user_id", "trace_id", "span_id"}) expected_members.push_back(id);
    for (std::size_t i = 0; i < want.size(); ++i) {
        BOOST_TEST_CONTEXT("entry " << i << " (" << want[i].source << ")") {
            const Parsed& e = all[i];
            BOOST_TEST(e.entry.message == want[i].message);
            BOOST_TEST(top(e, "correlation_id") == jstr(want[i].correlation_id));
            BOOST_TEST(top(e, "user_id") == jstr("u-" + want[i].source));
            BOOST_TEST(top(e, "trace_id") == jstr("t-" + want[i].source));
            BOOST_TEST(top(e, "span_id") == jstr("s-" + want[i].source));
            // Right after "function", in the schema's order; no "context" at all.
            BOOST_TEST(member_names(e.doc) == expected_members, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(id_values_of_other_types_and_non_uuid_correlation_ids) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("id_types.log"));
    const std::string default_uuid = agora::log::generate_correlation_id();
    config.default_context = {{"correlation_id", default_uuid}};
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.id.types");
    const std::uint64_t umax = std::numeric_limits<std::uint64_t>::max();

    log.info("named user {user_id}", 42);
    log.info("context user", {{"user_id", 7}, {"trace_id", -3}, {"span_id", true}});
    log.info("named trace {trace_id} span {span_id}", umax, 1.5);
    {
        ScopedContext scope{{{"user_id", 8}}};
        log.info("scoped int user");
    }
    log.with_context({{"user_id", std::int64_t{-9}}}).info("bound int user");
    log.info("named bad {correlation_id}", "not-a-uuid");
    log.info("named int {correlation_id}", 5);
    log.info("context bad", {{"correlation_id", "123e4567-e89b-12d3-a456-42661417400"}});  // one digit short
    {
        ScopedContext scope{{{"correlation_id", "scoped-not-a-uuid"}}};
        log.info("scoped bad");
    }
    log.with_context({{"correlation_id", "{123e4567-e89b-12d3-a456-426614174000}"}}).info("bound bad");
    log.info("upper case {correlation_id}", "123E4567-E89B-12D3-A456-426614174000");
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 11u);

    auto check_user = [&](const char* message, const char* user) {
        const Parsed* e = find(all, message);
        BOOST_TEST_REQUIRE(e != nullptr, message);
        BOOST_TEST(top(*e, "user_id") == jstr(user), message);
        BOOST_TEST(ctx(*e, "user_id") == (has_context(*e) ? "<absent>" : "<no context>"), message);
        BOOST_TEST(top(*e, "correlation_id") == jstr(default_uuid), message);
    };
    check_user("named user 42", "42");
    check_user("context user", "7");
    check_user("scoped int user", "8");
    check_user("bound int user", "-9");
    {
        const Parsed* e = find(all, "context user");
        BOOST_TEST_REQUIRE(e != nullptr);
        BOOST_TEST(top(*e, "trace_id") == "\"-3\"");
        BOOST_TEST(top(*e, "span_id") == "\"true\"");
        BOOST_TEST(!has_context(*e));
    }
    {
        const Parsed* e = find(all, "named trace 18446744073709551615 span 1.5");
        BOOST_TEST_REQUIRE(e != nullptr);
        BOOST_TEST(top(*e, "trace_id") == "\"18446744073709551615\"");
        BOOST_TEST(top(*e, "span_id") == "\"1.5\"");
        BOOST_TEST(!has_context(*e));
    }
    // A correlation_id that is not a UUID stays in "context", and hides the
    // lower-precedence UUID of default_context: no top-level correlation_id.
    auto check_bad = [&](const char* message, const std::string& value_json) {
        const Parsed* e = find(all, message);
        BOOST_TEST_REQUIRE(e != nullptr, message);
        BOOST_TEST(top(*e, "correlation_id") == "<absent>", message);
        BOOST_TEST(ctx(*e, "correlation_id") == value_json, message);
    };
    check_bad("named bad not-a-uuid", "\"not-a-uuid\"");
    check_bad("named int 5", "5");
    check_bad("context bad", "\"123e4567-e89b-12d3-a456-42661417400\"");
    check_bad("scoped bad", "\"scoped-not-a-uuid\"");
    check_bad("bound bad", "\"{123e4567-e89b-12d3-a456-426614174000}\"");
    {
        const Parsed* e = find(all, "upper case 123E4567-E89B-12D3-A456-426614174000");
        BOOST_TEST_REQUIRE(e != nullptr);
        BOOST_TEST(top(*e, "correlation_id") == "\"123E4567-E89B-12D3-A456-426614174000\"");
        BOOST_TEST(!has_context(*e));
    }
}

// ---------------------------------------------------------------------------
// 5. Precedence, key by key: call site > scoped > bound > default_context.

namespace {

struct Sources {
    bool call, scoped, bound, named;
};

std::string describe(const Sources& s, bool with_default) {
    std::string d;
    if (s.call) d += s.named ? "call(named)+" : "call(Context)+";
    if (s.scoped) d += "scoped+";
    if (s.bound) d += "bound+";
    if (with_default) d += "default+";
    if (d.empty()) return "none";
    d.pop_back();
    return d;
}

/// Logs one entry whose user_id and desk come from each chosen source; each
/// source also adds a key of its own (only_<source>), to show it was applied.
void log_from(const Logger& base, const Sources& s, const std::string& message) {
    Logger logger = s.bound ? base.with_context({{"user_id", "bound"}, {"desk", "bound"}, {"only_bound", true}}) : base;
    std::optional<ScopedContext> scope;
    if (s.scoped) scope.emplace(Context{{"user_id", "scoped"}, {"desk", "scoped"}, {"only_scoped", true}});
    if (!s.call) logger.info("{}", message);  // positional: no call-site fields
    else if (s.named) logger.info("{label} {user_id} {desk} {only_call}", message, "call", "call", true);
    else logger.info("Context argument", {{"label", message}, {"user_id", "call"}, {"desk", "call"}, {"only_call", true}});
}

void check_precedence(bool with_default) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("precedence.log"));
    if (with_default) config.default_context = {{"user_id", "default"}, {"desk", "default"}, {"only_default", true}};
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger(with_default ? "ctx.precedence.default" : "ctx.precedence");

    std::vector<Sources> cases;
    for (int mask = 0; mask < 8; ++mask) {
        const bool call = mask & 1, scoped = mask & 2, bound = mask & 4;
        if (call) {
            cases.push_back({call, scoped, bound, true});
            cases.push_back({call, scoped, bound, false});
        } else {
            cases.push_back({call, scoped, bound, false});
        }
    }
    for (std::size_t i = 0; i < cases.size(); ++i) log_from(log, cases[i], "case " + std::to_string(i));
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == cases.size());

    for (std::size_t i = 0; i < cases.size(); ++i) {
        const Sources& s = cases[i];
        BOOST_TEST_CONTEXT("sources: " << describe(s, with_default)) {
            const std::string message = "case " + std::to_string(i);
            const Parsed& e = all[i];
            if (!s.call) BOOST_TEST(e.entry.message == message);
            else if (s.named) BOOST_TEST(e.entry.message == message + " call call true");
            else BOOST_TEST(ctx(e, "label") == jstr(message));
            const char* winner = s.call     ? "call"
                                 : s.scoped ? "scoped"
                                 : s.bound  ? "bound"
                                 : with_default ? "default"
                                                : nullptr;
            // Without any source there is no "context" object at all.
            const std::string absent = winner == nullptr ? "<no context>" : "<absent>";
            BOOST_TEST(top(e, "user_id") == (winner ? jstr(winner) : "<absent>"));
            BOOST_TEST(ctx(e, "desk") == (winner ? jstr(winner) : absent));
            BOOST_TEST(count_members(e.doc, "user_id") <= 1u);
            BOOST_TEST(ctx(e, "user_id") == absent);
            const auto names = context_names(e);
            BOOST_TEST(std::count(names.begin(), names.end(), "desk") <= 1);
            BOOST_TEST(ctx(e, "only_call") == (s.call ? "true" : absent));
            BOOST_TEST(ctx(e, "only_scoped") == (s.scoped ? "true" : absent));
            BOOST_TEST(ctx(e, "only_bound") == (s.bound ? "true" : absent));
            BOOST_TEST(ctx(e, "only_default") == (with_default ? "true" : absent));
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(precedence_call_over_scoped_over_bound) { check_precedence(false); }

BOOST_AUTO_TEST_CASE(precedence_with_default_context) { check_precedence(true); }

BOOST_AUTO_TEST_CASE(nested_scopes_stack_and_restore) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("nested.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.nested");
    log.info("before");
    {
        ScopedContext outer{{{"desk", "outer"}, {"a", 1}, {"user_id", "u-outer"}}};
        log.info("outer");
        {
            ScopedContext inner{{{"desk", "inner"}, {"b", 2}}};
            log.info("inner");
            {
                ScopedContext innermost{{{"user_id", "u-innermost"}}};
                log.info("innermost");
            }
            log.info("inner again");
        }
        log.info("outer again");
    }
    log.info("after");
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 7u);
    struct Want {
        const char* message;
        const char* desk;
        const char* a;
        const char* b;
        const char* user;
    };
    const Want want[] = {
        {"before", "<no context>", "<no context>", "<no context>", "<absent>"},
        {"outer", "\"outer\"", "1", "<absent>", "\"u-outer\""},
        {"inner", "\"inner\"", "1", "2", "\"u-outer\""},
        {"innermost", "\"inner\"", "1", "2", "\"u-innermost\""},
        {"inner again", "\"inner\"", "1", "2", "\"u-outer\""},
        {"outer again", "\"outer\"", "1", "<absent>", "\"u-outer\""},
        {"after", "<no context>", "<no context>", "<no context>", "<absent>"},
    };
    for (std::size_t i = 0; i < all.size(); ++i) {
        BOOST_TEST_CONTEXT("entry " << i) {
            BOOST_TEST(all[i].entry.message == want[i].message);
            BOOST_TEST(ctx(all[i], "desk") == want[i].desk);
            BOOST_TEST(ctx(all[i], "a") == want[i].a);
            BOOST_TEST(ctx(all[i], "b") == want[i].b);
            BOOST_TEST(top(all[i], "user_id") == want[i].user);
        }
    }
}

BOOST_AUTO_TEST_CASE(scoped_context_belongs_to_its_thread) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("threads.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.threads");
    {
        ScopedContext main_scope{{{"thread", "main"}}};
        log.info("main in scope");
        std::thread worker([&log] {
            log.info("worker outside any scope");
            {
                ScopedContext scope{{{"thread", "worker"}}};
                log.info("worker in scope");
            }
            log.info("worker after its scope");
        });
        worker.join();
        // The scope is opened before the thread's first record.
        std::thread first([&log] {
            ScopedContext scope{{{"thread", "first"}}};
            log.info("first record inside a scope");
        });
        first.join();
        // A scope on a thread that never logs.
        std::thread silent([] { ScopedContext scope{{{"thread", "silent"}}}; });
        silent.join();
        log.info("main still in scope");
    }
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 6u);
    const std::pair<const char*, const char*> want[] = {
        {"main in scope", "\"main\""},
        {"worker outside any scope", "<no context>"},
        {"worker in scope", "\"worker\""},
        {"worker after its scope", "<no context>"},
        {"first record inside a scope", "\"first\""},
        {"main still in scope", "\"main\""},
    };
    for (const auto& [message, thread] : want) {
        const Parsed* e = find(all, message);
        BOOST_TEST_REQUIRE(e != nullptr, message);
        BOOST_TEST(ctx(*e, "thread") == thread, message);
    }
}

// ---------------------------------------------------------------------------
// 6. The Context argument.

BOOST_AUTO_TEST_CASE(context_argument_keeps_types) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("context_arg.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.argument");
    log.info("Operation completed", {{"key", "value"}, {"n", 5}, {"ratio", 0.5}, {"ok", true}});
    log.info("Empty context", {});
    log.info("Empty context object", Context{});
    log.error("Empty context on error", {});  // a Context, not an exception
    const std::uint64_t above = std::uint64_t{std::numeric_limits<std::int64_t>::max()} + 1;
    const std::string sv_storage = "view";
    const char* null_string = nullptr;
    log.warning("Conversions", {{"above", above},
                                {"umax", std::numeric_limits<std::uint64_t>::max()},
                                {"imax_unsigned", std::uint64_t{std::numeric_limits<std::int64_t>::max()}},
                                {"imin", std::numeric_limits<std::int64_t>::min()},
                                {"u32", 4000000000u},
                                {"neg", -12},
                                {"f", 0.25f},
                                {"nan", std::nan("")},
                                {"ninf", -std::numeric_limits<double>::infinity()},
                                {"c", 'q'},
                                {"sv", std::string_view(sv_storage)},
                                {"null", null_string},
                                {"off", false},
                                {"we\"ird\nkey", "tab\there"}});
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 5u);
    {
        const Parsed& e = all[0];
        BOOST_TEST(e.entry.message == "Operation completed");
        BOOST_TEST(to_json(e.doc["context"]) == R"({"key":"value","n":5,"ok":true,"ratio":0.5})");
    }
    for (int i : {1, 2, 3}) {
        BOOST_TEST(all[i].entry.message.rfind("Empty context", 0) == 0u);
        BOOST_TEST(member_names(all[i].doc) == kFixedMembers, boost::test_tools::per_element());
    }
    {
        const Parsed& e = all[4];
        BOOST_TEST(ctx(e, "above") == "\"9223372036854775808\"");
        BOOST_TEST(ctx(e, "umax") == "\"18446744073709551615\"");
        BOOST_TEST(ctx(e, "imax_unsigned") == "9223372036854775807");
        BOOST_TEST(ctx(e, "imin") == "-9223372036854775808");
        BOOST_TEST(ctx(e, "u32") == "4000000000");
        BOOST_TEST(ctx(e, "neg") == "-12");
        BOOST_TEST(e.doc["context"]["f"].GetDouble() == 0.25);
        BOOST_TEST(ctx(e, "nan") == "\"NaN\"");
        BOOST_TEST(ctx(e, "ninf") == "\"-Infinity\"");
        BOOST_TEST(ctx(e, "c") == "\"q\"");
        BOOST_TEST(ctx(e, "sv") == "\"view\"");
        BOOST_TEST(ctx(e, "null") == "\"(null)\"");
        BOOST_TEST(ctx(e, "off") == "false");
        BOOST_TEST(ctx(e, "we\"ird\nkey") == R"("tab\there")");
    }
}

// ---------------------------------------------------------------------------
// 7. ContextBuilder and the UUID helpers.

BOOST_AUTO_TEST_CASE(context_builder_sets_every_key) {
    const std::string id = "123e4567-e89b-42d3-a456-426614174000";
    ContextBuilder builder;
    builder.correlation_id(id).user_id("u-1").trace_id("t-1").span_id("s-1").add("qty", 5).add("px", 1.5).add(
        "ok", true);
    const Context built = builder.build();  // const&: the builder keeps its values
    BOOST_TEST(built.size() == 7u);
    BOOST_TEST(std::get<std::string>(built.at("correlation_id")) == id);
    BOOST_TEST(std::get<std::string>(built.at("user_id")) == "u-1");
    BOOST_TEST(std::get<std::string>(built.at("trace_id")) == "t-1");
    BOOST_TEST(std::get<std::string>(built.at("span_id")) == "s-1");
    BOOST_TEST(std::get<std::int64_t>(built.at("qty")) == 5);
    BOOST_TEST(std::get<double>(built.at("px")) == 1.5);
    BOOST_TEST(std::get<bool>(built.at("ok")) == true);

    // A later call replaces the earlier value.
    builder.add("qty", "five").user_id("u-2").add("user_id", "u-3");
    const Context again = builder.build();
    BOOST_TEST(again.size() == 7u);
    BOOST_TEST(std::get<std::string>(again.at("qty")) == "five");
    BOOST_TEST(std::get<std::string>(again.at("user_id")) == "u-3");

    // correlation_id() generates a new UUID, replacing the one set before.
    const Context generated = ContextBuilder().correlation_id(id).correlation_id().build();
    const auto& cid = std::get<std::string>(generated.at("correlation_id"));
    BOOST_TEST(agora::log::is_uuid(cid));
    BOOST_TEST(cid != id);
    const Context other = ContextBuilder().correlation_id().build();
    BOOST_TEST(std::get<std::string>(other.at("correlation_id")) != cid);

    // build() && moves the values out.
    const Context moved = ContextBuilder().add("k", "v").span_id("s").build();
    BOOST_TEST(moved.size() == 2u);
    BOOST_TEST(std::get<std::string>(moved.at("k")) == "v");
}

BOOST_AUTO_TEST_CASE(context_builder_output_is_logged) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("builder.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.builder");
    const Context fields = ContextBuilder().correlation_id().user_id("u-17").add("symbol", "AAPL").build();
    log.info("Built", fields);
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 1u);
    BOOST_TEST(top(all[0], "correlation_id") == jstr(std::get<std::string>(fields.at("correlation_id"))));
    BOOST_TEST(top(all[0], "user_id") == "\"u-17\"");
    BOOST_TEST(to_json(all[0].doc["context"]) == R"({"symbol":"AAPL"})");
}

BOOST_AUTO_TEST_CASE(generated_correlation_ids_are_distinct_v4_uuids) {
    std::unordered_set<std::string> seen;
    std::size_t bad_form = 0, bad_version = 0, bad_variant = 0, upper = 0;
    for (int i = 0; i < 10000; ++i) {
        std::string id = agora::log::generate_correlation_id();
        bad_form += !agora::log::is_uuid(id);
        if (id.size() == 36) {
            bad_version += id[14] != '4';
            bad_variant += std::string_view("89ab").find(id[19]) == std::string_view::npos;
        }
        for (char c : id) upper += (c >= 'A' && c <= 'Z');
        seen.insert(std::move(id));
    }
    BOOST_TEST(bad_form == 0u);
    BOOST_TEST(bad_version == 0u);
    BOOST_TEST(bad_variant == 0u);
    BOOST_TEST(upper == 0u);
    BOOST_TEST(seen.size() == 10000u);
}

BOOST_AUTO_TEST_CASE(correlation_ids_from_several_threads_are_distinct) {
    constexpr int kThreads = 4, kEach = 2500;
    std::vector<std::vector<std::string>> ids(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&ids, t] {
            for (int i = 0; i < kEach; ++i) ids[t].push_back(agora::log::generate_correlation_id());
        });
    for (auto& t : threads) t.join();
    std::unordered_set<std::string> seen;
    std::size_t bad = 0;
    for (const auto& v : ids)
        for (const auto& id : v) {
            bad += !agora::log::is_uuid(id);
            seen.insert(id);
        }
    BOOST_TEST(bad == 0u);
    BOOST_TEST(seen.size() == static_cast<std::size_t>(kThreads * kEach));
}

BOOST_AUTO_TEST_CASE(is_uuid_accepts_only_the_canonical_form) {
    using agora::log::is_uuid;
    for (const char* good : {"123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
                             "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
                             "aBcDeF01-2345-6789-AbCd-Ef0123456789"}) {
        BOOST_TEST(is_uuid(good), good);
    }
    for (const char* bad : {"", "not-a-uuid", "123e4567-e89b-12d3-a456-42661417400",      // 35 chars
                            "123e4567-e89b-12d3-a456-4266141740000",                       // 37 chars
                            "123e4567e89b12d3a456426614174000",                            // no dashes
                            "123e4567-e89b-12d3-a456_426614174000",                        // '_' for '-'
                            "123e4567-e89b-12d3a-456-426614174000",                        // dash moved
                            "123e4567-e89b-12d3-a456-42661417400g",                        // not hex
                            "{123e4567-e89b-12d3-a456-426614174000}",                      // braces
                            " 123e4567-e89b-12d3-a456-42661417400",                        // leading space
                            "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
                            "123e4567-e89b-12d3-a456-4266141740 0",
                            "------------------------------------"}) {
        BOOST_TEST(!is_uuid(bad), bad);
    }
    // An embedded NUL is not a hex digit.
    BOOST_TEST(!is_uuid(std::string_view("123e4567-e89b-12d3-a456-42661417400\0", 36)));
}

// ---------------------------------------------------------------------------
// 8. with_context.

BOOST_AUTO_TEST_CASE(with_context_children_inherit_override_and_share_the_level) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("with_context.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto base = agora::log::get_logger("ctx.with");
    Logger parent = base.with_context({{"desk", "fx"}, {"region", "emea"}});
    Logger child = parent.with_context({{"desk", "rates"}, {"book", "b1"}});
    const Logger grandchild = child.with_context({{"book", "b2"}, {"trader", "t1"}});
    BOOST_TEST(child.name() == "ctx.with");
    BOOST_TEST(grandchild.name() == "ctx.with");

    base.info("base");
    parent.info("parent");
    child.info("child");
    grandchild.info("grandchild");
    Logger copy = child;
    copy.info("copy");
    Logger assigned;
    assigned = child;
    assigned.info("assigned");
    Logger moved = std::move(copy);
    moved.info("moved");
    parent.info("parent again");

    // One level for all: the named logger's.
    parent.set_level(Level::warning);
    BOOST_TEST(child.level() == Level::warning);
    BOOST_TEST(!grandchild.enabled(Level::info));
    child.info("child info below the parent's level");
    grandchild.warning("grandchild warning");
    child.set_level(Level::debug);
    BOOST_TEST(parent.level() == Level::debug);
    base.debug("base debug after the child's set_level");

    // A child outlives the loggers it came from.
    Logger survivor;
    {
        Logger temporary = base.with_context({{"k", "v"}});
        survivor = temporary.with_context({{"k2", 2}});
    }
    survivor.info("survivor");
    // Loggers destroyed right after their call: the records still show their context.
    for (int i = 0; i < 50; ++i) base.with_context({{"i", i}}).info("short-lived {n}", i);
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 11u + 50u);

    struct Want {
        const char* message;
        const char* context;  // the whole object, or "" for none
    };
    const Want want[] = {
        {"base", ""},
        {"parent", R"({"desk":"fx","region":"emea"})"},
        {"child", R"({"book":"b1","desk":"rates","region":"emea"})"},
        {"grandchild", R"({"book":"b2","desk":"rates","region":"emea","trader":"t1"})"},
        {"copy", R"({"book":"b1","desk":"rates","region":"emea"})"},
        {"assigned", R"({"book":"b1","desk":"rates","region":"emea"})"},
        {"moved", R"({"book":"b1","desk":"rates","region":"emea"})"},
        {"parent again", R"({"desk":"fx","region":"emea"})"},
        {"grandchild warning", R"({"book":"b2","desk":"rates","region":"emea","trader":"t1"})"},
        {"base debug after the child's set_level", ""},
        {"survivor", R"({"k":"v","k2":2})"},
    };
    for (std::size_t i = 0; i < std::size(want); ++i) {
        BOOST_TEST_CONTEXT("entry " << i) {
            const Parsed& e = all[i];
            BOOST_TEST(e.entry.message == want[i].message);
            BOOST_TEST(e.entry.logger_name == "ctx.with");
            BOOST_TEST((has_context(e) ? to_json(e.doc["context"]) : std::string()) == want[i].context);
        }
    }
    BOOST_TEST(find(all, "child info below the parent's level") == nullptr);
    for (int i = 0; i < 50; ++i) {
        const Parsed& e = all[11 + static_cast<std::size_t>(i)];
        BOOST_TEST(e.entry.message == "short-lived " + std::to_string(i));
        BOOST_TEST(ctx(e, "n") == std::to_string(i));
        BOOST_TEST(ctx(e, "i") == std::to_string(i));
    }
}

BOOST_AUTO_TEST_CASE(short_lived_scopes_keep_their_records_context) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("short_scopes.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.short.scopes");
    for (int i = 0; i < 100; ++i) {
        ScopedContext scope{{{"i", i}, {"pad", std::string(static_cast<std::size_t>(i), 'x')}}};
        log.info("scoped {n}", i);
    }
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 100u);
    std::size_t wrong = 0;
    for (int i = 0; i < 100; ++i) {
        const Parsed& e = all[static_cast<std::size_t>(i)];
        wrong += ctx(e, "i") != std::to_string(i) || ctx(e, "n") != std::to_string(i) ||
                 ctx(e, "pad") != jstr(std::string(static_cast<std::size_t>(i), 'x'));
    }
    BOOST_TEST(wrong == 0u);
}

BOOST_AUTO_TEST_CASE(bound_logger_used_by_other_threads_then_dropped) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("bound_threads.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto base = agora::log::get_logger("ctx.bound.threads");
    constexpr int kRounds = 20, kThreads = 2, kEach = 50;
    for (int round = 0; round < kRounds; ++round) {
        // Every copy of the bound logger is gone when the round ends; the
        // records still queued must show its context.
        Logger bound = base.with_context({{"round", round}, {"pad", std::string(64, 'p')}});
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([logger = bound, round, t] {
                for (int i = 0; i < kEach; ++i) logger.info("round {r} thread {t} record {i}", round, t, i);
            });
        for (auto& t : threads) t.join();
    }
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == static_cast<std::size_t>(kRounds * kThreads * kEach));
    std::size_t wrong = 0;
    for (const auto& e : all)
        wrong += ctx(e, "round") != ctx(e, "r") || ctx(e, "pad") != jstr(std::string(64, 'p'));
    BOOST_TEST(wrong == 0u);
}

BOOST_AUTO_TEST_CASE(exception_and_timer_entries_carry_ids_and_context) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("exception_timer.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.exception.timer").with_context({{"desk", "fx"}, {"trace_id", "t-bound"}});
    const std::runtime_error ex("disk full");
    log.error("Write failed", ex, {{"path", "/tmp/x"}, {"user_id", "u-1"}});
    {
        auto timer = log.timer("Database query", {{"table", "orders"}, {"span_id", "s-1"}});
    }
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 2u);
    {
        const Parsed& e = all[0];
        std::vector<std::string> expected = kFixedMembers;
        for (const char* m : {"user_id", "trace_id", "context", "exception"}) expected.push_back(m);
        BOOST_TEST(member_names(e.doc) == expected, boost::test_tools::per_element());
        BOOST_TEST(top(e, "user_id") == "\"u-1\"");
        BOOST_TEST(top(e, "trace_id") == "\"t-bound\"");
        BOOST_TEST(to_json(e.doc["context"]) == R"({"path":"/tmp/x","desk":"fx"})");
        BOOST_TEST(json_member(e.doc["exception"], "message") == "\"disk full\"");
    }
    {
        const Parsed& e = all[1];
        BOOST_TEST(e.entry.message == "Database query");
        std::vector<std::string> expected = kFixedMembers;
        for (const char* m : {"trace_id", "span_id", "duration_ms", "context"}) expected.push_back(m);
        BOOST_TEST(member_names(e.doc) == expected, boost::test_tools::per_element());
        BOOST_TEST(top(e, "span_id") == "\"s-1\"");
        BOOST_TEST(to_json(e.doc["context"]) == R"({"table":"orders","desk":"fx"})");
    }
}

BOOST_AUTO_TEST_CASE(call_site_fields_come_first_then_inherited_sorted) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("order.log"));
    config.default_context = {{"m_default", 1}};
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("ctx.order").with_context({{"z_bound", 2}, {"a_bound", 3}});
    {
        ScopedContext scope{{{"b_scoped", 4}}};
        log.info("{zeta} {alpha} {order.id} {_x} {a1}", 1, 2, 3, 4, 5);
    }
    auto all = shutdown_and_read(config.file_path);
    BOOST_TEST_REQUIRE(all.size() == 1u);
    BOOST_TEST(all[0].entry.message == "1 2 3 4 5");
    const std::vector<std::string> order = {"zeta",     "alpha",    "order.id",  "_x",     "a1",
                                            "a_bound", "b_scoped", "m_default", "z_bound"};
    BOOST_TEST(context_names(all[0]) == order, boost::test_tools::per_element());
}

// ---------------------------------------------------------------------------
// Text output: the fields after the message, on one line.

namespace {
/// Stores format_text() of every record and its fields_json (backend thread;
/// read after shutdown).
class TextCapture : public agora::log::Handler {
public:
    struct Line {
        std::string text, fields, json;
    };
    void emit(const agora::log::LogRecordView& r) noexcept override {
        try {
            Line line;
            agora::log::format_text(r, line.text, false);
            line.fields = std::string(r.fields_json);
            line.json = std::string(r.json);
            std::lock_guard lock(mutex_);
            lines_.push_back(std::move(line));
        } catch (...) {
        }
    }
    void flush() noexcept override {}
    void close() noexcept override {}
    std::vector<Line> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<Line> lines_;
};
}  // namespace

BOOST_AUTO_TEST_CASE(text_output_shows_the_fields) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("text.log"));
    auto capture = std::make_shared<TextCapture>();
    BOOST_REQUIRE(agora::log::initialize(config, {capture}));
    auto log = agora::log::get_logger("ctx.text");
    const int line1 = __LINE__; log.with_context({{"desk", "fx"}}).info("Order {order_id} for {user_id}", 42, "u1");
    const int line2 = __LINE__; log.info("plain {}", 1);
    const int line3 = __LINE__; log.warning("hostile value", {{"note", "a\nb\x1b[31mc"}});
    auto file = shutdown_and_read(config.file_path);
    const auto lines = capture->lines();
    BOOST_TEST_REQUIRE(lines.size() == 3u);
    BOOST_TEST_REQUIRE(file.size() == 3u);

    const std::string function = "text_output_shows_the_fields::test_method";
    auto where = [&](int line) { return "  [" + kThisFile + ":" + std::to_string(line) + " " + function + "]"; };
    const std::string fields1 = R"("user_id":"u1","context":{"order_id":42,"desk":"fx"})";
    BOOST_TEST(lines[0].fields == fields1);
    BOOST_TEST(lines[0].text ==
               file[0].entry.timestamp + " INFO     ctx.text  Order 42 for u1  {" + fields1 + "}" + where(line1));
    BOOST_TEST(lines[1].fields == "");
    BOOST_TEST(lines[1].text == file[1].entry.timestamp + " INFO     ctx.text  plain 1" + where(line2));
    const std::string fields3 = R"("context":{"note":"a\nb\u001b[31mc"})";
    BOOST_TEST(lines[2].fields == fields3);
    BOOST_TEST(lines[2].text ==
               file[2].entry.timestamp + " WARNING  ctx.text  hostile value  {" + fields3 + "}" + where(line3));
    for (const auto& l : lines) {
        // fields_json is the JSON entry's tail, after "function".
        BOOST_TEST(l.json.size() >= l.fields.size() + 1);
        if (!l.fields.empty()) BOOST_TEST(l.json.substr(l.json.size() - l.fields.size() - 2) == "," + l.fields + "}");
        BOOST_TEST(l.text.find_first_of(std::string("\n\r\x1b", 3)) == std::string::npos);
    }
}
