// Sustained throughput from one thread into a JSON log file and into a
// binary log file (Config::file_format = binary), one after the other in the
// same process.
//
//   build/perf/throughput [--records N (4000000)] [--format json|binary|both (both)] [--keep]
//
// Per format, one thread logs N records with the int/int/double template as
// fast as it can (queue policy grow, so nothing is dropped), then calls
// flush(). The rate is N / (time from the first call to flush()'s return):
// every record is rendered (JSON) or framed (binary) and handed to the OS by
// then. The producer-only rate (until the last call returns) is printed too.
// The caller runs on CPU 0 and the backend on CPU 1 when there are 2+ CPUs.
// The files are written to a scratch directory, counted (lines, or
// timed_record entries), then removed (--keep keeps them).

#include "perf_common.hpp"

#include <agora/log.hpp>
#include <agora/log/detail/binary_format.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

/// Newlines in the regular files of `dir`.
std::uint64_t count_lines(const std::string& dir) {
    std::uint64_t lines = 0;
    std::vector<char> buf(1 << 20);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            std::streamsize n = in.gcount();
            for (std::streamsize k = 0; k < n; ++k) lines += buf[static_cast<std::size_t>(k)] == '\n';
        }
    }
    return lines;
}

/// timed_record entries in the binary log files of `dir` (framing only; no checksums).
std::uint64_t count_binary_records(const std::string& dir) {
    namespace d = agora::log::detail;
    std::uint64_t records = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (bytes.size() < sizeof(d::FileHeader) || std::memcmp(bytes.data(), d::kFileMagic, 8) != 0) continue;
        for (std::size_t pos = sizeof(d::FileHeader); bytes.size() - pos >= sizeof(d::EntryHeader);) {
            d::EntryHeader h;
            std::memcpy(&h, bytes.data() + pos, sizeof h);
            if (h.sync != d::kEntrySync) break;
            records += h.type == d::EntryType::timed_record;
            pos += sizeof h + h.size;
        }
    }
    return records;
}

struct Result {
    bool ok;
    double records_per_s;
};

Result run(agora::log::FileFormat format, std::uint64_t records, int cpus, bool pin, bool keep, bool metrics) {
    namespace alog = agora::log;
    const bool binary = format == alog::FileFormat::binary;
    perf::ScratchDir dir(binary ? "agora-perf-throughput-binary" : "agora-perf-throughput-json");
    dir.keep(keep);

    alog::Config config;
    config.service_name = "agora-perf";
    config.host = "perf-host";
    config.console_enabled = false;
    config.file_enabled = true;
    config.file_path = dir.path() + (binary ? "/throughput.bin" : "/throughput.log");
    config.file_format = format;
    config.max_file_size_mb = 2048;  // no rotation
    config.queue_full_policy = alog::QueueFullPolicy::grow;
    config.queue_max_capacity_bytes = std::size_t{1} << 30;  // then block: never drop
    config.backend_cpu = pin ? 1 : -1;
    config.metrics_enabled = metrics;
    if (auto ok = alog::initialize(config); !ok) {
        std::fprintf(stderr, "initialize failed: %s\n", ok.error().message.c_str());
        return {false, 0};
    }
    const auto before = alog::stats();

    alog::Logger log = alog::get_logger("perf.throughput");
    alog::preallocate();

    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    for (std::uint64_t k = 0; k < records; ++k) {
        const int i = static_cast<int>(k);
        log.info("Logging int: {}, int: {}, double: {}", i, i ^ 0x5a5a, static_cast<double>(k) * 0.25);
    }
    const auto t1 = clock::now();
    alog::flush();
    const auto t2 = clock::now();
    const std::size_t ring_capacity = alog::detail::t_context ? alog::detail::t_context->ring->capacity() : 0;

    const auto stats = alog::stats();
    alog::shutdown();

    const std::uint64_t bytes = dir.total_bytes();
    const std::uint64_t found = binary ? count_binary_records(dir.path()) : count_lines(dir.path());
    const double produce_s = std::chrono::duration<double>(t1 - t0).count();
    const double total_s = std::chrono::duration<double>(t2 - t0).count();
    const std::uint64_t written = stats.records_written - before.records_written;
    const std::uint64_t dropped = stats.records_dropped - before.records_dropped;
    const char* unit = binary ? "records" : "lines";

    std::printf("agora-log throughput: one thread, int/int/double template, %s file, policy grow\n",
                binary ? "binary" : "JSON");
    std::printf("  CPUs: %d; caller pinned to CPU %s, backend to CPU %s\n", cpus, pin ? "0" : "-", pin ? "1" : "-");
    std::printf("  records logged          %" PRIu64 "\n", records);
    std::printf("  producer time           %.3f s  (%.2f M records/s, %.1f ns/record on the caller)\n", produce_s,
                static_cast<double>(records) / produce_s / 1e6, produce_s * 1e9 / static_cast<double>(records));
    std::printf("  first call -> flush()   %.3f s  (%.2f M records/s end to end)\n", total_s,
                static_cast<double>(records) / total_s / 1e6);
    std::printf("  records written         %" PRIu64 " (incl. internal), dropped %" PRIu64 "\n", written, dropped);
    std::printf("  caller's final ring     %zu bytes\n", ring_capacity);
    std::printf("  file bytes              %" PRIu64 " (%.1f MiB), %" PRIu64 " %s, %.1f bytes each\n", bytes,
                static_cast<double>(bytes) / (1 << 20), found, unit,
                found ? static_cast<double>(bytes) / static_cast<double>(found) : 0.0);
    std::printf("  file write rate         %.1f MiB/s\n", static_cast<double>(bytes) / (1 << 20) / total_s);

    const bool ok = dropped == 0 && found >= records;
    if (!ok) std::printf("FAILED: expected %" PRIu64 " %s and no drops\n", records, unit);
    return {ok, static_cast<double>(records) / total_s};
}

}  // namespace

int main(int argc, char** argv) {
    namespace alog = agora::log;
    std::uint64_t records = 4'000'000;
    bool keep = false;
    bool json = true, binary = true;
    bool metrics = true;  // Config::metrics_enabled
    for (int k = 1; k < argc; ++k) {
        std::string_view a = argv[k];
        if (a == "--records") {
            records = perf::parse_count(a, k + 1 < argc ? argv[k + 1] : nullptr);
            ++k;
        } else if (a == "--format" && k + 1 < argc) {
            std::string_view f = argv[++k];
            json = f == "json" || f == "both";
            binary = f == "binary" || f == "both";
            if (!json && !binary) {
                std::fprintf(stderr, "--format: expected json, binary or both, not %s\n", argv[k]);
                return 2;
            }
        } else if (a == "--keep") {
            keep = true;
        } else if (a == "--no-metrics") {
            metrics = false;
        } else if (a == "-h" || a == "--help") {
            std::printf("usage: %s [--records N (4000000)] [--format json|binary|both (both)] [--keep] [--no-metrics]\n",
                        argv[0]);
            return 0;
        } else {
            std::fprintf(stderr, "unknown option %s (try --help)\n", argv[k]);
            return 2;
        }
    }

    const int cpus = perf::usable_cpus();
    const bool pin = cpus >= 2;
    if (pin) perf::pin_this_thread(0);

    Result json_result{true, 0}, binary_result{true, 0};
    if (json) json_result = run(alog::FileFormat::json, records, cpus, pin, keep, metrics);
    if (binary) binary_result = run(alog::FileFormat::binary, records, cpus, pin, keep, metrics);
    if (json && binary && json_result.ok && binary_result.ok)
        std::printf("binary / JSON end-to-end rate: %.2fx (%.2f vs %.2f M records/s)\n",
                    binary_result.records_per_s / json_result.records_per_s, binary_result.records_per_s / 1e6,
                    json_result.records_per_s / 1e6);
    return json_result.ok && binary_result.ok ? 0 : 1;
}
