// Named placeholders: the message, and the same values as context fields.
#include <agora/log.hpp>

int main() {
    agora::log::Config config;
    config.service_name = "order-gateway";
    config.file_enabled = false;  // console only
    if (auto ok = agora::log::initialize(config); !ok) return 1;

    auto log = agora::log::get_logger("agora.orders");
    int order_id = 42;
    double price = 101.25;
    log.info("Order {order_id} filled at {price:.2f}", order_id, price);
    // {"message":"Order 42 filled at 101.25", ..., "context":{"order_id":42,"price":101.25}}

    log.info("Quote {} {:.2f}", "AAPL", 189.21);  // positional: message only, no fields
    agora::log::shutdown();
}
