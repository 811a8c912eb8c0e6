// The process test_crash kills: logs N records "record <i> of <N>" from four
// call sites (plain, a bound context with named placeholders, a scoped
// context, both), then dies as asked, or writes an on-demand dump.
//
//   crash_child <mode> <alive|held> <N> <directory>
//
// Modes: segv (a null write), abort, throw (uncaught), stack (overflow),
// fpe (integer division by zero), ill (an illegal instruction), bus (a
// store to a mapping past the end of its file), term (SIGTERM with
// termination signals configured), ignored_term (the same, but SIGTERM was
// ignored before initialize(): the process lives on and shuts down),
// handler_segv (a handler on the backend thread faults at record N*7/10,
// once all N are logged),
// threads (four threads log the records after the first four, i % 4 == t,
// into 4 KiB rings that have to grow, then the main thread faults),
// dump_now (dump_now() while the backend is held or running), dump_now_stuck
// (dump_now() while a handler keeps the backend busy at record N*7/10, so it
// cannot be paused),
// shutdown_during_crash (a second thread faults; once its handler is in the
// dump, the main thread calls shutdown(), which must wait for the handler:
// the process dies by the fault, and exits with 5 if shutdown() returns),
// fork_during_crash (a second thread faults; while its handler is in the
// dump, the main thread forks a child that faults too; the child's own crash
// must be handled, and its dump written, while the parent's is in progress:
// stdout gets "forked child <pid>: <wait status>" before the handler goes on).
//
// Files in <directory>: child.log (the log file), dump.crash-<pid>-<time>.bin
// (crash dumps), now.bin (dump_now), segv-marker (appended to by the SIGSEGV
// handler installed before initialize(), which the crash handler must chain
// to), existing.bin (created by the test; dump_now must not replace it).
// Results of the dump_now calls go to stdout, one "key: value" a line.
//
// The first four records (one per call site) are always written before the
// rest are logged. held: after the first N/2 records are written (flush()),
// the backend is held between records, so every later record can only reach
// the log through a dump (or, for dump_now, after the release).

#include "crash/crash.hpp"

#include <agora/log.hpp>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace alog = agora::log;

int g_marker_fd = -1;
const alog::Logger* g_log = nullptr;    // crash.child
const alog::Logger* g_bound = nullptr;  // crash.child with a bound context

void previous_segv_handler(int) {
    // Async-signal-safe: one write(2), then back to the handler that chained here.
    static const char text[] = "previous SIGSEGV handler ran\n";
    if (g_marker_fd >= 0) (void)!::write(g_marker_fd, text, sizeof text - 1);
}

volatile int g_zero = 0;

/// Each frame keeps a live array and uses the callee's result, so the calls
/// nest until the stack's guard page (no tail call, no folding).
__attribute__((noinline)) int recurse(int depth) {
    volatile char frame[1024];
    frame[depth % sizeof frame] = static_cast<char>(depth);
    if (g_zero != 0) return depth;
    return recurse(depth + 1) + frame[(depth * 7) % sizeof frame];
}

/// A store through a null pointer the compiler cannot see (it would emit a
/// trap instruction, SIGILL, instead); UBSan's null check would report it
/// before the fault this is for.
__attribute__((noinline, no_sanitize("null"))) void write_through_null() {
    volatile int* volatile target = nullptr;
    *target = 1;
}

/// A divisor the compiler cannot see (UBSan would report the division first).
__attribute__((noinline, no_sanitize_undefined)) int divide_by_zero() {
    volatile int zero = 0;
    volatile int one = 1;
    return one / zero;
}

/// SIGBUS: a store to a shared mapping of an empty file.
void store_past_end_of_file(const std::string& dir) {
    const int fd = ::open((dir + "/bus-file").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    void* p = fd < 0 ? MAP_FAILED : ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        std::perror("crash_child: bus mapping");
        std::_Exit(3);
    }
    *static_cast<volatile char*>(p) = 1;
}

/// Record i of n from one of the four call sites (i % 4).
void log_record(int i, int n) {
    switch (i % 4) {
        case 0: g_log->info("record {} of {}", i, n); break;
        case 1: g_bound->info("record {index} of {total}", i, n); break;
        case 2: {
            alog::ScopedContext scope(alog::Context{{"request_id", "req-42"}, {"ratio", 0.25}});
            g_log->warning("record {} of {}", i, n);
            break;
        }
        default: {
            alog::ScopedContext scope(alog::Context{{"request_id", "req-43"}});
            g_bound->error("record {} of {}", i, n);
            break;
        }
    }
}

/// A handler the backend runs after the log file's: at the record whose
/// message is `trigger`, it keeps the backend busy until the main thread
/// lets it go (open()), then faults (handler_segv) or returns (dump_now_stuck).
class TriggerHandler : public alog::Handler {
public:
    TriggerHandler(std::string trigger, bool fault) : trigger_(std::move(trigger)), fault_(fault) {}
    void emit(const alog::LogRecordView& record) noexcept override {
        if (record.message != trigger_) return;
        entered_.store(true, std::memory_order_release);
        while (!open_.load(std::memory_order_acquire)) ::sched_yield();
        if (fault_) write_through_null();
    }
    void flush() noexcept override {}
    void close() noexcept override {}

    bool entered() const noexcept { return entered_.load(std::memory_order_acquire); }
    void open() noexcept { open_.store(true, std::memory_order_release); }

private:
    std::string trigger_;
    bool fault_;
    std::atomic<bool> entered_{false};
    std::atomic<bool> open_{false};
};

/// Set by the crash handler's test hook once it is in the dump; the hook then
/// waits for `g_hook_go` (shutdown_during_crash: uninstall waiting for it).
std::atomic<bool> g_in_dump{false};
std::atomic<bool> g_hook_go{false};
bool g_wait_for_uninstall = false;

void crash_dump_hook() {
    g_in_dump.store(true, std::memory_order_release);
    while (!g_hook_go.load(std::memory_order_acquire) &&
           !(g_wait_for_uninstall && alog::detail::crash_uninstall_waits_for_tests() > 0))
        ::sched_yield();
}

/// Runs `crash` on a second thread and returns once its crash handler is in
/// the dump (the thread never comes back).
template <class F>
void crash_on_a_second_thread(F crash) {
    alog::detail::set_crash_dump_hook_for_tests(crash_dump_hook);
    std::thread(crash).detach();
    while (!g_in_dump.load(std::memory_order_acquire)) ::sched_yield();
}

int usage() {
    std::fprintf(stderr, "usage: crash_child <mode> <alive|held> <N> <directory> (modes: see crash_child.cpp)\n");
    return 2;
}

/// dump_now() into now.bin, then into existing.bin (which it must refuse);
/// the results on stdout.
void dump_twice(const std::string& dir) {
    const auto made = alog::dump_now(dir + "/now.bin");
    std::printf("dump_now: %s\n", made ? "ok" : made.error().message.c_str());
    const auto again = alog::dump_now(dir + "/existing.bin");
    if (again) std::printf("dump_now existing: ok\n");
    else
        std::printf("dump_now existing: %s %s\n",
                    again.error().code == alog::ErrorCode::io_error ? "io_error" : "other_error",
                    again.error().message.c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) return usage();
    const std::string mode = argv[1];
    const std::string backend = argv[2];
    const int n = std::atoi(argv[3]);
    const std::string dir = argv[4];
    if (n < 8 || (backend != "alive" && backend != "held")) return usage();

    // Dying processes leave no core files behind in the test's environment.
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);

    // A plain process's actions for the other faults (a sanitizer runtime
    // installs its own, which would report instead of dying by the signal).
    for (int sig : {SIGBUS, SIGFPE, SIGILL}) ::signal(sig, SIG_DFL);
    if (mode == "ignored_term") ::signal(SIGTERM, SIG_IGN);

    g_marker_fd = ::open((dir + "/segv-marker").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct sigaction previous{};
    previous.sa_handler = previous_segv_handler;
    sigemptyset(&previous.sa_mask);
    if (g_marker_fd < 0 || ::sigaction(SIGSEGV, &previous, nullptr) != 0) {
        std::perror("crash_child: marker handler");
        return 3;
    }

    alog::Config config;
    config.service_name = "crash-child";
    config.environment = "staging";
    config.version = "4.5.6";
    config.host = "crash-host";
    config.console_enabled = false;
    config.file_path = dir + "/child.log";
    config.crash_dump_prefix = dir + "/dump";
    config.default_context = {{"region", "emea"}, {"shard", 7}};
    config.crash_on_termination_signals = mode == "term" || mode == "ignored_term";
    if (mode == "threads") config.queue_capacity_bytes = 4096;
    std::shared_ptr<TriggerHandler> trigger;
    if (mode == "handler_segv" || mode == "dump_now_stuck")
        trigger = std::make_shared<TriggerHandler>("record " + std::to_string(n * 7 / 10) + " of " + std::to_string(n),
                                                   mode == "handler_segv");
    std::vector<std::shared_ptr<alog::Handler>> extra;
    if (trigger) extra.push_back(trigger);
    if (auto started = alog::initialize(config, extra); !started) {
        std::fprintf(stderr, "crash_child: initialize: %s\n", started.error().message.c_str());
        return 3;
    }

    const alog::Logger log = alog::get_logger("crash.child");
    const alog::Logger bound = log.with_context({{"desk", "fx"}, {"attempt", 3}, {"urgent", true}});
    g_log = &log;
    g_bound = &bound;
    auto hold = [] {
        alog::flush();
        if (!alog::detail::hold_backend_for_tests()) {
            std::fprintf(stderr, "crash_child: no backend to hold\n");
            std::_Exit(3);
        }
    };
    const int half = n / 2;
    if (mode == "threads") {
        // One record of every call site in the log file first (the test
        // compares dumped records with them); held: nothing more is written.
        for (int i = 0; i < 4; ++i) log_record(i, n);
        alog::flush();
        if (backend == "held") hold();
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([t, n] {
                for (int i = 4 + t; i < n; i += 4) log_record(i, n);
            });
        for (auto& thread : threads) thread.join();
        write_through_null();
    }
    for (int i = 0; i < n; ++i) {
        // One record of every call site is in the log file before anything
        // can end up in a dump: the test compares dumped records with them.
        if (i == 4) alog::flush();
        if (i == half && backend == "held") hold();
        log_record(i, n);
    }

    if (mode == "segv") {
        write_through_null();
    } else if (mode == "abort") {
        std::abort();
    } else if (mode == "throw") {
        throw std::runtime_error("crash_child gives up");
    } else if (mode == "stack") {
        (void)recurse(0);
    } else if (mode == "fpe") {
        std::printf("%d\n", divide_by_zero());
    } else if (mode == "ill") {
        __builtin_trap();
    } else if (mode == "bus") {
        store_past_end_of_file(dir);
    } else if (mode == "term" || mode == "ignored_term") {
        ::raise(SIGTERM);
        if (mode == "term") std::_Exit(4);
        alog::shutdown();  // ignored: the records all reach the log
        return 0;
    } else if (mode == "handler_segv") {
        trigger->open();  // every record is in a ring: the backend may fault now
        alog::flush();    // it faults before it answers
    } else if (mode == "shutdown_during_crash") {
        g_wait_for_uninstall = true;
        crash_on_a_second_thread(write_through_null);
        alog::shutdown();
        std::fprintf(stderr, "crash_child: shutdown() returned during a crash\n");
        std::_Exit(5);
    } else if (mode == "fork_during_crash") {
        crash_on_a_second_thread(write_through_null);
        const pid_t child = ::fork();
        if (child == 0) {
            // Were its crash to wait for the parent's, it dies by SIGALRM, before
            // the parent's watchdog (12 s), so the parent still reports it.
            ::alarm(5);
            g_hook_go.store(true, std::memory_order_release);  // its own crash passes the hook
            write_through_null();
            std::_Exit(6);
        }
        int status = 0;
        while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        std::printf("forked child %d: %s %d\n", static_cast<int>(child),
                    child < 0 ? "fork failed" : WIFSIGNALED(status) ? "signal" : "exit",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        std::fflush(stdout);
        g_hook_go.store(true, std::memory_order_release);
        for (;;) ::pause();  // the second thread's crash ends the process
    } else if (mode == "dump_now" || mode == "dump_now_stuck") {
        if (trigger)
            while (!trigger->entered()) ::sched_yield();  // the backend is inside the handler now
        dump_twice(dir);
        if (backend == "held") alog::detail::release_backend_for_tests();
        if (trigger) trigger->open();
        alog::shutdown();
        return 0;
    } else {
        return usage();
    }
    // Still alive after a crash that did not happen: no exit handlers, which
    // would wait for a held backend.
    std::fprintf(stderr, "crash_child: survived %s\n", mode.c_str());
    std::_Exit(4);
}
