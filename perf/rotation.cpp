// Time of one rotation of the rotating file sink (the code behind
// RotatingFileHandler and the configured file).
//
//   build/perf/rotation [--rotations N (500)] [--max-kb K (256)] [--backups B (5)] [--line-bytes L (280)]
//                       [--flush-first]
//
// Writes lines of L bytes through RotatingFileSink::write_line() into a
// scratch directory with a size limit of K KiB and B backups, until the file
// has rotated N times, timing every call (steady_clock). The call that
// rotates writes what is buffered (up to the sink's 64 KiB buffer) to the
// full file (not with --flush-first: a flush() just before it does), closes it, removes the oldest backup, renames the B-1 others
// and the file up one slot, and opens a new file: that call's time is "the
// rotation". Printed: its percentiles and the other calls' for comparison.
// The first B rotations (fewer renames: the backups do not exist yet) are
// left out. A small limit keeps the run short; the rotation does not read
// the file, so its cost does not grow with the limit, apart from the page
// cache writing back more bytes on the close.

#include "perf_common.hpp"

#include "sinks/rotating_file_sink.hpp"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

namespace {

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t rotations = 500, max_kb = 256, line_bytes = 280;
    std::uint32_t backups = 5;
    bool flush_first = false;
    for (int k = 1; k < argc; ++k) {
        const std::string_view a = argv[k];
        const char* v = k + 1 < argc ? argv[k + 1] : nullptr;
        if (a == "--rotations") rotations = perf::parse_count(a, v), ++k;
        else if (a == "--max-kb") max_kb = perf::parse_count(a, v), ++k;
        else if (a == "--backups") backups = static_cast<std::uint32_t>(perf::parse_count(a, v)), ++k;
        else if (a == "--line-bytes") line_bytes = std::max<std::uint64_t>(perf::parse_count(a, v), 2), ++k;
        else if (a == "--flush-first") flush_first = true;
        else if (a == "-h" || a == "--help") {
            std::printf("usage: %s [--rotations N (500)] [--max-kb K (256)] [--backups B (5)] [--line-bytes L (280)] [--flush-first]\n",
                        argv[0]);
            return 0;
        } else {
            std::fprintf(stderr, "unknown option %s (try --help)\n", argv[k]);
            return 2;
        }
    }

    perf::ScratchDir dir("agora-perf-rotation");
    agora::log::detail::RotatingFileSink::Options options;
    options.path = dir.path() + "/rotation.log";
    options.max_size_bytes = max_kb << 10;
    options.max_backups = backups;
    agora::log::detail::RotatingFileSink sink(options);

    const std::string line(line_bytes - 1, 'x');  // + the newline
    std::vector<double> rotating_us, other_ns;
    rotating_us.reserve(rotations);
    other_ns.reserve(static_cast<std::size_t>(rotations * (options.max_size_bytes / line_bytes + 1)));
    using clock = std::chrono::steady_clock;
    const std::uint64_t total = rotations + backups;
    std::uint64_t lost = 0;
    while (sink.rotations() < total) {
        const std::uint64_t before = sink.rotations();
        // With --flush-first the buffered tail goes to the file before the
        // call that rotates, so that call times the rotation alone.
        if (flush_first && sink.current_size() + line_bytes > options.max_size_bytes) sink.flush();
        const auto t0 = clock::now();
        const bool ok = sink.write_line(line);
        const auto t1 = clock::now();
        lost += ok ? 0 : 1;
        const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
        if (sink.rotations() == before) other_ns.push_back(ns);
        else if (before >= backups) rotating_us.push_back(ns / 1000.0);
    }
    sink.close();

    const std::size_t n = rotating_us.size();
    const double max_us = n ? *std::max_element(rotating_us.begin(), rotating_us.end()) : 0;
    std::printf("agora-log rotation: RotatingFileSink, limit %" PRIu64 " KiB, %u backups, %" PRIu64 "-byte lines%s\n",
                max_kb, backups, line_bytes, flush_first ? ", buffer flushed before the rotating write" : "");
    std::printf("  rotations timed         %zu (the first %u left out)\n", n, backups);
    std::printf("  rotating write (us)     p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", percentile(rotating_us, 50),
                percentile(rotating_us, 90), percentile(rotating_us, 99), max_us);
    std::printf("  other writes (ns)       p50 %.0f  p99 %.0f  (%zu calls, each a buffer append; every\n"
                "                          ~%zu-th also write(2)s the 64 KiB buffer)\n",
                percentile(other_ns, 50), percentile(other_ns, 99), other_ns.size(),
                static_cast<std::size_t>(options.buffer_bytes / line_bytes));
    std::printf("  lines lost              %" PRIu64 "\n", lost);
    const bool ok = lost == 0 && n == rotations;
    std::printf("target: max under 1 ms: %s\n", max_us < 1000.0 ? "met" : "NOT met");
    return ok ? 0 : 1;
}
