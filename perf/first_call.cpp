// Latency of a brand-new thread's first log call (and its second).
//
//   build/perf/first_call [--threads N] [--gap-ms N] [--preallocate] [--thread-malloc] [--queue-kb N]
//                         [--spare-rings N] [--keep]
//
// Method
//   - initialize() with a JSON file in a scratch directory (console off),
//     then start `threads` (20) threads one at a time: each times its very
//     first call logger.info("... {} {} {}", int, int, double) with
//     steady_clock, then a second call of the same site, and exits; the main
//     thread joins it and waits `gap-ms` (10) before starting the next one,
//     as an application that starts threads now and then would.
//   - The first call of a thread creates the thread's context and takes (or
//     creates) its ring; the first thread's first call also registers the
//     call site. Minor page faults of the calling thread during the first
//     call are read with getrusage(RUSAGE_THREAD) around it.
//   - --preallocate: each thread calls preallocate() before the timed calls
//     (what a latency-sensitive user could do by hand; for comparison).
//   - --thread-malloc: each thread allocates and frees 64 bytes before the
//     timed calls, as most threads do before they log: glibc then sets up
//     the thread's malloc arena there, not in the first log call (whose
//     allocations would otherwise pay for it: up to ~0.2 ms on this VM for
//     the first threads, which get new arenas).
//   - --queue-kb: Config::queue_capacity_bytes in KiB (default: the Config default).
//   - --spare-rings: Config::queue_spare_rings (default: the Config default;
//     0 = no spare rings, every thread writes a fresh ring's pages).
//   - At the end: shutdown(), and the file must hold 2 lines per thread
//     (exit status 1 otherwise).

#include "perf_common.hpp"

#include <agora/log.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace perf {

namespace alog = agora::log;
using clk = std::chrono::steady_clock;

[[gnu::noipa]] void log_call(const alog::Logger& log, int i, int j, double d) {
    log.info("First call int: {}, int: {}, double: {}", i, j, d);
}

long thread_minor_faults() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_minflt;
}

struct Sample {
    double first_us = 0;
    double second_us = 0;
    long first_faults = 0;
};

struct Options {
    std::uint64_t threads = 20;
    std::uint64_t gap_ms = 10;
    std::uint64_t queue_kb = 0;
    long spare_rings = -1;
    bool preallocate = false;
    bool thread_malloc = false;
    bool keep = false;
};

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    const std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int run(const Options& o) {
    ScratchDir dir("agora-perf-first-call");
    dir.keep(o.keep);
    alog::Config config;
    config.service_name = "agora-perf";
    config.host = "perf-host";
    config.console_enabled = false;
    config.file_enabled = true;
    config.file_path = dir.path() + "/first_call.log";
    config.max_file_size_mb = 64;
    if (o.queue_kb != 0) config.queue_capacity_bytes = o.queue_kb << 10;
    if (o.spare_rings >= 0) config.queue_spare_rings = static_cast<std::size_t>(o.spare_rings);
    if (auto ok = alog::initialize(config); !ok) {
        std::fprintf(stderr, "initialize failed: %s\n", ok.error().message.c_str());
        return 1;
    }
    const alog::Logger log = alog::get_logger("perf.first_call");
    std::vector<Sample> samples(o.threads);
    for (std::uint64_t t = 0; t < o.threads; ++t) {
        std::thread th([&, t] {
            if (o.thread_malloc) {
                void* volatile p = std::malloc(64);
                std::free(p);
            }
            if (o.preallocate) alog::preallocate();
            const int i = static_cast<int>(t);
            const long f0 = thread_minor_faults();
            const auto a = clk::now();
            log_call(log, i, 2 * i, i * 0.5);
            const auto b = clk::now();
            const long f1 = thread_minor_faults();
            const auto c = clk::now();
            log_call(log, i + 1, 2 * i + 1, i * 0.25);
            const auto d = clk::now();
            samples[t].first_us = std::chrono::duration<double, std::micro>(b - a).count();
            samples[t].second_us = std::chrono::duration<double, std::micro>(d - c).count();
            samples[t].first_faults = f1 - f0;
        });
        th.join();
        std::this_thread::sleep_for(std::chrono::milliseconds(o.gap_ms));
    }
    alog::shutdown();

    std::uint64_t lines = 0;
    {
        std::ifstream in(config.file_path);
        std::string line;
        while (std::getline(in, line))
            if (line.find("First call int") != std::string::npos) ++lines;
    }

    std::vector<double> first, second;
    for (const Sample& s : samples) {
        first.push_back(s.first_us);
        second.push_back(s.second_us);
    }
    std::printf("agora-log first call on a new thread (steady_clock, us)\n");
    std::printf("  %" PRIu64 " threads, one at a time, %" PRIu64
                " ms apart; queue %zu KiB; spare rings %zu; preallocate(): %s; malloc before: %s\n",
                o.threads, o.gap_ms, config.queue_capacity_bytes >> 10, config.queue_spare_rings,
                o.preallocate ? "yes" : "no", o.thread_malloc ? "yes" : "no");
    std::printf("  thread  first_us  faults  second_us\n");
    for (std::size_t t = 0; t < samples.size(); ++t)
        std::printf("  %6zu  %8.1f  %6ld  %9.2f\n", t, samples[t].first_us, samples[t].first_faults,
                    samples[t].second_us);
    std::printf("  first call:  p50 %8.1f us  max %8.1f us  (excluding thread 0: p50 %.1f max %.1f)\n",
                percentile(first, 0.5), *std::max_element(first.begin(), first.end()),
                first.size() > 1 ? percentile({first.begin() + 1, first.end()}, 0.5) : first[0],
                first.size() > 1 ? *std::max_element(first.begin() + 1, first.end()) : first[0]);
    std::printf("  second call: p50 %8.2f us  max %8.2f us\n", percentile(second, 0.5),
                *std::max_element(second.begin(), second.end()));
    std::printf("  lines written: %" PRIu64 " of %" PRIu64 "\n", lines, 2 * o.threads);
    return lines == 2 * o.threads ? 0 : 1;
}

}  // namespace perf

int main(int argc, char** argv) {
    perf::Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--threads") o.threads = perf::parse_count(a, v), ++i;
        else if (a == "--gap-ms") o.gap_ms = perf::parse_count(a, v), ++i;
        else if (a == "--queue-kb") o.queue_kb = perf::parse_count(a, v), ++i;
        else if (a == "--spare-rings") o.spare_rings = v ? std::atol(v) : -1, ++i;
        else if (a == "--preallocate") o.preallocate = true;
        else if (a == "--thread-malloc") o.thread_malloc = true;
        else if (a == "--keep") o.keep = true;
        else {
            std::fprintf(stderr,
                         "usage: first_call [--threads N] [--gap-ms N] [--preallocate] [--thread-malloc]\n"
                         "                  [--queue-kb N] [--spare-rings N] [--keep]\n");
            return 2;
        }
    }
    return perf::run(o);
}
