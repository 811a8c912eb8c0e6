// Market-data feed simulator: two feed threads log quotes and trades at a high
// rate for a few seconds into ./logs/market-data.log (rotating at 1 MiB), then
// the demo prints what was logged, the call latency and the files produced.
//
//   market_data_demo [seconds] [records-per-second-per-thread]
//
// Environment variables (LOG_LEVEL, LOG_FILE_PATH, ...) override the defaults.

#include <agora/log.hpp>

#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Quote {
    const char* symbol;
    double bid;
    double ask;
    int bid_size;
    int ask_size;
};

constexpr const char* kSymbols[] = {"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "JPM"};

struct FeedResult {
    std::uint64_t records = 0;
    std::vector<std::uint64_t> call_ticks;  // one sample per call
};

/// Ticks per ns, measured against the steady clock.
double ticks_per_ns() {
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t c0 = __rdtsc();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(50)) {
    }
    std::uint64_t c1 = __rdtsc();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(c1 - c0) / static_cast<double>(ns);
}

double percentile(std::vector<std::uint64_t>& v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
}

}  // namespace

/// One feed handler thread: quotes, and a trade every fifth message, paced
/// to `rate` records per second.
class FeedHandler {
public:
    FeedHandler(int channel, agora::log::Logger log) : channel_(channel), log_(log) {}

    void on_quote(const Quote& q) {
        log_.info("Quote {} bid {:.2f}x{} ask {:.2f}x{} channel {}", q.symbol, q.bid, q.bid_size, q.ask, q.ask_size,
                  channel_);
    }
    void on_trade(const char* symbol, double price, int size, std::uint64_t trade_id) {
        log_.info("Trade {} {}@{:.2f} id {}", symbol, size, price, trade_id);
    }

    FeedResult run(double seconds, double rate, double tpns) {
        FeedResult r;
        r.call_ticks.reserve(static_cast<std::size_t>(seconds * rate) + 16);
        agora::log::preallocate();
        const auto interval = static_cast<std::uint64_t>(1e9 / rate * tpns);
        const std::uint64_t start = __rdtsc();
        const auto end = start + static_cast<std::uint64_t>(seconds * 1e9 * tpns);
        std::uint64_t next = start;
        const double base = 100.0 + 50.0 * channel_;
        for (std::uint64_t n = 0;; ++n) {
            std::uint64_t now;
            while ((now = __rdtsc()) < next) _mm_pause();
            if (now >= end) break;
            next += interval;
            const char* sym = kSymbols[n % std::size(kSymbols)];
            const double px = base * (1.0 + 0.01 * std::sin(static_cast<double>(n) * 1e-3)) + static_cast<double>(n % 8);
            std::uint64_t t0 = __rdtsc();
            if (n % 5 == 4) {
                on_trade(sym, px, static_cast<int>(100 + n % 900), n);
            } else {
                on_quote(Quote{sym, px, px + 0.02, static_cast<int>(100 + n % 50), static_cast<int>(200 + n % 70)});
            }
            std::uint64_t t1 = __rdtsc();
            if (r.call_ticks.size() < r.call_ticks.capacity()) r.call_ticks.push_back(t1 - t0);
            ++r.records;
        }
        return r;
    }

private:
    int channel_;
    agora::log::Logger log_;
};

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
    const double rate = argc > 2 ? std::atof(argv[2]) : 200000.0;

    agora::log::Config base;
    base.service_name = "market-data";
    base.environment = "development";
    base.version = "1.0.0";
    base.file_path = "logs/market-data.log";
    base.max_file_size_mb = 1;
    base.max_backup_count = 5;
    base.console_enabled = false;  // 1.2 M lines would flood the terminal
    auto config = agora::log::Config::from_env(base);
    if (!config) {
        std::fprintf(stderr, "configuration error: %s\n", config.error().message.c_str());
        return 2;
    }
    if (auto ok = agora::log::initialize(*config); !ok) {
        std::fprintf(stderr, "initialize failed: %s\n", ok.error().message.c_str());
        return 2;
    }

    if (const int port = agora::log::admin_port(); port != 0)
        std::printf("admin endpoint      http://%s:%d/metrics  /health/logging  /admin/logging/level\n",
                    config->admin.bind_address.c_str(), port);

    const double tpns = ticks_per_ns();
    auto log = agora::log::get_logger("agora.market_data");
    log.info("Feed simulator starting: {} threads, {} records/s each, {} s", 2, rate, seconds);

    FeedResult results[2];
    const auto t0 = std::chrono::steady_clock::now();
    {
        std::vector<std::thread> feeds;
        for (int ch = 0; ch < 2; ++ch)
            feeds.emplace_back([&, ch] {
                FeedHandler h(ch, agora::log::get_logger("agora.market_data.feed"));
                results[ch] = h.run(seconds, rate, tpns);
            });
        for (auto& t : feeds) t.join();
    }
    agora::log::flush();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto st = agora::log::stats();

    std::vector<std::uint64_t> ticks;
    std::uint64_t logged = 0;
    for (auto& r : results) {
        logged += r.records;
        ticks.insert(ticks.end(), r.call_ticks.begin(), r.call_ticks.end());
    }
    log.info("Feed simulator done: {} records", logged);
    const std::string health = agora::log::to_json(agora::log::get_health_status());
    agora::log::shutdown();

    std::printf("records logged      %llu\n", static_cast<unsigned long long>(logged));
    std::printf("records dropped     %llu\n", static_cast<unsigned long long>(st.records_dropped));
    std::printf("call latency (ns, includes two rdtsc reads)  p50 %.0f  p99 %.0f  p99.9 %.0f\n",
                percentile(ticks, 0.50) / tpns, percentile(ticks, 0.99) / tpns, percentile(ticks, 0.999) / tpns);
    std::printf("backend lines/s     %.0f  (%llu lines in %.2f s, until flush returned)\n",
                static_cast<double>(st.records_written) / elapsed, static_cast<unsigned long long>(st.records_written),
                elapsed);
    std::printf("health              %s\n", health.c_str());
    std::printf("files produced:\n");
    std::filesystem::path dir = std::filesystem::path(config->file_path).parent_path();
    std::vector<std::filesystem::directory_entry> files;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec))
        if (e.path().filename().string().rfind(std::filesystem::path(config->file_path).filename().string(), 0) == 0)
            files.push_back(e);
    std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.path() < b.path(); });
    for (auto& f : files)
        std::printf("  %-32s %10llu bytes\n", f.path().c_str(), static_cast<unsigned long long>(f.file_size()));
    return 0;
}
