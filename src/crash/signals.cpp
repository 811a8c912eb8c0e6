// The crash path. A fatal signal (or std::terminate) on any thread:
//   1. the first crashing thread owns the crash; any other waits for the end;
//   2. a watchdog (alarm, SIGALRM's default action) ends the process if the
//      rest hangs;
//   3. a live backend gets crash_drain_timeout to write and flush what is
//      queued, then is told to stop reading;
//   4. whatever is still in the rings is written as a dump next to the log
//      file (write_dump: header, identity, then per ring its records, each
//      after the call-site, logger and snapshot entries it needs);
//   5. the handler found at install is called, the default action restored
//      and the signal raised again, so core dumps and the application's own
//      handlers still work.
// Everything after the signal arrives is async-signal-safe: no malloc, no
// locks, no stdio. Memory (scratch, alternate stacks) is mapped beforehand.
// The dump itself is crash/dump_writer.cpp; dump_now() is crash/dump_now.cpp.

#include "backend/metrics.hpp"
#include "crash/crash.hpp"

#include "backend/backend.hpp"
#include "base/clock.hpp"
#include "crash/dump_writer.hpp"
#include "format/exception_render.hpp"
#include "frontend/alt_signal_stack.hpp"

#include <agora/log/crash.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>
#include <typeinfo>

namespace agora::log::detail {

namespace {

// ---- settings ---------------------------------------------------------------

/// What the handlers need, copied from the Config at install. Published
/// through g_settings; never freed (a handler may still read an older one):
/// replaced ones stay reachable through g_retired_settings.
struct CrashSettings {
    DumpIdentity identity;
    std::string prefix;  // dump names start with it
    std::int64_t drain_timeout_ns = 0;
    unsigned watchdog_s = 10;
    Backend* backend = nullptr;
    CrashSettings* retired_next = nullptr;  // g_retired_settings list
};
std::atomic<CrashSettings*> g_settings{nullptr};
CrashSettings* g_retired_settings = nullptr;  // lifecycle lock

/// Handlers between their entry and the end of their use of the settings,
/// the Backend they name and g_saved: uninstall_crash_handler() waits for
/// zero before shutdown() deletes that Backend. A handler increments before
/// it loads g_settings, uninstall exchanges g_settings before it loads this,
/// all seq_cst: either the handler sees the null settings, or uninstall sees
/// the handler (the store-buffer case, which acq_rel alone would allow).
std::atomic<int> g_handlers_in_use{0};
std::atomic<unsigned> g_uninstall_waits{0};  // times uninstall found one; for tests

struct HandlerInUse {
    HandlerInUse() noexcept { g_handlers_in_use.fetch_add(1, std::memory_order_seq_cst); }
    ~HandlerInUse() { leave(); }
    HandlerInUse(const HandlerInUse&) = delete;
    HandlerInUse& operator=(const HandlerInUse&) = delete;
    void leave() noexcept {
        if (in_use_) g_handlers_in_use.fetch_sub(1, std::memory_order_release);
        in_use_ = false;
    }

private:
    bool in_use_ = true;
};

void (*g_crash_dump_hook)() = nullptr;  // test hook, set before any crash

/// Publishes `next` (may be null) and keeps the one it replaces. Lifecycle lock held.
void publish_settings(CrashSettings* next) noexcept {
    if (CrashSettings* old = g_settings.exchange(next, std::memory_order_seq_cst)) {
        old->retired_next = g_retired_settings;
        g_retired_settings = old;
    }
}

CrashSettings make_settings(const Config& config, const EntryIdentity& identity, Backend* backend) {
    CrashSettings s;
    s.identity = make_dump_identity(config, identity);
    s.prefix = !config.crash_dump_prefix.empty() ? config.crash_dump_prefix
               : !config.file_path.empty()      ? config.file_path
                                                : std::string("agora-log");
    s.drain_timeout_ns = std::chrono::nanoseconds(config.crash_drain_timeout).count();
    s.watchdog_s = static_cast<unsigned>(config.crash_watchdog.count());
    s.backend = backend;
    return s;
}

/// Memory the crash handlers work in, mapped at the first install and never
/// unmapped (a handler may run at any time after).
DumpScratch g_crash_scratch;

/// Text for the first crashing thread (only it writes them): kept off the
/// signal stack, which may be an application's small one.
struct CrashTexts {
    Text note, name, line;
};
CrashTexts g_crash_texts;

/// Lets the backend write what it can, then stops it reading. Returns DumpFlags.
std::uint32_t stop_backend(Backend* backend, std::int64_t drain_timeout_ns) noexcept {
    if (backend == nullptr) return kDumpNoBackend;
    if (Backend::on_a_backend_thread()) return kDumpOnBackendThread;
    auto wait = [backend](std::int64_t timeout_ns) {
        const std::int64_t deadline = clock_now_ns(CLOCK_MONOTONIC) + timeout_ns;
        for (;;) {
            if (int stopped = backend->crash_stopped(); stopped != Backend::kCrashNone) return stopped;
            if (backend->finished()) return Backend::kCrashDrain;  // shut down meanwhile: wrote everything it took
            if (clock_now_ns(CLOCK_MONOTONIC) >= deadline) return Backend::kCrashNone;
            timespec ts{0, 100'000};
            nanosleep(&ts, nullptr);
        }
    };
    backend->request_crash_drain();
    if (drain_timeout_ns > 0 && wait(drain_timeout_ns) == Backend::kCrashDrain) return kDumpBackendDrained;
    backend->request_crash_halt();
    // Between records it stops at once; inside a write(2) to a slow disk it may not.
    if (wait(1'000'000'000) == Backend::kCrashNone) return kDumpBackendTimedOut | kDumpBackendNotStopped;
    return kDumpBackendTimedOut;
}

/// The crash dump: file next to the log (or in /tmp if that fails), and a
/// line on stderr saying where it is.
/// The caller holds a HandlerInUse.
void crash_dump(int signal, std::string_view note, std::uint32_t extra_flags) noexcept {
    const CrashSettings* s = g_settings.load(std::memory_order_seq_cst);
    if (s == nullptr || g_crash_scratch.base == nullptr) return;
    if (g_crash_dump_hook != nullptr) g_crash_dump_hook();
    DumpResult result;
    result.flags = extra_flags | stop_backend(s->backend, s->drain_timeout_ns);
    const std::int64_t now = clock_now_ns(CLOCK_REALTIME);
    Text& name = g_crash_texts.name;
    name.n = 0;
    dump_name(name, s->prefix, now);
    int fd = ::open(name.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        name.n = 0;
        dump_name(name, "/tmp/agora-log", now);
        fd = ::open(name.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    Text& line = g_crash_texts.line;
    line.n = 0;
    if (fd < 0) {
        line << "agora-log: cannot create a crash dump (" << s->prefix << " and /tmp): errno ";
        line.number(static_cast<std::uint64_t>(errno)) << "\n";
    } else {
        FdSink out{fd, g_crash_scratch.out(), DumpScratch::kOutBytes};
        write_dump(g_crash_scratch, s->identity, FileKind::crash_dump, signal, note, result, out);
        count_crash_dump();  // an atomic add: async-signal-safe
        ::fsync(fd);
        ::close(fd);
        line << "agora-log: ";
        line.number(result.records) << " records not yet in the log saved to " << name.view();
        if (out.failed) {
            line << " (incomplete: write failed, errno ";
            line.number(static_cast<std::uint64_t>(out.error)) << ")";
        }
        line << "; decode with agora-log-decode\n";
    }
    (void)!::write(STDERR_FILENO, line.buf, line.n);
}

// ---- signal handling --------------------------------------------------------

constexpr int kHandledSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT};
constexpr int kTerminationSignalCount = 2;  // the last two: only when configured

struct SavedAction {
    struct sigaction previous;
    bool installed = false;
};
SavedAction g_saved[sizeof kHandledSignals / sizeof kHandledSignals[0]];
std::terminate_handler g_previous_terminate = nullptr;
bool g_terminate_installed = false;

std::atomic<std::uint64_t> g_crash_owner{0};  // os thread id of the crashing thread

enum class Entry { first, again, other_thread };
Entry enter_crash() noexcept {
    const std::uint64_t self = os_thread_id();
    std::uint64_t expected = 0;
    if (g_crash_owner.compare_exchange_strong(expected, self, std::memory_order_acq_rel)) return Entry::first;
    return expected == self ? Entry::again : Entry::other_thread;
}

[[noreturn]] void wait_for_the_end() noexcept {
    for (;;) ::pause();  // the crashing thread ends the process
}

void arm_watchdog() noexcept {
    const CrashSettings* s = g_settings.load(std::memory_order_acquire);
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGALRM, &dfl, nullptr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    // The watchdog counts from the end of the backend handshake: the drain
    // timeout and the halt's 1 s are added, so a long drain is not cut short.
    unsigned seconds = 10;
    if (s != nullptr)
        seconds = s->watchdog_s + static_cast<unsigned>((s->drain_timeout_ns + 999'999'999) / 1'000'000'000) + 1;
    alarm(seconds);
}

const char* signal_name(int sig) noexcept {
    switch (sig) {
        case SIGSEGV: return "SIGSEGV";
        case SIGBUS: return "SIGBUS";
        case SIGFPE: return "SIGFPE";
        case SIGILL: return "SIGILL";
        case SIGABRT: return "SIGABRT";
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        default: return "signal";
    }
}

SavedAction* saved_for(int sig) noexcept {
    for (std::size_t i = 0; i < std::size(kHandledSignals); ++i)
        if (kHandledSignals[i] == sig) return &g_saved[i];
    return nullptr;
}

/// True while on_fatal_signal runs the handler found at install: if that
/// handler leads back here (an application handler that chains to the
/// handler it replaced, which was ours), we must not call it again.
std::atomic<bool> g_chaining{false};

void on_fatal_signal(int sig, siginfo_t* info, void* ucontext) {
    const int saved_errno = errno;
    HandlerInUse in_use;
    const Entry entry = enter_crash();
    if (entry == Entry::other_thread) {
        in_use.leave();
        wait_for_the_end();
    }
    if (entry == Entry::first) {
        arm_watchdog();
        Text& note = g_crash_texts.note;
        note.n = 0;
        note << "Fatal signal " << signal_name(sig) << " (";
        note.number(static_cast<std::uint64_t>(sig)) << ")";
        if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL) {
            note << " at address 0x";
            note.number(reinterpret_cast<std::uintptr_t>(info != nullptr ? info->si_addr : nullptr), 16);
        }
        note << " on thread ";
        note.number(os_thread_id());
        crash_dump(sig, note.view(), 0);
    }
    // The handler that was there before ours, then the default action.
    // sa_handler and sa_sigaction share storage: SIG_DFL and SIG_IGN are
    // checked whatever SA_SIGINFO says.
    // A copy, taken before leaving: the previous handler may call exit(),
    // whose shutdown() then uninstalls (and waits for handlers in use).
    SavedAction* saved = saved_for(sig);
    const bool chain = saved != nullptr && saved->installed;
    struct sigaction prev{};
    if (chain) prev = saved->previous;
    in_use.leave();
    if (chain && !g_chaining.exchange(true, std::memory_order_acq_rel)) {
        if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
            if (prev.sa_flags & SA_SIGINFO) prev.sa_sigaction(sig, info, ucontext);
            else prev.sa_handler(sig);
        }
    }
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    errno = saved_errno;
    // Blocked while this handler runs: delivered, with the default action,
    // when it returns (a fault would also simply recur).
    raise(sig);
}

void on_terminate() noexcept {
    const Entry entry = enter_crash();
    if (entry == Entry::other_thread) wait_for_the_end();
    if (entry == Entry::first) {
        arm_watchdog();
        // Not a signal handler: describing the exception may allocate.
        Text& note = g_crash_texts.note;
        note.n = 0;
        note << "std::terminate";
        try {
            if (std::exception_ptr ep = std::current_exception()) {
                try {
                    std::rethrow_exception(ep);
                } catch (const std::exception& e) {
                    note << ": uncaught exception " << demangle(typeid(e).name()) << ": " << e.what();
                } catch (...) {
                    note << ": uncaught exception of a type not derived from std::exception";
                }
            }
        } catch (...) {
        }
        note << " on thread ";
        note.number(os_thread_id());
        const HandlerInUse in_use;
        crash_dump(SIGABRT, note.view(), kDumpTerminate);
    }
    // The previous terminate handler (by default it prints the exception and
    // calls abort(); our SIGABRT handler then only chains).
    if (g_previous_terminate != nullptr) g_previous_terminate();
    std::abort();
}

}  // namespace

Expected<void> install_crash_handler(const Config& config, const EntryIdentity& identity, Backend* backend) {
    if (g_crash_scratch.base == nullptr && !g_crash_scratch.map())
        return Error{ErrorCode::io_error, std::string("crash handler: cannot map its scratch memory: ") + std::strerror(errno)};
    publish_settings(new CrashSettings(make_settings(config, identity, backend)));
    ensure_alt_signal_stack();
    const std::size_t count = std::size(kHandledSignals) - (config.crash_on_termination_signals ? 0 : kTerminationSignalCount);
    for (std::size_t i = 0; i < count; ++i) {
        if (g_saved[i].installed) continue;
        // A signal the process ignores (nohup, a background job's SIGINT) stays ignored.
        struct sigaction current{};
        if (sigaction(kHandledSignals[i], nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
            current.sa_handler == SIG_IGN)
            continue;
        struct sigaction action{};
        action.sa_sigaction = on_fatal_signal;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        if (sigaction(kHandledSignals[i], &action, &g_saved[i].previous) != 0) {
            const int err = errno;
            uninstall_crash_handler();
            return Error{ErrorCode::io_error, std::string("crash handler: sigaction(") + signal_name(kHandledSignals[i]) +
                                                  "): " + std::strerror(err)};
        }
        g_saved[i].installed = true;
    }
    if (!g_terminate_installed) {
        g_previous_terminate = std::set_terminate(on_terminate);
        g_terminate_installed = true;
    }
    return {};
}

void uninstall_crash_handler() noexcept {
    // First no settings (a handler entering from now on finds none), then
    // the previous actions back, then wait for the handlers that still use
    // the old settings: their Backend is deleted after this returns, and
    // they read g_saved. A crash in progress ends the process; this wait is
    // bounded by its watchdog.
    publish_settings(nullptr);
    for (std::size_t i = 0; i < std::size(kHandledSignals); ++i) {
        if (!g_saved[i].installed) continue;
        // Only if ours is still the installed one: a handler installed after
        // ours (which may chain to ours) is the application's to manage.
        struct sigaction current{};
        if (sigaction(kHandledSignals[i], nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
            current.sa_sigaction == on_fatal_signal)
            sigaction(kHandledSignals[i], &g_saved[i].previous, nullptr);
    }
    if (g_terminate_installed && std::get_terminate() == on_terminate) std::set_terminate(g_previous_terminate);
    if (g_handlers_in_use.load(std::memory_order_seq_cst) != 0) {
        g_uninstall_waits.fetch_add(1, std::memory_order_release);
        while (g_handlers_in_use.load(std::memory_order_acquire) != 0) {
            timespec ts{0, 1'000'000};
            nanosleep(&ts, nullptr);
        }
    }
    for (SavedAction& saved : g_saved) saved.installed = false;
    g_terminate_installed = false;
}

void reset_crash_state_after_fork() noexcept {
    // A crash in progress on a thread of the parent (which does not exist
    // here) must not make this process's own crashes wait for it forever.
    g_crash_owner.store(0, std::memory_order_relaxed);
    g_chaining.store(false, std::memory_order_relaxed);
    g_handlers_in_use.store(0, std::memory_order_relaxed);
}

void set_crash_dump_hook_for_tests(void (*hook)()) noexcept { g_crash_dump_hook = hook; }
unsigned crash_uninstall_waits_for_tests() noexcept { return g_uninstall_waits.load(std::memory_order_acquire); }

}  // namespace agora::log::detail
