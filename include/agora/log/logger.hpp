#pragma once
// Public API: Logger, format strings with automatic source location, and
// get_logger(). What the calling thread compiles for a log call, and no more:
// the configuration, the handlers and the process-wide lifecycle
// (initialize, flush, shutdown, stats) are in <agora/log/lifecycle.hpp>.

#include <agora/log/detail/export.hpp>
#include <agora/log/context.hpp>
#include <agora/log/detail/frontend.hpp>
#include <agora/log/detail/message_template.hpp>
#include <agora/log/level.hpp>

#include <fmt/core.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

AGORA_LOG_API_BEGIN

namespace agora::log {

namespace detail {
/// A named logger, interned for the life of the process (never freed, so a
/// record may refer to it by id until the backend writes it).
struct LoggerState {
    /// Records below this are discarded: `effective_level` while the
    /// backend runs and before the first initialize() (a record that passes
    /// then is counted, not written: Stats::records_dropped_before_initialize),
    /// kLevelOff after shutdown(). Written under the registry mutex by the
    /// lifecycle and level calls, read relaxed by callers.
    std::atomic<std::uint8_t> level;
    /// The level this logger has by the hierarchy of configured and runtime
    /// levels (src/frontend/levels.hpp), recomputed under the registry mutex
    /// whenever they change; `level` follows it while running.
    std::atomic<std::uint8_t> effective_level;
    /// Set once, before the logger is published in the registry's table.
    std::uint32_t id;
    std::string name;

    // Sampling and rate limiting (src/frontend/sampling.hpp); touched only on
    // the slow path of call sites under sampling or rate limiting.
    /// The rate limit's token bucket as a theoretical arrival time (GCRA):
    /// the bucket holds burst - (tat - now) / interval tokens. Calling threads
    /// advance it with compare-exchange; initialize() resets it to 0 (full).
    std::atomic<std::uint64_t> bucket_tat{0};
    /// Records suppressed so far, since the process started (relaxed
    /// increments by calling threads; read by the backend and sampling_stats()).
    std::atomic<std::uint64_t> rate_limited{0};
    std::atomic<std::uint64_t> sampled_out{0};
    /// How many of rate_limited the backends have reported. Backend only
    /// (one backend at a time; initialize() runs after the previous one stopped).
    std::uint64_t rate_limited_reported = 0;
};
}  // namespace detail

namespace detail {
// A template mistake stops compilation in BasicFormatString with a call to
// one of these (never defined): the function's name is the diagnostic.
void agora_log_error_unmatched_brace_or_bad_placeholder_name();
void agora_log_error_named_and_positional_placeholders_are_mixed();
void agora_log_error_a_placeholder_name_is_repeated();
void agora_log_error_nested_width_or_precision_needs_positional_placeholders();
void agora_log_error_placeholder_count_differs_from_argument_count();
void agora_log_error_an_argument_is_not_used_by_the_template();
void agora_log_error_more_than_64_arguments();

constexpr void report_template_error(TemplateError e) {
    switch (e) {
        case TemplateError::none: return;
        case TemplateError::unmatched_brace: agora_log_error_unmatched_brace_or_bad_placeholder_name(); return;
        case TemplateError::mixed_named_and_positional: agora_log_error_named_and_positional_placeholders_are_mixed(); return;
        case TemplateError::repeated_name: agora_log_error_a_placeholder_name_is_repeated(); return;
        case TemplateError::nested_field_in_named_template:
            agora_log_error_nested_width_or_precision_needs_positional_placeholders();
            return;
        case TemplateError::argument_count_mismatch: agora_log_error_placeholder_count_differs_from_argument_count(); return;
        case TemplateError::unused_argument: agora_log_error_an_argument_is_not_used_by_the_template(); return;
        case TemplateError::too_many_arguments: agora_log_error_more_than_64_arguments(); return;
    }
}

/// Arguments of the template forms: anything but an exception or a Context,
/// which select the other overloads.
template <class T>
concept TemplateArg = !std::is_base_of_v<std::exception, std::remove_cvref_t<T>> &&
                      !std::is_same_v<std::remove_cvref_t<T>, Context>;

// Templates of a Timer's entries (static: their addresses identify the call site).
inline constexpr char kTimerFormat[] = "{}";
inline constexpr char kTimerFailedFormat[] = "{} failed";

void retain(ContextSnapshot* snapshot) noexcept;
/// Drops a reference; the last one hands the snapshot to the backend, which
/// frees it once no queued record refers to it.
void release(ContextSnapshot* snapshot) noexcept;
}  // namespace detail

/// A message template checked at compile time against the argument types,
/// which also captures the caller's file, line and function.
///
/// Named placeholders, "Order {order_id} filled at {price:.2f}", take the
/// arguments in order and also put them into the entry's context as
/// "order_id": 42, "price": 101.25 (JSON types kept). Positional ones ({},
/// {0}) only format the message. Mixing the two, a count that differs from
/// the arguments, a repeated name and a bad format spec are compile errors.
template <class... Args>
class BasicFormatString {
public:
    template <class S>
        requires std::is_convertible_v<const S&, std::string_view>
    consteval BasicFormatString(const S& s, std::source_location loc = std::source_location::current())
        : str_(s), loc_(loc) {
        const detail::TemplateScan scan = detail::scan_template(str_, sizeof...(Args));
        detail::report_template_error(scan.error);
        // Compile error in fmt here = a format spec does not suit its argument.
        if (scan.named > 0) {
            const std::string positional = detail::positional_template(str_);
            (void)fmt::format_string<detail::formatted_t<Args>...>(positional);
        } else {
            (void)fmt::format_string<detail::formatted_t<Args>...>(s);
        }
    }

    constexpr std::string_view get() const noexcept { return str_; }
    constexpr std::source_location location() const noexcept { return loc_; }

private:
    std::string_view str_;
    std::source_location loc_;
};

template <class... Args>
using FormatString = BasicFormatString<std::type_identity_t<Args>...>;

/// An audit entry's message with the caller's source location. Any string,
/// also one built at run time: it is written as given, never formatted.
struct AuditMessage {
    template <class S>
        requires std::is_convertible_v<const S&, std::string_view>
    AuditMessage(const S& message, std::source_location loc = std::source_location::current()) noexcept
        : text(message), location(loc) {}
    std::string_view text;
    std::source_location location;
};

class Timer;

/// A named logger, optionally with bound context. Thread-safe: any thread may
/// log through any Logger. A plain logger is one pointer and copies for free;
/// one from with_context() also holds a reference to its context snapshot.
///
/// Call forms (each level has them; error and critical also take an exception):
///   log.info("Quote {} {:.2f}", sym, px);                    // positional
///   log.info("Order {order_id} filled at {price}", id, px);  // named: also context fields
///   log.info("Operation completed", {{"key", "value"}});     // seed form: message + Context
///   log.error("Write failed", ex, {{"path", p}});            // exception (+ optional Context)
class Logger {
public:
    /// A logger that discards everything (what a default-constructed Logger does).
    Logger() noexcept;
    Logger(const Logger& other) noexcept : state_(other.state_), bound_(other.bound_) {
        if (bound_ != nullptr) detail::retain(bound_);
    }
    Logger(Logger&& other) noexcept : state_(other.state_), bound_(std::exchange(other.bound_, nullptr)) {}
    Logger& operator=(const Logger& other) noexcept {
        Logger copy(other);
        swap(copy);
        return *this;
    }
    Logger& operator=(Logger&& other) noexcept {
        Logger moved(std::move(other));
        swap(moved);
        return *this;
    }
    ~Logger() {
        if (bound_ != nullptr) detail::release(bound_);
    }
    void swap(Logger& other) noexcept {
        std::swap(state_, other.state_);
        std::swap(bound_, other.bound_);
    }

#define AGORA_LOG_DEFINE_LEVEL_(name, level_value)                                                      \
    template <class... Args>                                                                         \
        requires(detail::TemplateArg<Args> && ...)                                                   \
    void name(FormatString<Args...> fmt, const Args&... args) const noexcept {                       \
        log<level_value>(fmt.location(), fmt.get(), args...);                                        \
    }                                                                                                \
    void name(FormatString<> message, const Context& fields) const noexcept {                        \
        log<level_value>(message.location(), message.get(), detail::ContextArg{&fields});            \
    }
    AGORA_LOG_DEFINE_LEVEL_(debug, Level::debug)
    AGORA_LOG_DEFINE_LEVEL_(info, Level::info)
    AGORA_LOG_DEFINE_LEVEL_(warning, Level::warning)
    AGORA_LOG_DEFINE_LEVEL_(error, Level::error)
    AGORA_LOG_DEFINE_LEVEL_(critical, Level::critical)
#undef AGORA_LOG_DEFINE_LEVEL_

    /// Writes "exception": {"type", "message", "stacktrace", "nested"} for `ex`:
    /// its dynamic type, what(), the calling thread's stack (symbolised by the
    /// backend) and any std::nested_exception chain. Captures the stack on the
    /// calling thread: an error path, not a hot one.
    /// (A template so that error("msg", {}) means an empty Context.)
    template <class E>
        requires std::is_base_of_v<std::exception, E>
    void error(FormatString<> message, const E& ex, const Context& fields = {}) const noexcept {
        log_exception<Level::error>(message.location(), message.get(), ex, fields);
    }
    template <class E>
        requires std::is_base_of_v<std::exception, E>
    void critical(FormatString<> message, const E& ex, const Context& fields = {}) const noexcept {
        log_exception<Level::critical>(message.location(), message.get(), ex, fields);
    }

    /// A child logger (same name and level) whose entries also carry `fields`,
    /// over this logger's own bound context. The fields are copied once, here
    /// (the backend renders them on first use); a log call only adds one
    /// pointer to its record. Never throws: without memory it returns a copy
    /// of this logger.
    [[nodiscard]] Logger with_context(const Context& fields) const noexcept;

    /// Times an operation: when the Timer is destroyed it writes INFO
    /// "<operation>" with "duration_ms", or ERROR "<operation> failed" if it is
    /// destroyed by stack unwinding; cancel() writes nothing.
    [[nodiscard]] Timer timer(std::string operation, Context fields = {},
                              std::source_location loc = std::source_location::current()) const;

    /// Writes an audit entry (docs/audit.md): an INFO entry with `fields`
    /// (over the thread's ScopedContext, this logger's bound context and the
    /// default context, less what Config::audit leaves out), redacted like
    /// any entry, as the next line of the audit file's hash chain. Never
    /// queued, sampled, rate limited or dropped, and not subject to the
    /// logger's level: the calling thread writes it (and, with
    /// AuditConfig::sync, fdatasyncs it) before this returns. Returns true
    /// once it is written; false if it could not be (audit logging not
    /// enabled, the file unwritable): the entry then goes to the regular log
    /// as an ERROR "Audit entry not written" carrying the reason and the
    /// fields. Any thread; calls are serialised. Not for a hot path.
    bool audit(AuditMessage message, const Context& fields = {}) const noexcept;

    /// True when a record at `level` would be written now.
    bool enabled(Level level) const noexcept {
        return static_cast<std::uint8_t>(level) >= state_->level.load(std::memory_order_relaxed);
    }

    /// Sets a runtime level for this logger's name: the same as
    /// set_level(level, name()) in <agora/log/levels.hpp>, so it also applies
    /// to the loggers below this one without a closer runtime level, and
    /// reset_level() drops it. All copies and with_context() children share
    /// it. Any thread; it never turns a logger on after shutdown().
    void set_level(Level level) noexcept;
    /// The level this logger has now (hierarchy resolved, as get_level(name())).
    Level level() const noexcept;

    /// The hierarchical name given to get_logger().
    const std::string& name() const noexcept { return state_->name; }

private:
    friend Logger get_logger(std::string_view name) noexcept;
    friend class Timer;
    explicit Logger(detail::LoggerState* state, detail::ContextSnapshot* bound = nullptr) noexcept
        : state_(state), bound_(bound) {}

    template <Level L, class... Args>
    void log(std::source_location loc, std::string_view format, const Args&... args) const noexcept {
        // The only cost of a disabled record: one relaxed load and a branch.
        if (static_cast<std::uint8_t>(L) < state_->level.load(std::memory_order_relaxed)) return;
        detail::log_call<L>(state_->id, bound_, loc, format, args...);
    }

    template <Level L>
    void log_exception(std::source_location loc, std::string_view format, const std::exception& ex,
                       const Context& fields) const noexcept {
        if (static_cast<std::uint8_t>(L) < state_->level.load(std::memory_order_relaxed)) return;
        detail::ExceptionArg captured;
        detail::capture_exception(captured, ex);
        detail::log_call<L>(state_->id, bound_, loc, format, captured, detail::ContextArg{&fields});
    }

    detail::LoggerState* state_;
    detail::ContextSnapshot* bound_ = nullptr;  // owned reference, or null
};

/// RAII operation timer (Logger::timer). Movable, not copyable; a moved-from
/// Timer writes nothing. Measures with the TSC; the backend converts.
class Timer {
public:
    Timer(Timer&& other) noexcept
        : logger_(std::move(other.logger_)),
          operation_(std::move(other.operation_)),
          fields_(std::move(other.fields_)),
          location_(other.location_),
          start_ticks_(other.start_ticks_),
          uncaught_at_start_(other.uncaught_at_start_),
          active_(std::exchange(other.active_, false)) {}
    /// Finishes this timer (writing its entry), then takes over `other`.
    Timer& operator=(Timer&& other) noexcept {
        if (this != &other) {
            finish();
            logger_ = std::move(other.logger_);
            operation_ = std::move(other.operation_);
            fields_ = std::move(other.fields_);
            location_ = other.location_;
            start_ticks_ = other.start_ticks_;
            uncaught_at_start_ = other.uncaught_at_start_;
            active_ = std::exchange(other.active_, false);
        }
        return *this;
    }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() { finish(); }

    /// Nothing is written for this timer.
    void cancel() noexcept { active_ = false; }

private:
    friend class Logger;
    Timer(const Logger& logger, std::string operation, Context fields, std::source_location loc) noexcept
        : logger_(logger),
          operation_(std::move(operation)),
          fields_(std::move(fields)),
          location_(loc),
          uncaught_at_start_(std::uncaught_exceptions()),
          active_(true) {
        start_ticks_ = detail::read_tsc();  // last: the setup above is not timed
    }

    void finish() noexcept {
        if (!active_) return;
        active_ = false;
        const detail::DurationArg elapsed{detail::read_tsc() - start_ticks_};
        const std::string_view operation(operation_);
        if (std::uncaught_exceptions() > uncaught_at_start_)
            logger_.log<Level::error>(location_, detail::kTimerFailedFormat, operation, elapsed,
                                      detail::ContextArg{&fields_});
        else
            logger_.log<Level::info>(location_, detail::kTimerFormat, operation, elapsed, detail::ContextArg{&fields_});
    }

    Logger logger_;
    std::string operation_;
    Context fields_;
    std::source_location location_;
    std::uint64_t start_ticks_ = 0;
    int uncaught_at_start_ = 0;
    bool active_ = false;
};

inline Timer Logger::timer(std::string operation, Context fields, std::source_location loc) const {
    return Timer(*this, std::move(operation), std::move(fields), loc);
}

/// The logger named `name` (created on first use; same state for the same
/// name). Never throws: without memory it returns a logger that discards.
Logger get_logger(std::string_view name) noexcept;

}  // namespace agora::log

AGORA_LOG_API_END
