// Config::from_file(): a YAML file (the seed's logging.yaml) applied on top of
// a Config. Every key is checked: an unknown key, a value of the wrong type or
// out of range, a duplicate key or a YAML syntax error is an Error naming the
// file, the line and the dotted key; nothing is skipped or defaulted.
// yaml-cpp reports problems by throwing: everything it throws is caught here.
// The file may be anything (LOG_CONFIG_FILE=/etc/shadow): it is read only if
// it is a regular file of at most 1 MiB, and nothing of it is quoted until it
// is known to be a map of settings (FileReader::read()).

#include <agora/log/config.hpp>

#include "base/redaction_regex.hpp"
#include "base/whole_file.hpp"
#include "config/config_parse.hpp"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log {

namespace {

using namespace detail;

/// Largest configuration file read: a settings map is a few KiB; anything
/// larger is not one (or is a device or a stream that never ends).
constexpr std::uint64_t kMaxConfigFileBytes = 1024 * 1024;

/// The first byte offset at which `text` is not UTF-8 text (a NUL byte, a
/// malformed, overlong or surrogate sequence, above U+10FFFF); none if it is.
std::optional<std::size_t> not_text_at(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c == 0) return i;
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range (Unicode table 3-7)
        if (c >= 0xc2 && c <= 0xdf) len = 2;
        else if (c == 0xe0) len = 3, lo = 0xa0;
        else if (c == 0xed) len = 3, hi = 0x9f;
        else if (c >= 0xe1 && c <= 0xef) len = 3;
        else if (c == 0xf0) len = 4, lo = 0x90;
        else if (c >= 0xf1 && c <= 0xf3) len = 4;
        else if (c == 0xf4) len = 4, hi = 0x8f;
        else return i;
        if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
        for (std::size_t k = 2; k < len; ++k)
            if (p[i + k] < 0x80 || p[i + k] > 0xbf) return i;
        i += len;
    }
    return std::nullopt;
}

/// 1-based line of byte `offset` in `text`.
int line_at(std::string_view text, std::size_t offset) {
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

/// An unknown key as an error message shows it: only if it looks like a key
/// name (ASCII letters, digits, '_', '-', '.'), and then cut to 64 bytes. A
/// file that is not a configuration file can parse as a map (a line of
/// /etc/shadow ends in ':'): its "key" is then anything but a name, and is
/// not shown.
std::optional<std::string> shown_key(std::string_view key) {
    constexpr std::size_t kMax = 64;
    if (key.empty()) return std::nullopt;
    for (char c : key) {
        const bool name = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '-' || c == '.';
        if (!name) return std::nullopt;
    }
    if (key.size() <= kMax) return std::string(key);
    return std::string(key.substr(0, kMax)) + "...";
}

/// yaml-cpp's reason for a syntax error if it is one of its fixed texts; the
/// fixed part of one that appends what it found (an escape character, a
/// code point, a version), which may be the file's content; else a generic
/// reason. Only these are shown, so a file that is not YAML is never quoted.
std::string_view syntax_reason(const std::string& msg) {
    namespace m = YAML::ErrorMsg;
    static const char* const kFixed[] = {
        m::YAML_DIRECTIVE_ARGS, m::YAML_MAJOR_VERSION, m::REPEATED_YAML_DIRECTIVE, m::TAG_DIRECTIVE_ARGS,
        m::REPEATED_TAG_DIRECTIVE, m::CHAR_IN_TAG_HANDLE, m::TAG_WITH_NO_SUFFIX, m::END_OF_VERBATIM_TAG,
        m::END_OF_MAP, m::END_OF_MAP_FLOW, m::END_OF_SEQ, m::END_OF_SEQ_FLOW, m::MULTIPLE_TAGS,
        m::MULTIPLE_ANCHORS, m::MULTIPLE_ALIASES, m::ALIAS_CONTENT, m::INVALID_HEX, m::UNKNOWN_TOKEN,
        m::DOC_IN_SCALAR, m::EOF_IN_SCALAR, m::CHAR_IN_SCALAR, m::TAB_IN_INDENTATION, m::FLOW_END,
        m::BLOCK_ENTRY, m::MAP_KEY, m::MAP_VALUE, m::ALIAS_NOT_FOUND, m::ANCHOR_NOT_FOUND, m::CHAR_IN_ALIAS,
        m::CHAR_IN_ANCHOR, m::ZERO_INDENT_IN_BLOCK, m::CHAR_IN_BLOCK, m::AMBIGUOUS_ANCHOR, m::UNKNOWN_ANCHOR,
        m::UNMATCHED_GROUP_TAG, m::UNEXPECTED_END_SEQ, m::UNEXPECTED_END_MAP, m::SINGLE_QUOTED_CHAR,
        m::INVALID_ANCHOR, m::INVALID_ALIAS, m::INVALID_TAG};
    // "unknown escape character: " and the like, without what follows.
    static constexpr std::string_view kPrefixed[] = {"unknown escape character", "invalid unicode",
                                                     "bad YAML version"};
    for (const char* fixed : kFixed)
        if (msg == fixed) return fixed;
    for (std::string_view prefixed : kPrefixed)
        if (std::string_view(msg).starts_with(prefixed)) return prefixed;
    return "not valid YAML";
}

/// 1-based line of a mark; 0 when yaml-cpp has none.
int line_of(const YAML::Mark& mark) { return mark.is_null() ? 0 : mark.line + 1; }

/// What a node is, without its content.
std::string_view kind_of(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar: return "a scalar";
        case YAML::NodeType::Sequence: return "a sequence";
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Null: return "an empty value (null)";
        case YAML::NodeType::Undefined: break;
    }
    return "an undefined value";
}

/// How a value is shown in "<this> is not accepted". Only a known key's value
/// is quoted: the file is then a configuration file.
std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar: return fmt::format("'{}'", node.Scalar());
        case YAML::NodeType::Sequence: return "a sequence";
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Null: return "an empty value (null)";
        case YAML::NodeType::Undefined: break;
    }
    return "an undefined value";
}

std::string join_keys(std::span<const std::string_view> names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
        out += names[i];
    }
    return out;
}

/// One key of a map: its line and dotted name, and its value.
struct Entry {
    int line;
    std::string key;  // dotted, e.g. "file.max_size_mb"
    YAML::Node value;
};

/// Reads one file into a Config. Each member returning std::optional<Error>
/// returns the first problem found, in file order.
class FileReader {
public:
    FileReader(const std::string& path, Config& config) : path_(path), c_(config) {}

    /// Nothing of `text` is quoted until it is known to be a map of settings
    /// (see the rules in docs/configuration.md).
    std::optional<Error> read(const std::string& text) {
        if (auto at = not_text_at(text)) {
            return Error{ErrorCode::invalid_config_file,
                         fmt::format("{}:{}: not a text file ({} at byte {}): expected a YAML map of settings", path_,
                                     line_at(text, *at), text[*at] == '\0' ? "a NUL byte" : "invalid UTF-8", *at)};
        }
        std::vector<YAML::Node> documents;
        try {
            documents = YAML::LoadAll(text);
        } catch (const YAML::DeepRecursion& e) {
            return Error{ErrorCode::invalid_config_file,
                         fmt::format("{}:{}: YAML syntax error at column {}: nested more than {} levels deep", path_,
                                     line_of(e.mark), e.mark.column + 1, e.depth())};
        } catch (const YAML::ParserException& e) {
            return Error{ErrorCode::invalid_config_file,
                         fmt::format("{}:{}: YAML syntax error at column {}: {}", path_, line_of(e.mark),
                                     e.mark.column + 1, syntax_reason(e.msg))};
        }
        if (documents.empty())
            return Error{ErrorCode::invalid_config_file,
                         fmt::format("{}: the file holds no YAML document: expected a map of settings "
                                     "(write {{}} for none)",
                                     path_)};
        if (documents.size() > 1)
            return file_error(line_of(documents[1].Mark()), "second document",
                              "a second YAML document is not accepted: expected one document");
        const YAML::Node& top = documents.front();
        if (!top.IsMap())
            return not_accepted(std::max(line_of(top.Mark()), 1), "top level", kind_of(top),
                                "a map of settings (" + join_keys(kTopKeys) + ")");
        return read_top(top);
    }

private:
    static constexpr std::string_view kTopKeys[] = {"service_name", "environment", "version", "host",  "level",
                                                    "max_message_length", "console", "file", "queue", "backend",
                                                    "crash", "default_context", "sensitive_data",
                                                    // Levels by logger name (docs/levels.md).
                                                    "loggers", "keep_runtime_levels",
                                                    // Sampling and rate limiting (docs/sampling.md).
                                                    "sampling",
                                                    // The admin HTTP endpoint (docs/operations.md).
                                                    "admin", "metrics_enabled",
                                                    // Audit entries (docs/audit.md).
                                                    "audit"};
    static constexpr std::string_view kAuditKeys[] = {"enabled", "file_path", "include_user_id", "include_ip_address",
                                                      "include_request_id", "retention_days", "max_size_mb", "sync"};
    static constexpr std::string_view kAdminKeys[] = {"enabled", "bind", "port", "token"};
    static constexpr std::string_view kSamplingKeys[] = {"enabled", "rates", "always_log_patterns", "rate_limit",
                                                         "report_interval_ms", "seed"};
    static constexpr std::string_view kRateLimitKeys[] = {"messages_per_second", "burst_size"};
    static constexpr std::string_view kConsoleKeys[] = {"enabled", "format", "colors"};
    static constexpr std::string_view kFileKeys[] = {"enabled", "path", "max_size_mb", "max_backup_count", "format",
                                                     "retry_interval_ms"};
    static constexpr std::string_view kQueueKeys[] = {"size", "max_size", "full_policy", "spare_rings"};
    static constexpr std::string_view kBackendKeys[] = {"idle_sleep_us", "cpu", "ordering_grace_us"};
    static constexpr std::string_view kCrashKeys[] = {"enabled", "termination_signals", "drain_timeout_ms", "watchdog_s",
                                                      "dump_prefix"};
    static constexpr std::string_view kDumpPrefixAccepted = "a file name prefix (empty: file.path)";
    static constexpr std::string_view kQueueMaxSizeAccepted =
        "bytes, an integer from queue.size (at least 4096) to 4294967296";

    Error file_error(int line, std::string_view key, std::string_view what) const {
        return Error{ErrorCode::invalid_config_file, fmt::format("{}:{}: {}: {}", path_, line, key, what)};
    }
    Error not_accepted(int line, std::string_view key, std::string_view value, std::string_view accepted) const {
        return file_error(line, key, fmt::format("{} is not accepted: expected {}", value, accepted));
    }
    Error not_accepted(const Entry& e, std::string_view accepted) const {
        return not_accepted(e.line, e.key, describe(e.value), accepted);
    }

    /// The keys of `map`, in file order. A key that is not a scalar, that is
    /// not one of `known` (when given) or that repeats is an error.
    std::optional<Error> entries(const YAML::Node& map, std::string_view prefix,
                                 std::span<const std::string_view> known, std::vector<Entry>& out) const {
        std::map<std::string, int, std::less<>> seen;
        for (const auto& pair : map) {  // yaml-cpp yields each pair by value
            const YAML::Node key = pair.first;
            int line = line_of(key.Mark());
            std::string where = prefix.empty() ? std::string("top level") : std::string(prefix);
            if (!key.IsScalar())
                return not_accepted(line, where, std::string(kind_of(key)) + " as a key", "a key name");
            if (!known.empty() && std::find(known.begin(), known.end(), key.Scalar()) == known.end()) {
                const std::string expected = fmt::format("expected {}", join_keys(known));
                const auto shown = shown_key(key.Scalar());
                if (!shown)
                    return file_error(line, where, "an unknown key that is not a key name (not shown): " + expected);
                return file_error(line, prefix.empty() ? *shown : fmt::format("{}.{}", prefix, *shown),
                                  "unknown key: " + expected);
            }
            std::string dotted = prefix.empty() ? key.Scalar() : fmt::format("{}.{}", prefix, key.Scalar());
            if (auto [first, inserted] = seen.emplace(key.Scalar(), line); !inserted)
                return file_error(line, dotted, fmt::format("duplicate key (first at line {})", first->second));
            out.push_back(Entry{line, std::move(dotted), pair.second});
        }
        return std::nullopt;
    }

    /// The value's text, or an error if it is not a scalar or has a tag other
    /// than YAML's own (a custom tag would otherwise be dropped unseen).
    std::optional<Error> scalar(const Entry& e, std::string_view accepted, std::string& out) const {
        if (!e.value.IsScalar()) return not_accepted(e, accepted);
        const std::string& tag = e.value.Tag();
        if (tag != "?" && tag != "!" && !tag.starts_with("tag:yaml.org,2002:"))
            return not_accepted(e.line, e.key, fmt::format("the tag '{}'", tag), accepted);
        out = e.value.Scalar();
        return std::nullopt;
    }

    std::optional<Error> map_entries(const Entry& e, std::span<const std::string_view> known, std::string_view what,
                                     std::vector<Entry>& out) const {
        if (!e.value.IsMap()) return not_accepted(e, fmt::format("a map of {} ({})", what, join_keys(known)));
        return entries(e.value, e.key, known, out);
    }

    std::optional<Error> read_uint(const Entry& e, std::uint64_t min, std::uint64_t max, std::string_view accepted,
                                   std::uint64_t& out) const {
        std::string text;
        if (auto error = scalar(e, accepted, text)) return error;
        auto n = parse_uint(text, min, max);
        if (!n) return not_accepted(e, accepted);
        out = *n;
        return std::nullopt;
    }

    std::optional<Error> read_bool(const Entry& e, bool& out) const {
        std::string text;
        if (auto error = scalar(e, kBoolAccepted, text)) return error;
        auto b = parse_bool(text);
        if (!b) return not_accepted(e, kBoolAccepted);
        out = *b;
        return std::nullopt;
    }

    std::optional<Error> read_microseconds(const Entry& e, std::chrono::microseconds& out) const {
        std::uint64_t n = 0;
        if (auto error = read_uint(e, 0, kMicrosecondsMax, kMicrosecondsAccepted, n)) return error;
        out = std::chrono::microseconds(static_cast<std::int64_t>(n));
        return std::nullopt;
    }

    std::optional<Error> read_top(const YAML::Node& top) {
        std::vector<Entry> list;
        if (auto error = entries(top, "", kTopKeys, list)) return error;
        for (const Entry& e : list) {
            std::string text;
            std::optional<Error> error;
            if (e.key == "service_name") {
                if ((error = scalar(e, "a non-empty service name", text))) return error;
                if (text.empty()) return not_accepted(e, "a non-empty service name");
                c_.service_name = text;
            } else if (e.key == "environment") {
                if ((error = scalar(e, kEnvironmentAccepted, text))) return error;
                if (!valid_environment(text)) return not_accepted(e, kEnvironmentAccepted);
                c_.environment = text;
            } else if (e.key == "version") {
                if ((error = scalar(e, kVersionAccepted, text))) return error;
                if (!valid_version(text)) return not_accepted(e, kVersionAccepted);
                c_.version = text;
            } else if (e.key == "host") {
                if ((error = scalar(e, "a host name (empty: HOSTNAME, else gethostname())", text))) return error;
                c_.host = text;
            } else if (e.key == "level") {
                if ((error = scalar(e, kLevelAccepted, text))) return error;
                auto level = parse_level(text);
                if (!level) return not_accepted(e, kLevelAccepted);
                c_.level = *level;
            } else if (e.key == "max_message_length") {
                std::uint64_t n = 0;
                if ((error = read_uint(e, kMessageLengthMin, kMessageLengthMax, kMessageLengthAccepted, n)))
                    return error;
                c_.max_message_length = static_cast<std::size_t>(n);
            } else if (e.key == "console") {
                error = read_console(e);
            } else if (e.key == "file") {
                error = read_file_section(e);
            } else if (e.key == "queue") {
                error = read_queue(e);
            } else if (e.key == "backend") {
                error = read_backend(e);
            } else if (e.key == "crash") {
                error = read_crash(e);
            } else if (e.key == "default_context") {
                error = read_default_context(e);
            } else if (e.key == "sensitive_data") {
                error = read_sensitive_data(e);
            } else if (e.key == "loggers") {
                error = read_logger_levels(e);
            } else if (e.key == "keep_runtime_levels") {
                error = read_bool(e, c_.keep_runtime_levels);
            } else if (e.key == "sampling") {
                error = read_sampling(e);
            } else if (e.key == "admin") {
                error = read_admin(e);
            } else if (e.key == "metrics_enabled") {
                error = read_bool(e, c_.metrics_enabled);
            } else if (e.key == "audit") {
                error = read_audit(e);
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    std::optional<Error> read_console(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kConsoleKeys, "console settings", list)) return error;
        for (const Entry& e : list) {
            std::optional<Error> error;
            if (e.key.ends_with(".enabled")) {
                error = read_bool(e, c_.console_enabled);
            } else if (e.key.ends_with(".colors")) {
                error = read_bool(e, c_.console_colors);
            } else {  // format
                std::string text;
                if ((error = scalar(e, kConsoleFormatAccepted, text))) return error;
                auto format = parse_console_format(text);
                if (!format) return not_accepted(e, kConsoleFormatAccepted);
                c_.console_format = *format;
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    std::optional<Error> read_file_section(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kFileKeys, "file settings", list)) return error;
        for (const Entry& e : list) {
            std::optional<Error> error;
            std::uint64_t n = 0;
            if (e.key.ends_with(".enabled")) {
                error = read_bool(e, c_.file_enabled);
            } else if (e.key.ends_with(".path")) {
                std::string text;
                if ((error = scalar(e, kFilePathAccepted, text))) return error;
                if (text.empty()) return not_accepted(e, kFilePathAccepted);
                c_.file_path = text;
            } else if (e.key.ends_with(".max_size_mb")) {
                if ((error = read_uint(e, 1, kMaxFileSizeMbMax, kMaxFileSizeAccepted, n))) return error;
                c_.max_file_size_mb = n;
            } else if (e.key.ends_with(".format")) {
                std::string text;
                if ((error = scalar(e, kFileFormatAccepted, text))) return error;
                auto format = parse_file_format(text);
                if (!format) return not_accepted(e, kFileFormatAccepted);
                c_.file_format = *format;
            } else if (e.key.ends_with(".retry_interval_ms")) {
                if ((error = read_uint(e, 100, 3600000, "an integer from 100 to 3600000 (ms)", n))) return error;
                c_.file_retry_interval = std::chrono::milliseconds(n);
            } else {  // max_backup_count
                if ((error = read_uint(e, 0, kMaxBackupCountMax, kMaxBackupCountAccepted, n))) return error;
                c_.max_backup_count = static_cast<std::uint32_t>(n);
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    std::optional<Error> read_queue(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kQueueKeys, "queue settings", list)) return error;
        const Entry* max_entry = nullptr;
        std::optional<std::uint64_t> max_size;
        for (const Entry& e : list) {
            std::uint64_t n = 0;
            if (e.key.ends_with(".max_size")) {
                // Also checked against the ring size below, once both are known.
                if (auto error = read_uint(e, kQueueBytesMin, kQueueBytesMax, kQueueMaxSizeAccepted, n)) return error;
                max_entry = &e;
                max_size = n;
            } else if (e.key.ends_with(".spare_rings")) {
                if (auto error = read_uint(e, 0, 64, kQueueSpareRingsAccepted, n)) return error;
                c_.queue_spare_rings = static_cast<std::size_t>(n);
            } else if (e.key.ends_with(".size")) {
                if (auto error = read_uint(e, kQueueBytesMin, kQueueBytesMax, kQueueSizeAccepted, n)) return error;
                c_.queue_capacity_bytes = static_cast<std::size_t>(n);
            } else {  // full_policy
                std::string text;
                if (auto error = scalar(e, kQueueFullPolicyAccepted, text)) return error;
                auto policy = parse_queue_full_policy(text);
                if (!policy) return not_accepted(e, kQueueFullPolicyAccepted);
                c_.queue_full_policy = *policy;
            }
        }
        if (max_size) {
            if (*max_size < c_.queue_capacity_bytes)
                return not_accepted(*max_entry, fmt::format("bytes, an integer from queue.size ({}) to {}",
                                                            c_.queue_capacity_bytes, kQueueBytesMax));
            c_.queue_max_capacity_bytes = static_cast<std::size_t>(*max_size);
        } else {
            // A larger ring alone raises the largest one, as LOG_QUEUE_SIZE does.
            c_.queue_max_capacity_bytes = std::max(c_.queue_max_capacity_bytes, c_.queue_capacity_bytes);
        }
        return std::nullopt;
    }

    std::optional<Error> read_backend(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kBackendKeys, "backend settings", list)) return error;
        for (const Entry& e : list) {
            std::optional<Error> error;
            if (e.key.ends_with(".idle_sleep_us")) {
                error = read_microseconds(e, c_.backend_idle_sleep);
            } else if (e.key.ends_with(".ordering_grace_us")) {
                error = read_microseconds(e, c_.backend_ordering_grace);
            } else {  // cpu
                std::string text;
                if ((error = scalar(e, kBackendCpuAccepted, text))) return error;
                auto cpu = parse_int(text, -1, std::numeric_limits<int>::max());
                if (!cpu) return not_accepted(e, kBackendCpuAccepted);
                c_.backend_cpu = static_cast<int>(*cpu);
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    std::optional<Error> read_crash(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kCrashKeys, "crash handler settings", list)) return error;
        for (const Entry& e : list) {
            std::optional<Error> error;
            std::uint64_t n = 0;
            if (e.key.ends_with(".enabled")) {
                error = read_bool(e, c_.crash_handler);
            } else if (e.key.ends_with(".termination_signals")) {
                error = read_bool(e, c_.crash_on_termination_signals);
            } else if (e.key.ends_with(".drain_timeout_ms")) {
                if ((error = read_uint(e, 0, kDrainTimeoutMsMax, kDrainTimeoutAccepted, n))) return error;
                c_.crash_drain_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(n));
            } else if (e.key.ends_with(".watchdog_s")) {
                if ((error = read_uint(e, kWatchdogSecondsMin, kWatchdogSecondsMax, kWatchdogAccepted, n))) return error;
                c_.crash_watchdog = std::chrono::seconds(static_cast<std::int64_t>(n));
            } else {  // dump_prefix
                std::string text;
                if ((error = scalar(e, kDumpPrefixAccepted, text))) return error;
                c_.crash_dump_prefix = text;
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    // ---- sensitive data ----------------------------------------------------

    static constexpr std::string_view kSensitiveKeys[] = {"enabled", "redact_fields", "mask_fields", "redact_patterns",
                                                          "redaction_text"};
    static constexpr std::string_view kMaskRuleKeys[] = {"kind", "show_last", "mask_char", "mask_domain"};
    static constexpr std::string_view kMaskKindAccepted = "last_chars or email";

    /// A sequence of strings (each checked by `check`, which returns what
    /// is accepted if it refuses one, else an empty view).
    template <class Check>
    std::optional<Error> read_string_list(const Entry& e, std::string_view accepted, Check&& check,
                                          std::vector<std::string>& out) const {
        if (!e.value.IsSequence()) return not_accepted(e, fmt::format("a sequence of {}", accepted));
        std::vector<std::string> list;
        std::size_t i = 0;
        for (const auto& item : e.value) {
            const Entry element{line_of(item.Mark()), fmt::format("{}[{}]", e.key, i++), item};
            std::string text;
            if (auto error = scalar(element, accepted, text)) return error;
            if (std::string why = check(text); !why.empty()) return not_accepted(element, why);
            list.push_back(std::move(text));
        }
        out = std::move(list);
        return std::nullopt;
    }

    /// A sequence of RE2 patterns, each compiled as Config::validate() does
    /// (redact_patterns, always_log_patterns).
    std::optional<Error> read_pattern_list(const Entry& e, std::vector<std::string>& out) const {
        return read_string_list(
            e, kRedactPatternAccepted,
            [](const std::string& p) {
                std::string why;
                if (compile_redaction_pattern(p, why) != nullptr) return std::string();
                return fmt::format("{} ({})", kRedactPatternAccepted, why);
            },
            out);
    }

    /// The section replaces what it names: a redact_fields, mask_fields or
    /// redact_patterns key replaces the base's whole list or map.
    std::optional<Error> read_sensitive_data(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kSensitiveKeys, "sensitive data settings", list)) return error;
        SensitiveDataConfig& s = c_.sensitive_data;
        for (const Entry& e : list) {
            std::optional<Error> error;
            if (e.key.ends_with(".enabled")) {
                error = read_bool(e, s.enabled);
            } else if (e.key.ends_with(".redaction_text")) {
                std::string text;
                if ((error = scalar(e, kRedactionTextAccepted, text))) return error;
                if (text.size() > kRedactionTextMax) return not_accepted(e, kRedactionTextAccepted);
                s.redaction_text = text;
            } else if (e.key.ends_with(".redact_fields")) {
                error = read_string_list(
                    e, kRedactFieldAccepted,
                    [](const std::string& f) { return f.empty() ? std::string(kRedactFieldAccepted) : std::string(); },
                    s.redact_fields);
            } else if (e.key.ends_with(".redact_patterns")) {
                error = read_pattern_list(e, s.redact_patterns);
            } else {  // mask_fields
                error = read_mask_fields(e);
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    /// sampling: {enabled, rates, always_log_patterns, rate_limit, report_interval_ms, seed}.
    /// rates and always_log_patterns replace the base's; rate_limit: null
    /// turns rate limiting off, a map sets it (absent keys keep the base's
    /// values, or the defaults if the base had none).
    std::optional<Error> read_sampling(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kSamplingKeys, "sampling settings", list)) return error;
        SamplingConfig& s = c_.sampling;
        for (const Entry& e : list) {
            std::optional<Error> error;
            if (e.key.ends_with(".enabled")) {
                error = read_bool(e, s.enabled);
            } else if (e.key.ends_with(".rates")) {
                error = read_sample_rates(e);
            } else if (e.key.ends_with(".always_log_patterns")) {
                error = read_pattern_list(e, s.always_log_patterns);
            } else if (e.key.ends_with(".rate_limit")) {
                error = read_rate_limit(e);
            } else if (e.key.ends_with(".report_interval_ms")) {
                std::uint64_t n = 0;
                if ((error = read_uint(e, 0, kReportIntervalMsMax, kReportIntervalAccepted, n))) return error;
                s.report_interval = std::chrono::milliseconds(static_cast<std::int64_t>(n));
            } else {  // seed
                std::uint64_t n = 0;
                if ((error = read_uint(e, 0, UINT64_MAX, "an integer from 0 to 18446744073709551615", n))) return error;
                s.seed = n;
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    /// audit: {enabled, file_path, include_user_id, include_ip_address, include_request_id,
    /// retention_days, max_size_mb, sync}.
    std::optional<Error> read_audit(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kAuditKeys, "audit log settings", list)) return error;
        AuditConfig& a = c_.audit;
        for (const Entry& e : list) {
            std::optional<Error> error;
            const std::string_view key = std::string_view(e.key).substr(section.key.size() + 1);
            std::uint64_t n = 0;
            if (key == "enabled") {
                error = read_bool(e, a.enabled);
            } else if (key == "file_path") {
                std::string text;
                if ((error = scalar(e, kFilePathAccepted, text))) return error;
                if (text.empty()) return not_accepted(e, kFilePathAccepted);
                a.file_path = text;
            } else if (key == "include_user_id") {
                error = read_bool(e, a.include_user_id);
            } else if (key == "include_ip_address") {
                error = read_bool(e, a.include_ip_address);
            } else if (key == "include_request_id") {
                error = read_bool(e, a.include_request_id);
            } else if (key == "retention_days") {
                if ((error = read_uint(e, 1, kRetentionDaysMax, kRetentionDaysAccepted, n))) return error;
                a.retention_days = static_cast<std::uint32_t>(n);
            } else if (key == "max_size_mb") {
                if ((error = read_uint(e, 1, kMaxFileSizeMbMax, kMaxFileSizeAccepted, n))) return error;
                a.max_file_size_mb = n;
            } else {  // sync
                error = read_bool(e, a.sync);
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    /// admin: {enabled, bind, port, token}. The token is never quoted in an error.
    std::optional<Error> read_admin(const Entry& section) {
        std::vector<Entry> list;
        if (auto error = map_entries(section, kAdminKeys, "admin endpoint settings", list)) return error;
        AdminConfig& a = c_.admin;
        for (const Entry& e : list) {
            std::optional<Error> error;
            std::string text;
            if (e.key.ends_with(".enabled")) {
                error = read_bool(e, a.enabled);
            } else if (e.key.ends_with(".bind")) {
                if ((error = scalar(e, kAdminBindAccepted, text))) return error;
                if (text.empty()) return not_accepted(e, kAdminBindAccepted);
                a.bind_address = text;
            } else if (e.key.ends_with(".port")) {
                std::uint64_t n = 0;
                if ((error = read_uint(e, 0, kAdminPortMax, kAdminPortAccepted, n))) return error;
                a.port = static_cast<int>(n);
            } else {  // token
                if (!e.value.IsScalar() || !valid_admin_token(e.value.Scalar()))
                    return not_accepted(e.line, e.key, "the token (not shown)", kAdminTokenAccepted);
                a.bearer_token = e.value.Scalar();
            }
            if (error) return error;
        }
        return std::nullopt;
    }

    /// rates: {LEVEL: fraction, ...}; levels not listed keep 1.0.
    std::optional<Error> read_sample_rates(const Entry& section) {
        if (!section.value.IsMap()) return not_accepted(section, "a map of levels to fractions kept (0.0 to 1.0)");
        std::vector<Entry> list;
        if (auto error = entries(section.value, section.key, {}, list)) return error;
        std::map<Level, double> rates;
        for (Level l : {Level::debug, Level::info, Level::warning, Level::error, Level::critical}) rates[l] = 1.0;
        for (const Entry& e : list) {
            const std::string name = e.key.substr(section.key.size() + 1);
            auto level = parse_level(name);
            if (!level) return not_accepted(e.line, e.key, fmt::format("the level '{}'", name), kLevelAccepted);
            std::string text;
            if (auto error = scalar(e, kSampleRateAccepted, text)) return error;
            auto rate = parse_decimal(text, 0.0, 1.0);
            if (!rate) return not_accepted(e, kSampleRateAccepted);
            rates[*level] = *rate;
        }
        c_.sampling.rates = std::move(rates);
        return std::nullopt;
    }

    std::optional<Error> read_rate_limit(const Entry& section) {
        if (section.value.IsNull()) {
            c_.sampling.rate_limit.reset();
            return std::nullopt;
        }
        std::vector<Entry> list;
        if (auto error = map_entries(section, kRateLimitKeys, "rate limit settings (or null: none)", list)) return error;
        RateLimitConfig limit = c_.sampling.rate_limit.value_or(RateLimitConfig{});
        for (const Entry& e : list) {
            if (e.key.ends_with(".messages_per_second")) {
                std::string text;
                if (auto error = scalar(e, kMessagesPerSecondAccepted, text)) return error;
                auto mps = parse_decimal(text, 0.0, kMessagesPerSecondMax);
                if (!mps || *mps == 0.0)
                    return not_accepted(e, "records per second, a number above 0 and at most 1000000000 (rate_limit: "
                                           "null turns rate limiting off)");
                limit.messages_per_second = *mps;
            } else {  // burst_size
                std::uint64_t n = 0;
                if (auto error = read_uint(e, 1, kBurstSizeMax, kBurstSizeAccepted, n)) return error;
                limit.burst_size = static_cast<std::uint32_t>(n);
            }
        }
        c_.sampling.rate_limit = limit;
        return std::nullopt;
    }

    /// loggers: {name: LEVEL}. Entries merge into the base's logger_levels
    /// (a name in the file replaces the same name there).
    std::optional<Error> read_logger_levels(const Entry& section) {
        if (!section.value.IsMap()) return not_accepted(section, "a map of logger names to levels");
        std::vector<Entry> list;
        if (auto error = entries(section.value, section.key, {}, list)) return error;
        for (const Entry& e : list) {
            std::string text;
            if (auto error = scalar(e, kLevelAccepted, text)) return error;
            auto level = parse_level(text);
            if (!level) return not_accepted(e, kLevelAccepted);
            std::string name = e.key.substr(section.key.size() + 1);
            if (name.empty()) return not_accepted(e.line, section.key, "''", "non-empty logger names");
            c_.logger_levels.insert_or_assign(std::move(name), *level);
        }
        return std::nullopt;
    }

    /// mask_fields: {name: {show_last, mask_char} | {mask_domain} | {kind, ...}}.
    /// A rule with mask_domain and no kind is an email rule.
    std::optional<Error> read_mask_fields(const Entry& section) {
        static constexpr std::string_view kAccepted =
            "a map of field names to mask rules ({show_last, mask_char} or {mask_domain})";
        if (!section.value.IsMap()) return not_accepted(section, kAccepted);
        std::vector<Entry> names;
        if (auto error = entries(section.value, section.key, {}, names)) return error;
        std::map<std::string, MaskRule> rules;
        for (const Entry& n : names) {
            const std::string name = n.key.substr(section.key.size() + 1);
            if (name.empty()) return not_accepted(n.line, n.key, "an empty name", kRedactFieldAccepted);
            std::vector<Entry> list;
            if (auto error = map_entries(n, kMaskRuleKeys, "mask settings", list)) return error;
            MaskRule rule;
            bool kind_given = false, email_keys = false, chars_keys = false;
            for (const Entry& e : list) {
                std::string text;
                if (e.key.ends_with(".kind")) {
                    if (auto error = scalar(e, kMaskKindAccepted, text)) return error;
                    const std::string k = lower(text);
                    if (k == "last_chars") rule.kind = MaskRule::Kind::last_chars;
                    else if (k == "email") rule.kind = MaskRule::Kind::email;
                    else return not_accepted(e, kMaskKindAccepted);
                    kind_given = true;
                } else if (e.key.ends_with(".show_last")) {
                    std::uint64_t v = 0;
                    if (auto error = read_uint(e, 0, kShowLastMax, kShowLastAccepted, v)) return error;
                    rule.show_last = static_cast<std::uint32_t>(v);
                    chars_keys = true;
                } else if (e.key.ends_with(".mask_char")) {
                    if (auto error = scalar(e, kMaskCharAccepted, text)) return error;
                    if (text.size() != 1 || text[0] < 0x20 || text[0] > 0x7e) return not_accepted(e, kMaskCharAccepted);
                    rule.mask_char = text[0];
                    chars_keys = true;
                } else {  // mask_domain
                    if (auto error = read_bool(e, rule.mask_domain)) return error;
                    email_keys = true;
                }
            }
            if (!kind_given && email_keys) rule.kind = MaskRule::Kind::email;
            const bool email = rule.kind == MaskRule::Kind::email;
            if ((email && chars_keys) || (!email && email_keys))
                return file_error(n.line, n.key,
                                  email ? "show_last and mask_char do not apply to an email rule (kind: email, or "
                                          "mask_domain given): expected mask_domain only"
                                        : "mask_domain applies to an email rule only: expected kind: email");
            rules.insert_or_assign(name, rule);
        }
        c_.sensitive_data.mask_fields = std::move(rules);
        return std::nullopt;
    }

    /// Entries merge into the base's default_context (a key in the file
    /// replaces the same key there). A value keeps its YAML 1.2 type.
    std::optional<Error> read_default_context(const Entry& section) {
        static constexpr std::string_view kValueAccepted = "a string, an integer, a number or true/false";
        if (!section.value.IsMap()) return not_accepted(section, "a map of context keys to " + std::string(kValueAccepted));
        std::vector<Entry> list;
        if (auto error = entries(section.value, section.key, {}, list)) return error;
        for (const Entry& e : list) {
            if (!e.value.IsScalar()) return not_accepted(e, kValueAccepted);
            auto value = context_value(e);
            if (!value) return value.error();
            c_.default_context.insert_or_assign(e.key.substr(section.key.size() + 1), std::move(*value));
        }
        return std::nullopt;
    }

    /// A scalar typed as the YAML 1.2 core schema does: a quoted or block
    /// scalar (or one tagged !!str) is a string; a plain one is an integer,
    /// a float, a bool, null (refused: it has no JSON context type here), or
    /// else a string.
    Expected<ContextValue> context_value(const Entry& e) const {
        const std::string& text = e.value.Scalar();
        const std::string& tag = e.value.Tag();
        if (tag == "!" || tag == "tag:yaml.org,2002:str") return ContextValue(text);
        if (tag != "?")
            return not_accepted(e.line, e.key, fmt::format("the tag '{}'", tag), "no tag, or !!str");

        static const std::regex kInt(R"([-+]?[0-9]+)");
        static const std::regex kHex(R"(0x[0-9a-fA-F]+)");
        static const std::regex kOct(R"(0o[0-7]+)");
        static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
        static const std::regex kInfNan(R"([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
        static const std::regex kNull(R"(~|null|Null|NULL|)");
        static const std::regex kTrue(R"(true|True|TRUE)");
        static const std::regex kFalse(R"(false|False|FALSE)");

        auto integer = [&](std::string_view digits, int base, bool negative) -> Expected<ContextValue> {
            std::uint64_t magnitude = 0;
            auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
            constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
            if (ec != std::errc() || ptr != digits.data() + digits.size() || magnitude > kMax + (negative ? 1 : 0))
                return not_accepted(e, "an integer from -9223372036854775808 to 9223372036854775807 "
                                       "(quote it to keep it as a string)");
            if (!negative) return ContextValue(static_cast<std::int64_t>(magnitude));
            return ContextValue(magnitude == kMax + 1 ? std::numeric_limits<std::int64_t>::min()
                                                      : -static_cast<std::int64_t>(magnitude));
        };

        if (std::regex_match(text, kInt)) {
            bool negative = text.front() == '-';
            std::string_view digits = text;
            if (text.front() == '-' || text.front() == '+') digits.remove_prefix(1);
            return integer(digits, 10, negative);
        }
        if (std::regex_match(text, kHex)) return integer(std::string_view(text).substr(2), 16, false);
        if (std::regex_match(text, kOct)) return integer(std::string_view(text).substr(2), 8, false);
        if (std::regex_match(text, kFloat)) {
            std::string_view digits = text;
            if (digits.front() == '+') digits.remove_prefix(1);
            double d = 0;
            auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
            if (ec != std::errc() || ptr != digits.data() + digits.size() || !std::isfinite(d))
                return not_accepted(e, "a finite number (quote it to keep it as a string)");
            return ContextValue(d);
        }
        if (std::regex_match(text, kInfNan))
            return not_accepted(e, "a finite number: JSON has no infinity or NaN (quote it to keep it as a string)");
        if (std::regex_match(text, kNull))
            return not_accepted(e, "a string, an integer, a number or true/false (quote it to keep it as a string)");
        if (std::regex_match(text, kTrue)) return ContextValue(true);
        if (std::regex_match(text, kFalse)) return ContextValue(false);
        return ContextValue(text);
    }

    const std::string& path_;
    Config& c_;
};

}  // namespace

Expected<Config> Config::from_file(const std::string& path) { return from_file(path, Config{}); }

Expected<Config> Config::from_file(const std::string& path, Config base) {
    try {
        WholeFileLimits limits;
        limits.regular_file_only = true;
        limits.max_bytes = kMaxConfigFileBytes;
        WholeFile file = read_whole_file(path.c_str(), limits);
        if (!file.ok())
            return Error{ErrorCode::io_error, fmt::format("{}: cannot read the configuration file: {}", path,
                                                          problem_text(file.problem, limits))};
        const std::string text(reinterpret_cast<const char*>(file.bytes.data()), file.bytes.size());
        file.bytes = {};
        if (auto problem = FileReader(path, base).read(text)) return *problem;
        return base;
    } catch (const std::bad_alloc&) {
        return Error{ErrorCode::invalid_config_file,
                     fmt::format("{}: reading the configuration file failed: out of memory", path)};
    } catch (const YAML::Exception& e) {
        // Not a syntax error (those are caught in read()): its text may quote the file.
        return Error{ErrorCode::invalid_config_file,
                     fmt::format("{}:{}: reading the configuration file failed in yaml-cpp", path, line_of(e.mark))};
    } catch (const std::exception& e) {
        return Error{ErrorCode::invalid_config_file,
                     fmt::format("{}: reading the configuration file failed: {}", path, e.what())};
    } catch (...) {
        return Error{ErrorCode::invalid_config_file,
                     fmt::format("{}: reading the configuration file failed: unknown exception", path)};
    }
}

}  // namespace agora::log
