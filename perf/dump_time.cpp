// Time to write a crash dump of 8 MB of ring data (dump_now(), which runs the
// crash handler's writer: the same entries, the same write(2) path).
//
//   build/perf/dump_time [--ring-mb N (8)] [--runs R (5)] [--keep]
//
// The backend is held (a test hook) while one thread logs int/int/double
// records into a ring of 2*N MB until N MB are queued; each run then times
// dump_now() into a new file in a scratch directory (fsync included) and
// prints ms, MB/s and records/s. The rings are not consumed by a dump, so
// every run dumps the same records.

#include "perf_common.hpp"

#include "crash/crash.hpp"

#include <agora/log.hpp>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::size_t ring_mb = 8;
    int runs = 5;
    bool keep = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--ring-mb") == 0 && i + 1 < argc) ring_mb = std::strtoul(argv[++i], nullptr, 10);
        else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (std::strcmp(argv[i], "--keep") == 0) keep = true;
        else {
            std::fprintf(stderr, "usage: dump_time [--ring-mb N] [--runs R] [--keep]\n");
            return 2;
        }
    }
    perf::ScratchDir dir("agora-dump");
    dir.keep(keep);
    agora::log::Config config;
    config.service_name = "perf-dump";
    config.console_enabled = false;
    config.file_path = dir.path() + "/dump.log";
    config.queue_capacity_bytes = ring_mb * 2 << 20;
    config.queue_full_policy = agora::log::QueueFullPolicy::drop;
    config.crash_handler = false;  // dump_now() needs none
    if (auto ok = agora::log::initialize(config); !ok) {
        std::fprintf(stderr, "%s\n", ok.error().message.c_str());
        return 1;
    }
    auto log = agora::log::get_logger("perf.dump");
    log.info("warm-up {} {} {}", 0, 0, 0.0);
    agora::log::flush();
    if (!agora::log::detail::hold_backend_for_tests()) return 1;
    // 40-byte records (header + int + int + double): 8 MB is about 210k records.
    const std::uint64_t records = (ring_mb << 20) / 40;
    for (std::uint64_t i = 0; i < records; ++i) log.info("Quote {} {} {}", static_cast<int>(i), -7, 101.25);

    std::vector<double> ms;
    for (int r = 0; r < runs; ++r) {
        const std::string path = dir.path() + "/dump-" + std::to_string(r) + ".bin";
        const auto t0 = std::chrono::steady_clock::now();
        auto ok = agora::log::dump_now(path);
        const auto t1 = std::chrono::steady_clock::now();
        if (!ok) {
            std::fprintf(stderr, "%s\n", ok.error().message.c_str());
            return 1;
        }
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    agora::log::detail::release_backend_for_tests();
    agora::log::shutdown();
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double mb = static_cast<double>(records * 40) / (1 << 20);
    std::printf("dump of %.1f MB of ring data (%" PRIu64 " records), %d runs: median %.2f ms (min %.2f, max %.2f), "
                "%.0f MB/s, %.2f M records/s\n",
                mb, records, runs, median, ms.front(), ms.back(), mb / (median / 1000.0),
                static_cast<double>(records) / (median / 1000.0) / 1e6);
    return 0;
}
