// The README's usage example (compiled by meson so it cannot rot).
#include <agora/log.hpp>

int main() {
    agora::log::Config config;
    config.service_name = "market-data";
    config.file_path = "logs/readme-example.log";
    if (auto ok = agora::log::initialize(config); !ok) return 1;

    auto log = agora::log::get_logger("agora.market_data.feed");
    log.info("Quote {} bid {:.2f} ask {:.2f}", "AAPL", 189.21, 189.23);
    AGORA_LOG_WARNING(log, "Feed gap of {} messages on channel {}", 12, 7);
    agora::log::shutdown();
}
