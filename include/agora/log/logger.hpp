#pragma once
// Public API: Logger, format strings with automatic source location, and the
// process-wide lifecycle (initialize, flush, shutdown).

#include <agora/log/config.hpp>
#include <agora/log/detail/frontend.hpp>
#include <agora/log/error.hpp>
#include <agora/log/level.hpp>

#include <fmt/core.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace agora::log {

class Handler;

namespace detail {
/// A named logger, interned for the life of the process (never freed, so a
/// record may refer to it by id until the backend writes it).
struct LoggerState {
    /// Records below this are discarded: the configured level while the
    /// backend runs, kLevelOff before initialize() and after shutdown().
    /// Written by the lifecycle calls and set_level(), read relaxed by callers.
    std::atomic<std::uint8_t> level;
    /// The level set by Config or set_level(); `level` follows it while running.
    std::atomic<std::uint8_t> configured_level;
    std::uint32_t id;
    std::string name;
};
}  // namespace detail

/// A format string checked at compile time against the argument types, which
/// also captures the caller's file, line and function.
template <class... Args>
class BasicFormatString {
public:
    template <class S>
        requires std::is_convertible_v<const S&, std::string_view>
    consteval BasicFormatString(const S& s, std::source_location loc = std::source_location::current())
        : str_(s), loc_(loc) {
        // Compile error here = template and arguments do not match.
        (void)fmt::format_string<detail::formatted_t<Args>...>(s);
    }

    constexpr std::string_view get() const noexcept { return str_; }
    constexpr std::source_location location() const noexcept { return loc_; }

private:
    std::string_view str_;
    std::source_location loc_;
};

template <class... Args>
using FormatString = BasicFormatString<std::type_identity_t<Args>...>;

/// Cheap to copy (one pointer). Thread-safe: any thread may log through any Logger.
class Logger {
public:
    /// A logger that discards everything (what a default-constructed Logger does).
    Logger() noexcept;

    template <class... Args>
    void debug(FormatString<Args...> fmt, const Args&... args) const noexcept {
        log<Level::debug>(fmt.location(), fmt.get(), args...);
    }
    template <class... Args>
    void info(FormatString<Args...> fmt, const Args&... args) const noexcept {
        log<Level::info>(fmt.location(), fmt.get(), args...);
    }
    template <class... Args>
    void warning(FormatString<Args...> fmt, const Args&... args) const noexcept {
        log<Level::warning>(fmt.location(), fmt.get(), args...);
    }
    template <class... Args>
    void error(FormatString<Args...> fmt, const Args&... args) const noexcept {
        log<Level::error>(fmt.location(), fmt.get(), args...);
    }
    template <class... Args>
    void critical(FormatString<Args...> fmt, const Args&... args) const noexcept {
        log<Level::critical>(fmt.location(), fmt.get(), args...);
    }

    /// True when a record at `level` would be written now.
    bool enabled(Level level) const noexcept {
        return static_cast<std::uint8_t>(level) >= state_->level.load(std::memory_order_relaxed);
    }

    /// Changes this logger's level (all copies share it). Any thread.
    void set_level(Level level) noexcept;
    Level level() const noexcept;

    /// The hierarchical name given to get_logger().
    const std::string& name() const noexcept { return state_->name; }

private:
    friend Logger get_logger(std::string_view name);
    explicit Logger(detail::LoggerState* state) noexcept : state_(state) {}

    template <Level L, class... Args>
    void log(std::source_location loc, std::string_view format, const Args&... args) const noexcept {
        // The only cost of a disabled record: one relaxed load and a branch.
        if (static_cast<std::uint8_t>(L) < state_->level.load(std::memory_order_relaxed)) return;
        detail::log_call<L>(state_->id, loc, format, args...);
    }

    detail::LoggerState* state_;
};

/// Starts the backend thread with the handlers `config` describes (console,
/// rotating file) plus `extra_handlers`. Returns an Error for an invalid config
/// or when already running. A file that cannot be opened is not an error: it
/// is reported on stderr, the console is used instead, and a WARNING entry
/// says so.
Expected<void> initialize(const Config& config, std::vector<std::shared_ptr<Handler>> extra_handlers = {});

/// Blocks until every record logged before the call (by any thread, as far as
/// happens-before reaches) has been written to the handlers and handed to the
/// OS. No-op when not running or when called from a handler.
void flush() noexcept;

/// Drains every ring, writes and closes everything, stops the backend. Records
/// logged after it are discarded until the next initialize(). Idempotent.
void shutdown() noexcept;

/// The logger named `name` (created on first use; same state for the same name).
Logger get_logger(std::string_view name);

/// Creates this thread's ring now, so its first record does not pay for it.
void preallocate() noexcept;

/// Counters since the process started. Any thread.
struct Stats {
    std::uint64_t records_written;  ///< records the backend has handed to the handlers
    std::uint64_t records_dropped;  ///< records discarded (drop policy, no memory), as reported by the backend
};
Stats stats() noexcept;

}  // namespace agora::log
