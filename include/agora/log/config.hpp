#pragma once
// Runtime configuration. Every field has a documented default and unit;
// validate() says what is wrong with a Config, from_file() layers a YAML file
// on top of one and from_env() the environment (and LOG_CONFIG_FILE).
// Priority, highest first: environment > file > code (the base) > defaults.

#include <agora/log/detail/export.hpp>
#include <agora/log/context.hpp>
#include <agora/log/detail/limits.hpp>
#include <agora/log/error.hpp>
#include <agora/log/level.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

AGORA_LOG_API_BEGIN

namespace agora::log {

enum class ConsoleFormat { json, text };

/// What the log file holds: JSON lines, or the framed binary records of
/// docs/binary-format.md (agora-log-decode renders them).
enum class FileFormat { json, binary };

/// What a calling thread does when its ring has no room for a record.
enum class QueueFullPolicy {
    block,  ///< wait, backing off, until the backend frees space: nothing lost
    drop,   ///< discard the record and count it; the backend reports the count
    grow,   ///< move to a ring twice as large, up to queue_max_capacity_bytes, then block
};

// ---- sensitive data (docs/redaction.md) -----------------------------------

/// How a mask_fields value is shown.
struct MaskRule {
    enum class Kind {
        last_chars,  ///< all but the last show_last characters become mask_char
        email,       ///< "user@example.com" -> "user@***" (mask_domain false)
    };
    Kind kind = Kind::last_chars;
    /// last_chars: characters (bytes) left visible at the end. A value no
    /// longer than this is masked whole. 0 to 1024.
    std::uint32_t show_last = 4;
    /// last_chars: the character written for each hidden one (printable ASCII).
    char mask_char = '*';
    /// email: false keeps the local part and writes the domain as "***"
    /// ("user@***"); true also hides the local part ("***@***"). A value with
    /// no '@' is masked as "***".
    bool mask_domain = false;
};

/// Redaction and masking of sensitive values, applied by the backend (and
/// by agora-log-decode) while rendering: never on the calling thread. The
/// argument bytes in rings, crash dumps and binary log files are not
/// redacted (docs/redaction.md). Env: LOG_REDACTION (the main switch).
/// YAML: sensitive_data: {enabled, redact_fields, mask_fields, redact_patterns, redaction_text}.
struct SensitiveDataConfig {
    /// false: nothing is redacted or masked.
    bool enabled = true;
    /// A field whose key contains one of these (ASCII case-insensitive
    /// substring) is written as redaction_text, whatever its type.
    std::vector<std::string> redact_fields = {"password", "api_key",      "secret",       "token",        "authorization",
                                              "private_key", "credential", "access_token", "refresh_token"};
    /// A field whose key contains one of these names (case-insensitive
    /// substring; the first in name order wins) and that no redact_fields
    /// entry matches is written masked, as a string.
    std::map<std::string, MaskRule> mask_fields;
    /// Regular expressions (RE2 syntax, matched case-insensitively) searched
    /// in the message and in every string value (context fields, named
    /// placeholders, exception messages); each match becomes redaction_text.
    /// A pattern that does not compile makes validate() fail, naming it.
    std::vector<std::string> redact_patterns;
    std::string redaction_text = "[REDACTED]";
};

// ---- sampling and rate limiting (docs/sampling.md) ------------------------

/// A token bucket per logger name: each logger may write burst_size records
/// at once, then messages_per_second on average.
struct RateLimitConfig {
    /// Refill rate of each logger's bucket, records per second. > 0, finite.
    double messages_per_second = 1000.0;
    /// Bucket capacity (and its content at initialize()), records. 1 to 10^9.
    std::uint32_t burst_size = 5000;
};

/// Which records are written at all, decided on the calling thread before
/// anything is encoded, in this order: a site whose template matches an
/// always_log_patterns entry is always written; then the logger's rate limit;
/// then sampling by level. With every rate 1.0 and no rate_limit (the
/// defaults) nothing is decided and a call costs what it costs without this.
/// Suppressed records are counted per logger (sampling_stats()); the backend
/// reports rate-limited counts as a WARNING "Rate limited: N entries from
/// <logger> suppressed" every report_interval.
/// Env: LOG_SAMPLING, LOG_RATE_LIMIT_PER_SECOND, LOG_RATE_LIMIT_BURST.
/// YAML: sampling: {enabled, rates, always_log_patterns, rate_limit, report_interval_ms, seed}.
struct SamplingConfig {
    /// false: no sampling and no rate limiting, whatever the fields below say.
    bool enabled = true;
    /// Fraction of records kept, per level, 0.0 to 1.0; a level not listed
    /// keeps 1.0. A kept record of a level below 1.0 carries
    /// context.sample_rate.
    std::map<Level, double> rates = {{Level::debug, 1.0},
                                     {Level::info, 1.0},
                                     {Level::warning, 1.0},
                                     {Level::error, 1.0},
                                     {Level::critical, 1.0}};
    /// Regular expressions (RE2 syntax, case-insensitive, searched anywhere)
    /// matched against a call site's format string, once, when a thread
    /// first uses the site: a site that matches is never sampled nor rate
    /// limited. A pattern that does not compile makes validate() fail.
    std::vector<std::string> always_log_patterns;
    /// Absent (the default): no rate limiting.
    std::optional<RateLimitConfig> rate_limit;
    /// How often the backend writes the rate-limit WARNING (only for loggers
    /// that had records suppressed since the last one; the remainder is
    /// written at shutdown()). 0 = at every backend pass. 0 to 3600000 ms.
    std::chrono::milliseconds report_interval{10000};
    /// Seed of the calling threads' generators (splitmix64): 0 = a different
    /// sequence per thread and run; otherwise thread k (in order of first
    /// record) draws from seed and k, so a single-threaded run repeats.
    std::uint64_t seed = 0;
};

// ---- admin endpoint (docs/operations.md) -----------------------------------

/// The optional admin HTTP endpoint, started by initialize() and stopped by
/// shutdown(): GET /metrics (Prometheus text), GET /health/logging, GET and
/// PUT /admin/logging/level. Off by default.
/// Env: LOG_ADMIN_PORT (setting it also enables the endpoint), LOG_ADMIN_BIND,
/// LOG_ADMIN_TOKEN. YAML: admin: {enabled, bind, port, token}.
struct AdminConfig {
    bool enabled = false;
    /// Address to listen on (IPv4 or IPv6 literal, or a host name). The
    /// default keeps the endpoint on this host.
    std::string bind_address = "127.0.0.1";
    /// TCP port, 0 to 65535; 0 = a free port the OS picks (admin_port() says which).
    int port = 0;
    /// Non-empty: PUT /admin/logging/level requires "Authorization: Bearer
    /// <token>" (401 otherwise). Printable ASCII without spaces, at most 256 bytes.
    std::string bearer_token;
};

/// Audit entries (Logger::audit(), docs/audit.md): a file of their own,
/// written on the calling thread (never queued, sampled, rate limited or
/// dropped), redacted like any entry, each line sealed into a SHA-256 hash
/// chain that agora-log-audit verifies. Off by default.
/// Env: LOG_AUDIT_ENABLED, LOG_AUDIT_FILE_PATH. YAML: audit: {enabled, file_path,
/// include_user_id, include_ip_address, include_request_id, retention_days, max_size_mb, sync}.
struct AuditConfig {
    bool enabled = false;
    /// Empty: <directory of Config::file_path>/audit/<service_name>-audit.log
    /// (the seed's /var/log/agora/audit/<service>-audit.log).
    std::string file_path;
    /// false: the field is left out of audit entries, wherever it came from
    /// (the call, a ScopedContext, a bound or the default context).
    bool include_user_id = true;     ///< "user_id"
    bool include_ip_address = true;  ///< "ip_address"
    bool include_request_id = true;  ///< "request_id" and "correlation_id"
    /// Rotated audit files are removed once their last write is older than
    /// this, and never for any other reason (no backup count). 1 to 36500.
    std::uint32_t retention_days = 365;
    /// Rotate before a line would take the file over this size. 1 to 1048576.
    std::uint64_t max_file_size_mb = 100;
    /// true: audit() returns once its line is written and fdatasync'ed.
    /// false: once it is written (in the kernel: a crash of the process keeps
    /// it, a power loss may not); fdatasync at rotation and shutdown().
    bool sync = true;
};

struct Config {
    /// Written as "service" on every entry. Required (non-empty). YAML: service_name.
    std::string service_name;
    /// "development", "staging" or "production" (the schema's enum). Env: ENVIRONMENT. YAML: environment.
    std::string environment = "development";
    /// Semantic version "MAJOR.MINOR.PATCH[...]". Env: SERVICE_VERSION. YAML: version.
    std::string version = "0.0.0";
    /// Host or pod name; empty = HOSTNAME, else gethostname(). Env: HOSTNAME. YAML: host.
    std::string host;
    /// Minimum level written by loggers from get_logger(). Env: LOG_LEVEL. YAML: level.
    Level level = Level::info;

    /// Env: LOG_CONSOLE_ENABLED, LOG_CONSOLE_FORMAT (json|text), LOG_CONSOLE_COLORS.
    /// YAML: console.enabled, console.format, console.colors.
    bool console_enabled = true;
    ConsoleFormat console_format = ConsoleFormat::json;
    /// Colours by level in text format, only when stdout is a terminal.
    bool console_colors = true;

    /// Env: LOG_FILE_ENABLED, LOG_FILE_PATH, LOG_MAX_FILE_SIZE_MB, LOG_MAX_BACKUP_COUNT.
    /// YAML: file.enabled, file.path, file.max_size_mb, file.max_backup_count.
    bool file_enabled = true;
    /// Empty (the default): /var/log/agora/<service_name>.log, the seed's
    /// convention for collection (docs/deployment.md); see effective_file_path().
    std::string file_path;
    /// Rotate before a write would take the file over this size. Must be > 0.
    std::uint64_t max_file_size_mb = 100;
    /// Backups kept as file_path.1 (newest) .. file_path.N (oldest). 0 = rotation truncates nothing
    /// but keeps no backup (the current file is removed on rotation).
    std::uint32_t max_backup_count = 5;
    /// json: one JSON entry per line. binary: the backend writes the records
    /// without rendering them (the fastest path); every file, rotated ones
    /// included, starts with the metadata it needs and decodes on its own
    /// with agora-log-decode. Env: LOG_FILE_FORMAT. YAML: file.format.
    FileFormat file_format = FileFormat::json;

    /// Initial per-thread ring size in bytes, rounded up to a power of two (min 4096).
    /// Env: LOG_QUEUE_SIZE. YAML: queue.size.
    std::size_t queue_capacity_bytes = 1u << 20;
    /// Largest ring the grow policy chains to, in bytes (rounded up to a power of two).
    /// YAML: queue.max_size.
    std::size_t queue_max_capacity_bytes = 64u << 20;
    /// YAML: queue.full_policy (grow|block|drop).
    QueueFullPolicy queue_full_policy = QueueFullPolicy::grow;
    /// Rings of queue_capacity_bytes kept ready, their pages already written,
    /// for threads' first records: a new thread takes one instead of paying a
    /// page fault per page of a fresh ring on its first record. initialize()
    /// fills them, the backend refills them and keeps exited threads' rings
    /// as spares. Costs queue_spare_rings x queue_capacity_bytes of memory
    /// (rounded up), but never more than 64 MiB: with larger rings, fewer are
    /// kept. Kept across shutdown(). 0 to 64; 0 = none. YAML: queue.spare_rings.
    std::size_t queue_spare_rings = 4;

    /// Backend sleep when every ring is empty. 0 = yield instead of sleeping.
    /// YAML: backend.idle_sleep_us.
    std::chrono::microseconds backend_idle_sleep{100};
    /// CPU the backend thread is pinned to; -1 = not pinned. YAML: backend.cpu.
    int backend_cpu = -1;
    /// How far behind "now" the backend stays when merging threads, so that a
    /// record whose timestamp was taken but not yet committed is still merged
    /// in order. Costs this much output latency, nothing on the calling thread.
    /// YAML: backend.ordering_grace_us.
    std::chrono::microseconds backend_ordering_grace{20};

    /// Crash handler (docs/crash-recovery.md): on SIGSEGV, SIGBUS, SIGFPE,
    /// SIGILL, SIGABRT and std::terminate, the records not yet written are
    /// saved to <crash_dump_prefix>.crash-<pid>-<time>.bin. Installed by
    /// initialize(), removed by shutdown(). Env: LOG_CRASH_HANDLER. YAML: crash.enabled.
    bool crash_handler = true;
    /// Also on SIGTERM and SIGINT. YAML: crash.termination_signals.
    bool crash_on_termination_signals = false;
    /// How long a live backend may take to write what is queued before the
    /// rest is dumped. YAML: crash.drain_timeout_ms. 0 to 60000.
    std::chrono::milliseconds crash_drain_timeout{200};
    /// The process is killed (SIGALRM's default action) if the handler has
    /// not finished this long after the drain (crash_drain_timeout, and 1 s
    /// for a stuck backend to stop). YAML: crash.watchdog_s. 1 to 3600.
    std::chrono::seconds crash_watchdog{10};
    /// Dump file names start with this; empty = file_path. YAML: crash.dump_prefix.
    std::string crash_dump_prefix;

    /// Fields every entry carries, below any other source (see context.hpp).
    /// YAML: default_context (a map of scalars; see from_file()).
    Context default_context;

    /// Longest message written, in bytes (UTF-8 code units; a cut never splits
    /// a character). A longer message is cut there and ends with "...[truncated]";
    /// so are longer string values in context, exceptions and named fields.
    /// String arguments are also cut on the calling thread, so a huge string
    /// costs no more ring space than this. 64 to 16777216. Env: LOG_MAX_MESSAGE_LENGTH.
    /// YAML: max_message_length.
    std::size_t max_message_length = detail::kDefaultMaxMessageLength;  // 10000

    // ---- sensitive data ----
    /// Redaction and masking of sensitive fields and text (see SensitiveDataConfig).
    SensitiveDataConfig sensitive_data;
    // Levels by logger name, and runtime levels across initialize()
    // (docs/levels.md).
    /// Configured level per logger name: applies to that logger and every
    /// logger below it ("name.*", at dot boundaries) unless a closer name is
    /// listed; others use `level`. Runtime set_level() calls override these.
    /// Names must be non-empty. YAML: loggers: {name: LEVEL, ...}.
    std::map<std::string, Level> logger_levels;
    /// Whether levels set at runtime by set_level() (and their pending
    /// reverts) survive initialize(). false: initialize() drops them, and the
    /// levels are the ones this Config gives. YAML: keep_runtime_levels.
    bool keep_runtime_levels = false;

    // ---- file failures (docs/operations.md, "File failures") ----
    /// While the log file cannot be written (cannot be opened, a write
    /// failed, a rotation could not finish), how often it is tried again;
    /// meanwhile its records go to the console. 100 ms to 1 h.
    /// YAML: file.retry_interval_ms.
    std::chrono::milliseconds file_retry_interval{5000};

    /// Sampling and rate limiting (see SamplingConfig).
    SamplingConfig sampling;

    /// The admin HTTP endpoint (see AdminConfig).
    AdminConfig admin;
    /// Audit entries (see AuditConfig).
    AuditConfig audit;
    /// Whether the backend records the metrics of <agora/log/metrics.hpp>
    /// (entries, handler durations, queue, files, ...). false saves the
    /// backend the per-record counting and timing; the registry then only
    /// holds what earlier backends recorded. Env: LOG_METRICS. YAML: metrics_enabled.
    bool metrics_enabled = true;

    /// Returns an error naming the first field whose value is not accepted.
    Expected<void> validate() const;
    /// The log file initialize() uses: file_path, or /var/log/agora/<service_name>.log
    /// when file_path is empty. Crash dumps and the default audit file are
    /// named after it.
    std::string effective_file_path() const;

    /// `base` with the environment variables above applied on top (environment
    /// wins). A variable that is set but not acceptable is an Error naming the
    /// variable, its value and what is accepted; nothing is silently defaulted.
    /// If LOG_CONFIG_FILE is set, from_file(LOG_CONFIG_FILE, base) is applied
    /// first and the other variables on top of it. An empty LOG_CONFIG_FILE is
    /// an Error (invalid_env); from_file()'s Error is returned as it is.
    static Expected<Config> from_env(Config base);
    /// from_env(Config{}).
    static Expected<Config> from_env();

    /// `base` with the YAML file at `path` applied on top: a key present in the
    /// file replaces base's value, an absent key keeps it; default_context
    /// entries are added to base's (a key in the file replaces the same key).
    /// The file is a map (docs/configuration.md, deploy/logging.yaml):
    ///   service_name, environment, version, host, level, max_message_length,
    ///   console: {enabled, format, colors},
    ///   file: {enabled, path, max_size_mb, max_backup_count, format, retry_interval_ms}   (format: json|binary),
    ///   queue: {size, max_size, full_policy}            (bytes, bytes, grow|block|drop),
    ///   backend: {idle_sleep_us, cpu, ordering_grace_us},
    ///   crash: {enabled, termination_signals, drain_timeout_ms, watchdog_s, dump_prefix},
    ///   default_context: {key: scalar, ...}             (int, float, bool keep their type),
    ///   sensitive_data: {enabled, redact_fields: [..], mask_fields: {name: {show_last, mask_char} | {mask_domain}},
    ///                    redact_patterns: [..], redaction_text}   (a list or map replaces base's).
    ///   loggers: {logger.name: LEVEL, ...}, keep_runtime_levels  (docs/levels.md),
    ///   sampling: {enabled, rates: {LEVEL: rate, ...}, always_log_patterns: [..],
    ///              rate_limit: {messages_per_second, burst_size} | null, report_interval_ms, seed}
    ///              (docs/sampling.md; rates and always_log_patterns replace base's),
    ///   admin: {enabled, bind, port, token}                (docs/operations.md).
    /// Values are accepted as from_env() accepts them, with the same ranges.
    /// Errors (never exceptions): io_error if the file cannot be read (with
    /// strerror), is not a regular file (a directory, a device such as
    /// /dev/zero, a FIFO: it is opened non-blocking and nothing is read from
    /// it) or is larger than 1 MiB; invalid_config_file for a file that is not
    /// text (a NUL byte or invalid UTF-8), a YAML syntax error, an unknown or
    /// duplicate key at any level, a value of the wrong type, out of range or
    /// not one of the names accepted. The message reads
    ///   "<path>:<line>: <dotted.key>: '<value>' is not accepted: expected <what>".
    /// Nothing of a file that is not a configuration file is quoted: not a
    /// non-text file, not a top level that is not a map (only its kind), not
    /// yaml-cpp's reason beyond its fixed text, and an unknown key only if it
    /// looks like a key name (letters, digits, '_', '-', '.'; cut to 64 bytes).
    /// A known key's value is quoted. docs/configuration.md has the rules.
    static Expected<Config> from_file(const std::string& path, Config base);
    /// from_file(path, Config{}).
    static Expected<Config> from_file(const std::string& path);
};

std::string_view to_string(ConsoleFormat f) noexcept;
std::string_view to_string(FileFormat f) noexcept;
std::string_view to_string(QueueFullPolicy p) noexcept;

}  // namespace agora::log

AGORA_LOG_API_END
