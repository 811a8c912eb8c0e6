// docs/sampling.md: sampling by level, always-log patterns and a rate limit per logger.
#include <agora/log.hpp>

#include <cstdio>

int main() {
    agora::log::Config config;
    config.service_name = "market-data";
    config.file_path = "logs/sampling-example.log";
    config.console_enabled = false;
    config.level = agora::log::Level::debug;
    config.sampling.rates = {{agora::log::Level::debug, 0.01}, {agora::log::Level::info, 0.10}};
    config.sampling.always_log_patterns = {".*startup.*", ".*shutdown.*", ".*health.*check.*"};
    config.sampling.rate_limit = agora::log::RateLimitConfig{1000.0, 5000};  // per second, burst
    if (auto ok = agora::log::initialize(config); !ok) {
        std::fprintf(stderr, "%s\n", ok.error().message.c_str());
        return 1;
    }
    auto log = agora::log::get_logger("agora.market_data.ingestion");
    log.info("Feed handler startup complete");  // always written
    for (int i = 0; i < 20000; ++i) log.debug("quote {} px {:.4f}", i, 100.0 + i * 1e-4);  // ~1% kept
    agora::log::shutdown();  // writes "Rate limited: N entries from agora.market_data.ingestion suppressed"

    const agora::log::Stats stats = agora::log::stats();
    std::printf("written %llu, sampled out %llu, rate limited %llu\n",
                static_cast<unsigned long long>(stats.records_written),
                static_cast<unsigned long long>(stats.records_sampled_out),
                static_cast<unsigned long long>(stats.records_rate_limited));
    for (const auto& [name, counts] : agora::log::sampling_stats())
        std::printf("  %s: %llu sampled out, %llu rate limited\n", name.c_str(),
                    static_cast<unsigned long long>(counts.sampled_out),
                    static_cast<unsigned long long>(counts.rate_limited));
    return stats.records_sampled_out + stats.records_rate_limited > 0 ? 0 : 1;
}
