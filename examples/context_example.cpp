// Context: per call, bound to a logger, scoped to a thread; ids top-level.
#include <agora/log.hpp>

using agora::log::Context;
using agora::log::ContextBuilder;
using agora::log::ScopedContext;

void handle_request(const agora::log::Logger& log, const std::string& user) {
    // Every entry this thread writes in this block carries these fields.
    ScopedContext request{ContextBuilder().correlation_id().user_id(user).build()};
    log.info("Request accepted", {{"route", "/orders"}, {"attempt", 1}});
    log.warning("Slow downstream {service}", "risk-engine");
}

int main() {
    agora::log::Config config;
    config.service_name = "order-gateway";
    config.file_enabled = false;  // console only
    config.default_context = {{"region", "eu-west"}};
    if (auto ok = agora::log::initialize(config); !ok) return 1;

    auto log = agora::log::get_logger("agora.orders");
    auto desk_log = log.with_context({{"desk", "fx"}, {"book", 7}});  // copied once, here
    handle_request(desk_log, "u-1017");
    desk_log.info("Book closed");  // no request fields any more
    agora::log::shutdown();
}
