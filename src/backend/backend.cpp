#include "backend/backend.hpp"

#include "backend/live_symbols.hpp"
#include "format/constants.hpp"
#include "format/record_codec.hpp"
#include "frontend/levels.hpp"
#include "frontend/alt_signal_stack.hpp"
#include "frontend/ring_pool.hpp"
#include "sinks/binary_sink.hpp"
#include "sinks/console_sink.hpp"
#include "sinks/handler_losses.hpp"
#include "sinks/rotating_file_sink.hpp"
#include "base/write_all.hpp"

#include <agora/log/handlers/rotating_file.hpp>

#include <cxxabi.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <limits>
#include <typeinfo>

namespace agora::log::detail {

namespace {
RecordHeader read_header(const std::byte* p) noexcept {
    RecordHeader h;
    std::memcpy(&h, p, sizeof h);
    return h;
}

/// The type a handler is shown as in health and metrics: "file" and
/// "console" for the configured ones, "RotatingFileHandler" and
/// "ConsoleHandler", else the handler's demangled class name.
std::string handler_type_name(const Handler& h) {
    if (dynamic_cast<const RotatingFileSink*>(&h) != nullptr) return "file";
    if (dynamic_cast<const ConsoleSink*>(&h) != nullptr) return "console";
    const char* mangled = typeid(h).name();
    int status = 0;
    char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled != nullptr ? demangled : mangled;
    std::free(demangled);
    if (name.starts_with("agora::log::")) name.erase(0, 12);
    return name;
}

}  // namespace

Backend::Backend(const Config& config, EntryIdentity identity, std::vector<std::shared_ptr<Handler>> handlers,
                 std::unique_ptr<BinaryLogSink> binary)
    : metrics_(config.service_name),
      config_(config),
      renderer_(identity, RenderOptions{config.max_message_length, config.default_context, config.sensitive_data,
                                        sample_rates_of(config.sampling)}),
      handlers_(std::move(handlers)), binary_(std::move(binary)), clock_(5) {
    // Exception stacks are this process's: symbolised from its debug information.
    renderer_.symbolizer().use_lookup(&live_frame_text);
    if (binary_) binary_->symbolizer().use_lookup(&live_frame_text);
    Registry::instance().ns_per_tick.store(clock_.ns_per_tick(), std::memory_order_relaxed);
    handler_failing_.assign(handlers_.size(), 0);
    for (const auto& h : handlers_) {
        if (auto* file = dynamic_cast<RotatingFileSink*>(h.get())) file_sinks_.push_back(file);
        else if (auto* handler = dynamic_cast<RotatingFileHandler*>(h.get())) file_sinks_.push_back(sink_of(*handler));
    }
    if (binary_) file_sinks_.push_back(&binary_->file());
    for (const auto& h : handlers_) {
        std::string type = handler_type_name(*h);
        handler_histograms_.emplace_back(config.metrics_enabled ? metrics_.handler_histogram(type) : nullptr,
                                         entry_duration_buckets());
        handler_types_.push_back(std::move(type));
        RotatingFileSink* file = dynamic_cast<RotatingFileSink*>(h.get());
        if (auto* handler = dynamic_cast<RotatingFileHandler*>(h.get())) file = sink_of(*handler);
        handler_files_.push_back(file);
    }
    handler_errors_.assign(handlers_.size(), 0);
    handler_last_error_.assign(handlers_.size(), std::string());
    grace_ticks_ = static_cast<std::uint64_t>(
        static_cast<double>(config.backend_ordering_grace.count()) * 1000.0 / clock_.ns_per_tick());
}

Backend::~Backend() {
    stop();
    if (!dump_reading())
        for (SpscRing* ring : rings_to_free_) SpscRing::destroy(ring);
    // else: a dump still reads them; they stay allocated (the process is dumping).
}

void Backend::start() {
    stop_requested_.store(false);
    thread_ = std::thread([this] { run(); });
}

void Backend::stop() noexcept {
    if (!thread_.joinable()) return;
    stop_requested_.store(true, std::memory_order_release);
    thread_.join();
}

void Backend::pause() noexcept {
    if (!thread_.joinable() || on_a_backend_thread()) return;
    pause_state_.store(kPauseRequested, std::memory_order_release);
    // The backend answers between two records; a thread that stopped (loop
    // ended) answers no more, hence the stop check.
    while (pause_state_.load(std::memory_order_acquire) != kPaused && !finished_.load(std::memory_order_acquire))
        std::this_thread::yield();
}

void Backend::resume() noexcept { pause_state_.store(kRunning, std::memory_order_release); }

Backend::PauseResult Backend::pause_for(std::chrono::nanoseconds timeout) noexcept {
    if (!thread_.joinable() || on_a_backend_thread()) return PauseResult::failed;
    int expected = kRunning;
    if (!pause_state_.compare_exchange_strong(expected, kPauseRequested, std::memory_order_acq_rel))
        if (expected == kPaused) return PauseResult::already_paused;  // held by someone else: leave it so
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pause_state_.load(std::memory_order_acquire) != kPaused) {
        if (finished_.load(std::memory_order_acquire) || std::chrono::steady_clock::now() > deadline) {
            // Withdraw the request, unless the backend took it meanwhile (then
            // it is parked and waits for our resume()).
            int requested = kPauseRequested;
            if (pause_state_.compare_exchange_strong(requested, kRunning, std::memory_order_acq_rel))
                return PauseResult::failed;
            return PauseResult::paused;
        }
        std::this_thread::yield();
    }
    return PauseResult::paused;
}

void Backend::park_if_paused() noexcept {
    // A CAS, not a store: a pause_for() that timed out may have withdrawn the
    // request since we looked, and parking then would never end.
    int requested = kPauseRequested;
    if (pause_state_.load(std::memory_order_relaxed) != kPauseRequested ||
        !pause_state_.compare_exchange_strong(requested, kPaused, std::memory_order_acq_rel))
        return;
    while (pause_state_.load(std::memory_order_acquire) == kPaused) {
        // Paused between records with the handlers flushed: a crash may have
        // the rings at once (a paused backend is also how tests hold it).
        if (crash_request_.load(std::memory_order_acquire) == kCrashHalt) {
            crash_ack_.store(kCrashHalt, std::memory_order_release);
            for (;;) ::pause();  // the crashing thread ends the process
        }
        std::this_thread::yield();
    }
}

void Backend::stop_for_crash() noexcept {
    int request = crash_request_.load(std::memory_order_acquire);
    if (request == kCrashDrain) {
        try {
            adopt_new_queues();
            drain(std::numeric_limits<std::uint64_t>::max());  // stops early on a halt request
        } catch (...) {
        }
        request = crash_request_.load(std::memory_order_acquire);
    }
    // What was taken from the rings reaches the file before the rings are
    // dumped, and only then leaves the rings.
    flush_handlers();
    release_all();
    crash_ack_.store(request, std::memory_order_release);
    for (;;) ::pause();  // the crashing thread ends the process
}

void Backend::abandon_thread_after_fork() noexcept {
    // The std::thread object names a thread of the parent; joining it would
    // fail. Forget it without running its destructor's terminate().
    new (&thread_) std::thread();
    queues_.clear();  // the parent's queues are the parent's to drain
}

void Backend::flush() noexcept {
    if (!thread_.joinable() || on_a_backend_thread()) return;
    try {
        auto request = std::make_shared<FlushRequest>();
        auto done = request->done.get_future();
        flush_requests_.enqueue(std::move(request));
        done.wait();
    } catch (...) {
        // No memory for the request: nothing sensible to wait on.
    }
}

namespace {
thread_local bool t_backend_thread = false;
}  // namespace

bool Backend::on_a_backend_thread() noexcept { return t_backend_thread; }

void Backend::run() noexcept {
    t_backend_thread = true;
    pthread_setname_np(pthread_self(), "agora-log");
    if (config_.backend_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(config_.backend_cpu, &set);
        if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
            emit_internal(Level::warning, fmt::format("Could not pin the backend thread to CPU {}", config_.backend_cpu));
    }
    auto last_calibration = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<FlushRequest>> requests;
    report_file_notices();  // a file that could not be opened

    while (!stop_requested_.load(std::memory_order_acquire)) {
        park_if_paused();
        if (crash_request_.load(std::memory_order_acquire) != kCrashNone) stop_for_crash();
        requests.clear();
        std::shared_ptr<FlushRequest> r;
        std::uint64_t limit = read_tsc() - grace_ticks_;
        while (flush_requests_.try_dequeue(r)) {
            // Everything committed by now, whatever its timestamp: a caller's
            // earlier records may carry a later TSC than its own if it moved to
            // a core whose counter is behind.
            limit = std::numeric_limits<std::uint64_t>::max();
            requests.push_back(std::move(r));
        }
        // After taking the flush requests: a thread that registered its queue
        // before calling flush() must be drained by this pass.
        adopt_new_queues();
        collect_retired();
        std::size_t n = drain(limit);
        report_drops();
        report_rate_limited(false);
        if (n > 0 || !requests.empty()) {
            flush_handlers();
            report_file_notices();
        }
        release_all();  // also what peek() skipped as padding
        free_retired();
        publish_counts();  // also the entries written after the flush (file notices)
        for (auto& req : requests) req->done.set_value();
        reclaim_exited();
        // At most one new spare ring a pass (its page faults are paid here,
        // not on a new thread's first record), and signal stack.
        refill_ring_pool();
        refill_alt_signal_stacks();
        if (!rings_to_free_.empty() && !dump_reading()) {
            for (SpscRing* ring : rings_to_free_) SpscRing::destroy(ring);
            rings_to_free_.clear();
        }

        // Timed set_level() reverts: no thread or timer of their own. The
        // relaxed load is enough (levels.hpp: a stale value delays by a pass).
        if (const std::int64_t due = Registry::instance().next_level_deadline.load(std::memory_order_relaxed);
            due != kNoLevelDeadline) {
            if (const std::int64_t t = level_clock_now_ns(); t >= due) apply_due_level_reverts(t);
        }

        auto now = std::chrono::steady_clock::now();
        if (now - last_calibration > std::chrono::seconds(1)) {
            // Idle files too: retries of a failing file, checks for a removed one.
            for (RotatingFileSink* file : file_sinks_) file->flush();
            report_file_notices();
            clock_.recalibrate();
            Registry::instance().ns_per_tick.store(clock_.ns_per_tick(), std::memory_order_relaxed);
            last_calibration = now;
            publish_metrics();
        }
        answer_health_requests();
        if (n == 0 && requests.empty()) {
            if (config_.backend_idle_sleep.count() > 0) std::this_thread::sleep_for(config_.backend_idle_sleep);
            else std::this_thread::yield();
        }
    }

    // Shutdown: everything that was committed is written. A crash meanwhile
    // (the crash handler stays installed until the backend has stopped) gets
    // its answer as in the loop.
    adopt_new_queues();
    collect_retired();
    drain(std::numeric_limits<std::uint64_t>::max());  // stops early on a crash halt
    report_drops();
    report_rate_limited(true);
    publish_metrics();
    flush_handlers();
    report_file_notices();
    if (crash_request_.load(std::memory_order_acquire) != kCrashNone) stop_for_crash();
    release_all();
    free_retired();
    // A file that still cannot be written counts and reports (stderr) what it
    // loses at close.
    for (std::size_t i = 0; i < handlers_.size(); ++i) {
        try {
            handlers_[i]->close();
        } catch (...) {
            handler_failed(i, false);
        }
    }
    publish_counts();  // entries written after the last flush (file notices, close)
    std::shared_ptr<FlushRequest> r;
    while (flush_requests_.try_dequeue(r)) r->done.set_value();
    reclaim_exited();
    // The threads of the remaining queues live on and keep writing to their
    // rings: hand the queues to the next backend (initialize() after shutdown()).
    auto* incoming = Registry::instance().new_queues.load(std::memory_order_acquire);
    for (ThreadQueue* q : queues_) incoming->enqueue(q);
    queues_.clear();
    finished_.store(true, std::memory_order_release);
}

void Backend::adopt_new_queues() {
    auto* incoming = Registry::instance().new_queues.load(std::memory_order_acquire);
    ThreadQueue* q = nullptr;
    while (incoming->try_dequeue(q)) queues_.push_back(q);
}

const std::byte* Backend::head(ThreadQueue& q) {
    for (;;) {
        if (const std::byte* p = q.ring->peek()) return p;
        SpscRing* next = q.ring->next();
        if (next == nullptr) return nullptr;
        // The producer committed its last record to this ring before publishing
        // next (release/acquire), so one more look sees all of them.
        if (const std::byte* p = q.ring->peek()) return p;
        // The old ring's records leave the crash path with it: their lines
        // go to the OS first.
        flush_handlers();
        SpscRing* old = q.ring;
        q.ring = next;
        q.live_ring.store(next, std::memory_order_release);  // before the free: dumps never see a freed ring
        free_ring(old);
    }
}

void Backend::free_ring(SpscRing* ring) noexcept {
    if (!dump_reading()) {
        // Unreachable now: a spare for the next new thread (ring_pool.hpp), or freed.
        if (!return_spare_ring(ring)) SpscRing::destroy(ring);
        return;
    }
    try {
        rings_to_free_.push_back(ring);
    } catch (...) {
        // No memory to remember it: leaked, which is safe.
    }
}

void Backend::release_all() noexcept {
    for (ThreadQueue* q : queues_) q->ring->release();
    records_since_release_ = 0;
}

std::size_t Backend::drain(std::uint64_t limit) {
    std::size_t n = 0;
    for (;;) {
        ThreadQueue* best = nullptr;
        const std::byte* best_record = nullptr;
        std::uint64_t best_ts = std::numeric_limits<std::uint64_t>::max();
        std::uint64_t second_ts = best_ts;
        for (ThreadQueue* q : queues_) {
            const std::byte* rec = head(*q);
            if (rec == nullptr) continue;
            std::uint64_t ts = read_header(rec).timestamp;
            if (best == nullptr || ts < best_ts) {
                second_ts = best_ts;
                best_ts = ts;
                best = q;
                best_record = rec;
            } else if (ts < second_ts) {
                second_ts = ts;
            }
        }
        if (best == nullptr || best_ts > limit) break;
        if (pause_state_.load(std::memory_order_relaxed) == kPauseRequested) break;  // fork() waits
        if (crash_request_.load(std::memory_order_relaxed) == kCrashHalt) break;      // a crash dump waits
        // Take from the earliest ring until it passes the next ring's head.
        const std::uint64_t bound = std::min(second_ts, limit);
        const std::byte* rec = best_record;
        do {
            process(*best, rec);
            ++n;
            // Consumed bytes are released only after a flush. Flushing every
            // kRecordsPerRelease records bounds what a crash on this thread
            // finds both in the log and in the dump (a handler may write
            // before the flush); a quarter of the ring bounds what the
            // producer waits for.
            if (++records_since_release_ >= kRecordsPerRelease ||
                best->ring->held_bytes() > best->ring->capacity() / 4) {
                flush_handlers();
                release_all();
            }
            rec = head(*best);
        } while (rec != nullptr && read_header(rec).timestamp <= bound);
    }
    return n;
}

void Backend::process(ThreadQueue& q, const std::byte* record) {
    Registry& reg = Registry::instance();
    const RecordHeader h = read_header(record);
    const CallSite* site = reg.sites.get(h.site_id);
    LoggerState* const* logger = reg.loggers.get(h.logger_id & kLoggerIdMask);
    if (site == nullptr || logger == nullptr) {
        emit_internal(Level::error,
                      fmt::format("Skipped a record with unknown call site {} or logger {}", h.site_id, h.logger_id));
    } else {
        std::int64_t unix_ns = clock_.to_unix_ns(h.timestamp);
        if (unix_ns < last_unix_ns_) unix_ns = last_unix_ns_;
        last_unix_ns_ = unix_ns;
        if (binary_) binary_->write_record(record, *site, (*logger)->name, unix_ns, clock_);
        if (handlers_.empty()) {
            ++records_written_pending_;  // nothing to render for
        } else {
            // The producer wrote this record whole: it frames (a failure here
            // would be a producer bug; the record is then skipped).
            RecordView view;
            if (RecordView::read(record, h.size, view)) {
                RecordContext context;
                context.bound = reinterpret_cast<const ContextSnapshot*>(static_cast<std::uintptr_t>(view.bound));
                context.scope = reinterpret_cast<const ContextSnapshot*>(static_cast<std::uintptr_t>(view.scoped));
                LogRecordView entry{};
                renderer_.render_record(h, view.args, view.args_size(), *site, (*logger)->name, unix_ns, entry, context,
                                        clock_.ns_per_tick());
                dispatch(entry);
            }
        }
        if (config_.metrics_enabled) metrics_.count_entry(h.logger_id & kLoggerIdMask, (*logger)->name, site->level);
    }
    q.ring->consume(h.size);
}

void Backend::dispatch(const LogRecordView& view, std::size_t skip) noexcept {
    const bool timed = config_.metrics_enabled;
    const double seconds_per_tick = clock_.ns_per_tick() * 1e-9;
    for (std::size_t i = 0; i < handlers_.size(); ++i) {
        if (i == skip) continue;
        const std::uint64_t start = timed ? read_tsc() : 0;
        try {
            handlers_[i]->emit(view);
            handler_failing_[i] = 0;
        } catch (...) {
            handler_failed(i, true);
        }
        if (timed) handler_histograms_[i].observe(static_cast<double>(read_tsc() - start) * seconds_per_tick);
    }
    ++records_written_pending_;
    // Only now: the entry is rendered into the buffer `view` points to.
    write_handler_error();
}

void Backend::handler_failed(std::size_t i, bool lost_record) noexcept {
    if (lost_record) count_lost_by_handlers(1);
    ++handler_errors_[i];
    if (config_.metrics_enabled) metrics_.count_handler_error(handler_types_[i]);
    try {
        try {
            throw;
        } catch (const std::exception& e) {
            handler_last_error_[i] = e.what();
        } catch (...) {
            handler_last_error_[i] = "an exception that is not a std::exception";
        }
    } catch (...) {
    }
    // One entry per failure streak; none about a failure while writing one
    // (the entry goes to the other handlers, which may throw too).
    if (handler_failing_[i] != 0 || reporting_handler_error_ || pending_error_handler_ != kNoHandler) return;
    handler_failing_[i] = 1;
    std::string type = "unknown", what;
    try {
        throw;
    } catch (const std::exception& e) {
        int status = 0;
        const char* mangled = typeid(e).name();
        char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
        try {
            type = status == 0 && demangled != nullptr ? demangled : mangled;
            what = e.what();
        } catch (...) {
        }
        std::free(demangled);
    } catch (...) {
    }
    try {
        pending_error_ = fmt::format("Handler error: {}: {}", type, what);
        pending_error_handler_ = i;
        const std::string line = "agora-log: " + pending_error_ + "\n";
        report_to_stderr(line.data(), line.size());
    } catch (...) {
    }
}

void Backend::write_handler_error() noexcept {
    if (pending_error_handler_ == kNoHandler) return;
    const std::size_t skip = pending_error_handler_;
    std::string message = std::move(pending_error_);
    pending_error_handler_ = kNoHandler;
    reporting_handler_error_ = true;
    emit_internal(Level::error, message, std::source_location::current(), skip);
    reporting_handler_error_ = false;
}

void Backend::report_file_notices() noexcept {
    for (RotatingFileSink* file : file_sinks_)
        for (auto& n : file->take_notices()) emit_internal(n.level, n.message);
}

void Backend::emit_internal(Level level, std::string_view message, std::source_location loc,
                            std::size_t skip) noexcept {
    try {
        const EntryRenderer::SiteInfo site = EntryRenderer::make_site_info(loc.file_name(), loc.line(), loc.function_name());
        std::int64_t unix_ns = std::max(clock_now_ns(CLOCK_REALTIME), last_unix_ns_);
        last_unix_ns_ = unix_ns;
        if (binary_)
            binary_->write_internal(level, unix_ns, loc.line(), loc.file_name(), loc.function_name(), message, clock_);
        if (handlers_.empty()) {
            ++records_written_pending_;
            return;
        }
        if (config_.metrics_enabled) metrics_.count_entry(kInternalLoggerId, kInternalLoggerName, level);
        LogRecordView view{};
        renderer_.render(level, unix_ns, message, site, kInternalLoggerId, kInternalLoggerName, view);
        dispatch(view, skip);
    } catch (...) {
        // Out of memory while reporting: nothing more we can do.
    }
}

void Backend::flush_handlers() noexcept {
    for (std::size_t i = 0; i < handlers_.size(); ++i) {
        try {
            handlers_[i]->flush();
        } catch (...) {
            handler_failed(i, false);
        }
    }
    write_handler_error();
    if (binary_) binary_->flush();
    publish_counts();
}

void Backend::publish_counts() noexcept {
    if (records_written_pending_ != 0) {
        Registry::instance().records_written.fetch_add(records_written_pending_, std::memory_order_relaxed);
        records_written_pending_ = 0;
    }
    if (!config_.metrics_enabled) return;
    metrics_.flush_pending();
    for (BatchedHistogram& h : handler_histograms_) h.flush();
}

void Backend::report_drops() {
    std::uint64_t dropped = 0;
    for (ThreadQueue* q : queues_) {
        std::uint64_t d = q->dropped.load(std::memory_order_relaxed);
        dropped += d - q->dropped_reported;
        q->dropped_reported = d;
    }
    static std::uint64_t lost_reported = 0;  // backend thread only
    std::uint64_t lost = Registry::instance().lost_records.load(std::memory_order_relaxed);
    dropped += lost - lost_reported;
    lost_reported = lost;
    if (dropped == 0) return;
    metrics_.add_dropped(dropped);
    Registry::instance().dropped_total.fetch_add(dropped, std::memory_order_relaxed);
    emit_internal(Level::warning, fmt::format("Async queue overflow, dropped {} entries", dropped));
}

void Backend::report_rate_limited(bool final_report) {
    if (!config_.sampling.enabled || !config_.sampling.rate_limit) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final_report && now - last_rate_limit_report_ < config_.sampling.report_interval) return;
    last_rate_limit_report_ = now;
    Registry& reg = Registry::instance();
    for (std::uint32_t id = 1, n = reg.loggers.size(); id <= n; ++id) {
        LoggerState* const* slot = reg.loggers.get(id);
        if (slot == nullptr) continue;
        LoggerState& logger = **slot;
        const std::uint64_t total = logger.rate_limited.load(std::memory_order_relaxed);
        if (total == logger.rate_limited_reported) continue;
        const std::uint64_t suppressed = total - logger.rate_limited_reported;
        logger.rate_limited_reported = total;
        emit_internal(Level::warning, fmt::format("Rate limited: {} entries from {} suppressed", suppressed,
                                                  logger.name.empty() ? std::string_view("(root)") : logger.name));
    }
}

BackendHealth Backend::health(std::chrono::milliseconds timeout) noexcept {
    BackendHealth none;
    if (!thread_.joinable() || on_a_backend_thread() || finished()) return none;
    try {
        auto request = std::make_shared<HealthRequest>();
        auto answer = request->done.get_future();
        health_requests_.enqueue(std::move(request));
        if (answer.wait_for(timeout) != std::future_status::ready) return none;
        return answer.get();
    } catch (...) {
        return none;
    }
}

void Backend::answer_health_requests() noexcept {
    std::shared_ptr<HealthRequest> request;
    if (!health_requests_.try_dequeue(request)) return;
    BackendHealth h;
    try {
        h.answered = true;
        for (ThreadQueue* q : queues_) {
            for (SpscRing* ring = q->ring; ring != nullptr; ring = ring->next()) {
                h.queue_bytes += ring->write_index() - ring->read_index();
                h.queue_capacity += ring->capacity();
            }
        }
        for (std::size_t i = 0; i < handlers_.size(); ++i) {
            HandlerHealth hh{handler_types_[i], true, {}};
            h.errors_total += handler_errors_[i];
            if (handler_failing_[i] != 0) {
                hh.is_healthy = false;
                hh.last_error = handler_last_error_[i];
            } else if (const RotatingFileSink* file = handler_files_[i]; file != nullptr && file->failing()) {
                hh.is_healthy = false;
                hh.last_error = file->last_error();
            }
            h.handlers.push_back(std::move(hh));
        }
        for (RotatingFileSink* file : file_sinks_) h.errors_total += file->error_count();
        if (binary_) {
            const RotatingFileSink& file = binary_->file();
            h.handlers.push_back(HandlerHealth{"binary_file", !file.failing(), file.failing() ? file.last_error() : ""});
        }
    } catch (...) {
        h.answered = false;
    }
    for (;;) {
        try {
            request->done.set_value(h);
        } catch (...) {
        }
        if (!health_requests_.try_dequeue(request)) return;
    }
}

void Backend::publish_metrics() noexcept {
    if (!config_.metrics_enabled) return;
    publish_counts();
    std::uint64_t queued = 0;
    for (ThreadQueue* q : queues_)
        for (SpscRing* ring = q->ring; ring != nullptr; ring = ring->next())
            queued += ring->write_index() - ring->read_index();
    metrics_.set_queue_bytes(queued);
    for (RotatingFileSink* file : file_sinks_)
        metrics_.set_file_state(file->path(), file->rotations(), file->current_size(), file->lost_lines());
    metrics_.sync(renderer_.redactor().applied());
}

void Backend::collect_retired() {
    Registry& reg = Registry::instance();
    auto* incoming = reg.retired.load(std::memory_order_acquire);
    RetiredSnapshot r{};
    retired_batch_.clear();
    while (incoming->try_dequeue(r)) retired_batch_.push_back(r);
    if (retired_batch_.empty()) return;
    // A thread that wrote a record referring to a snapshot registered its
    // queue before that: adopt now so the queue gets a mark.
    adopt_new_queues();
    for (const RetiredSnapshot& retired : retired_batch_) {
        PendingRetirement pending{retired.snapshot, {}};
        for (ThreadQueue* q : queues_) {
            if (retired.queue != nullptr && retired.queue != q) continue;
            SpscRing* last = q->ring;
            while (SpscRing* next = last->next()) last = next;
            // Every record referring to the snapshot was committed before it
            // was retired (acquire chain through `retired`): at or before this index.
            const std::uint64_t w = last->write_index();
            if (last == q->ring && last->read_index() >= w) continue;
            pending.marks.push_back({q, last, w});
        }
        reg.pending_retired.push_back(std::move(pending));
    }
}

void Backend::free_retired() {
    auto& pending = Registry::instance().pending_retired;
    if (pending.empty() || dump_reading()) return;  // a dump may read them: next time
    auto passed = [](const PendingRetirement::Mark& m) {
        // The backend reads rings in chain order: a mark's ring still ahead
        // of the one being read is not passed; one no longer in the chain is.
        for (SpscRing* r = m.queue->ring; r != nullptr; r = r->next())
            if (r == m.ring) return r == m.queue->ring && r->read_index() >= m.write_index;
        return true;
    };
    for (auto& p : pending) std::erase_if(p.marks, passed);
    std::erase_if(pending, [](PendingRetirement& p) {
        if (!p.marks.empty()) return false;
        delete p.snapshot;
        return true;
    });
}

void Backend::reclaim_exited() {
    for (std::size_t i = 0; i < queues_.size();) {
        ThreadQueue* q = queues_[i];
        // acquire: pairs with the thread-end mark's release, so the emptiness check
        // below sees every record the thread committed.
        if (q->producer_done.load(std::memory_order_acquire) && head(*q) == nullptr) {
            std::uint64_t d = q->dropped.load(std::memory_order_relaxed);
            if (d != q->dropped_reported) {  // report before forgetting the counter
                ++i;
                continue;
            }
            // Fully drained: every retirement mark in it is passed.
            for (auto& pending : Registry::instance().pending_retired)
                std::erase_if(pending.marks, [q](const PendingRetirement::Mark& m) { return m.queue == q; });
            free_ring(recycle_thread_queue(q));
            queues_[i] = queues_.back();
            queues_.pop_back();
        } else {
            ++i;
        }
    }
}

}  // namespace agora::log::detail
