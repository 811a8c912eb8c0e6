// Config::from_file() in a build without yaml-cpp (meson option yaml
// disabled or not found): every call is an Error saying so, so that
// LOG_CONFIG_FILE fails loudly instead of being ignored.

#include <agora/log/config.hpp>

namespace agora::log {

Expected<Config> Config::from_file(const std::string& path) { return from_file(path, Config{}); }

Expected<Config> Config::from_file(const std::string& path, Config) {
    return Error{ErrorCode::invalid_config_file,
                 path + ": this build of agora-log reads no configuration files (built without yaml-cpp: "
                        "meson option yaml)"};
}

}  // namespace agora::log
