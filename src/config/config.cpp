#include <agora/log/config.hpp>
#include <agora/log/level.hpp>

#include "base/redaction_regex.hpp"
#include "config/config_parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace agora::log {

namespace {

using detail::kLevelAccepted;
using detail::lower;
using detail::valid_environment;
using detail::valid_version;

Error env_error(std::string_view var, std::string_view value, std::string_view accepted) {
    return Error{ErrorCode::invalid_env,
                 fmt::format("{}='{}' is not accepted: expected {}", var, value, accepted)};
}

Error config_error(std::string_view field, std::string_view value, std::string_view accepted) {
    return Error{ErrorCode::invalid_config,
                 fmt::format("Config.{}='{}' is not accepted: expected {}", field, value, accepted)};
}

/// The first of `patterns` that does not compile with RE2, as an error naming `field`[i].
std::optional<Error> first_bad_pattern(std::string_view field, const std::vector<std::string>& patterns) {
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        std::string why;
        if (detail::compile_redaction_pattern(patterns[i], why) == nullptr)
            return config_error(fmt::format("{}[{}]", field, i), patterns[i],
                                fmt::format("{} ({})", detail::kRedactPatternAccepted, why));
    }
    return std::nullopt;
}

// ---- sensitive data ----

/// The first sensitive_data field that is not accepted, if any.
std::optional<Error> validate_sensitive_data(const SensitiveDataConfig& s) {
    if (s.redaction_text.size() > detail::kRedactionTextMax)
        return config_error("sensitive_data.redaction_text", s.redaction_text, detail::kRedactionTextAccepted);
    for (std::size_t i = 0; i < s.redact_fields.size(); ++i)
        if (s.redact_fields[i].empty())
            return config_error(fmt::format("sensitive_data.redact_fields[{}]", i), "", detail::kRedactFieldAccepted);
    for (const auto& [name, rule] : s.mask_fields) {
        const std::string field = fmt::format("sensitive_data.mask_fields[{}]", name);
        if (name.empty()) return config_error(field, name, detail::kRedactFieldAccepted);
        switch (rule.kind) {
            case MaskRule::Kind::last_chars: case MaskRule::Kind::email: break;
            default: return config_error(field + ".kind", std::to_string(static_cast<int>(rule.kind)), "last_chars or email");
        }
        if (rule.show_last > detail::kShowLastMax)
            return config_error(field + ".show_last", std::to_string(rule.show_last), detail::kShowLastAccepted);
        if (rule.mask_char < 0x20 || rule.mask_char > 0x7e)
            return config_error(field + ".mask_char", fmt::format("\\x{:02x}", static_cast<unsigned char>(rule.mask_char)),
                                detail::kMaskCharAccepted);
    }
    return first_bad_pattern("sensitive_data.redact_patterns", s.redact_patterns);
}

// ---- sampling and rate limiting ----

bool valid_level(Level l) noexcept {
    switch (l) {
        case Level::debug: case Level::info: case Level::warning: case Level::error: case Level::critical: return true;
    }
    return false;
}

/// The first sampling field that is not accepted, if any.
std::optional<Error> validate_sampling(const SamplingConfig& s) {
    for (const auto& [level, rate] : s.rates) {
        if (!valid_level(level))
            return config_error("sampling.rates", std::to_string(static_cast<int>(level)), detail::kLevelAccepted);
        if (!(rate >= 0.0 && rate <= 1.0))
            return config_error(fmt::format("sampling.rates[{}]", to_string(level)), fmt::format("{}", rate),
                                detail::kSampleRateAccepted);
    }
    if (auto error = first_bad_pattern("sampling.always_log_patterns", s.always_log_patterns)) return error;
    if (s.rate_limit) {
        const double mps = s.rate_limit->messages_per_second;
        if (!(mps > 0.0 && mps <= detail::kMessagesPerSecondMax))
            return config_error("sampling.rate_limit.messages_per_second", fmt::format("{}", mps),
                                "records per second, a number above 0 and at most 1000000000");
        if (s.rate_limit->burst_size < 1 || s.rate_limit->burst_size > detail::kBurstSizeMax)
            return config_error("sampling.rate_limit.burst_size", std::to_string(s.rate_limit->burst_size),
                                detail::kBurstSizeAccepted);
    }
    if (s.report_interval.count() < 0 || s.report_interval.count() > static_cast<std::int64_t>(detail::kReportIntervalMsMax))
        return config_error("sampling.report_interval", std::to_string(s.report_interval.count()) + "ms",
                            detail::kReportIntervalAccepted);
    return std::nullopt;
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) noexcept {
    std::string s;
    try {
        s = lower(name);
    } catch (...) {
        return std::nullopt;
    }
    if (s == "debug") return Level::debug;
    if (s == "info") return Level::info;
    if (s == "warning" || s == "warn") return Level::warning;
    if (s == "error") return Level::error;
    if (s == "critical") return Level::critical;
    return std::nullopt;
}

std::string_view to_string(ConsoleFormat f) noexcept { return f == ConsoleFormat::json ? "json" : "text"; }
std::string_view to_string(FileFormat f) noexcept { return f == FileFormat::json ? "json" : "binary"; }

std::string_view to_string(QueueFullPolicy p) noexcept {
    switch (p) {
        case QueueFullPolicy::block: return "block";
        case QueueFullPolicy::drop: return "drop";
        case QueueFullPolicy::grow: return "grow";
    }
    return "grow";
}

Expected<void> Config::validate() const {
    if (service_name.empty()) return config_error("service_name", service_name, "a non-empty service name");
    if (!valid_environment(environment))
        return config_error("environment", environment, "development, staging or production");
    if (!valid_version(version)) return config_error("version", version, "a version MAJOR.MINOR.PATCH, e.g. 1.4.2");
    // to_string() maps unknown values to "INFO", so check the value itself.
    switch (level) {
        case Level::debug: case Level::info: case Level::warning: case Level::error: case Level::critical: break;
        default: return config_error("level", std::to_string(static_cast<int>(level)), kLevelAccepted);
    }
    if (file_path.empty() &&
        (service_name.find('/') != std::string::npos || service_name == "." || service_name == ".."))
        return config_error("file_path", file_path,
                            "a file path (the default, /var/log/agora/<service_name>.log, needs a service name that "
                            "is a file name)");
    if (max_file_size_mb == 0 || max_file_size_mb > (1u << 20))
        return config_error("max_file_size_mb", std::to_string(max_file_size_mb), "an integer from 1 to 1048576");
    if (max_backup_count > 1000)
        return config_error("max_backup_count", std::to_string(max_backup_count), "an integer from 0 to 1000");
    if (queue_capacity_bytes < 4096 || queue_capacity_bytes > (std::size_t{1} << 32))
        return config_error("queue_capacity_bytes", std::to_string(queue_capacity_bytes), "bytes from 4096 to 4294967296");
    if (queue_max_capacity_bytes < queue_capacity_bytes || queue_max_capacity_bytes > (std::size_t{1} << 32))
        return config_error("queue_max_capacity_bytes", std::to_string(queue_max_capacity_bytes),
                            "bytes from queue_capacity_bytes to 4294967296");
    if (queue_spare_rings > 64)
        return config_error("queue_spare_rings", std::to_string(queue_spare_rings), "an integer from 0 to 64");
    if (backend_idle_sleep.count() < 0 || backend_idle_sleep > std::chrono::seconds(1))
        return config_error("backend_idle_sleep", std::to_string(backend_idle_sleep.count()) + "us", "0 to 1000000 us");
    if (backend_ordering_grace.count() < 0 || backend_ordering_grace > std::chrono::seconds(1))
        return config_error("backend_ordering_grace", std::to_string(backend_ordering_grace.count()) + "us",
                            "0 to 1000000 us");
    if (max_message_length < detail::kMinMaxMessageLength || max_message_length > detail::kMaxMaxMessageLength)
        return config_error("max_message_length", std::to_string(max_message_length),
                            fmt::format("bytes from {} to {}", detail::kMinMaxMessageLength, detail::kMaxMaxMessageLength));
    switch (file_format) {
        case FileFormat::json: case FileFormat::binary: break;
        default: return config_error("file_format", std::to_string(static_cast<int>(file_format)), "json or binary");
    }
    if (crash_drain_timeout.count() < 0 || crash_drain_timeout > std::chrono::milliseconds(60'000))
        return config_error("crash_drain_timeout", std::to_string(crash_drain_timeout.count()) + "ms", "0 to 60000 ms");
    if (file_retry_interval < std::chrono::milliseconds(100) || file_retry_interval > std::chrono::hours(1))
        return config_error("file_retry_interval", std::to_string(file_retry_interval.count()) + "ms",
                            "100 to 3600000 ms");
    if (crash_watchdog < std::chrono::seconds(1) || crash_watchdog > std::chrono::seconds(3600))
        return config_error("crash_watchdog", std::to_string(crash_watchdog.count()) + "s", "1 to 3600 s");
    if (backend_cpu < -1) return config_error("backend_cpu", std::to_string(backend_cpu), "-1 (not pinned) or a CPU number");
    if (auto error = validate_sensitive_data(sensitive_data)) return *error;
    if (auto error = validate_sampling(sampling)) return *error;
    if (admin.port < 0 || admin.port > static_cast<int>(detail::kAdminPortMax))
        return config_error("admin.port", std::to_string(admin.port), detail::kAdminPortAccepted);
    if (admin.bind_address.empty()) return config_error("admin.bind_address", "", detail::kAdminBindAccepted);
    if (!detail::valid_admin_token(admin.bearer_token))
        return config_error("admin.bearer_token", "(not shown)", detail::kAdminTokenAccepted);
    if (audit.retention_days < 1 || audit.retention_days > detail::kRetentionDaysMax)
        return config_error("audit.retention_days", std::to_string(audit.retention_days), detail::kRetentionDaysAccepted);
    if (audit.max_file_size_mb == 0 || audit.max_file_size_mb > detail::kMaxFileSizeMbMax)
        return config_error("audit.max_file_size_mb", std::to_string(audit.max_file_size_mb),
                            detail::kMaxFileSizeAccepted);

    // Levels by logger name.
    for (const auto& [name, logger_level] : logger_levels) {
        if (name.empty()) return config_error("logger_levels", "", "non-empty logger names");
        switch (logger_level) {
            case Level::debug: case Level::info: case Level::warning: case Level::error: case Level::critical: break;
            default:
                return config_error("logger_levels." + name, std::to_string(static_cast<int>(logger_level)),
                                    kLevelAccepted);
        }
    }
    return {};
}

std::string Config::effective_file_path() const {
    return file_path.empty() ? "/var/log/agora/" + service_name + ".log" : file_path;
}

Expected<Config> Config::from_env() { return from_env(Config{}); }

Expected<Config> Config::from_env(Config c) {
    using namespace detail;
    try {
        auto get = [](const char* name) -> std::optional<std::string_view> {
            const char* v = std::getenv(name);
            if (v == nullptr) return std::nullopt;
            return std::string_view(v);
        };
        // The file first, so that every variable below wins over it.
        if (auto v = get("LOG_CONFIG_FILE")) {
            if (v->empty()) return env_error("LOG_CONFIG_FILE", *v, "the path of a YAML configuration file");
            auto from_config_file = from_file(std::string(*v), std::move(c));
            if (!from_config_file) return from_config_file.error();
            c = std::move(*from_config_file);
        }
        if (auto v = get("ENVIRONMENT")) {
            if (!valid_environment(*v)) return env_error("ENVIRONMENT", *v, kEnvironmentAccepted);
            c.environment = *v;
        }
        if (auto v = get("SERVICE_VERSION")) {
            if (!valid_version(*v)) return env_error("SERVICE_VERSION", *v, kVersionAccepted);
            c.version = *v;
        }
        if (auto v = get("HOSTNAME")) c.host = *v;
        if (auto v = get("LOG_LEVEL")) {
            auto level = parse_level(*v);
            if (!level) return env_error("LOG_LEVEL", *v, kLevelAccepted);
            c.level = *level;
        }
        struct BoolVar { const char* name; bool* field; };
        for (BoolVar b : {BoolVar{"LOG_CONSOLE_ENABLED", &c.console_enabled}, BoolVar{"LOG_CONSOLE_COLORS", &c.console_colors},
                          BoolVar{"LOG_FILE_ENABLED", &c.file_enabled}, BoolVar{"LOG_CRASH_HANDLER", &c.crash_handler},
                          BoolVar{"LOG_METRICS", &c.metrics_enabled}, BoolVar{"LOG_AUDIT_ENABLED", &c.audit.enabled}}) {
            if (auto v = get(b.name)) {
                auto parsed = parse_bool(*v);
                if (!parsed) return env_error(b.name, *v, kBoolAccepted);
                *b.field = *parsed;
            }
        }
        if (auto v = get("LOG_CONSOLE_FORMAT")) {
            auto format = parse_console_format(*v);
            if (!format) return env_error("LOG_CONSOLE_FORMAT", *v, kConsoleFormatAccepted);
            c.console_format = *format;
        }
        if (auto v = get("LOG_AUDIT_FILE_PATH")) {
            if (v->empty()) return env_error("LOG_AUDIT_FILE_PATH", *v, kFilePathAccepted);
            c.audit.file_path = *v;
        }
        if (auto v = get("LOG_FILE_PATH")) {
            if (v->empty()) return env_error("LOG_FILE_PATH", *v, kFilePathAccepted);
            c.file_path = *v;
        }
        if (auto v = get("LOG_FILE_FORMAT")) {
            auto format = parse_file_format(*v);
            if (!format) return env_error("LOG_FILE_FORMAT", *v, kFileFormatAccepted);
            c.file_format = *format;
        }
        if (auto v = get("LOG_MAX_FILE_SIZE_MB")) {
            auto n = parse_uint(*v, 1, kMaxFileSizeMbMax);
            if (!n) return env_error("LOG_MAX_FILE_SIZE_MB", *v, kMaxFileSizeAccepted);
            c.max_file_size_mb = *n;
        }
        if (auto v = get("LOG_MAX_BACKUP_COUNT")) {
            auto n = parse_uint(*v, 0, kMaxBackupCountMax);
            if (!n) return env_error("LOG_MAX_BACKUP_COUNT", *v, kMaxBackupCountAccepted);
            c.max_backup_count = static_cast<std::uint32_t>(*n);
        }
        if (auto v = get("LOG_QUEUE_SIZE")) {
            auto n = parse_uint(*v, kQueueBytesMin, kQueueBytesMax);
            if (!n) return env_error("LOG_QUEUE_SIZE", *v, kQueueSizeAccepted);
            c.queue_capacity_bytes = static_cast<std::size_t>(*n);
            c.queue_max_capacity_bytes = std::max(c.queue_max_capacity_bytes, c.queue_capacity_bytes);
        }
        // ---- sensitive data ----
        if (auto v = get("LOG_REDACTION")) {
            auto parsed = parse_bool(*v);
            if (!parsed) return env_error("LOG_REDACTION", *v, kBoolAccepted);
            c.sensitive_data.enabled = *parsed;
        }
        // ---- sampling and rate limiting ----
        if (auto v = get("LOG_SAMPLING")) {
            auto parsed = parse_bool(*v);
            if (!parsed) return env_error("LOG_SAMPLING", *v, kBoolAccepted);
            c.sampling.enabled = *parsed;
        }
        if (auto v = get("LOG_RATE_LIMIT_PER_SECOND")) {
            auto mps = parse_decimal(*v, 0.0, kMessagesPerSecondMax);
            if (!mps) return env_error("LOG_RATE_LIMIT_PER_SECOND", *v, kMessagesPerSecondAccepted);
            if (*mps == 0.0) {
                c.sampling.rate_limit.reset();
            } else {
                if (!c.sampling.rate_limit) c.sampling.rate_limit.emplace();
                c.sampling.rate_limit->messages_per_second = *mps;
            }
        }
        if (auto v = get("LOG_RATE_LIMIT_BURST")) {
            auto n = parse_uint(*v, 1, kBurstSizeMax);
            if (!n) return env_error("LOG_RATE_LIMIT_BURST", *v, kBurstSizeAccepted);
            if (!c.sampling.rate_limit)
                return env_error("LOG_RATE_LIMIT_BURST", *v,
                                 "a burst for a rate limit, which is off: set LOG_RATE_LIMIT_PER_SECOND too (or "
                                 "sampling.rate_limit in the file)");
            c.sampling.rate_limit->burst_size = static_cast<std::uint32_t>(*n);
        }
        // ---- admin endpoint ----
        if (auto v = get("LOG_ADMIN_PORT")) {
            auto n = parse_uint(*v, 0, kAdminPortMax);
            if (!n) return env_error("LOG_ADMIN_PORT", *v, kAdminPortAccepted);
            c.admin.port = static_cast<int>(*n);
            c.admin.enabled = true;
        }
        if (auto v = get("LOG_ADMIN_BIND")) {
            if (v->empty()) return env_error("LOG_ADMIN_BIND", *v, kAdminBindAccepted);
            c.admin.bind_address = *v;
        }
        if (auto v = get("LOG_ADMIN_TOKEN")) {
            // The token itself is never quoted in an error.
            if (!valid_admin_token(*v))
                return Error{ErrorCode::invalid_env,
                             fmt::format("LOG_ADMIN_TOKEN (not shown) is not accepted: expected {}", kAdminTokenAccepted)};
            c.admin.bearer_token = *v;
        }
        if (auto v = get("LOG_MAX_MESSAGE_LENGTH")) {
            auto n = parse_uint(*v, kMessageLengthMin, kMessageLengthMax);
            if (!n) return env_error("LOG_MAX_MESSAGE_LENGTH", *v, kMessageLengthAccepted);
            c.max_message_length = static_cast<std::size_t>(*n);
        }
        return c;
    } catch (const std::exception& e) {
        return Error{ErrorCode::invalid_env, fmt::format("reading the environment failed: {}", e.what())};
    }
}

}  // namespace agora::log
