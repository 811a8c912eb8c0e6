#pragma once
// Runtime configuration. Every field has a documented default and unit;
// validate() says what is wrong with a Config, from_env() layers the
// environment on top of one.

#include <agora/log/context.hpp>
#include <agora/log/error.hpp>
#include <agora/log/level.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace agora::log {

enum class ConsoleFormat { json, text };

/// What a calling thread does when its ring has no room for a record.
enum class QueueFullPolicy {
    block,  ///< wait, backing off, until the backend frees space: nothing lost
    drop,   ///< discard the record and count it; the backend reports the count
    grow,   ///< move to a ring twice as large, up to queue_max_capacity_bytes, then block
};

struct Config {
    /// Written as "service" on every entry. Required (non-empty).
    std::string service_name;
    /// "development", "staging" or "production" (the schema's enum). Env: ENVIRONMENT.
    std::string environment = "development";
    /// Semantic version "MAJOR.MINOR.PATCH[...]". Env: SERVICE_VERSION.
    std::string version = "0.0.0";
    /// Host or pod name; empty = HOSTNAME, else gethostname(). Env: HOSTNAME.
    std::string host;
    /// Minimum level written by loggers from get_logger(). Env: LOG_LEVEL.
    Level level = Level::info;

    /// Env: LOG_CONSOLE_ENABLED, LOG_CONSOLE_FORMAT (json|text), LOG_CONSOLE_COLORS.
    bool console_enabled = true;
    ConsoleFormat console_format = ConsoleFormat::json;
    /// Colours by level in text format, only when stdout is a terminal.
    bool console_colors = true;

    /// Env: LOG_FILE_ENABLED, LOG_FILE_PATH, LOG_MAX_FILE_SIZE_MB, LOG_MAX_BACKUP_COUNT.
    bool file_enabled = true;
    std::string file_path = "/var/log/agora/app.log";
    /// Rotate before a write would take the file over this size. Must be > 0.
    std::uint64_t max_file_size_mb = 100;
    /// Backups kept as file_path.1 (newest) .. file_path.N (oldest). 0 = rotation truncates nothing
    /// but keeps no backup (the current file is removed on rotation).
    std::uint32_t max_backup_count = 5;

    /// Initial per-thread ring size in bytes, rounded up to a power of two (min 4096).
    /// Env: LOG_QUEUE_SIZE.
    std::size_t queue_capacity_bytes = 1u << 20;
    /// Largest ring the grow policy chains to, in bytes (rounded up to a power of two).
    std::size_t queue_max_capacity_bytes = 64u << 20;
    QueueFullPolicy queue_full_policy = QueueFullPolicy::grow;

    /// Backend sleep when every ring is empty. 0 = yield instead of sleeping.
    std::chrono::microseconds backend_idle_sleep{100};
    /// CPU the backend thread is pinned to; -1 = not pinned.
    int backend_cpu = -1;
    /// How far behind "now" the backend stays when merging threads, so that a
    /// record whose timestamp was taken but not yet committed is still merged
    /// in order. Costs this much output latency, nothing on the calling thread.
    std::chrono::microseconds backend_ordering_grace{20};

    /// Fields every entry carries, below any other source (see context.hpp).
    /// YAML: default_context (a map of scalars).
    Context default_context;

    /// Longest message written, in bytes (UTF-8 code units; a cut never splits
    /// a character). A longer message is cut there and ends with "...[truncated]";
    /// so are longer string values in context, exceptions and named fields.
    /// String arguments are also cut on the calling thread, so a huge string
    /// costs no more ring space than this. 64 to 16777216. Env: LOG_MAX_MESSAGE_LENGTH.
    std::size_t max_message_length = 10000;

    /// Returns an error naming the first field whose value is not accepted.
    Expected<void> validate() const;

    /// `base` with the environment variables above applied on top (environment
    /// wins). A variable that is set but not acceptable is an Error naming the
    /// variable, its value and what is accepted; nothing is silently defaulted.
    static Expected<Config> from_env(Config base);
    /// from_env(Config{}).
    static Expected<Config> from_env();
};

std::string_view to_string(ConsoleFormat f) noexcept;
std::string_view to_string(QueueFullPolicy p) noexcept;

}  // namespace agora::log
