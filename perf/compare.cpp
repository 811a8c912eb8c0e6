// Side by side: agora-log and spdlog's async logger, both writing to files,
// measured the same way in one process run, one after the other.
//
//   compare [--batches N (10000)] [--records N (4000000)]
//
// Latency: per call, rdtsc around each call, batches of 20 calls then a 2 ms
// pause (sleep), N batches; percentiles in ns. Throughput: N records from one
// thread, then flush and wait until the file has everything; records/s and
// bytes per line (agora-log writes full JSON entries, spdlog its default
// pattern). Printed, not gating: figures on a shared VM move between runs;
// the ratios within one run are what to read.

#include "perf_common.hpp"

#include <agora/log.hpp>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kCallsPerBatch = 20;

double ticks_per_ns() {
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t c0 = __rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(100)) {
    }
    std::uint64_t c1 = __rdtsc();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(c1 - c0) / static_cast<double>(ns);
}

struct Percentiles {
    double p50, p75, p90, p95, p99, p999, max;
};

Percentiles percentiles(std::vector<std::uint64_t>& ticks, double tpns) {
    std::sort(ticks.begin(), ticks.end());
    auto at = [&](double q) {
        return static_cast<double>(ticks[static_cast<std::size_t>(q * static_cast<double>(ticks.size() - 1))]) / tpns;
    };
    return {at(0.50), at(0.75), at(0.90), at(0.95), at(0.99), at(0.999), static_cast<double>(ticks.back()) / tpns};
}

/// Times every call of `call(i)`: batches of 20, then a 2 ms sleep.
template <class F>
Percentiles measure_latency(std::uint64_t batches, double tpns, F&& call) {
    std::vector<std::uint64_t> ticks;
    ticks.reserve(batches * kCallsPerBatch);
    for (std::uint64_t b = 0; b < batches; ++b) {
        for (int k = 0; k < kCallsPerBatch; ++k) {
            const int i = static_cast<int>(b * kCallsPerBatch + static_cast<std::uint64_t>(k));
            const std::uint64_t t0 = __rdtsc();
            call(i);
            const std::uint64_t t1 = __rdtsc();
            ticks.push_back(t1 - t0);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return percentiles(ticks, tpns);
}

[[gnu::noinline]] void empty_call(int i) { asm volatile("" : : "r"(i)); }

void print_row(const char* name, const Percentiles& p) {
    std::printf("%-34s %7.1f %7.1f %7.1f %7.1f %7.1f %8.1f %10.1f\n", name, p.p50, p.p75, p.p90, p.p95, p.p99, p.p999,
                p.max);
}

struct Throughput {
    double records_per_s;
    double bytes_per_line;
};

agora::log::Config agora_config(const std::string& path) {
    agora::log::Config c;
    c.service_name = "compare";
    c.environment = "production";
    c.version = "1.0.0";
    c.file_path = path;
    c.console_enabled = false;
    c.max_file_size_mb = 1u << 14;     // no rotation during the run
    c.queue_max_capacity_bytes = 1u << 30;  // grow: nothing dropped
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t batches = 10000, records = 4'000'000;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--batches" && i + 1 < argc) batches = perf::parse_count(a, argv[++i]);
        else if (a == "--records" && i + 1 < argc) records = perf::parse_count(a, argv[++i]);
        else {
            std::fprintf(stderr, "usage: compare [--batches N (10000)] [--records N (4000000)]\n");
            return 2;
        }
    }
    if (perf::usable_cpus() >= 2) perf::pin_this_thread(0);
    const double tpns = ticks_per_ns();
    perf::ScratchDir dir("agora-compare");

    // ---- latency ----------------------------------------------------------
    Percentiles floor = measure_latency(batches, tpns, [](int i) { empty_call(i); });

    auto cfg = agora_config(dir.path() + "/agora-latency.log");
    if (perf::usable_cpus() >= 2) cfg.backend_cpu = 1;
    if (!agora::log::initialize(cfg)) return 1;
    agora::log::preallocate();
    auto alog = agora::log::get_logger("compare");
    alog.info("warm-up {} {} {}", 1, 2, 3.0);
    Percentiles agora_lat = measure_latency(batches, tpns, [&](int i) {
        alog.info("Logging int: {}, int: {}, double: {}", i, i + 1, i * 0.5);
    });
    agora::log::shutdown();

    spdlog::init_thread_pool(8192 * 16, 1);
    auto slog = spdlog::basic_logger_mt<spdlog::async_factory>("compare-latency", dir.path() + "/spdlog-latency.log");
    slog->info("warm-up {} {} {}", 1, 2, 3.0);
    Percentiles spd_lat = measure_latency(batches, tpns, [&](int i) {
        slog->info("Logging int: {}, int: {}, double: {}", i, i + 1, i * 0.5);
    });
    slog->flush();
    spdlog::drop_all();

    std::printf("latency, ns per call (rdtsc around each call; batches of 20, 2 ms sleep, %llu batches)\n",
                static_cast<unsigned long long>(batches));
    std::printf("%-34s %7s %7s %7s %7s %7s %8s %10s\n", "case", "p50", "p75", "p90", "p95", "p99", "p99.9", "max");
    print_row("empty call (harness floor)", floor);
    print_row("agora-log info(int, int, double)", agora_lat);
    print_row("spdlog async info(int, int, double)", spd_lat);
    std::printf("ratio agora/spdlog: p50 %.3g  p99 %.3g  p99.9 %.3g\n\n", agora_lat.p50 / spd_lat.p50,
                agora_lat.p99 / spd_lat.p99, agora_lat.p999 / spd_lat.p999);

    // ---- throughput -------------------------------------------------------
    Throughput agora_tp{}, spd_tp{};
    {
        const std::string path = dir.path() + "/agora-throughput.log";
        if (!agora::log::initialize(agora_config(path))) return 1;
        auto log = agora::log::get_logger("compare");
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < records; ++i)
            log.info("Logging int: {}, int: {}, double: {}", static_cast<int>(i), static_cast<int>(i + 1),
                     static_cast<double>(i) * 0.5);
        agora::log::flush();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        agora::log::shutdown();
        agora_tp = {static_cast<double>(records) / s,
                    static_cast<double>(std::filesystem::file_size(path)) / static_cast<double>(records)};
    }
    {
        const std::string path = dir.path() + "/spdlog-throughput.log";
        // A queue as large as the run and the block policy: nothing dropped.
        spdlog::init_thread_pool(static_cast<std::size_t>(records), 1);
        auto log = spdlog::basic_logger_mt<spdlog::async_factory>("compare-throughput", path);
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < records; ++i)
            log->info("Logging int: {}, int: {}, double: {}", static_cast<int>(i), static_cast<int>(i + 1),
                      static_cast<double>(i) * 0.5);
        // spdlog's flush() on an async logger only queues a flush request:
        // wait until the worker has drained the queue, then flush the file.
        spdlog::drop_all();
        log.reset();
        spdlog::shutdown();  // joins the worker after it drained the queue
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        spd_tp = {static_cast<double>(records) / s,
                  static_cast<double>(std::filesystem::file_size(path)) / static_cast<double>(records)};
    }
    std::printf("throughput, %llu records from one thread to a file, until all written\n",
                static_cast<unsigned long long>(records));
    std::printf("%-34s %14s %14s\n", "", "records/s", "bytes/line");
    std::printf("%-34s %14.0f %14.1f\n", "agora-log (JSON entry)", agora_tp.records_per_s, agora_tp.bytes_per_line);
    std::printf("%-34s %14.0f %14.1f\n", "spdlog async (default pattern)", spd_tp.records_per_s, spd_tp.bytes_per_line);
    std::printf("ratio agora/spdlog: records/s %.2f, bytes/s %.2f\n", agora_tp.records_per_s / spd_tp.records_per_s,
                agora_tp.records_per_s * agora_tp.bytes_per_line / (spd_tp.records_per_s * spd_tp.bytes_per_line));
    return 0;
}
