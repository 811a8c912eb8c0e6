// initialize / flush / shutdown / get_logger, and fork() support.

#include "backend/backend.hpp"
#include "crash/crash.hpp"
#include "frontend/levels.hpp"
#include "frontend/registry.hpp"
#include "frontend/alt_signal_stack.hpp"
#include "frontend/ring_pool.hpp"
#include "frontend/sampling.hpp"
#include "audit/audit_entry.hpp"
#include "lifecycle/admin_server.hpp"
#include "lifecycle/lifecycle_state.hpp"
#include "sinks/binary_sink.hpp"
#include "sinks/console_sink.hpp"
#include "sinks/handler_losses.hpp"
#include "sinks/rotating_file_sink.hpp"

#include <agora/log/crash.hpp>
#include <agora/log/lifecycle.hpp>
#include <agora/log/logger.hpp>

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace agora::log {

namespace {

using detail::Backend;
using detail::LoggerState;
using detail::Registry;

using detail::Lifecycle;
using detail::lifecycle;


std::string default_host() {
    if (const char* h = std::getenv("HOSTNAME"); h != nullptr && *h != '\0') return h;
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0 && buf[0] != '\0') return buf;
    return "unknown";
}

/// Turns every logger on (its effective level) or off (kLevelOff), under
/// the registry mutex, so a concurrent set_level() or get_logger() stores a
/// level consistent with the running state (src/frontend/levels.hpp).
void set_running(bool running) {
    Registry& reg = Registry::instance();
    std::lock_guard lock(reg.mutex);
    reg.backend_running.store(running, std::memory_order_release);
    if (running) reg.initialized_once.store(true, std::memory_order_release);
    detail::apply_levels_locked(reg);
}

/// The levels `config` gives; runtime levels survive only with keep_runtime_levels.
void apply_configured_levels(const Config& config) {
    Registry& reg = Registry::instance();
    std::map<std::string, std::uint8_t, std::less<>> configured;
    for (const auto& [name, level] : config.logger_levels) configured.emplace(name, static_cast<std::uint8_t>(level));
    std::lock_guard lock(reg.mutex);
    reg.default_level.store(static_cast<std::uint8_t>(config.level), std::memory_order_relaxed);
    reg.configured_levels = std::move(configured);
    if (config.keep_runtime_levels)
        detail::apply_due_level_reverts_locked(reg, detail::level_clock_now_ns());
    else
        detail::clear_overrides_locked(reg);
    detail::apply_levels_locked(reg);
}

detail::EntryIdentity make_identity(const Config& config) {
    return detail::EntryIdentity{config.service_name, config.environment, config.version,
                                 config.host.empty() ? default_host() : config.host};
}

Backend* build_backend(const Config& config, const detail::EntryIdentity& identity,
                       const std::vector<std::shared_ptr<Handler>>& extra, std::vector<std::string>& warnings) {
    std::vector<std::shared_ptr<Handler>> handlers;
    std::unique_ptr<detail::RotatingFileSink> binary_file;
    std::shared_ptr<detail::RotatingFileSink> json_file;
    bool console = config.console_enabled;
    if (config.file_enabled) {
        detail::RotatingFileSink::Options o;
        o.path = config.file_path;
        o.max_size_bytes = config.max_file_size_mb << 20;
        o.max_backups = config.max_backup_count;
        o.retry_interval = config.file_retry_interval;
        // A binary file holds every argument as written, unredacted.
        if (config.file_format == FileFormat::binary) o.file_mode = 0600;
        auto file = std::make_unique<detail::RotatingFileSink>(o);
        if (config.file_format == FileFormat::json) {
            // Kept even if it cannot be opened now: it is retried, and what it
            // does not take goes to the console meanwhile (the backend writes
            // its "File logging failed" entry).
            json_file = std::move(file);
            handlers.push_back(json_file);
        } else if (!file->is_open()) {
            warnings.push_back("Log file " + config.file_path + " cannot be written (" + file->last_error() +
                               "); logging to the console instead");
            console = true;
        } else {
            binary_file = std::move(file);
        }
    }
    if (console) handlers.push_back(std::make_shared<detail::ConsoleSink>(config.console_format, config.console_colors, 1));
    else if (json_file)
        json_file->set_fallback(std::make_shared<detail::ConsoleSink>(config.console_format, config.console_colors, 1));
    for (const auto& h : extra)
        if (h) handlers.push_back(h);
    std::unique_ptr<detail::BinaryLogSink> binary;
    if (binary_file) binary = std::make_unique<detail::BinaryLogSink>(std::move(binary_file), identity, config);
    return new Backend(config, identity, std::move(handlers), std::move(binary));
}

void apply_queue_settings(const Config& config) {
    Registry& reg = Registry::instance();
    reg.queue_capacity.store(detail::ring_capacity_for(config.queue_capacity_bytes), std::memory_order_relaxed);
    reg.queue_max_capacity.store(detail::ring_capacity_for(config.queue_max_capacity_bytes), std::memory_order_relaxed);
    reg.queue_policy.store(static_cast<int>(config.queue_full_policy), std::memory_order_relaxed);
    // No backend runs here (ring_pool.hpp): the spares are written now, so
    // threads started after initialize() find them ready.
    detail::configure_ring_pool(reg.queue_capacity.load(std::memory_order_relaxed), config.queue_spare_rings);
    detail::configure_alt_signal_stacks(config.queue_spare_rings);
}

// fork(): the child has only the forking thread. Its copy of the rings holds
// the parent's unwritten records (the parent writes them), and no backend.
void before_fork() {
    Lifecycle& l = lifecycle();
    l.mutex.lock();
    // The backend waits between two records: it holds no lock (its own or
    // the allocator's) that the child would inherit locked.
    if (l.backend != nullptr) l.backend->pause();
    Registry::instance().mutex.lock();
}
void after_fork_parent() {
    Registry::instance().mutex.unlock();
    Lifecycle& l = lifecycle();
    if (l.backend != nullptr) l.backend->resume();
    l.mutex.unlock();
}
void after_fork_child() {
    Registry& reg = Registry::instance();
    reg.mutex.unlock();
    Lifecycle& l = lifecycle();
    // The forking thread's context belongs to the parent's queue set: leak
    // it and let the next record create a fresh one.
    detail::t_context = nullptr;
    detail::reset_crash_state_after_fork();
    reg.new_queues.store(new moodycamel::ConcurrentQueue<detail::ThreadQueue*>(), std::memory_order_release);
    // Retired snapshots may still be referred to by the parent's records,
    // which the child never reads: keep them (leaked), never free them here.
    reg.retired.store(new moodycamel::ConcurrentQueue<detail::RetiredSnapshot>(), std::memory_order_release);
    new (&reg.pending_retired) std::vector<detail::PendingRetirement>();
    // The parent's rings are the parent's: a dump in the child leaves them out.
    for (detail::ThreadQueue* q = reg.all_queues.load(std::memory_order_acquire); q != nullptr; q = q->next_all)
        q->live_ring.store(nullptr, std::memory_order_release);
    // The admin endpoint's thread is the parent's: the child serves none and
    // leaks the server (there is no thread to stop or join here).
    new (&l.admin_mutex) std::mutex();
    (void)l.admin.release();
    detail::forget_audit_log_after_fork();
    if (l.backend != nullptr) {
        l.backend->abandon_thread_after_fork();  // leaked: its state belongs to the parent's thread
        std::vector<std::string> warnings;
        l.backend = build_backend(l.config, l.identity, l.extra_handlers, warnings);
        l.backend->start();
        if (l.config.crash_handler) (void)detail::install_crash_handler(l.config, l.identity, l.backend);
    }
    l.mutex.unlock();
}

}  // namespace

Expected<void> initialize(const Config& requested, std::vector<std::shared_ptr<Handler>> extra_handlers) {
    if (auto valid = requested.validate(); !valid) return valid.error();
    Config config;
    try {
        config = requested;
        config.file_path = requested.effective_file_path();
    } catch (...) {
        return Error{ErrorCode::io_error, "initialize(): out of memory"};
    }
    Lifecycle& l = lifecycle();
    std::lock_guard lock(l.mutex);
    if (l.backend != nullptr) return Error{ErrorCode::already_running, "initialize(): the logger is already running; call shutdown() first"};
    try {
        if (!l.atfork_registered) {
            pthread_atfork(before_fork, after_fork_parent, after_fork_child);
            l.atfork_registered = true;
        }
        if (!l.atexit_registered) {
            std::atexit([] { shutdown(); });
            l.atexit_registered = true;
        }
        apply_queue_settings(config);
        detail::g_string_arg_limit.store(static_cast<std::uint32_t>(config.max_message_length + 4),
                                         std::memory_order_relaxed);
        apply_configured_levels(config);
        std::vector<std::string> warnings;
        detail::EntryIdentity identity = make_identity(config);
        std::unique_ptr<Backend> backend(build_backend(config, identity, extra_handlers, warnings));
        detail::open_audit_log(config, identity, warnings);
        // After the backend's clock calibration, which converts the rate limit to TSC ticks.
        detail::install_sampling_plan(config.sampling,
                                      Registry::instance().ns_per_tick.load(std::memory_order_relaxed));
        l.backend = backend.release();
        l.config = config;
        l.identity = std::move(identity);
        l.extra_handlers = std::move(extra_handlers);
        if (config.crash_handler) {
            if (auto installed = detail::install_crash_handler(config, l.identity, l.backend); !installed)
                warnings.push_back(installed.error().message + "; running without crash dumps");
        }
        if (config.admin.enabled) {
            auto admin = detail::AdminServer::start(config.admin);
            if (admin) {
                std::lock_guard admin_lock(l.admin_mutex);
                l.admin = std::move(*admin);
            } else {
                warnings.push_back(admin.error().message + "; running without it");
                const std::string line = "agora-log: " + admin.error().message + "\n";
                std::fwrite(line.data(), 1, line.size(), stderr);
            }
        }
        for (const auto& w : warnings) l.backend->emit_internal(Level::warning, w);
        l.backend->start();
        set_running(true);
    } catch (const std::exception& e) {
        return Error{ErrorCode::io_error, std::string("initialize(): ") + e.what()};
    } catch (...) {
        return Error{ErrorCode::io_error, "initialize(): unknown failure"};
    }
    return {};
}

void flush() noexcept {
    // From a handler: a no-op, decided before taking the lock, which a thread
    // waiting in flush() for this very backend thread may hold.
    if (Backend::on_a_backend_thread()) return;
    Lifecycle& l = lifecycle();
    Backend* backend = nullptr;
    {
        std::lock_guard lock(l.mutex);
        backend = l.backend;
        if (backend == nullptr) return;
        // Holding the lock while waiting keeps shutdown() from deleting the backend under us.
        backend->flush();
    }
}

void shutdown() noexcept {
    if (Backend::on_a_backend_thread()) {
        // From a handler: cannot join ourselves, and must not wait for the
        // lock (a thread in flush() holds it while waiting for us). Only stop
        // accepting records; a later shutdown() from another thread stops the backend.
        try {
            set_running(false);
        } catch (...) {
        }
        return;
    }
    Lifecycle& l = lifecycle();
    {
        // First, and without `mutex`: a request being served may need it.
        std::unique_ptr<detail::AdminServer> admin;
        {
            std::lock_guard admin_lock(l.admin_mutex);
            admin = std::move(l.admin);
        }
    }
    std::lock_guard lock(l.mutex);
    if (l.backend == nullptr) return;
    try {
        set_running(false);
    } catch (...) {
    }
    // The handler stays for the final drain (a crash then still gets its
    // dump) and goes before the backend it points to.
    l.backend->stop();
    detail::uninstall_crash_handler();
    delete l.backend;
    l.backend = nullptr;
    detail::close_audit_log();
    l.extra_handlers.clear();
}

Expected<void> dump_now(const std::string& path) {
    Lifecycle& l = lifecycle();
    // From a handler, the backend is this thread and is between two calls of
    // ours: no pause, and no lock (a thread in flush() may hold it).
    if (Backend::on_a_backend_thread()) return detail::write_dump_now(path, l.config, l.identity, nullptr);
    std::lock_guard lock(l.mutex);  // keeps shutdown() from deleting the backend meanwhile
    return detail::write_dump_now(path, l.config, l.identity, l.backend);
}

Logger get_logger(std::string_view name) noexcept try {
    Registry& reg = Registry::instance();
    std::lock_guard lock(reg.mutex);
    auto it = reg.logger_by_name.find(name);
    if (it != reg.logger_by_name.end()) return Logger(it->second);
    auto* state = new LoggerState{{kLevelOff}, {kLevelOff}, 0, std::string(name)};
    std::uint32_t id = reg.loggers.append_locked([state](std::uint32_t new_id) {
        state->id = new_id;
        return state;
    });
    if (id == 0) {
        delete state;
        return Logger();
    }
    reg.logger_by_name.emplace(state->name, state);
    // Under the mutex with the table insert: a set_level() for this name or
    // an ancestor either ran before (and is resolved here) or will find it.
    detail::store_logger_level_locked(reg, *state);
    return Logger(state);
} catch (...) {
    return Logger();  // no memory: a logger that discards
}

int admin_port() noexcept {
    Lifecycle& l = lifecycle();
    std::lock_guard lock(l.admin_mutex);
    return l.admin ? l.admin->port() : 0;
}

Stats stats() noexcept {
    // Lock-free: callable from a handler, or while another thread is in flush().
    const Registry& reg = Registry::instance();
    Stats s{reg.records_written.load(std::memory_order_relaxed), reg.dropped_total.load(std::memory_order_relaxed),
            reg.dropped_before_initialize.load(std::memory_order_relaxed), 0, 0,
            detail::g_records_lost_by_handlers.load(std::memory_order_relaxed), 0, 0};
    s.audit_entries_written = detail::audit_entries_written();
    s.audit_entries_failed = detail::audit_entries_failed();
    for (std::uint32_t id = 1, n = reg.loggers.size(); id <= n; ++id) {
        LoggerState* const* logger = reg.loggers.get(id);
        if (logger == nullptr) continue;
        s.records_sampled_out += (*logger)->sampled_out.load(std::memory_order_relaxed);
        s.records_rate_limited += (*logger)->rate_limited.load(std::memory_order_relaxed);
    }
    return s;
}

}  // namespace agora::log

namespace agora::log::detail {

Lifecycle& lifecycle() noexcept {
    static Lifecycle* l = new Lifecycle();  // never destroyed: threads may log during exit
    return *l;
}

bool hold_backend_for_tests() noexcept {
    Lifecycle& l = lifecycle();
    std::lock_guard lock(l.mutex);
    if (l.backend == nullptr) return false;
    l.backend->pause();
    return true;
}

void release_backend_for_tests() noexcept {
    Lifecycle& l = lifecycle();
    std::lock_guard lock(l.mutex);
    if (l.backend != nullptr) l.backend->resume();
}

}  // namespace agora::log::detail
