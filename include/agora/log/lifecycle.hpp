#pragma once
// Public API: the process-wide lifecycle of the logging engine (initialize,
// flush, shutdown), per-thread preallocation and the engine's counters.
// Kept apart from <agora/log/logger.hpp> so that code which only logs does
// not compile the configuration or the handler interface.

#include <agora/log/detail/export.hpp>
#include <agora/log/config.hpp>
#include <agora/log/error.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

AGORA_LOG_API_BEGIN

namespace agora::log {

class Handler;

/// Starts the backend thread with the handlers `config` describes (console,
/// rotating file) plus `extra_handlers`. Returns an Error for an invalid config
/// or when already running. A file that cannot be opened is not an error: it
/// is reported on stderr and by an ERROR entry "File logging failed: <reason>",
/// its records go to the console meanwhile, and opening it is retried every
/// Config::file_retry_interval (docs/operations.md, "File failures"; a binary
/// log file that cannot be opened is replaced by the console, with a WARNING
/// entry).
Expected<void> initialize(const Config& config, std::vector<std::shared_ptr<Handler>> extra_handlers = {});

/// Blocks until every record logged before the call (by any thread, as far as
/// happens-before reaches) has been written to the handlers and handed to the
/// OS. No-op when not running or when called from a handler.
void flush() noexcept;

/// Drains every ring, writes and closes everything, stops the backend. Records
/// logged after it are discarded until the next initialize(). Idempotent.
void shutdown() noexcept;

/// Sets up this thread's context and ring now (a spare ring when one is
/// ready, Config::queue_spare_rings), so its first record does not pay for
/// it. No-op if done already.
void preallocate() noexcept;

/// Counters since the process started. Any thread.
struct Stats {
    /// Records the backend has handed to the handlers, counted per batch:
    /// exact once flush() or shutdown() has returned; meanwhile it may lag by
    /// up to 1024 records or one second.
    std::uint64_t records_written;
    std::uint64_t records_dropped;  ///< records discarded (drop policy, no memory), as reported by the backend
    /// Records logged before the first initialize() (at or above their
    /// logger's level) and discarded. Counted on a cold path only; a thread
    /// that called preallocate() before initialize() keeps its records in its
    /// ring instead, and they are written once the backend runs.
    std::uint64_t records_dropped_before_initialize;
    /// Records not written because sampling left them out / the logger's
    /// rate limit suppressed them (Config::sampling; by logger: sampling_stats()).
    std::uint64_t records_sampled_out;
    std::uint64_t records_rate_limited;
    /// Records a handler could not write (docs/operations.md, "File
    /// failures"): lines a log file did not take while it could not be
    /// written or was full and could not rotate, lines still buffered when it
    /// was closed and could not be written then, lines written to a file
    /// after it was removed (counted when the removal is found), and records
    /// on which a handler threw. Counted per handler: a record two handlers
    /// lost counts twice. A record the file lost may still have reached the
    /// console. Not part of records_dropped (those reached no handler).
    std::uint64_t records_lost_by_handlers;
    /// Logger::audit() calls whose line was written / that returned false
    /// (docs/audit.md). Not records: audit entries bypass the queue.
    std::uint64_t audit_entries_written;
    std::uint64_t audit_entries_failed;
};
Stats stats() noexcept;

/// Records suppressed by Config::sampling, for one logger.
struct SuppressedCounts {
    std::uint64_t sampled_out = 0;
    std::uint64_t rate_limited = 0;
};
/// Per logger name, since the process started; loggers with none are left
/// out. Lock-free reads of counters the calling threads increment. Any thread.
std::map<std::string, SuppressedCounts> sampling_stats();

}  // namespace agora::log

AGORA_LOG_API_END
