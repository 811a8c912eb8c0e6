// Configuration: Config::from_env() rejects every bad value with an error
// naming the variable, the value and what is accepted, and applies good
// values; Config::validate() and initialize() reject bad configs;
// initialize() twice is refused; an unwritable log file falls back to the
// console with a WARNING entry.

#define BOOST_TEST_MODULE config
#include "common.hpp"

#include <functional>

using agora::log::Config;
using agora::log::ErrorCode;
using agora::log::Level;

namespace {

using agora_test::EnvGuard;

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

Config valid_base() {
    Config c;
    c.service_name = "config-test";
    return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_environment_values_are_errors_naming_variable_value_and_accepted) {
    struct Case {
        const char* variable;
        std::string value;
        std::vector<std::string> accepted;  // fragments of "what is accepted"
    };
    const std::vector<Case> cases = {
        {"LOG_LEVEL", "LOUD", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}},
        {"LOG_LEVEL", "", {"DEBUG"}},
        {"LOG_MAX_FILE_SIZE_MB", "-3", {"1", "1048576"}},
        {"LOG_MAX_FILE_SIZE_MB", "abc", {"1048576"}},
        {"LOG_MAX_FILE_SIZE_MB", "0", {"1048576"}},
        {"LOG_MAX_FILE_SIZE_MB", "10MB", {"1048576"}},
        {"LOG_MAX_FILE_SIZE_MB", " 5", {"1048576"}},
        {"LOG_MAX_FILE_SIZE_MB", "99999999999999999999999", {"1048576"}},
        {"LOG_CONSOLE_FORMAT", "xml", {"json", "text"}},
        {"LOG_CONSOLE_ENABLED", "maybe", {"true", "false"}},
        {"LOG_CONSOLE_COLORS", "2", {"true", "false"}},
        {"LOG_FILE_ENABLED", "enabled", {"true", "false"}},
        {"LOG_FILE_ENABLED", "", {"true", "false"}},
        {"LOG_MAX_BACKUP_COUNT", "x", {"0", "1000"}},
        {"LOG_MAX_BACKUP_COUNT", "1001", {"1000"}},
        {"LOG_MAX_BACKUP_COUNT", "-1", {"1000"}},
        {"LOG_QUEUE_SIZE", "12", {"4096"}},
        {"LOG_QUEUE_SIZE", "1k", {"4096"}},
        {"ENVIRONMENT", "prod", {"development", "staging", "production"}},
        {"ENVIRONMENT", "Production", {"production"}},
        {"SERVICE_VERSION", "v1", {"MAJOR.MINOR.PATCH"}},
        {"SERVICE_VERSION", "1.2", {"MAJOR.MINOR.PATCH"}},
        {"LOG_FILE_PATH", "", {"path"}},
        {"LOG_FILE_FORMAT", "xml", {"json or binary"}},
        {"LOG_FILE_FORMAT", "", {"json or binary"}},
        {"LOG_CRASH_HANDLER", "maybe", {"true", "false"}},
        {"LOG_CRASH_HANDLER", "", {"true", "false"}},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.variable << "='" << c.value << "'") {
            EnvGuard env;
            env.set(c.variable, c.value);
            auto result = Config::from_env(valid_base());
            BOOST_TEST(!result.has_value());
            if (result.has_value()) continue;
            const auto& error = result.error();
            BOOST_TEST((error.code == ErrorCode::invalid_env));
            BOOST_TEST(contains(error.message, c.variable), error.message);
            BOOST_TEST(contains(error.message, "'" + c.value + "'"), error.message);
            for (const auto& a : c.accepted) BOOST_TEST(contains(error.message, a), error.message << " lacks " << a);
        }
    }
}

BOOST_AUTO_TEST_CASE(good_environment_values_apply) {
    EnvGuard env;
    env.set("ENVIRONMENT", "production");
    env.set("SERVICE_VERSION", "2.10.3-beta.1");
    env.set("HOSTNAME", "pod-7");
    env.set("LOG_LEVEL", "warn");
    env.set("LOG_CONSOLE_ENABLED", "off");
    env.set("LOG_CONSOLE_FORMAT", "TEXT");
    env.set("LOG_CONSOLE_COLORS", "0");
    env.set("LOG_FILE_ENABLED", "Yes");
    env.set("LOG_FILE_PATH", "/tmp/agora-config-test/app.log");
    env.set("LOG_MAX_FILE_SIZE_MB", "7");
    env.set("LOG_MAX_BACKUP_COUNT", "0");
    env.set("LOG_QUEUE_SIZE", "8192");
    env.set("LOG_FILE_FORMAT", "Binary");
    env.set("LOG_CRASH_HANDLER", "off");
    auto result = Config::from_env(valid_base());
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    const Config& c = *result;
    BOOST_TEST(c.service_name == "config-test");  // not an environment variable: kept
    BOOST_TEST(c.environment == "production");
    BOOST_TEST(c.version == "2.10.3-beta.1");
    BOOST_TEST(c.host == "pod-7");
    BOOST_TEST((c.level == Level::warning));
    BOOST_TEST(!c.console_enabled);
    BOOST_TEST((c.console_format == agora::log::ConsoleFormat::text));
    BOOST_TEST(!c.console_colors);
    BOOST_TEST(c.file_enabled);
    BOOST_TEST(c.file_path == "/tmp/agora-config-test/app.log");
    BOOST_TEST(c.max_file_size_mb == 7u);
    BOOST_TEST(c.max_backup_count == 0u);
    BOOST_TEST(c.queue_capacity_bytes == 8192u);
    BOOST_TEST((c.file_format == agora::log::FileFormat::binary));
    BOOST_TEST(!c.crash_handler);
    BOOST_TEST(c.validate().has_value());

    // The other values of the new variables.
    env.set("LOG_FILE_FORMAT", "json");
    env.set("LOG_CRASH_HANDLER", "TRUE");
    Config binary_no_crash = valid_base();
    binary_no_crash.file_format = agora::log::FileFormat::binary;
    binary_no_crash.crash_handler = false;
    auto back = Config::from_env(binary_no_crash);
    BOOST_TEST_REQUIRE(back.has_value(), agora_test::error_text(back));
    BOOST_TEST((back->file_format == agora::log::FileFormat::json));
    BOOST_TEST(back->crash_handler);
}

BOOST_AUTO_TEST_CASE(each_level_name_is_accepted) {
    const std::vector<std::pair<std::string, Level>> names = {
        {"DEBUG", Level::debug},      {"debug", Level::debug},     {"Info", Level::info},
        {"WARNING", Level::warning},  {"WARN", Level::warning},    {"error", Level::error},
        {"CRITICAL", Level::critical},
    };
    for (const auto& [name, level] : names) {
        BOOST_TEST_CONTEXT("LOG_LEVEL=" << name) {
            EnvGuard env;
            env.set("LOG_LEVEL", name);
            auto result = Config::from_env(valid_base());
            BOOST_TEST_REQUIRE(result.has_value());
            BOOST_TEST((result->level == level));
        }
    }
}

BOOST_AUTO_TEST_CASE(unset_variables_keep_the_base_values) {
    EnvGuard env;
    Config base = valid_base();
    base.environment = "staging";
    base.version = "9.9.9";
    base.host = "base-host";
    base.level = Level::error;
    base.console_enabled = false;
    base.max_file_size_mb = 3;
    base.max_backup_count = 11;
    base.queue_capacity_bytes = 1u << 16;
    auto result = Config::from_env(base);
    BOOST_TEST_REQUIRE(result.has_value());
    BOOST_TEST(result->environment == "staging");
    BOOST_TEST(result->version == "9.9.9");
    BOOST_TEST(result->host == "base-host");
    BOOST_TEST((result->level == Level::error));
    BOOST_TEST(!result->console_enabled);
    BOOST_TEST(result->max_file_size_mb == 3u);
    BOOST_TEST(result->max_backup_count == 11u);
    BOOST_TEST(result->queue_capacity_bytes == (1u << 16));

    // from_env() without a base starts from the defaults.
    auto defaults = Config::from_env();
    BOOST_TEST_REQUIRE(defaults.has_value());
    BOOST_TEST(defaults->environment == Config{}.environment);
    BOOST_TEST(defaults->max_file_size_mb == Config{}.max_file_size_mb);
}

BOOST_AUTO_TEST_CASE(queue_size_above_the_max_raises_the_max) {
    EnvGuard env;
    env.set("LOG_QUEUE_SIZE", std::to_string(std::size_t{128} << 20));
    auto result = Config::from_env(valid_base());
    BOOST_TEST_REQUIRE(result.has_value());
    BOOST_TEST(result->queue_capacity_bytes == (std::size_t{128} << 20));
    BOOST_TEST(result->queue_max_capacity_bytes >= result->queue_capacity_bytes);
    BOOST_TEST(result->validate().has_value());
}

BOOST_AUTO_TEST_CASE(validate_rejects_bad_fields) {
    struct Case {
        const char* field;
        std::function<void(Config&)> spoil;
    };
    const std::vector<Case> cases = {
        {"service_name", [](Config& c) { c.service_name.clear(); }},
        {"max_file_size_mb", [](Config& c) { c.max_file_size_mb = 0; }},
        {"queue_capacity_bytes", [](Config& c) { c.queue_capacity_bytes = 0; }},
        {"queue_capacity_bytes", [](Config& c) { c.queue_capacity_bytes = 100; }},
        {"queue_max_capacity_bytes", [](Config& c) { c.queue_max_capacity_bytes = 4096; c.queue_capacity_bytes = 8192; }},
        {"queue_spare_rings", [](Config& c) { c.queue_spare_rings = 65; }},
        {"environment", [](Config& c) { c.environment = "prod"; }},
        {"version", [](Config& c) { c.version = "latest"; }},
        {"file_path", [](Config& c) { c.file_path.clear(); c.service_name = "a/b"; }},
        {"max_backup_count", [](Config& c) { c.max_backup_count = 5000; }},
        {"level", [](Config& c) { c.level = static_cast<Level>(3); }},
        {"file_format", [](Config& c) { c.file_format = static_cast<agora::log::FileFormat>(7); }},
        {"crash_drain_timeout", [](Config& c) { c.crash_drain_timeout = std::chrono::milliseconds(-1); }},
        {"crash_drain_timeout", [](Config& c) { c.crash_drain_timeout = std::chrono::milliseconds(60001); }},
        {"crash_watchdog", [](Config& c) { c.crash_watchdog = std::chrono::seconds(0); }},
        {"crash_watchdog", [](Config& c) { c.crash_watchdog = std::chrono::seconds(3601); }},
        {"file_retry_interval", [](Config& c) { c.file_retry_interval = std::chrono::milliseconds(99); }},
        {"file_retry_interval", [](Config& c) { c.file_retry_interval = std::chrono::milliseconds(3600001); }},
    };
    BOOST_TEST(valid_base().validate().has_value());
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT("field " << c.field) {
            Config config = valid_base();
            c.spoil(config);
            auto v = config.validate();
            BOOST_TEST(!v.has_value());
            if (v.has_value()) continue;
            BOOST_TEST((v.error().code == ErrorCode::invalid_config));
            BOOST_TEST(contains(v.error().message, c.field), v.error().message);
            BOOST_TEST(contains(v.error().message, "expected"), v.error().message);

            // initialize() refuses it too, and leaves the logger stopped.
            auto init = agora::log::initialize(config);
            BOOST_TEST(!init.has_value());
            if (!init.has_value()) BOOST_TEST((init.error().code == ErrorCode::invalid_config));
            agora::log::shutdown();
        }
    }
    // The ends of the crash ranges are accepted.
    for (auto [drain, watchdog] : {std::pair{0, 1}, std::pair{60000, 3600}}) {
        Config edge = valid_base();
        edge.crash_drain_timeout = std::chrono::milliseconds(drain);
        edge.crash_watchdog = std::chrono::seconds(watchdog);
        BOOST_TEST(edge.validate().has_value(), "drain " << drain << " watchdog " << watchdog);
    }
    for (long ms : {100L, 3600000L}) {
        Config edge = valid_base();
        edge.file_retry_interval = std::chrono::milliseconds(ms);
        BOOST_TEST(edge.validate().has_value(), "file_retry_interval " << ms);
    }
    // A disabled file needs no path.
    Config no_file = valid_base();
    no_file.file_enabled = false;
    no_file.file_path.clear();
    BOOST_TEST(no_file.validate().has_value());
}

BOOST_AUTO_TEST_CASE(an_empty_file_path_follows_the_service_name) {
    Config c;
    BOOST_TEST(c.file_path.empty());
    c.service_name = "market-data";
    BOOST_TEST(c.validate().has_value());
    BOOST_TEST(c.effective_file_path() == "/var/log/agora/market-data.log");
    c.file_path = "logs/md.log";
    BOOST_TEST(c.effective_file_path() == "logs/md.log");
    c.file_path.clear();
    c.service_name = "..";
    BOOST_TEST(!c.validate().has_value());
}

// Expected: has_value() and the bool conversion tell which side is held;
// value(), operator* and operator-> read a value, error() an error. Reading
// the other side is a precondition violation (an assertion), not tested here.
BOOST_AUTO_TEST_CASE(expected_holds_a_value_or_an_error) {
    using agora::log::Error;
    using agora::log::Expected;

    Expected<std::string> value(std::string("abc"));
    BOOST_TEST(value.has_value());
    BOOST_TEST(static_cast<bool>(value));
    BOOST_TEST(value.value() == "abc");
    BOOST_TEST(*value == "abc");
    BOOST_TEST(value->size() == 3u);
    value->append("d");
    BOOST_TEST(std::as_const(value).value() == "abcd");
    const std::string moved = std::move(value).value();
    BOOST_TEST(moved == "abcd");

    const Expected<std::string> failed(Error{ErrorCode::io_error, "cannot open /x"});
    BOOST_TEST(!failed.has_value());
    BOOST_TEST(!static_cast<bool>(failed));
    BOOST_TEST((failed.error().code == ErrorCode::io_error));
    BOOST_TEST(failed.error().message == "cannot open /x");

    const Expected<void> ok;
    BOOST_TEST(ok.has_value());
    BOOST_TEST(static_cast<bool>(ok));
    const Expected<void> not_ok(Error{ErrorCode::already_running, "running"});
    BOOST_TEST(!not_ok.has_value());
    BOOST_TEST((not_ok.error().code == ErrorCode::already_running));
    BOOST_TEST(not_ok.error().message == "running");

    // What from_env() returns on success holds a Config.
    EnvGuard env;
    ::setenv("LOG_LEVEL", "ERROR", 1);
    const auto config = Config::from_env(valid_base());
    BOOST_TEST_REQUIRE(config.has_value());
    BOOST_TEST((config->level == Level::error));
    BOOST_TEST(((*config).service_name == "config-test"));
}

BOOST_AUTO_TEST_CASE(initialize_twice_is_already_running) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto first = agora_test::quiet_config(dir.file("first.log"));
    auto second = agora_test::quiet_config(dir.file("second.log"));
    BOOST_REQUIRE(agora::log::initialize(first));
    auto again = agora::log::initialize(second);
    BOOST_TEST(!again.has_value());
    if (!again.has_value()) {
        BOOST_TEST((again.error().code == ErrorCode::already_running));
        BOOST_TEST(!again.error().message.empty());
    }
    // The first configuration keeps working.
    agora::log::get_logger("config.twice").info("still running");
    agora::log::flush();
    auto parsed = agora_test::read_entries(first.file_path);
    BOOST_TEST_REQUIRE(parsed.entries.size() == 1u);
    BOOST_TEST(parsed.entries[0].message == "still running");
    BOOST_TEST(!agora_test::file_exists(second.file_path));
    agora::log::shutdown();
    // After a shutdown it may be initialized again.
    BOOST_TEST(agora::log::initialize(second).has_value());
    agora::log::shutdown();
}

BOOST_AUTO_TEST_CASE(invalid_config_after_bad_initialize_leaves_logger_usable) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config bad = agora_test::quiet_config(dir.file("bad.log"));
    bad.service_name.clear();
    BOOST_TEST(!agora::log::initialize(bad).has_value());
    BOOST_TEST(!agora_test::file_exists(bad.file_path));
    auto good = agora_test::quiet_config(dir.file("good.log"));
    BOOST_TEST_REQUIRE(agora::log::initialize(good).has_value());
    agora::log::get_logger("config.good").info("ok");
    agora::log::shutdown();
    BOOST_TEST(agora_test::read_entries(good.file_path).entries.size() == 1u);
}

BOOST_AUTO_TEST_CASE(unwritable_file_is_reported_by_an_error_entry_and_retried) {
    agora_test::ShutdownGuard guard;
    Config config = valid_base();
    config.console_enabled = false;
    config.file_path = "/proc/forbidden/x.log";
    auto capture = std::make_shared<agora_test::CaptureHandler>();
    auto result = agora::log::initialize(config, {capture});
    BOOST_TEST_REQUIRE(result.has_value(), agora_test::error_text(result));
    agora::log::get_logger("config.fallback").info("still logged");
    agora::log::flush();
    auto records = capture->records();
    agora::log::shutdown();

    const agora_test::Captured* warning = nullptr;
    const agora_test::Captured* ours = nullptr;
    for (const auto& r : records) {
        if (r.level == Level::error && r.message.starts_with("File logging failed: ") &&
            contains(r.message, "/proc/forbidden"))
            warning = &r;
        if (r.message == "still logged") ours = &r;
    }
    BOOST_TEST_REQUIRE(warning != nullptr, "no ERROR naming the file among " << records.size() << " records");
    BOOST_TEST(warning->logger_name == "agora.log");
    BOOST_TEST(!warning->file.empty());
    BOOST_TEST(!warning->function.empty());
    std::string error;
    BOOST_TEST(agora_test::parse_entry(warning->json, error).has_value(), error);
    BOOST_TEST(ours != nullptr);
}
