// Configuration file: Config::from_file() reads every key of logging.yaml,
// keeps the YAML types in default_context, and refuses every bad file with an
// error naming the file, the line and the dotted key; Config::from_env()
// applies LOG_CONFIG_FILE first and the variables on top, so that for every
// key environment > file > code (the base) > defaults. Built without yaml-cpp
// (AGORA_TEST_HAVE_YAML 0), it checks that every file is refused with an
// error saying so, through from_file() and LOG_CONFIG_FILE alike.
// Each test case writes its files in its own TempDir.

#define BOOST_TEST_MODULE config_file
#include "common.hpp"

#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

using agora::log::Config;
using agora::log::ConsoleFormat;
using agora::log::ContextValue;
using agora::log::ErrorCode;
using agora::log::Level;
using agora::log::QueueFullPolicy;
using agora_test::EnvGuard;
using agora_test::TempDir;

namespace {

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string write_file(const TempDir& dir, std::string_view name, const std::string& text) {
    std::string path = dir.file(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    BOOST_REQUIRE_MESSAGE(out, "cannot write " << path);
    return path;
}

Config code_base() {
    Config c;
    c.service_name = "code-service";
    return c;
}

#if AGORA_TEST_HAVE_YAML
/// The file error of from_file(text), checked to read
/// "<path>:<line>: <key>: ..." with code invalid_config_file. Returns the
/// message ("" if the file was accepted).
std::string expect_file_error(const TempDir& dir, const std::string& text, const std::string& key, int line) {
    std::string path = write_file(dir, "logging.yaml", text);
    auto result = Config::from_file(path, code_base());
    BOOST_TEST(!result.has_value(), "accepted:\n" << text);
    if (result.has_value()) return std::string();
    const auto& error = result.error();
    BOOST_TEST((error.code == ErrorCode::invalid_config_file), error.message);
    std::string prefix = path + ":" + std::to_string(line) + ": " + key + ": ";
    BOOST_TEST(error.message.starts_with(prefix), error.message << "\ndoes not start with\n" << prefix);
    return error.message;
}

std::string context_string(const Config& c, const std::string& key) {
    auto it = c.default_context.find(key);
    if (it == c.default_context.end()) return "<unset>";
    const auto* s = std::get_if<std::string>(&it->second.variant());
    return s ? *s : "<not a string>";
}

#endif  // AGORA_TEST_HAVE_YAML

}  // namespace

BOOST_AUTO_TEST_CASE(empty_log_config_file_is_an_error) {
    EnvGuard env;
    env.set("LOG_CONFIG_FILE", "");
    auto result = Config::from_env(code_base());
    BOOST_TEST_REQUIRE(!result.has_value());
    BOOST_TEST((result.error().code == ErrorCode::invalid_env));
    BOOST_TEST(result.error().message.starts_with("LOG_CONFIG_FILE='' is not accepted: expected"), result.error().message);
}

// The cases below read YAML: a build without yaml-cpp (meson option yaml
// disabled or not found) checks instead that every file is refused, loudly.
#if AGORA_TEST_HAVE_YAML

BOOST_AUTO_TEST_CASE(every_key_is_read) {
    TempDir dir;
    std::string path = write_file(dir, "logging.yaml", R"(# every key, none at its default
service_name: market-data
environment: production
version: 1.4.2-rc.1
host: pod-7
level: warning
max_message_length: 2048
console:
  enabled: false
  format: TEXT
  colors: no
file: {enabled: false, path: logs/app.log, max_size_mb: 7, max_backup_count: 0, format: Binary}
queue:
  size: 65536
  max_size: 1048576
  full_policy: Drop
  spare_rings: 9
backend:
  idle_sleep_us: 0
  cpu: 3
  ordering_grace_us: 1000000
crash:
  enabled: off
  termination_signals: yes
  drain_timeout_ms: 60000
  watchdog_s: 3600
  dump_prefix: dumps/md
default_context: {region: eu-west}
)");
    auto result = Config::from_file(path, Config{});
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    const Config& c = *result;
    BOOST_TEST(c.service_name == "market-data");
    BOOST_TEST(c.environment == "production");
    BOOST_TEST(c.version == "1.4.2-rc.1");
    BOOST_TEST(c.host == "pod-7");
    BOOST_TEST(c.level == Level::warning);
    BOOST_TEST(c.max_message_length == 2048u);
    BOOST_TEST(!c.console_enabled);
    BOOST_TEST((c.console_format == ConsoleFormat::text));
    BOOST_TEST(!c.console_colors);
    BOOST_TEST(!c.file_enabled);
    BOOST_TEST(c.file_path == "logs/app.log");
    BOOST_TEST(c.max_file_size_mb == 7u);
    BOOST_TEST(c.max_backup_count == 0u);
    BOOST_TEST((c.file_format == agora::log::FileFormat::binary));
    BOOST_TEST(c.queue_capacity_bytes == 65536u);
    BOOST_TEST(c.queue_max_capacity_bytes == 1048576u);
    BOOST_TEST(c.queue_full_policy == QueueFullPolicy::drop);
    BOOST_TEST(c.queue_spare_rings == 9u);
    BOOST_TEST(c.backend_idle_sleep.count() == 0);
    BOOST_TEST(c.backend_cpu == 3);
    BOOST_TEST(c.backend_ordering_grace.count() == 1000000);
    BOOST_TEST(!c.crash_handler);
    BOOST_TEST(c.crash_on_termination_signals);
    BOOST_TEST(c.crash_drain_timeout.count() == 60000);
    BOOST_TEST(c.crash_watchdog.count() == 3600);
    BOOST_TEST(c.crash_dump_prefix == "dumps/md");
    BOOST_TEST(context_string(c, "region") == "eu-west");
    BOOST_TEST(c.validate().has_value(), agora_test::error_text(c.validate()));

    // from_file(path) starts from the defaults, like from_file(path, Config{}).
    auto defaults_based = Config::from_file(path);
    BOOST_TEST_REQUIRE(defaults_based.has_value(), agora_test::error_text(defaults_based));
    BOOST_TEST(defaults_based->max_file_size_mb == 7u);
    BOOST_TEST(defaults_based->backend_cpu == 3);
}

BOOST_AUTO_TEST_CASE(a_file_of_one_key_changes_only_that_key) {
    TempDir dir;
    Config base = code_base();
    base.max_file_size_mb = 3;
    base.level = Level::error;
    base.default_context = {{"app", "code-app"}, {"region", "code-region"}};
    std::string path = write_file(dir, "logging.yaml", "file:\n  max_backup_count: 9\ndefault_context:\n  region: eu\n");
    auto result = Config::from_file(path, base);
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    BOOST_TEST(result->max_backup_count == 9u);
    BOOST_TEST(result->max_file_size_mb == 3u);  // same section, absent: base's value
    BOOST_TEST(result->level == Level::error);
    BOOST_TEST(result->service_name == "code-service");
    BOOST_TEST(result->file_path == Config{}.file_path);
    // default_context merges: the file's key replaces base's, base's other keys stay.
    BOOST_TEST(context_string(*result, "region") == "eu");
    BOOST_TEST(context_string(*result, "app") == "code-app");

    // An empty map changes nothing.
    std::string empty = write_file(dir, "empty-map.yaml", "{}\n");
    auto same = Config::from_file(empty, base);
    BOOST_TEST_REQUIRE(same.has_value(), agora_test::error_text(same));
    BOOST_TEST(same->max_file_size_mb == 3u);
    BOOST_TEST(same->default_context.size() == 2u);
}

BOOST_AUTO_TEST_CASE(logger_levels_and_keep_runtime_levels_are_read) {
    TempDir dir;
    Config base = code_base();
    base.logger_levels = {{"agora.orders", Level::error}, {"agora.risk", Level::info}};
    std::string path = write_file(dir, "logging.yaml",
                                  "keep_runtime_levels: true\n"
                                  "loggers:\n  agora.market_data.ingestion: debug\n  agora.orders: WARNING\n");
    auto result = Config::from_file(path, base);
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    BOOST_TEST(result->keep_runtime_levels);
    BOOST_TEST(result->logger_levels.size() == 3u);
    BOOST_TEST(result->logger_levels.at("agora.market_data.ingestion") == Level::debug);
    BOOST_TEST(result->logger_levels.at("agora.orders") == Level::warning);  // the file's replaces base's
    BOOST_TEST(result->logger_levels.at("agora.risk") == Level::info);

    std::string bad = write_file(dir, "bad-level.yaml", "loggers:\n  agora.orders: loud\n");
    auto refused = Config::from_file(bad, base);
    BOOST_TEST_REQUIRE(!refused.has_value());
    BOOST_TEST(refused.error().code == ErrorCode::invalid_config_file);
    BOOST_TEST(refused.error().message.find(":2: loggers.agora.orders: 'loud' is not accepted") != std::string::npos,
               refused.error().message);
    std::string not_map = write_file(dir, "not-map.yaml", "loggers: debug\n");
    BOOST_TEST(!Config::from_file(not_map, base).has_value());
}

BOOST_AUTO_TEST_CASE(default_context_values_keep_their_yaml_type) {
    TempDir dir;
    std::string path = write_file(dir, "logging.yaml", R"(default_context:
  region: eu-west
  shard: 3
  negative: -42
  hex: 0x1F
  octal: 0o17
  big: 9223372036854775807
  small: -9223372036854775808
  primary: true
  standby: False
  weight: 0.5
  exp: 1e3
  dot: .25
  quoted_number: "42"
  single_quoted: '3.5'
  quoted_bool: "true"
  tagged: !!str 7
  yes_word: yes
  version_like: 1.4.2
  block: |
    two
    lines
)");
    auto result = Config::from_file(path, Config{});
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    const auto& ctx = result->default_context;
    auto expect = [&](const std::string& key, const ContextValue& value) {
        auto it = ctx.find(key);
        BOOST_TEST_REQUIRE((it != ctx.end()), key << " missing");
        BOOST_TEST(it->second.index() == value.index(), key << ": type " << it->second.index() << " != " << value.index());
        BOOST_TEST((it->second.variant() == value.variant()), key << " has another value");
    };
    expect("region", std::string("eu-west"));
    expect("shard", std::int64_t{3});
    expect("negative", std::int64_t{-42});
    expect("hex", std::int64_t{31});
    expect("octal", std::int64_t{15});
    expect("big", std::numeric_limits<std::int64_t>::max());
    expect("small", std::numeric_limits<std::int64_t>::min());
    expect("primary", true);
    expect("standby", false);
    expect("weight", 0.5);
    expect("exp", 1000.0);
    expect("dot", 0.25);
    expect("quoted_number", std::string("42"));
    expect("single_quoted", std::string("3.5"));
    expect("quoted_bool", std::string("true"));
    expect("tagged", std::string("7"));
    expect("yes_word", std::string("yes"));  // YAML 1.2: not a bool
    expect("version_like", std::string("1.4.2"));
    expect("block", std::string("two\nlines\n"));
    BOOST_TEST(ctx.size() == 19u);
}

// For every key: each combination of the layers environment, file and code
// (the base passed to from_env), the highest layer present wins, and with
// none the default stays. The file always sets every other key, so "the file
// omits the key" is tested next to its siblings. Keys with fewer than four
// distinct values get several rows so that each pair of layers is seen with
// different values in at least one row.
BOOST_AUTO_TEST_CASE(every_key_follows_environment_file_code_defaults) {
    struct Key {
        std::string dotted;      // YAML key
        const char* variable;    // environment variable, or nullptr
        std::vector<std::string> values;  // values other than the default, as YAML and env text
        std::string background;  // the value the file holds while another key is tested
        std::function<void(Config&, const std::string&)> set;
        std::function<std::string(const Config&)> get;
    };
    auto num = [](auto v) { return std::to_string(v); };
    const std::vector<Key> keys = {
        {"service_name", nullptr, {"code-svc", "file-svc"}, "bg-svc",
         [](Config& c, const std::string& v) { c.service_name = v; }, [](const Config& c) { return c.service_name; }},
        {"environment", "ENVIRONMENT", {"staging", "production"}, "staging",
         [](Config& c, const std::string& v) { c.environment = v; }, [](const Config& c) { return c.environment; }},
        {"version", "SERVICE_VERSION", {"1.1.1", "2.2.2", "3.3.3"}, "9.9.9",
         [](Config& c, const std::string& v) { c.version = v; }, [](const Config& c) { return c.version; }},
        {"host", "HOSTNAME", {"code-host", "file-host", "env-host"}, "bg-host",
         [](Config& c, const std::string& v) { c.host = v; }, [](const Config& c) { return c.host; }},
        {"level", "LOG_LEVEL", {"ERROR", "WARNING", "DEBUG"}, "CRITICAL",
         [](Config& c, const std::string& v) { c.level = *agora::log::parse_level(v); },
         [](const Config& c) { return std::string(to_string(c.level)); }},
        {"max_message_length", "LOG_MAX_MESSAGE_LENGTH", {"2000", "3000", "4000"}, "5000",
         [](Config& c, const std::string& v) { c.max_message_length = std::stoul(v); },
         [num](const Config& c) { return num(c.max_message_length); }},
        {"console.enabled", "LOG_CONSOLE_ENABLED", {"false"}, "false",
         [](Config& c, const std::string& v) { c.console_enabled = v == "true"; },
         [](const Config& c) { return std::string(c.console_enabled ? "true" : "false"); }},
        {"console.format", "LOG_CONSOLE_FORMAT", {"text"}, "text",
         [](Config& c, const std::string& v) { c.console_format = v == "text" ? ConsoleFormat::text : ConsoleFormat::json; },
         [](const Config& c) { return std::string(to_string(c.console_format)); }},
        {"console.colors", "LOG_CONSOLE_COLORS", {"false"}, "false",
         [](Config& c, const std::string& v) { c.console_colors = v == "true"; },
         [](const Config& c) { return std::string(c.console_colors ? "true" : "false"); }},
        {"file.enabled", "LOG_FILE_ENABLED", {"false"}, "false",
         [](Config& c, const std::string& v) { c.file_enabled = v == "true"; },
         [](const Config& c) { return std::string(c.file_enabled ? "true" : "false"); }},
        {"file.path", "LOG_FILE_PATH", {"code/app.log", "file/app.log", "env/app.log"}, "bg/app.log",
         [](Config& c, const std::string& v) { c.file_path = v; }, [](const Config& c) { return c.file_path; }},
        {"file.max_size_mb", "LOG_MAX_FILE_SIZE_MB", {"11", "22", "33"}, "44",
         [](Config& c, const std::string& v) { c.max_file_size_mb = std::stoull(v); },
         [num](const Config& c) { return num(c.max_file_size_mb); }},
        {"file.max_backup_count", "LOG_MAX_BACKUP_COUNT", {"1", "2", "3"}, "4",
         [](Config& c, const std::string& v) { c.max_backup_count = static_cast<std::uint32_t>(std::stoul(v)); },
         [num](const Config& c) { return num(c.max_backup_count); }},
        // Sizes chosen so that no combination puts the ring above the largest one.
        {"queue.size", "LOG_QUEUE_SIZE", {"2097152", "4194304", "8388608"}, "4194304",
         [](Config& c, const std::string& v) { c.queue_capacity_bytes = std::stoull(v); },
         [num](const Config& c) { return num(c.queue_capacity_bytes); }},
        {"queue.max_size", nullptr, {"33554432", "16777216"}, "16777216",
         [](Config& c, const std::string& v) { c.queue_max_capacity_bytes = std::stoull(v); },
         [num](const Config& c) { return num(c.queue_max_capacity_bytes); }},
        {"queue.full_policy", nullptr, {"block", "drop"}, "drop",
         [](Config& c, const std::string& v) { c.queue_full_policy = v == "block" ? QueueFullPolicy::block : QueueFullPolicy::drop; },
         [](const Config& c) { return std::string(to_string(c.queue_full_policy)); }},
        {"backend.idle_sleep_us", nullptr, {"10", "20"}, "30",
         [](Config& c, const std::string& v) { c.backend_idle_sleep = std::chrono::microseconds(std::stol(v)); },
         [num](const Config& c) { return num(c.backend_idle_sleep.count()); }},
        {"backend.cpu", nullptr, {"0", "1"}, "2",
         [](Config& c, const std::string& v) { c.backend_cpu = std::stoi(v); },
         [num](const Config& c) { return num(c.backend_cpu); }},
        {"backend.ordering_grace_us", nullptr, {"1", "2"}, "3",
         [](Config& c, const std::string& v) { c.backend_ordering_grace = std::chrono::microseconds(std::stol(v)); },
         [num](const Config& c) { return num(c.backend_ordering_grace.count()); }},
        {"file.format", "LOG_FILE_FORMAT", {"binary"}, "binary",
         [](Config& c, const std::string& v) {
             c.file_format = v == "binary" ? agora::log::FileFormat::binary : agora::log::FileFormat::json;
         },
         [](const Config& c) { return std::string(to_string(c.file_format)); }},
        {"file.retry_interval_ms", nullptr, {"200", "300"}, "400",
         [](Config& c, const std::string& v) { c.file_retry_interval = std::chrono::milliseconds(std::stol(v)); },
         [num](const Config& c) { return num(c.file_retry_interval.count()); }},
        {"crash.enabled", "LOG_CRASH_HANDLER", {"false"}, "false",
         [](Config& c, const std::string& v) { c.crash_handler = v == "true"; },
         [](const Config& c) { return std::string(c.crash_handler ? "true" : "false"); }},
        {"crash.termination_signals", nullptr, {"true"}, "true",
         [](Config& c, const std::string& v) { c.crash_on_termination_signals = v == "true"; },
         [](const Config& c) { return std::string(c.crash_on_termination_signals ? "true" : "false"); }},
        {"crash.drain_timeout_ms", nullptr, {"0", "500"}, "1000",
         [](Config& c, const std::string& v) { c.crash_drain_timeout = std::chrono::milliseconds(std::stol(v)); },
         [num](const Config& c) { return num(c.crash_drain_timeout.count()); }},
        {"crash.watchdog_s", nullptr, {"1", "60"}, "30",
         [](Config& c, const std::string& v) { c.crash_watchdog = std::chrono::seconds(std::stol(v)); },
         [num](const Config& c) { return num(c.crash_watchdog.count()); }},
        {"crash.dump_prefix", nullptr, {"code/dump", "file/dump"}, "bg/dump",
         [](Config& c, const std::string& v) { c.crash_dump_prefix = v; },
         [](const Config& c) { return c.crash_dump_prefix; }},
        {"default_context.region", nullptr, {"code-region", "file-region"}, "bg-region",
         [](Config& c, const std::string& v) { c.default_context["region"] = v; },
         [](const Config& c) { return context_string(c, "region"); }},
    };

    // The file: every key at its background value, `tested` at `value` or absent.
    auto file_text = [&keys](const std::string& tested, const std::optional<std::string>& value) {
        std::map<std::string, std::vector<std::string>> sections;  // "" = top level
        auto add = [&sections](const std::string& dotted, const std::string& v) {
            auto dot = dotted.find('.');
            if (dot == std::string::npos) sections[""].push_back(dotted + ": " + v);
            else sections[dotted.substr(0, dot)].push_back("  " + dotted.substr(dot + 1) + ": " + v);
        };
        for (const auto& k : keys) {
            if (k.dotted != tested) add(k.dotted, k.background);
            else if (value) add(k.dotted, *value);
        }
        add("default_context.zone", "bg-zone");  // the section stays when region is absent
        std::string text;
        for (const auto& line : sections[""]) text += line + "\n";
        for (const auto& [section, lines] : sections) {
            if (section.empty()) continue;
            text += section + ":\n";
            for (const auto& line : lines) text += line + "\n";
        }
        return text;
    };

    struct Row {
        std::string code, file, env;
    };
    TempDir dir;
    std::string path = dir.file("logging.yaml");
    int checked = 0;
    for (const auto& k : keys) {
        const std::string def = k.get(Config{});
        std::vector<Row> rows;
        const auto& v = k.values;
        if (k.variable != nullptr && v.size() >= 3) rows = {{v[0], v[1], v[2]}};
        else if (k.variable == nullptr && v.size() >= 2) rows = {{v[0], v[1], ""}};
        else {
            const std::string& x = v[0];
            rows = {{x, def, x}, {def, x, def}, {x, x, def}};
        }
        for (const auto& row : rows) {
            const int layers = k.variable != nullptr ? 3 : 2;
            for (int mask = 0; mask < (1 << layers); ++mask) {
                const bool code = mask & 1, file = mask & 2, env = mask & 4;
                BOOST_TEST_CONTEXT(k.dotted << " code=" << (code ? row.code : "-") << " file="
                                            << (file ? row.file : "-") << " env=" << (env ? row.env : "-")) {
                    EnvGuard guard;
                    write_file(dir, "logging.yaml", file_text(k.dotted, file ? std::optional(row.file) : std::nullopt));
                    guard.set("LOG_CONFIG_FILE", path);
                    if (env) guard.set(k.variable, row.env);
                    Config base;
                    if (code) k.set(base, row.code);
                    BOOST_TEST_REQUIRE(k.get(base) == (code ? row.code : def));  // the setter works

                    auto result = Config::from_env(base);
                    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
                    const std::string expected = env ? row.env : file ? row.file : code ? row.code : def;
                    BOOST_TEST(k.get(*result) == expected);
                    ++checked;
                }
            }
        }
    }
    // 8 keys with a variable and three values x 1 row x 8 + 7 keys with a
    // variable and fewer x 3 rows x 8 + 11 two-valued keys without one x 1 row x 4
    // + 1 one-valued key without one x 3 rows x 4
    BOOST_TEST(checked == 288);
}

BOOST_AUTO_TEST_CASE(from_env_reads_log_config_file_then_the_environment) {
    TempDir dir;
    EnvGuard env;
    std::string path = write_file(dir, "logging.yaml", "level: ERROR\nfile:\n  max_size_mb: 7\n  max_backup_count: 2\n");

    // Without LOG_CONFIG_FILE no file is read.
    auto plain = Config::from_env(code_base());
    BOOST_TEST_REQUIRE(plain.has_value(), agora_test::error_text(plain));
    BOOST_TEST(plain->level == Level::info);

    env.set("LOG_CONFIG_FILE", path);
    env.set("LOG_MAX_FILE_SIZE_MB", "9");
    auto result = Config::from_env(code_base());
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    BOOST_TEST(result->level == Level::error);           // file
    BOOST_TEST(result->max_file_size_mb == 9u);          // environment over file
    BOOST_TEST(result->max_backup_count == 2u);          // file
    BOOST_TEST(result->service_name == "code-service");  // code
    BOOST_TEST(result->version == Config{}.version);     // default

    auto no_base = Config::from_env();
    BOOST_TEST_REQUIRE(no_base.has_value(), agora_test::error_text(no_base));
    BOOST_TEST(no_base->max_backup_count == 2u);
}

BOOST_AUTO_TEST_CASE(a_file_error_through_log_config_file_is_returned_as_is) {
    TempDir dir;
    EnvGuard env;
    std::string path = write_file(dir, "logging.yaml", "level: LOUD\n");
    env.set("LOG_CONFIG_FILE", path);
    env.set("LOG_LEVEL", "DEBUG");  // a good variable does not hide the bad file
    auto result = Config::from_env(code_base());
    BOOST_TEST_REQUIRE(!result.has_value());
    BOOST_TEST((result.error().code == ErrorCode::invalid_config_file));
    BOOST_TEST(result.error().message.starts_with(path + ":1: level: 'LOUD' is not accepted: expected DEBUG"),
               result.error().message);

    env.set("LOG_CONFIG_FILE", dir.file("missing.yaml"));
    auto missing = Config::from_env(code_base());
    BOOST_TEST_REQUIRE(!missing.has_value());
    BOOST_TEST((missing.error().code == ErrorCode::io_error));
    BOOST_TEST(contains(missing.error().message, dir.file("missing.yaml")), missing.error().message);
}

BOOST_AUTO_TEST_CASE(unreadable_files_are_io_errors_with_strerror) {
    TempDir dir;
    struct Case {
        std::string path;
        int error;
    };
    std::vector<Case> cases = {
        {dir.file("missing.yaml"), ENOENT},
        {dir.file("no/such/dir/logging.yaml"), ENOENT},
    };
    if (::geteuid() != 0) {  // root reads a file of mode 0000
        std::string locked = write_file(dir, "locked.yaml", "level: INFO\n");
        ::chmod(locked.c_str(), 0);
        cases.push_back({locked, EACCES});
    }
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.path) {
            auto result = Config::from_file(c.path, code_base());
            BOOST_TEST_REQUIRE(!result.has_value());
            BOOST_TEST((result.error().code == ErrorCode::io_error));
            BOOST_TEST(result.error().message ==
                       c.path + ": cannot read the configuration file: " + std::strerror(c.error));
        }
    }
}

namespace {

/// from_file(path)'s error, required to be io_error and to read
/// "<path>: cannot read the configuration file: <what>".
void expect_unreadable(const std::string& path, const std::string& what) {
    auto result = Config::from_file(path, code_base());
    BOOST_TEST_REQUIRE(!result.has_value());
    BOOST_TEST((result.error().code == ErrorCode::io_error), result.error().message);
    BOOST_TEST(result.error().message == path + ": cannot read the configuration file: " + what);
}

}  // namespace

BOOST_AUTO_TEST_CASE(devices_and_directories_are_refused_before_reading) {
    // /dev/zero and /dev/urandom never end: read, they would fill memory.
    TempDir dir;
    expect_unreadable("/dev/zero", "is a character device, not a regular file");
    expect_unreadable("/dev/urandom", "is a character device, not a regular file");
    expect_unreadable(dir.path().string(), "is a directory, not a regular file");
}

BOOST_AUTO_TEST_CASE(a_fifo_is_refused_without_blocking) {
    // Nobody ever opens the FIFO for writing: a blocking open would not return.
    TempDir dir;
    const std::string fifo = dir.file("logging.yaml");
    BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0, std::strerror(errno));
    expect_unreadable(fifo, "is a FIFO, not a regular file");
}

BOOST_AUTO_TEST_CASE(a_file_above_1_mib_is_refused) {
    TempDir dir;
    // A valid file of exactly 1 MiB is read: a comment pads it.
    std::string text = "level: DEBUG\n#";
    text += std::string(1024 * 1024 - text.size() - 1, 'x') + "\n";
    const std::string at_cap = write_file(dir, "at-cap.yaml", text);
    auto result = Config::from_file(at_cap, code_base());
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    BOOST_TEST((result->level == Level::debug));

    const std::string above = write_file(dir, "above-cap.yaml", text + "x");
    expect_unreadable(above, "is 1048577 bytes, above the cap of 1048576 bytes (1 MiB)");
}

namespace {

/// A file like /etc/shadow: a YAML scalar of several lines.
constexpr std::string_view kSecret = "SECRETHASH";
const std::string kShadow = "root:$y$SECRETHASH:19000:0:99999:7:::\n"
                            "daemon:$y$SECRETHASH:19000:0:99999:7:::\n"
                            "admin:$y$SECRETHASH:19000:0:99999:7:::\n";

}  // namespace

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_configuration_is_never_quoted) {
    TempDir dir;
    struct Case {
        std::string name, text, expected;  // expected: after "<path>"
    };
    const std::vector<Case> cases = {
        // Its lines end in ':', so the file parses as a map whose first key
        // is the whole line: not a key name, so not shown.
        {"shadow", kShadow,
         ":1: top level: an unknown key that is not a key name (not shown): expected service_name,"},
        // The top level is a scalar: its kind is named, never its text.
        {"passwd", "root:x:0:0:root:/root:SECRETHASH\ndaemon:x:1:1:19000:/usr/sbin\n",
         ":1: top level: a scalar is not accepted: expected a map of settings (service_name,"},
        {"shadow-seq", "- root:$y$SECRETHASH:19000\n- daemon:$y$SECRETHASH:19000\n",
         ":1: top level: a sequence is not accepted: expected a map of settings"},
        // NUL bytes or bytes that are not UTF-8: not a text file.
        {"binary", std::string("\x7f" "ELF\x02\x01\x01\0\0SECRETHASH\n", 15) + "SECRETHASH",
         ":1: not a text file (a NUL byte at byte 7): expected a YAML map of settings"},
        {"latin1", "level: INFO\nsecret: SECRETHASH\xe9\n", ":2: not a text file (invalid UTF-8 at byte 30)"},
        {"overlong", "a: \xc0\xafSECRETHASH\n", ":1: not a text file (invalid UTF-8 at byte 3)"},
        {"surrogate", "a: \xed\xa0\x80SECRETHASH\n", ":1: not a text file (invalid UTF-8 at byte 3)"},
        // yaml-cpp's reasons that append what they found are cut before it.
        {"escape", "a: \"\\qSECRETHASH\"\n", ":1: YAML syntax error at column "},
        {"version", "%YAML SECRETHASH\n---\na: 1\n", ":1: YAML syntax error at column "},
        // An unknown key is quoted only if it is a name, and cut to 64 bytes.
        {"long-key", std::string(70, 'k') + "SECRETHASH: 1\n", ":1: " + std::string(64, 'k') + "...: unknown key"},
        {"control-key", "\"a\\x1bSECRETHASH\": 19000\n",
         ":1: top level: an unknown key that is not a key name (not shown): expected service_name,"},
        {"section-key", "file:\n  \"SECRETHASH 19000\": 1\n",
         ":2: file: an unknown key that is not a key name (not shown): expected enabled, path,"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            const std::string path = write_file(dir, c.name, c.text);
            auto result = Config::from_file(path, code_base());
            BOOST_TEST_REQUIRE(!result.has_value());
            BOOST_TEST((result.error().code == ErrorCode::invalid_config_file), result.error().message);
            BOOST_TEST(result.error().message.starts_with(path + c.expected), result.error().message);
            BOOST_TEST(!contains(result.error().message, kSecret), result.error().message);
            BOOST_TEST(!contains(result.error().message, "19000"), result.error().message);
        }
    }
}

BOOST_AUTO_TEST_CASE(hostile_files_through_log_config_file) {
    TempDir dir;
    EnvGuard env;
    const std::string fifo = dir.file("fifo.yaml");
    BOOST_TEST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0, std::strerror(errno));
    const std::string shadow = write_file(dir, "shadow", kShadow);
    struct Case {
        std::string path, expected;  // expected: after "<path>"
        ErrorCode code;
    };
    const std::vector<Case> cases = {
        {"/dev/zero", ": cannot read the configuration file: is a character device, not a regular file",
         ErrorCode::io_error},
        {"/dev/urandom", ": cannot read the configuration file: is a character device, not a regular file",
         ErrorCode::io_error},
        {fifo, ": cannot read the configuration file: is a FIFO, not a regular file", ErrorCode::io_error},
        {dir.path().string(), ": cannot read the configuration file: is a directory, not a regular file",
         ErrorCode::io_error},
        {shadow, ":1: top level: an unknown key that is not a key name (not shown)", ErrorCode::invalid_config_file},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.path) {
            env.set("LOG_CONFIG_FILE", c.path);
            auto result = Config::from_env(code_base());
            BOOST_TEST_REQUIRE(!result.has_value());
            BOOST_TEST((result.error().code == c.code), result.error().message);
            BOOST_TEST(result.error().message.starts_with(c.path + c.expected), result.error().message);
            BOOST_TEST(!contains(result.error().message, kSecret), result.error().message);
        }
    }
}

BOOST_AUTO_TEST_CASE(syntax_errors_name_the_file_and_line) {
    TempDir dir;
    struct Case {
        std::string text;
        int line;
    };
    const std::vector<Case> cases = {
        // yaml-cpp names the line where it finds the problem.
        {"level: INFO\nfile: {enabled: true, path: a.log\nqueue:\n  size: 4096\n", 3},  // unclosed flow map
        {"level: INFO\nconsole:\n  enabled: true\n   format: json\n", 4},                 // bad indentation
        {"service_name: md\nlevel: \"INFO\" extra\n", 2},                                // text after a quote
        {"level: INFO\n\tfile: x\n", 2},                                                  // tab indentation
        {"level: a: b\n", 1},                                                            // map value in a plain scalar
        {"a: &x 1\nb: *y\n", 2},                                                          // unknown alias
        {"level: [INFO\n", 2},                                                            // unclosed sequence
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.text) {
            std::string path = write_file(dir, "logging.yaml", c.text);
            auto result = Config::from_file(path, code_base());
            BOOST_TEST_REQUIRE(!result.has_value());
            BOOST_TEST((result.error().code == ErrorCode::invalid_config_file));
            BOOST_TEST(result.error().message.starts_with(path + ":" + std::to_string(c.line) + ": YAML syntax error"),
                       result.error().message);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_message_names_file_line_key_value_and_what_is_accepted) {
    TempDir dir;
    std::string message = expect_file_error(dir, R"(service_name: market-data
environment: production
version: 1.4.2
level: INFO
file:
  enabled: true
  max_size_mb: big
)",
                                            "file.max_size_mb", 7);
    BOOST_TEST(message == dir.file("logging.yaml") +
                              ":7: file.max_size_mb: 'big' is not accepted: expected an integer number of MiB from 1 "
                              "to 1048576");
}

BOOST_AUTO_TEST_CASE(values_of_the_wrong_type_are_errors) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string value;     // how the value is shown
        std::string accepted;  // a fragment of what is accepted
    };
    const std::vector<Case> cases = {
        {"file:\n  max_size_mb: big\n", "file.max_size_mb", 2, "'big'", "MiB from 1 to 1048576"},
        {"file:\n  max_size_mb: 1.5\n", "file.max_size_mb", 2, "'1.5'", "1048576"},
        {"file:\n  max_size_mb: [1]\n", "file.max_size_mb", 2, "a sequence", "1048576"},
        {"file:\n  path: {a: b}\n", "file.path", 2, "a map", "a file path"},
        {"file:\n  path:\n", "file.path", 2, "an empty value (null)", "a file path"},
        {"file:\n  path: \"\"\n", "file.path", 2, "''", "a file path"},
        {"level: {name: INFO}\n", "level", 1, "a map", "DEBUG, INFO"},
        {"level:\n  - INFO\n", "level", 1, "a sequence", "DEBUG, INFO"},
        {"console: true\n", "console", 1, "'true'", "a map of console settings (enabled, format or colors)"},
        {"console:\n  enabled: maybe\n", "console.enabled", 2, "'maybe'", "true, false"},
        {"console:\n  colors: 2\n", "console.colors", 2, "'2'", "true, false"},
        {"file: logs/app.log\n", "file", 1, "'logs/app.log'", "a map of file settings"},
        {"file:\n  enabled: [true]\n", "file.enabled", 2, "a sequence", "true, false"},
        {"queue: 4096\n", "queue", 1, "'4096'", "a map of queue settings"},
        {"queue:\n  size: 1k\n", "queue.size", 2, "'1k'", "4096 to 4294967296"},
        {"queue:\n  max_size: lots\n", "queue.max_size", 2, "'lots'", "4294967296"},
        {"queue:\n  full_policy: [grow]\n", "queue.full_policy", 2, "a sequence", "grow, block or drop"},
        {"backend: []\n", "backend", 1, "a sequence", "a map of backend settings"},
        {"backend:\n  cpu: one\n", "backend.cpu", 2, "'one'", "-1 (not pinned)"},
        {"backend:\n  idle_sleep_us: 1ms\n", "backend.idle_sleep_us", 2, "'1ms'", "0 to 1000000"},
        {"max_message_length: long\n", "max_message_length", 1, "'long'", "64 to 16777216"},
        {"service_name: \"\"\n", "service_name", 1, "''", "a non-empty service name"},
        {"service_name: [a]\n", "service_name", 1, "a sequence", "service name"},
        {"host: ~\n", "host", 1, "an empty value (null)", "a host name"},
        {"file:\n  format: [binary]\n", "file.format", 2, "a sequence", "json or binary"},
        {"crash: true\n", "crash", 1, "'true'", "a map of crash handler settings (enabled, termination_signals,"},
        {"crash:\n  enabled: maybe\n", "crash.enabled", 2, "'maybe'", "true, false"},
        {"crash:\n  termination_signals: [yes]\n", "crash.termination_signals", 2, "a sequence", "true, false"},
        {"crash:\n  drain_timeout_ms: 1s\n", "crash.drain_timeout_ms", 2, "'1s'", "milliseconds"},
        {"crash:\n  watchdog_s: 1.5\n", "crash.watchdog_s", 2, "'1.5'", "seconds"},
        {"crash:\n  dump_prefix: {a: b}\n", "crash.dump_prefix", 2, "a map", "a file name prefix"},
        {"crash:\n  dump_prefix:\n", "crash.dump_prefix", 2, "an empty value (null)", "a file name prefix"},
        {"default_context: eu-west\n", "default_context", 1, "'eu-west'", "a map of context keys"},
        {"default_context:\n", "default_context", 1, "an empty value (null)", "a map of context keys"},
        {"level: !secret INFO\n", "level", 1, "the tag '!secret'", "DEBUG, INFO"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.text) {
            std::string message = expect_file_error(dir, c.text, c.key, c.line);
            BOOST_TEST(contains(message, c.value + " is not accepted: expected "), message);
            BOOST_TEST(contains(message, c.accepted), message);
        }
    }
}

BOOST_AUTO_TEST_CASE(values_out_of_range_are_errors) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string value, accepted;
    };
    const std::vector<Case> cases = {
        {"file:\n  max_size_mb: 0\n", "file.max_size_mb", 2, "'0'", "from 1 to 1048576"},
        {"file:\n  max_size_mb: 1048577\n", "file.max_size_mb", 2, "'1048577'", "from 1 to 1048576"},
        {"file:\n  max_size_mb: -3\n", "file.max_size_mb", 2, "'-3'", "from 1 to 1048576"},
        {"file:\n  max_size_mb: 99999999999999999999999\n", "file.max_size_mb", 2, "'99999999999999999999999'", "1048576"},
        {"file:\n  max_backup_count: 1001\n", "file.max_backup_count", 2, "'1001'", "from 0 to 1000"},
        {"file:\n  max_backup_count: -1\n", "file.max_backup_count", 2, "'-1'", "from 0 to 1000"},
        {"queue:\n  size: 4095\n", "queue.size", 2, "'4095'", "from 4096 to 4294967296"},
        {"queue:\n  size: 4294967297\n", "queue.size", 2, "'4294967297'", "from 4096 to 4294967296"},
        {"queue:\n  max_size: 4294967297\n", "queue.max_size", 2, "'4294967297'", "4294967296"},
        {"queue:\n  size: 65536\n  max_size: 8192\n", "queue.max_size", 3, "'8192'", "from queue.size (65536)"},
        // A largest ring below the base's ring (1 MiB by default).
        {"queue:\n  max_size: 65536\n", "queue.max_size", 2, "'65536'", "from queue.size (1048576)"},
        {"max_message_length: 63\n", "max_message_length", 1, "'63'", "from 64 to 16777216"},
        {"max_message_length: 16777217\n", "max_message_length", 1, "'16777217'", "from 64 to 16777216"},
        {"backend:\n  idle_sleep_us: 1000001\n", "backend.idle_sleep_us", 2, "'1000001'", "from 0 to 1000000"},
        {"backend:\n  ordering_grace_us: -1\n", "backend.ordering_grace_us", 2, "'-1'", "from 0 to 1000000"},
        {"backend:\n  cpu: -2\n", "backend.cpu", 2, "'-2'", "-1 (not pinned)"},
        {"backend:\n  cpu: 2147483648\n", "backend.cpu", 2, "'2147483648'", "2147483647"},
        {"crash:\n  drain_timeout_ms: 60001\n", "crash.drain_timeout_ms", 2, "'60001'", "from 0 to 60000"},
        {"crash:\n  drain_timeout_ms: -1\n", "crash.drain_timeout_ms", 2, "'-1'", "from 0 to 60000"},
        {"crash:\n  watchdog_s: 0\n", "crash.watchdog_s", 2, "'0'", "from 1 to 3600"},
        {"crash:\n  watchdog_s: 3601\n", "crash.watchdog_s", 2, "'3601'", "from 1 to 3600"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.text) {
            std::string message = expect_file_error(dir, c.text, c.key, c.line);
            BOOST_TEST(contains(message, c.value + " is not accepted: expected "), message);
            BOOST_TEST(contains(message, c.accepted), message);
        }
    }
}

BOOST_AUTO_TEST_CASE(unknown_names_are_errors) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string value, accepted;
    };
    const std::vector<Case> cases = {
        {"service_name: x\nlevel: LOUD\n", "level", 2, "'LOUD'", "DEBUG, INFO, WARNING, ERROR or CRITICAL"},
        {"level: TRACE\n", "level", 1, "'TRACE'", "DEBUG, INFO, WARNING, ERROR or CRITICAL"},
        {"console:\n  format: xml\n", "console.format", 2, "'xml'", "json or text"},
        {"queue:\n  full_policy: spill\n", "queue.full_policy", 2, "'spill'", "grow, block or drop"},
        {"file:\n  format: text\n", "file.format", 2, "'text'", "json or binary"},
        {"environment: prod\n", "environment", 1, "'prod'", "development, staging or production"},
        {"environment: Production\n", "environment", 1, "'Production'", "production"},
        {"version: 1.2\n", "version", 1, "'1.2'", "MAJOR.MINOR.PATCH"},
        {"version: latest\n", "version", 1, "'latest'", "MAJOR.MINOR.PATCH"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.text) {
            std::string message = expect_file_error(dir, c.text, c.key, c.line);
            BOOST_TEST(contains(message, c.value + " is not accepted: expected "), message);
            BOOST_TEST(contains(message, c.accepted), message);
        }
    }
}

BOOST_AUTO_TEST_CASE(unknown_and_duplicate_keys_are_errors) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string what;
    };
    const std::vector<Case> cases = {
        {"level: INFO\ncolour: true\n", "colour", 2, "unknown key: expected service_name, environment,"},
        {"queue_size: 4096\n", "queue_size", 1, "unknown key"},
        {"file:\n  enabled: true\n  max_size: 100\n", "file.max_size", 3,
         "unknown key: expected enabled, path, max_size_mb, max_backup_count, format or retry_interval_ms"},
        {"crash:\n  watchdog: 5\n", "crash.watchdog", 2,
         "unknown key: expected enabled, termination_signals, drain_timeout_ms, watchdog_s or dump_prefix"},
        {"console:\n  colour: true\n", "console.colour", 2, "unknown key: expected enabled, format or colors"},
        {"queue: {policy: drop}\n", "queue.policy", 1, "unknown key: expected size, max_size, full_policy or spare_rings"},
        {"backend:\n  threads: 2\n", "backend.threads", 2, "unknown key: expected idle_sleep_us, cpu or ordering_grace_us"},
        {"level: INFO\nlevel: DEBUG\n", "level", 2, "duplicate key (first at line 1)"},
        {"file:\n  path: a.log\n  path: b.log\n", "file.path", 3, "duplicate key (first at line 2)"},
        {"default_context:\n  region: a\n  region: b\n", "default_context.region", 3, "duplicate key (first at line 2)"},
        {"? [a, b]\n: 1\n", "top level", 1, "a sequence as a key is not accepted: expected a key name"},
        {"file:\n  {a: 1}: 2\n", "file", 2, "a map as a key is not accepted"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.text) {
            std::string message = expect_file_error(dir, c.text, c.key, c.line);
            BOOST_TEST(contains(message, c.what), message);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_top_level_that_is_not_one_map_is_an_error) {
    TempDir dir;
    struct Case {
        std::string text;
        std::string expected;  // after "<path>"
    };
    const std::vector<Case> cases = {
        {"- level: INFO\n", ":1: top level: a sequence is not accepted: expected a map of settings (service_name,"},
        {"# settings\n\nINFO\n", ":3: top level: a scalar is not accepted: expected a map of settings"},
        {"~\n", ":1: top level: an empty value (null) is not accepted: expected a map of settings"},
        {"", ": the file holds no YAML document: expected a map of settings"},
        {"# only a comment\n", ": the file holds no YAML document: expected a map of settings"},
        {"level: INFO\n---\nlevel: DEBUG\n", ":3: second document: a second YAML document is not accepted"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT("'" << c.text << "'") {
            std::string path = write_file(dir, "logging.yaml", c.text);
            auto result = Config::from_file(path, code_base());
            BOOST_TEST_REQUIRE(!result.has_value());
            BOOST_TEST((result.error().code == ErrorCode::invalid_config_file));
            BOOST_TEST(result.error().message.starts_with(path + c.expected), result.error().message);
        }
    }
}

BOOST_AUTO_TEST_CASE(default_context_values_that_are_not_json_scalars_are_errors) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string value, accepted;
    };
    const std::vector<Case> cases = {
        {"default_context:\n  region: eu\n  tags: [a, b]\n", "default_context.tags", 3, "a sequence",
         "a string, an integer, a number or true/false"},
        {"default_context:\n  owner: {team: md}\n", "default_context.owner", 2, "a map", "a string, an integer"},
        {"default_context:\n  owner:\n", "default_context.owner", 2, "an empty value (null)", "a string, an integer"},
        {"default_context:\n  owner: null\n", "default_context.owner", 2, "an empty value (null)", "a string"},
        {"default_context:\n  ratio: .inf\n", "default_context.ratio", 2, "'.inf'", "JSON has no infinity or NaN"},
        {"default_context:\n  ratio: .nan\n", "default_context.ratio", 2, "'.nan'", "JSON has no infinity or NaN"},
        {"default_context:\n  ratio: 1e999\n", "default_context.ratio", 2, "'1e999'", "a finite number"},
        {"default_context:\n  id: 9223372036854775808\n", "default_context.id", 2, "'9223372036854775808'",
         "quote it to keep it as a string"},
        {"default_context:\n  id: !!int 5\n", "default_context.id", 2, "the tag 'tag:yaml.org,2002:int'", "!!str"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.text) {
            std::string message = expect_file_error(dir, c.text, c.key, c.line);
            BOOST_TEST(contains(message, c.value + " is not accepted: expected "), message);
            BOOST_TEST(contains(message, c.accepted), message);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_refused_file_leaves_nothing_half_applied) {
    // The Error replaces the Config: the caller's base is untouched and no
    // partly read Config is returned.
    TempDir dir;
    Config base = code_base();
    std::string path = write_file(dir, "logging.yaml", "level: DEBUG\nfile:\n  max_size_mb: 0\n");
    auto result = Config::from_file(path, base);
    BOOST_TEST(!result.has_value());
    BOOST_TEST(base.level == Level::info);
    BOOST_TEST(base.max_file_size_mb == 100u);
}

BOOST_AUTO_TEST_CASE(the_sample_deploy_file_is_accepted) {
    // deploy/logging.yaml documents every key: it must read and validate.
    const std::string path = std::string(AGORA_TEST_SOURCE_ROOT) + "/deploy/logging.yaml";
    auto result = Config::from_file(path, Config{});
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    BOOST_TEST(result->validate().has_value(), agora_test::error_text(result->validate()));
    BOOST_TEST(result->service_name == "market-data");
    BOOST_TEST(!result->default_context.empty());
}

// ---- sensitive data ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(sensitive_data_section_is_read) {
    TempDir dir;
    const std::string path = write_file(dir, "logging.yaml", R"(sensitive_data:
  enabled: true
  redact_fields: [password, pin]
  mask_fields:
    credit_card: {show_last: 4, mask_char: "*"}
    ssn: {show_last: 4, mask_char: "X"}
    email: {mask_domain: false}
    phone: {kind: last_chars, show_last: 2}
  redact_patterns:
    - 'Bearer\s+[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+'
    - '\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b'
  redaction_text: "<hidden>"
)");
    auto c = Config::from_file(path, code_base());
    BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
    BOOST_TEST(c->validate().has_value(), agora_test::error_text(c->validate()));
    const auto& s = c->sensitive_data;
    BOOST_TEST(s.enabled);
    BOOST_TEST(s.redact_fields == (std::vector<std::string>{"password", "pin"}));
    BOOST_TEST_REQUIRE(s.mask_fields.size() == 4u);
    BOOST_TEST((s.mask_fields.at("credit_card").kind == agora::log::MaskRule::Kind::last_chars));
    BOOST_TEST(s.mask_fields.at("ssn").mask_char == 'X');
    BOOST_TEST((s.mask_fields.at("email").kind == agora::log::MaskRule::Kind::email));
    BOOST_TEST(!s.mask_fields.at("email").mask_domain);
    BOOST_TEST(s.mask_fields.at("phone").show_last == 2u);
    BOOST_TEST(s.redact_patterns.size() == 2u);
    BOOST_TEST(s.redaction_text == "<hidden>");

    // Absent keys keep the base's values; enabled alone changes only that.
    const std::string off = write_file(dir, "off.yaml", "sensitive_data:\n  enabled: no\n");
    auto o = Config::from_file(off, code_base());
    BOOST_TEST_REQUIRE(o.has_value(), agora_test::error_text(o));
    BOOST_TEST(!o->sensitive_data.enabled);
    BOOST_TEST(o->sensitive_data.redact_fields == agora::log::SensitiveDataConfig{}.redact_fields);
    BOOST_TEST(o->sensitive_data.redaction_text == "[REDACTED]");
}

BOOST_AUTO_TEST_CASE(sensitive_data_errors_name_the_key) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string fragment;
    };
    const std::vector<Case> cases = {
        {"sensitive_data: true\n", "sensitive_data", 1, "a map of sensitive data settings"},
        {"sensitive_data:\n  redact: [a]\n", "sensitive_data.redact", 2, "unknown key"},
        {"sensitive_data:\n  enabled: perhaps\n", "sensitive_data.enabled", 2, "'perhaps' is not accepted"},
        {"sensitive_data:\n  redact_fields: password\n", "sensitive_data.redact_fields", 2, "a sequence of"},
        {"sensitive_data:\n  redact_fields: [a, {b: c}]\n", "sensitive_data.redact_fields[1]", 2, "a map"},
        {"sensitive_data:\n  redact_fields: [a, \"\"]\n", "sensitive_data.redact_fields[1]", 2, "non-empty"},
        {"sensitive_data:\n  redact_patterns:\n    - 'ok'\n    - '(unclosed'\n", "sensitive_data.redact_patterns[1]", 4,
         "'(unclosed' is not accepted: expected an RE2 regular expression (missing )"},
        {"sensitive_data:\n  mask_fields: [card]\n", "sensitive_data.mask_fields", 2, "a map of field names"},
        {"sensitive_data:\n  mask_fields:\n    card: 4\n", "sensitive_data.mask_fields.card", 3, "a map of mask settings"},
        {"sensitive_data:\n  mask_fields:\n    card: {show: 4}\n", "sensitive_data.mask_fields.card.show", 3,
         "unknown key"},
        {"sensitive_data:\n  mask_fields:\n    card: {show_last: -1}\n", "sensitive_data.mask_fields.card.show_last", 3,
         "from 0 to 1024"},
        {"sensitive_data:\n  mask_fields:\n    card: {mask_char: \"**\"}\n", "sensitive_data.mask_fields.card.mask_char",
         3, "one printable ASCII character"},
        {"sensitive_data:\n  mask_fields:\n    card: {kind: hash}\n", "sensitive_data.mask_fields.card.kind", 3,
         "last_chars or email"},
        {"sensitive_data:\n  mask_fields:\n    mail: {mask_domain: true, show_last: 2}\n",
         "sensitive_data.mask_fields.mail", 3, "do not apply to an email rule"},
        {"sensitive_data:\n  redaction_text: [x]\n", "sensitive_data.redaction_text", 2, "at most 256 bytes"},
        {"sensitive_data:\n  enabled: true\n  enabled: false\n", "sensitive_data.enabled", 3, "duplicate key"},
    };
    for (const auto& c : cases) {
        const std::string message = expect_file_error(dir, c.text, c.key, c.line);
        BOOST_TEST(contains(message, c.fragment), message << "\nlacks: " << c.fragment);
    }
}

// ---- sampling and rate limiting ---------------------------------------------

BOOST_AUTO_TEST_CASE(sampling_section_is_read) {
    TempDir dir;
    const std::string path = write_file(dir, "logging.yaml", R"(sampling:
  enabled: true
  rates:
    DEBUG: 0.01
    info: 0.1
    WARNING: 1.0
  always_log_patterns:
    - '.*startup.*'
    - '.*health.*check.*'
  rate_limit:
    messages_per_second: 1000
    burst_size: 5000
  report_interval_ms: 2500
  seed: 99
)");
    auto c = Config::from_file(path, code_base());
    BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
    BOOST_TEST(c->validate().has_value(), agora_test::error_text(c->validate()));
    const auto& s = c->sampling;
    BOOST_TEST(s.enabled);
    BOOST_TEST(s.rates.at(Level::debug) == 0.01);
    BOOST_TEST(s.rates.at(Level::info) == 0.1);
    BOOST_TEST(s.rates.at(Level::warning) == 1.0);
    BOOST_TEST(s.rates.at(Level::error) == 1.0);  // not listed: 1.0
    BOOST_TEST(s.always_log_patterns == (std::vector<std::string>{".*startup.*", ".*health.*check.*"}));
    BOOST_TEST_REQUIRE(s.rate_limit.has_value());
    BOOST_TEST(s.rate_limit->messages_per_second == 1000.0);
    BOOST_TEST(s.rate_limit->burst_size == 5000u);
    BOOST_TEST(s.report_interval.count() == 2500);
    BOOST_TEST(s.seed == 99u);

    // rate_limit: null turns off the base's limit; a partial map keeps the rest.
    Config base = code_base();
    base.sampling.rate_limit = agora::log::RateLimitConfig{50.0, 7};
    const std::string off = write_file(dir, "off.yaml", "sampling:\n  rate_limit: null\n");
    auto o = Config::from_file(off, base);
    BOOST_TEST_REQUIRE(o.has_value(), agora_test::error_text(o));
    BOOST_TEST(!o->sampling.rate_limit.has_value());
    const std::string partial = write_file(dir, "partial.yaml", "sampling:\n  rate_limit: {burst_size: 9}\n");
    auto p = Config::from_file(partial, base);
    BOOST_TEST_REQUIRE(p.has_value(), agora_test::error_text(p));
    BOOST_TEST(p->sampling.rate_limit->messages_per_second == 50.0);
    BOOST_TEST(p->sampling.rate_limit->burst_size == 9u);
}

BOOST_AUTO_TEST_CASE(sampling_errors_name_the_key) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string fragment;
    };
    const std::vector<Case> cases = {
        {"sampling: yes\n", "sampling", 1, "a map of sampling settings"},
        {"sampling:\n  rate: 0.5\n", "sampling.rate", 2, "unknown key"},
        {"sampling:\n  rates: [0.5]\n", "sampling.rates", 2, "a map of levels"},
        {"sampling:\n  rates:\n    INFO: 1.5\n", "sampling.rates.INFO", 3, "from 0.0 to 1.0"},
        {"sampling:\n  rates:\n    INFO: .nan\n", "sampling.rates.INFO", 3, "from 0.0 to 1.0"},
        {"sampling:\n  rates:\n    LOUD: 0.5\n", "sampling.rates.LOUD", 3, "DEBUG, INFO"},
        {"sampling:\n  always_log_patterns: ['(x']\n", "sampling.always_log_patterns[0]", 2,
         "expected an RE2 regular expression"},
        {"sampling:\n  rate_limit: 100\n", "sampling.rate_limit", 2, "a map of rate limit settings"},
        {"sampling:\n  rate_limit: {messages_per_second: 0}\n", "sampling.rate_limit.messages_per_second", 2,
         "above 0"},
        {"sampling:\n  rate_limit: {burst_size: 0}\n", "sampling.rate_limit.burst_size", 2, "from 1 to"},
        {"sampling:\n  rate_limit: {per_second: 5}\n", "sampling.rate_limit.per_second", 2, "unknown key"},
        {"sampling:\n  report_interval_ms: -1\n", "sampling.report_interval_ms", 2, "from 0 to 3600000"},
        {"sampling:\n  seed: abc\n", "sampling.seed", 2, "an integer"},
    };
    for (const auto& c : cases) {
        const std::string message = expect_file_error(dir, c.text, c.key, c.line);
        BOOST_TEST(contains(message, c.fragment), message << "\nlacks: " << c.fragment);
    }
}

// ---- audit entries ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(audit_section_is_read) {
    TempDir dir;
    const std::string path = write_file(dir, "logging.yaml", R"(audit:
  enabled: true
  file_path: /var/log/agora/audit/auth-audit.log
  include_user_id: false
  include_ip_address: false
  include_request_id: false
  retention_days: 30
  max_size_mb: 7
  sync: false
)");
    auto c = Config::from_file(path, code_base());
    BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
    const auto& a = c->audit;
    BOOST_TEST(a.enabled);
    BOOST_TEST(a.file_path == "/var/log/agora/audit/auth-audit.log");
    BOOST_TEST(!a.include_user_id);
    BOOST_TEST(!a.include_ip_address);
    BOOST_TEST(!a.include_request_id);
    BOOST_TEST(a.retention_days == 30u);
    BOOST_TEST(a.max_file_size_mb == 7u);
    BOOST_TEST(!a.sync);
}

BOOST_AUTO_TEST_CASE(audit_errors_name_the_key) {
    TempDir dir;
    struct Case {
        std::string text, key;
        int line;
        std::string fragment;
    };
    const std::vector<Case> cases = {
        {"audit: yes\n", "audit", 1, "a map of audit log settings"},
        {"audit:\n  path: x\n", "audit.path", 2, "unknown key"},
        {"audit:\n  file_path: ''\n", "audit.file_path", 2, "a file path"},
        {"audit:\n  retention_days: 0\n", "audit.retention_days", 2, "from 1 to 36500"},
        {"audit:\n  max_size_mb: 0\n", "audit.max_size_mb", 2, "from 1 to 1048576"},
        {"audit:\n  sync: sometimes\n", "audit.sync", 2, "true, false"},
    };
    for (const auto& c : cases) {
        const std::string message = expect_file_error(dir, c.text, c.key, c.line);
        BOOST_TEST(contains(message, c.fragment), message << "\nlacks: " << c.fragment);
    }
}

#else  // !AGORA_TEST_HAVE_YAML

BOOST_AUTO_TEST_CASE(from_file_refuses_every_file_saying_yaml_is_unavailable) {
    // Good, bad, missing: no file is read, each is the same error naming the
    // file and the missing dependency, and the caller's base is untouched.
    TempDir dir;
    Config base = code_base();
    const std::vector<std::string> paths = {
        write_file(dir, "logging.yaml", "level: ERROR\n"),
        write_file(dir, "bad.yaml", "level: LOUD\n"),
        dir.file("missing.yaml"),
        std::string(AGORA_TEST_SOURCE_ROOT) + "/deploy/logging.yaml",
    };
    for (const std::string& path : paths) {
        BOOST_TEST_CONTEXT(path) {
            for (const auto& result : {Config::from_file(path, base), Config::from_file(path)}) {
                BOOST_TEST_REQUIRE(!result.has_value());
                BOOST_TEST((result.error().code == ErrorCode::invalid_config_file), result.error().message);
                BOOST_TEST(result.error().message.starts_with(path + ": "), result.error().message);
                BOOST_TEST(contains(result.error().message, "without yaml-cpp"), result.error().message);
            }
        }
    }
    BOOST_TEST(base.service_name == "code-service");
    BOOST_TEST(base.level == Level::info);
}

BOOST_AUTO_TEST_CASE(log_config_file_fails_loudly_instead_of_being_ignored) {
    TempDir dir;
    EnvGuard env;
    auto plain = Config::from_env(code_base());
    BOOST_TEST_REQUIRE(plain.has_value(), agora_test::error_text(plain));

    const std::string path = write_file(dir, "logging.yaml", "level: ERROR\n");
    env.set("LOG_CONFIG_FILE", path);
    env.set("LOG_LEVEL", "DEBUG");  // a good variable does not hide the unread file
    auto result = Config::from_env(code_base());
    BOOST_TEST_REQUIRE(!result.has_value());
    BOOST_TEST((result.error().code == ErrorCode::invalid_config_file), result.error().message);
    BOOST_TEST(result.error().message.starts_with(path + ": "), result.error().message);
    BOOST_TEST(contains(result.error().message, "without yaml-cpp"), result.error().message);
}

#endif  // AGORA_TEST_HAVE_YAML
