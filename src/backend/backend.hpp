#pragma once
// The backend thread: drains every thread's ring, merges records in timestamp
// order, renders them and hands them to the handlers; a binary log file gets
// the records unrendered (binary_sink.hpp).

#include "backend/metrics.hpp"
#include "base/clock.hpp"
#include "frontend/registry.hpp"
#include "format/render.hpp"

#include <agora/log/config.hpp>
#include <agora/log/handlers/handler.hpp>
#include <agora/log/metrics.hpp>

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <source_location>
#include <thread>
#include <vector>

namespace agora::log::detail {

class BinaryLogSink;

/// What the backend reports to get_health_status().
struct BackendHealth {
    bool answered = false;  // false: it did not answer in time
    std::vector<HandlerHealth> handlers;
    std::uint64_t queue_bytes = 0;     // bytes committed and not yet released, all rings
    std::uint64_t queue_capacity = 0;  // bytes, all rings
    std::uint64_t errors_total = 0;    // handler failures (throws, failed file writes) so far
};
class RotatingFileSink;

class Backend {
public:
    /// `binary`: the binary log file, or null. With no handlers, records are
    /// not rendered at all.
    Backend(const Config& config, EntryIdentity identity, std::vector<std::shared_ptr<Handler>> handlers,
            std::unique_ptr<BinaryLogSink> binary = nullptr);
    ~Backend();

    void start();
    /// Drains everything, flushes and closes the handlers, joins the thread.
    /// Not on a backend thread (shutdown() returns early there).
    void stop() noexcept;
    /// Blocks until every record committed before the call is written and
    /// handed to the OS. Any thread but the backend's.
    void flush() noexcept;

    /// True on the thread of any backend (that is, inside a handler). Needs no
    /// lock and no Backend, so the lifecycle calls can test it before locking.
    static bool on_a_backend_thread() noexcept;

    /// Writes a record produced by the logger itself (e.g. the drop report).
    /// Backend thread, or before start().
    /// `skip`: a handler not to write it to (the one it reports on).
    void emit_internal(Level level, std::string_view message,
                       std::source_location loc = std::source_location::current(),
                       std::size_t skip = kNoHandler) noexcept;

    /// Asks the backend thread for its state and waits up to `timeout` for
    /// the answer (answered false if none came). Any thread but the backend's.
    BackendHealth health(std::chrono::milliseconds timeout) noexcept;

    /// Holds the backend thread between two records until resume() (fork()).
    /// Returns at once when called on the backend thread or when it is not running.
    void pause() noexcept;
    void resume() noexcept;

    /// pause() that gives up after `timeout` (and then withdraws the request).
    /// already_paused: someone else holds it; leave resume() to them.
    enum class PauseResult { paused, already_paused, failed };
    PauseResult pause_for(std::chrono::nanoseconds timeout) noexcept;

    // ---- crash path: async-signal-safe, any thread but the backend's -----
    /// Asks the backend to write and flush everything committed now, then to
    /// stop reading rings for good (the process is dying).
    void request_crash_drain() noexcept { crash_request_.store(kCrashDrain, std::memory_order_release); }
    /// Asks it to stop reading at the next record (after flushing what it has
    /// taken), drained or not.
    void request_crash_halt() noexcept { crash_request_.store(kCrashHalt, std::memory_order_release); }
    /// kCrashNone while it may still read; then kCrashDrain (it wrote
    /// everything committed before stopping) or kCrashHalt (it stopped early).
    /// acquire: once it says stopped, its last ring reads happened before.
    int crash_stopped() const noexcept { return crash_ack_.load(std::memory_order_acquire); }
    /// True once run() has returned or is about to (shutdown() drained and
    /// closed the handlers): it reads no rings any more.
    bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
    static constexpr int kCrashNone = 0, kCrashDrain = 1, kCrashHalt = 2;

    /// In a forked child: forget the thread that does not exist there.
    void abandon_thread_after_fork() noexcept;

private:
    struct FlushRequest {
        std::promise<void> done;
    };
    struct HealthRequest {
        std::promise<BackendHealth> done;
    };
    moodycamel::ConcurrentQueue<std::shared_ptr<HealthRequest>> health_requests_;
    /// Backend thread: answers the health requests waiting.
    void answer_health_requests() noexcept;
    /// Backend thread: the queue gauge, the files' rotations, sizes and
    /// losses, and the counters kept elsewhere (once a second and at the end).
    void publish_metrics() noexcept;
    BackendMetrics metrics_;
    /// Per handler: its type as health and metrics name it, its duration
    /// histogram (null without memory), its failures and the last one's text.
    std::vector<std::string> handler_types_;
    std::vector<BatchedHistogram> handler_histograms_;
    /// Records handed to the handlers (or written to the binary log only)
    /// since the last publish_counts().
    std::uint64_t records_written_pending_ = 0;
    /// Hands the counts kept on this thread to Registry::records_written and
    /// the metrics (flush_handlers() does, and run() once more at its end).
    void publish_counts() noexcept;
    std::vector<std::uint64_t> handler_errors_;
    std::vector<std::string> handler_last_error_;
    std::vector<RotatingFileSink*> handler_files_;  // the file sink behind a handler, or null

    void run() noexcept;
    /// Takes newly registered thread queues.
    void adopt_new_queues();
    /// Writes records with timestamp <= limit in timestamp order; returns how many.
    std::size_t drain(std::uint64_t limit);
    /// The head record of a queue, following grown rings; nullptr if empty.
    const std::byte* head(ThreadQueue& q);
    void process(ThreadQueue& q, const std::byte* record);
    /// Hands `view` to every handler but handlers_[skip]. A handler that
    /// throws loses the record (counted); the others are not affected.
    void dispatch(const LogRecordView& view, std::size_t skip = kNoHandler) noexcept;
    static constexpr std::size_t kNoHandler = ~std::size_t{0};
    /// Counts handlers_[i] throwing (in a catch block), and once per failure
    /// streak reports it on stderr and keeps the entry for write_handler_error().
    void handler_failed(std::size_t i, bool lost_record) noexcept;
    /// Writes the kept "Handler error" entry, if any, to the other handlers.
    /// Not while a rendered view is being dispatched (the entry reuses its buffer).
    void write_handler_error() noexcept;
    std::string pending_error_;
    std::size_t pending_error_handler_ = kNoHandler;
    /// Per handler: it threw, and its next success ends the streak.
    std::vector<std::uint8_t> handler_failing_;
    bool reporting_handler_error_ = false;
    /// The log files among the handlers (and the binary log's), whose
    /// failures the backend writes as entries (RotatingFileSink::take_notices()).
    std::vector<RotatingFileSink*> file_sinks_;
    void report_file_notices() noexcept;
    void flush_handlers() noexcept;
    /// Gives every ring's consumed bytes back to its producer. Only after
    /// flush_handlers(): until then a crash dump must still find the records
    /// whose lines are not yet in the OS's hands (spsc_ring.hpp).
    void release_all() noexcept;
    static constexpr std::uint32_t kRecordsPerRelease = 1024;
    std::uint32_t records_since_release_ = 0;
    /// Frees `ring` (unlinked from the crash path), or keeps it in
    /// rings_to_free_ while a dump may be reading it.
    void free_ring(SpscRing* ring) noexcept;
    std::vector<SpscRing*> rings_to_free_;
    void report_drops();
    /// "Rate limited: N entries from <logger> suppressed", one WARNING per
    /// logger with records suppressed since the last report; at most every
    /// SamplingConfig::report_interval, and always when `final_report`.
    void report_rate_limited(bool final_report);
    std::chrono::steady_clock::time_point last_rate_limit_report_{};
    void reclaim_exited();
    /// Takes retired context snapshots and marks, per queue, how far the
    /// backend must read before no record can refer to them.
    void collect_retired();
    /// Frees the retired snapshots whose marks have all been passed.
    void free_retired();
    std::vector<RetiredSnapshot> retired_batch_;  // scratch

    Config config_;
    EntryRenderer renderer_;
    std::vector<std::shared_ptr<Handler>> handlers_;
    std::unique_ptr<BinaryLogSink> binary_;
    std::vector<ThreadQueue*> queues_;
    TscClock clock_;
    std::int64_t last_unix_ns_ = 0;  // output timestamps never go backwards
    std::uint64_t grace_ticks_;
    moodycamel::ConcurrentQueue<std::shared_ptr<FlushRequest>> flush_requests_;
    std::atomic<bool> stop_requested_{false};
    /// pause()/resume() handshake: kRunning -> kPauseRequested (caller) ->
    /// kPaused (backend, between records) -> kRunning (caller).
    enum PauseState : int { kRunning, kPauseRequested, kPaused };
    std::atomic<int> pause_state_{kRunning};
    std::atomic<bool> finished_{false};  // run() has returned (or is about to)
    /// Backend thread: parks while a pause is requested.
    void park_if_paused() noexcept;
    /// Crash path handshake: request written by the crashing thread, ack by the backend.
    std::atomic<int> crash_request_{kCrashNone};
    std::atomic<int> crash_ack_{kCrashNone};
    /// Backend thread: answers a crash request and never returns.
    [[noreturn]] void stop_for_crash() noexcept;
    std::thread thread_;
};

}  // namespace agora::log::detail
