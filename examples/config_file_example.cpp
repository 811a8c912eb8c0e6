// Configuration layers: environment > file (LOG_CONFIG_FILE) > code > defaults.
//   LOG_CONFIG_FILE=examples/logging.yaml LOG_LEVEL=DEBUG ./config_file_example
#include <agora/log.hpp>

#include <cstdio>

int main() {
    agora::log::Config code;  // what the program sets; the file and the environment override it
    code.service_name = "order-gateway";
    code.file_enabled = false;

    auto config = agora::log::Config::from_env(code);  // reads LOG_CONFIG_FILE first, if set
    if (!config) {
        // e.g. "logging.yaml:7: file.max_size_mb: 'big' is not accepted: expected ..."
        std::fprintf(stderr, "bad logging configuration: %s\n", config.error().message.c_str());
        return 2;
    }
    if (auto ok = agora::log::initialize(*config); !ok) return 1;
    agora::log::get_logger("agora.orders").debug("Configured from {} layers", 3);
    agora::log::shutdown();
}
