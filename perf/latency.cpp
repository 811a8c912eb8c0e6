// Hot-path latency of a log call on the calling thread, in the style of
// Quill's hot_path_latency benchmark.
//
//   build/perf/latency [--batches N] [--calls-per-batch N] [--pause-us N] [--spin]
//                      [--per-call [--positions]] [--cases abcdefgh] [--caller-cpu N] [--backend-cpu N] [--keep]
//
// Method
//   - rdtsc is calibrated against std::chrono::steady_clock over ~100 ms.
//   - For each case: `batches` times, call the case `calls-per-batch` (20)
//     times between two serialised rdtsc reads, record batch ticks / 20 as
//     the per-call latency, then sleep `pause-us` (2 ms) so the backend
//     drains the ring and the next batch starts with an empty queue.
//     --spin busy-waits the pause instead (Quill's own harness spins ~2 us):
//     the caller's core then stays awake and its caches warm, where a sleep
//     lets the (virtual) CPU idle, so sleep mode measures a "first call after
//     a quiet period" and spin mode a thread that logs from a hot loop.
//     --per-call reads rdtsc around every call instead (each sample is one
//     call, rdtsc overhead included: compare to the floor).
//   - Every case is a non-inlinable function of the same signature, so the
//     empty case (a) is the harness floor: call + loop + timer overhead.
//   - The calling thread runs on CPU 0, the backend on CPU 1 (when there are
//     2+ CPUs; --caller-cpu / --backend-cpu change that, -1 = not pinned).
//     Output goes to a JSON file in a scratch directory, removed at the end
//     (--keep keeps it).
//   - x86-64 only (rdtsc).
//
// Cases
//   (a) empty            a noinline function that does nothing
//   (b) int,int,double   logger.info("Logging int: {}, int: {}, double: {}", i, j, d)
//   (c) string(50)       logger.info("Logging string: {}", s) with a 50-char std::string
//   (d) below level      logger at WARNING, info call: one load and a branch
//   (e) compiled out     AGORA_LOG_DEBUG in a TU built with -DAGORA_LOG_MIN_LEVEL=INFO
//   (f) named3           logger.info("Order {order_id} qty {qty} px {price}", i, j, d): the
//                        argument types of (b), names into the entry's context
//   (g) with_context     the call of (b) on logger.with_context({{"desk","fx"},{"book",7}})
//   (h) scoped           the call of (b) inside a ScopedContext{{{"correlation_id",
//                        generate_correlation_id()}}}, opened once before the case's batches
//                        and closed after them (no other case runs inside it)
// (f), (g) and (h) are the structured-context forms of (b): compare them with
// (b) in the same run (the "difference from (b)" table).

#include "latency_cases.hpp"
#include "perf_common.hpp"

#include <agora/log.hpp>

#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace perf {

using agora::log::Logger;

// ---- the cases --------------------------------------------------------------

[[gnu::noipa]] void case_empty(const Logger& log, int i, int j, double d, const std::string& s) {
    (void)log;
    (void)i;
    (void)j;
    (void)d;
    (void)s;
    asm volatile("" ::: "memory");
}

[[gnu::noipa]] void case_int_int_double(const Logger& log, int i, int j, double d, const std::string& s) {
    (void)s;
    log.info("Logging int: {}, int: {}, double: {}", i, j, d);
}

[[gnu::noipa]] void case_string50(const Logger& log, int i, int j, double d, const std::string& s) {
    (void)i;
    (void)j;
    (void)d;
    log.info("Logging string: {}", s);
}

/// Same call as (b); `log` is a logger whose level is WARNING.
[[gnu::noipa]] void case_below_level(const Logger& log, int i, int j, double d, const std::string& s) {
    (void)s;
    log.info("Logging int: {}, int: {}, double: {}", i, j, d);
}

/// Named placeholders, the argument types of (b).
[[gnu::noipa]] void case_named3(const Logger& log, int i, int j, double d, const std::string& s) {
    (void)s;
    log.info("Order {order_id} qty {qty} px {price}", i, j, d);
}

/// Same call as (b); `log` is a logger from with_context().
[[gnu::noipa]] void case_with_context(const Logger& log, int i, int j, double d, const std::string& s) {
    (void)s;
    log.info("Logging int: {}, int: {}, double: {}", i, j, d);
}

/// Same call as (b); the caller has a ScopedContext open on this thread.
[[gnu::noipa]] void case_scoped(const Logger& log, int i, int j, double d, const std::string& s) {
    (void)s;
    log.info("Logging int: {}, int: {}, double: {}", i, j, d);
}

// ---- timing -------------------------------------------------------------------

/// rdtsc that does not start before the preceding instructions have finished.
inline std::uint64_t tsc_begin() noexcept {
    _mm_lfence();
    std::uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

/// rdtscp waits for the measured instructions; the lfence keeps later ones out.
inline std::uint64_t tsc_end() noexcept {
    unsigned aux;
    std::uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

/// ns per TSC tick, measured against steady_clock over about `ms` milliseconds.
double calibrate_ns_per_tick(int ms) {
    using clock = std::chrono::steady_clock;
    auto c0 = clock::now();
    std::uint64_t t0 = tsc_begin();
    clock::time_point c1;
    do {
        c1 = clock::now();
    } while (c1 - c0 < std::chrono::milliseconds(ms));
    std::uint64_t t1 = tsc_begin();
    double ns = std::chrono::duration<double, std::nano>(c1 - c0).count();
    return ns / static_cast<double>(t1 - t0);
}

struct Options {
    std::uint64_t batches = 10'000;
    std::uint64_t calls_per_batch = 20;
    std::uint64_t pause_us = 2'000;
    bool per_call = false;
    bool spin = false;       // busy-wait the pause (Quill's wait()) instead of sleeping
    bool positions = false;  // per-call mode: also print p50 by position in the batch
    bool keep = false;
    int caller_cpu = 0;      // -1 = not pinned
    int backend_cpu = 1;     // -1 = not pinned
    std::string only;        // case letters to run, e.g. "bfgh"; empty = all
    double sample_info = 1.0;       // Config::sampling.rates[INFO] (seed 1); 1.0 = no sampling
    double rate_limit_per_s = 0.0;  // Config::sampling.rate_limit (burst = 10^9); 0 = none
};

struct Summary {
    const char* name;  // "(x) ...": x is the case's --cases letter
    double p50, p75, p90, p95, p99, p999, max;
};

/// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    if (rank == 0) rank = 1;
    return sorted[std::min(rank, sorted.size()) - 1];
}

template <CaseFn Fn>
Summary run_case(const char* name, const Logger& log, const std::string& s, const Options& o, double ns_per_tick) {
    std::vector<double> samples;
    samples.reserve(o.per_call ? o.batches * o.calls_per_batch : o.batches);
    const auto pause = std::chrono::microseconds(o.pause_us);
    const int n = static_cast<int>(o.calls_per_batch);
    const auto pause_ticks = static_cast<std::uint64_t>(static_cast<double>(o.pause_us) * 1000.0 / ns_per_tick);
    for (std::uint64_t b = 0; b < o.batches; ++b) {
        const int i = static_cast<int>(b);
        const double d = static_cast<double>(b) * 0.25;
        if (o.per_call) {
            for (int j = 0; j < n; ++j) {
                std::uint64_t t0 = tsc_begin();
                Fn(log, i, j, d, s);
                std::uint64_t t1 = tsc_end();
                samples.push_back(static_cast<double>(t1 - t0) * ns_per_tick);
            }
        } else {
            std::uint64_t t0 = tsc_begin();
            for (int j = 0; j < n; ++j) Fn(log, i, j, d, s);
            std::uint64_t t1 = tsc_end();
            samples.push_back(static_cast<double>(t1 - t0) * ns_per_tick / n);
        }
        if (o.spin) {
            const std::uint64_t until = __rdtsc() + pause_ticks;
            while (__rdtsc() < until) _mm_pause();
        } else {
            std::this_thread::sleep_for(pause);
        }
    }
    if (o.per_call && o.positions) {
        std::printf("  %s: p50 by position in batch:", name);
        for (int j = 0; j < n; ++j) {
            std::vector<double> at;
            for (std::size_t k = static_cast<std::size_t>(j); k < samples.size(); k += static_cast<std::size_t>(n))
                at.push_back(samples[k]);
            std::sort(at.begin(), at.end());
            std::printf(" %.0f", percentile(at, 0.5));
        }
        std::printf("\n");
    }
    std::sort(samples.begin(), samples.end());
    return Summary{name,
                   percentile(samples, 0.50),
                   percentile(samples, 0.75),
                   percentile(samples, 0.90),
                   percentile(samples, 0.95),
                   percentile(samples, 0.99),
                   percentile(samples, 0.999),
                   samples.back()};
}

/// Ring bytes one call of `fn` takes in this thread's ring (write index delta;
/// the smallest of a few tries, so a wrap's padding is not counted).
std::uint64_t measured_ring_bytes(CaseFn fn, const Logger& log, const std::string& s) {
    std::uint64_t best = UINT64_MAX;
    for (int k = 0; k < 8; ++k) {
        agora::log::detail::SpscRing* ring = agora::log::detail::t_context->ring;
        std::uint64_t w0 = ring->write_index();
        fn(log, 1, 2, 3.5, s);
        if (agora::log::detail::t_context->ring != ring) continue;  // grew: no comparable indices
        best = std::min(best, ring->write_index() - w0);
    }
    return best;
}

int run(const Options& o) {
    namespace alog = agora::log;

    const int cpus = usable_cpus();
    const bool pin = cpus >= 2;
    const int caller_cpu = pin ? o.caller_cpu : -1;
    const int backend_cpu = pin ? o.backend_cpu : -1;
    if (caller_cpu >= 0) pin_this_thread(caller_cpu);

    ScratchDir dir("agora-perf-latency");
    dir.keep(o.keep);

    alog::Config config;
    config.service_name = "agora-perf";
    config.host = "perf-host";
    config.console_enabled = false;
    config.file_enabled = true;
    config.file_path = dir.path() + "/latency.log";
    config.max_file_size_mb = 2048;
    config.backend_cpu = backend_cpu;
    if (o.sample_info < 1.0) {
        config.sampling.rates = {{alog::Level::info, o.sample_info}};
        config.sampling.seed = 1;
    }
    if (o.rate_limit_per_s > 0.0) config.sampling.rate_limit = alog::RateLimitConfig{o.rate_limit_per_s, 1'000'000'000};
    if (auto ok = alog::initialize(config); !ok) {
        std::fprintf(stderr, "initialize failed: %s\n", ok.error().message.c_str());
        return 1;
    }

    Logger log = alog::get_logger("perf.latency");
    Logger quiet = alog::get_logger("perf.latency.warning");
    quiet.set_level(alog::Level::warning);
    Logger bound = log.with_context({{"desk", "fx"}, {"book", 7}});
    const alog::Context scope_fields{{"correlation_id", alog::generate_correlation_id()}};
    const std::string s50(50, 's');  // 50 characters, no escaping needed

    // Warm-up: this thread's ring, every call site's registration, the code and data caches.
    alog::preallocate();
    for (int k = 0; k < 2000; ++k) {
        case_empty(log, k, k, k * 0.5, s50);
        case_int_int_double(log, k, k, k * 0.5, s50);
        case_string50(log, k, k, k * 0.5, s50);
        case_below_level(quiet, k, k, k * 0.5, s50);
        case_debug_compiled_out(log, k, k, k * 0.5, s50);
        case_named3(log, k, k, k * 0.5, s50);
        case_with_context(bound, k, k, k * 0.5, s50);
    }
    std::uint64_t ring_h = 0;
    {
        // (h) warms up inside a scope of its own: a scope open here would
        // also cover the cases measured before (h).
        alog::ScopedContext scope(scope_fields);
        for (int k = 0; k < 2000; ++k) case_scoped(log, k, k, k * 0.5, s50);
        ring_h = measured_ring_bytes(&case_scoped, log, s50);
    }
    alog::flush();

    const std::uint64_t ring_b = measured_ring_bytes(&case_int_int_double, log, s50);
    const std::uint64_t ring_c = measured_ring_bytes(&case_string50, log, s50);
    const std::uint64_t ring_d = measured_ring_bytes(&case_below_level, quiet, s50);
    const std::uint64_t ring_f = measured_ring_bytes(&case_named3, log, s50);
    const std::uint64_t ring_g = measured_ring_bytes(&case_with_context, bound, s50);
    alog::flush();

    const double ns_per_tick = calibrate_ns_per_tick(100);

    std::printf("agora-log hot-path latency (rdtsc)\n");
    std::printf("  TSC: %.4f ns/tick (%.3f GHz), calibrated against steady_clock over 100 ms\n", ns_per_tick,
                1.0 / ns_per_tick);
    std::printf("  CPUs: %d; caller pinned to CPU %s, backend to CPU %s; pause: %s\n", cpus,
                caller_cpu >= 0 ? std::to_string(caller_cpu).c_str() : "-",
                backend_cpu >= 0 ? std::to_string(backend_cpu).c_str() : "-",
                o.spin ? "busy-wait" : "sleep_for");
    std::printf("  %" PRIu64 " batches x %" PRIu64 " calls, %" PRIu64 " us pause after each batch; %s\n", o.batches,
                o.calls_per_batch, o.pause_us,
                o.per_call ? "one sample per call (rdtsc around each call)"
                           : "one sample per batch = batch ticks / calls per batch");
    std::printf("  ring bytes per record: (b) int,int,double = %" PRIu64
                " measured, align_record(24+4+4+8) = %zu; (c) string(50) = %" PRIu64 " measured, (d) = %" PRIu64
                "\n",
                ring_b,
                agora::log::detail::align_record(sizeof(agora::log::detail::RecordHeader) + 4 + 4 + 8), ring_c,
                ring_d);
    std::printf("                          (f) named3 = %" PRIu64 ", (g) with_context = %" PRIu64
                ", (h) scoped = %" PRIu64 " measured\n\n",
                ring_f, ring_g, ring_h);

    // The floor (a) always runs: every other case is reported relative to it.
    auto wanted = [&](char c) { return c == 'a' || o.only.empty() || o.only.find(c) != std::string::npos; };
    std::vector<Summary> results;
    results.push_back(run_case<&case_empty>("(a) empty noinline call (floor)", log, s50, o, ns_per_tick));
    if (wanted('b'))
        results.push_back(run_case<&case_int_int_double>("(b) info int, int, double", log, s50, o, ns_per_tick));
    if (wanted('c'))
        results.push_back(run_case<&case_string50>("(c) info std::string(50)", log, s50, o, ns_per_tick));
    if (wanted('d'))
        results.push_back(run_case<&case_below_level>("(d) info below runtime level", quiet, s50, o, ns_per_tick));
    if (wanted('e'))
        results.push_back(
            run_case<&case_debug_compiled_out>("(e) AGORA_LOG_DEBUG compiled out", log, s50, o, ns_per_tick));
    if (wanted('f'))
        results.push_back(run_case<&case_named3>("(f) info 3 named, int, int, double", log, s50, o, ns_per_tick));
    if (wanted('g'))
        results.push_back(run_case<&case_with_context>("(g) (b) on a with_context logger", bound, s50, o, ns_per_tick));
    if (wanted('h')) {
        // Opened once, outside the measured loop; closed before anything else runs.
        alog::ScopedContext scope(scope_fields);
        results.push_back(run_case<&case_scoped>("(h) (b) inside a ScopedContext", log, s50, o, ns_per_tick));
    }

    bound = Logger();  // hands its snapshot back while the backend runs
    alog::flush();
    const auto stats = alog::stats();
    alog::shutdown();
    const std::uint64_t file_bytes = dir.total_bytes();

    std::printf("%-36s %8s %8s %8s %8s %8s %8s %9s   (ns per call)\n", "case", "p50", "p75", "p90", "p95", "p99",
                "p99.9", "max");
    for (const Summary& r : results)
        std::printf("%-36s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %9.1f\n", r.name, r.p50, r.p75, r.p90, r.p95, r.p99,
                    r.p999, r.max);
    const Summary& floor = results[0];
    std::printf("\nfloor-adjusted (case minus (a))      %8s %8s\n", "p50", "p99.9");
    for (std::size_t k = 1; k < results.size(); ++k)
        std::printf("%-36s %8.1f %8.1f\n", results[k].name, results[k].p50 - floor.p50, results[k].p999 - floor.p999);
    // The structured-context forms (f, g, h) next to the plain call (b) they extend.
    auto letter = [](const Summary& r) { return r.name[1]; };
    const Summary* plain = nullptr;
    for (const Summary& r : results)
        if (letter(r) == 'b') plain = &r;
    bool header = false;
    for (const Summary& r : results) {
        if (plain == nullptr || std::string_view("fgh").find(letter(r)) == std::string_view::npos) continue;
        if (!header) std::printf("\ndifference from (b)                   %8s %8s\n", "p50", "p99.9");
        header = true;
        std::printf("%-36s %8.1f %8.1f\n", r.name, r.p50 - plain->p50, r.p999 - plain->p999);
    }

    std::printf("\nrecords written: %" PRIu64 ", dropped: %" PRIu64 ", log file bytes: %" PRIu64 "\n",
                stats.records_written, stats.records_dropped, file_bytes);
    return stats.records_dropped == 0 ? 0 : 1;
}

}  // namespace perf

int main(int argc, char** argv) {
    perf::Options o;
    for (int k = 1; k < argc; ++k) {
        std::string_view a = argv[k];
        const char* next = k + 1 < argc ? argv[k + 1] : nullptr;
        if (a == "--batches") { o.batches = perf::parse_count(a, next); ++k; }
        else if (a == "--calls-per-batch") { o.calls_per_batch = perf::parse_count(a, next); ++k; }
        else if (a == "--pause-us") { o.pause_us = perf::parse_count(a, next); ++k; }
        else if (a == "--per-call") o.per_call = true;
        else if (a == "--spin") o.spin = true;
        else if (a == "--positions") o.positions = true;
        else if (a == "--keep") o.keep = true;
        else if (a == "--caller-cpu" || a == "--backend-cpu") {
            if (next == nullptr) { std::fprintf(stderr, "%s needs a value\n", argv[k]); return 2; }
            (a == "--caller-cpu" ? o.caller_cpu : o.backend_cpu) = std::atoi(next);
            ++k;
        } else if (a == "--sample-info" || a == "--rate-limit") {
            if (next == nullptr) { std::fprintf(stderr, "%s needs a value\n", argv[k]); return 2; }
            (a == "--sample-info" ? o.sample_info : o.rate_limit_per_s) = std::atof(next);
            ++k;
        } else if (a == "--cases") {
            if (next == nullptr) { std::fprintf(stderr, "--cases needs a value\n"); return 2; }
            o.only = next;
            ++k;
        }
        else if (a == "-h" || a == "--help") {
            std::printf("usage: %s [--batches N (10000)] [--calls-per-batch N (20)] [--pause-us N (2000)]\n"
                        "          [--spin] [--per-call [--positions]] [--cases abcdefgh] [--caller-cpu N (0)]\n"
                        "          [--backend-cpu N (1)] [--keep] [--sample-info RATE] [--rate-limit PER_SECOND]\n"
                        "  --spin        busy-wait the pause (as Quill's wait()) instead of sleeping\n"
                        "  --per-call    one rdtsc pair per call instead of per batch\n"
                        "  --positions   with --per-call: p50 by position in the batch\n"
                        "  --cases       run only these cases, by letter (the floor (a) always runs):\n"
                        "                b int,int,double  c string(50)  d below level  e compiled out\n"
                        "                f named3  g with_context  h scoped  (e.g. --cases bfgh)\n"
                        "  --*-cpu       pinning when 2+ CPUs; -1 = not pinned\n"
                        "  --sample-info INFO records kept at this rate (Config::sampling, seed 1)\n"
                        "  --rate-limit  a token bucket per logger at this rate, burst 10^9\n", argv[0]);
            return 0;
        } else {
            std::fprintf(stderr, "unknown option %s (try --help)\n", argv[k]);
            return 2;
        }
    }
    return perf::run(o);
}
