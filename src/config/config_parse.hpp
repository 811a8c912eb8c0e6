#pragma once
// Value parsing shared by Config::from_env() (config.cpp) and
// Config::from_file() (config_file.cpp): the same text is accepted, with the
// same ranges and the same "expected ..." wording, from a variable or a file.

#include <agora/log/config.hpp>
#include <agora/log/detail/limits.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace agora::log::detail {

inline std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

inline bool valid_environment(std::string_view e) {
    return e == "development" || e == "staging" || e == "production";
}

inline bool valid_version(std::string_view v) {
    // The schema's pattern ^\d+\.\d+\.\d+ (anything may follow).
    static const std::regex re(R"(^\d+\.\d+\.\d+)");
    return std::regex_search(v.begin(), v.end(), re);
}

/// true, false, 1, 0, yes, no, on, off in any case.
inline std::optional<bool> parse_bool(std::string_view v) {
    std::string s = lower(v);
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
    return std::nullopt;
}

/// A decimal integer in [min, max]; no sign, no spaces, no suffix.
inline std::optional<std::uint64_t> parse_uint(std::string_view v, std::uint64_t min, std::uint64_t max) {
    std::uint64_t out = 0;
    if (v.empty() || !std::isdigit(static_cast<unsigned char>(v.front()))) return std::nullopt;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || ptr != v.data() + v.size() || out < min || out > max) return std::nullopt;
    return out;
}

/// A decimal integer in [min, max], optionally preceded by '-'; no spaces, no suffix.
inline std::optional<std::int64_t> parse_int(std::string_view v, std::int64_t min, std::int64_t max) {
    std::int64_t out = 0;
    std::size_t digits = (!v.empty() && v.front() == '-') ? 1 : 0;
    if (v.size() <= digits || !std::isdigit(static_cast<unsigned char>(v[digits]))) return std::nullopt;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || ptr != v.data() + v.size() || out < min || out > max) return std::nullopt;
    return out;
}

/// json or text, any case.
inline std::optional<ConsoleFormat> parse_console_format(std::string_view v) {
    std::string s = lower(v);
    if (s == "json") return ConsoleFormat::json;
    if (s == "text") return ConsoleFormat::text;
    return std::nullopt;
}

/// json or binary, any case.
inline std::optional<FileFormat> parse_file_format(std::string_view v) {
    std::string s = lower(v);
    if (s == "json") return FileFormat::json;
    if (s == "binary") return FileFormat::binary;
    return std::nullopt;
}

/// grow, block or drop, any case.
inline std::optional<QueueFullPolicy> parse_queue_full_policy(std::string_view v) {
    std::string s = lower(v);
    if (s == "grow") return QueueFullPolicy::grow;
    if (s == "block") return QueueFullPolicy::block;
    if (s == "drop") return QueueFullPolicy::drop;
    return std::nullopt;
}

// Ranges (the same as Config::validate()).
inline constexpr std::uint64_t kMaxFileSizeMbMax = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kMaxBackupCountMax = 1000;
inline constexpr std::uint64_t kQueueBytesMin = 4096;
inline constexpr std::uint64_t kQueueBytesMax = std::uint64_t{1} << 32;
inline constexpr std::uint64_t kMessageLengthMin = kMinMaxMessageLength;
inline constexpr std::uint64_t kMessageLengthMax = kMaxMaxMessageLength;
inline constexpr std::uint64_t kMicrosecondsMax = 1'000'000;  // 1 s
inline constexpr std::uint64_t kDrainTimeoutMsMax = 60'000;
inline constexpr std::uint64_t kWatchdogSecondsMin = 1;
inline constexpr std::uint64_t kWatchdogSecondsMax = 3600;

// What is accepted, as the end of "... is not accepted: expected <this>".
inline constexpr std::string_view kBoolAccepted = "true, false, 1, 0, yes, no, on or off";
inline constexpr std::string_view kLevelAccepted = "DEBUG, INFO, WARNING, ERROR or CRITICAL";
inline constexpr std::string_view kEnvironmentAccepted = "development, staging or production";
inline constexpr std::string_view kVersionAccepted = "a version MAJOR.MINOR.PATCH, e.g. 1.4.2";
inline constexpr std::string_view kConsoleFormatAccepted = "json or text";
inline constexpr std::string_view kFileFormatAccepted = "json or binary";
inline constexpr std::string_view kQueueFullPolicyAccepted = "grow, block or drop";
inline constexpr std::string_view kFilePathAccepted = "a file path";
inline constexpr std::string_view kMaxFileSizeAccepted = "an integer number of MiB from 1 to 1048576";
inline constexpr std::string_view kMaxBackupCountAccepted = "an integer from 0 to 1000";
inline constexpr std::string_view kQueueSpareRingsAccepted = "spare rings, an integer from 0 to 64";
inline constexpr std::string_view kQueueSizeAccepted = "per-thread queue bytes, an integer from 4096 to 4294967296";
inline constexpr std::string_view kMessageLengthAccepted = "bytes, an integer from 64 to 16777216";
inline constexpr std::string_view kMicrosecondsAccepted = "microseconds, an integer from 0 to 1000000";
inline constexpr std::string_view kDrainTimeoutAccepted = "milliseconds, an integer from 0 to 60000";
inline constexpr std::string_view kWatchdogAccepted = "seconds, an integer from 1 to 3600";
inline constexpr std::string_view kBackendCpuAccepted = "-1 (not pinned) or a CPU number from 0 to 2147483647";

// ---- sensitive data ----
inline constexpr std::size_t kRedactionTextMax = 256;
inline constexpr std::uint64_t kShowLastMax = 1024;
inline constexpr std::string_view kRedactionTextAccepted = "a replacement text of at most 256 bytes";
inline constexpr std::string_view kRedactFieldAccepted = "a non-empty part of a key name";
inline constexpr std::string_view kShowLastAccepted = "characters left visible, an integer from 0 to 1024";
inline constexpr std::string_view kMaskCharAccepted = "one printable ASCII character";
inline constexpr std::string_view kRedactPatternAccepted = "an RE2 regular expression";

// ---- sampling and rate limiting ----
/// A decimal number (digits, one optional '.', digits; no sign, no exponent)
/// in [min, max]. Plain decimal text only: "nan", "inf" and "1e3" are refused.
inline std::optional<double> parse_decimal(std::string_view v, double min, double max) {
    std::size_t dots = 0, digits = 0;
    for (char ch : v) {
        if (ch == '.') ++dots;
        else if (std::isdigit(static_cast<unsigned char>(ch))) ++digits;
        else return std::nullopt;
    }
    if (digits == 0 || dots > 1 || v.size() > 32) return std::nullopt;
    double out = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || ptr != v.data() + v.size() || !(out >= min && out <= max)) return std::nullopt;
    return out;
}
inline constexpr double kMessagesPerSecondMax = 1e9;
inline constexpr std::uint64_t kBurstSizeMax = 1'000'000'000;
inline constexpr std::uint64_t kReportIntervalMsMax = 3'600'000;
inline constexpr std::string_view kSampleRateAccepted = "a fraction of records kept, from 0.0 to 1.0";
inline constexpr std::string_view kMessagesPerSecondAccepted =
    "records per second, a number above 0 and at most 1000000000 (0 turns rate limiting off)";
inline constexpr std::string_view kBurstSizeAccepted = "records, an integer from 1 to 1000000000";
inline constexpr std::string_view kReportIntervalAccepted = "milliseconds, an integer from 0 to 3600000";

// ---- audit log ----
inline constexpr std::uint64_t kRetentionDaysMax = 36500;
inline constexpr std::string_view kRetentionDaysAccepted = "days, an integer from 1 to 36500";

// ---- admin endpoint ----
inline constexpr std::uint64_t kAdminPortMax = 65535;
inline constexpr std::size_t kAdminTokenMax = 256;
inline constexpr std::string_view kAdminPortAccepted = "a TCP port, an integer from 0 (any free port) to 65535";
inline constexpr std::string_view kAdminBindAccepted = "an address or host name to listen on";
inline constexpr std::string_view kAdminTokenAccepted = "printable ASCII without spaces, at most 256 bytes";
/// A bearer token the endpoint can compare: printable ASCII, no spaces.
inline bool valid_admin_token(std::string_view t) {
    if (t.size() > kAdminTokenMax) return false;
    for (char ch : t)
        if (ch <= 0x20 || ch > 0x7e) return false;
    return true;
}

}  // namespace agora::log::detail
