// The process test_crash kills: logs N records "record <i> of <N>" from four
// call sites (plain, a bound context with named placeholders, a scoped
// context, both), then dies as asked, or writes an on-demand dump.
//
//   crash_child <segv|abort|throw|stack|dump_now> <alive|held> <N> <directory>
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

#include "crash.hpp"

#include <agora/log.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace {

namespace alog = agora::log;

int g_marker_fd = -1;

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

int usage() {
    std::fprintf(stderr, "usage: crash_child <segv|abort|throw|stack|dump_now> <alive|held> <N> <directory>\n");
    return 2;
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
    if (auto started = alog::initialize(config); !started) {
        std::fprintf(stderr, "crash_child: initialize: %s\n", started.error().message.c_str());
        return 3;
    }

    const alog::Logger log = alog::get_logger("crash.child");
    const alog::Logger bound = log.with_context({{"desk", "fx"}, {"attempt", 3}, {"urgent", true}});
    const int half = n / 2;
    for (int i = 0; i < n; ++i) {
        // One record of every call site is in the log file before anything
        // can end up in a dump: the test compares dumped records with them.
        if (i == 4) alog::flush();
        if (i == half && backend == "held") {
            alog::flush();
            if (!alog::detail::hold_backend_for_tests()) {
                std::fprintf(stderr, "crash_child: no backend to hold\n");
                return 3;
            }
        }
        switch (i % 4) {
            case 0: log.info("record {} of {}", i, n); break;
            case 1: bound.info("record {index} of {total}", i, n); break;
            case 2: {
                alog::ScopedContext scope(alog::Context{{"request_id", "req-42"}, {"ratio", 0.25}});
                log.warning("record {} of {}", i, n);
                break;
            }
            default: {
                alog::ScopedContext scope(alog::Context{{"request_id", "req-43"}});
                bound.error("record {} of {}", i, n);
                break;
            }
        }
    }

    if (mode == "segv") {
        write_through_null();
    } else if (mode == "abort") {
        std::abort();
    } else if (mode == "throw") {
        throw std::runtime_error("crash_child gives up");
    } else if (mode == "stack") {
        (void)recurse(0);
    } else if (mode == "dump_now") {
        const auto made = alog::dump_now(dir + "/now.bin");
        std::printf("dump_now: %s\n", made ? "ok" : made.error().message.c_str());
        const auto again = alog::dump_now(dir + "/existing.bin");
        if (again) std::printf("dump_now existing: ok\n");
        else
            std::printf("dump_now existing: %s %s\n",
                        again.error().code == alog::ErrorCode::io_error ? "io_error" : "other_error",
                        again.error().message.c_str());
        std::fflush(stdout);
        if (backend == "held") alog::detail::release_backend_for_tests();
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
