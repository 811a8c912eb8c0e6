// Exceptions (type, message, stack, nested chain) and operation timers.
#include <agora/log.hpp>

#include <stdexcept>

void write_snapshot() {
    try {
        throw std::runtime_error("disk full");
    } catch (...) {
        std::throw_with_nested(std::runtime_error("snapshot write failed"));
    }
}

int main() {
    agora::log::Config config;
    config.service_name = "order-gateway";
    config.file_enabled = false;  // console only
    if (auto ok = agora::log::initialize(config); !ok) return 1;
    auto log = agora::log::get_logger("agora.orders");

    try {
        write_snapshot();
    } catch (const std::exception& e) {
        log.error("Snapshot failed", e, {{"path", "/var/lib/orders.snap"}});
    }

    {
        auto timer = log.timer("Database query", {{"table", "orders"}});
        // ... the query; INFO "Database query" with duration_ms when the block ends
    }
    try {
        auto timer = log.timer("Risk check");
        throw std::runtime_error("limit breached");  // ERROR "Risk check failed" with duration_ms
    } catch (const std::exception&) {
    }
    agora::log::shutdown();
}
