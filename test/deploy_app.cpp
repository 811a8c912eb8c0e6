// A stand-in for a service of deploy/k8s: configured only by its environment
// (Config::from_env, so LOG_CONFIG_FILE, ENVIRONMENT, LOG_FILE_PATH, the
// admin endpoint ... as the manifests set them), it writes the kinds of
// entries a service writes and serves the admin endpoint until stdin closes.
// tools/check_deploy.py runs it with a manifest's environment.
//
// Protocol (stderr, one line each, prefixed "deploy_app: "):
//   configured {json}   the resolved configuration, once, after initialize()
//   flushed N           after each burst: N log calls made so far (some are
//                       below a level and write nothing)
// stdin: each line asks for one more burst; end of file shuts down (exit 0).
// A configuration that from_env() refuses: its message on stderr, exit 2;
// initialize() failing: exit 1.

#include <agora/log.hpp>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

namespace alog = agora::log;

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out + "\"";
}

/// One of each kind of entry the dashboard and the collector look at: every
/// level the configuration lets through, a correlation id, named fields, a
/// timer (duration_ms), an exception, and a logger below a per-name level.
int burst(int round) {
    int n = 0;
    auto feed = alog::get_logger("agora.market_data.feed");
    auto ingestion = alog::get_logger("agora.market_data.ingestion");
    {
        alog::ScopedContext request{alog::ContextBuilder().correlation_id().build()};
        feed.info("Quote {symbol} bid {bid:.2f} ask {ask:.2f}", "AAPL", 189.21, 189.23);
        feed.debug("Book depth {}", 10);
        feed.warning("Feed gap of {} messages on channel {}", 12, 7);
        {
            auto timer = feed.timer("Snapshot load", {{"round", round}});
        }
        try {
            throw std::runtime_error("sequence number went backwards");
        } catch (const std::exception& e) {
            feed.error("Feed handler failed", e, {{"channel", 7}});
        }
        feed.critical("Exchange connection lost");
        n += 6;
    }
    ingestion.info("Batch of {} ticks stored", 500);  // below the file's WARNING for this logger
    ingestion.error("Batch rejected by {}", "timeseries-store");
    n += 2;
    alog::flush();
    return n;
}

}  // namespace

int main() {
    alog::Config code;
    code.service_name = "deploy-app";
    auto config = alog::Config::from_env(code);
    if (!config) {
        std::fprintf(stderr, "deploy_app: bad logging configuration: %s\n", config.error().message.c_str());
        return 2;
    }
    if (auto ok = alog::initialize(*config); !ok) {
        std::fprintf(stderr, "deploy_app: initialize failed: %s\n", ok.error().message.c_str());
        return 1;
    }
    std::cerr << "deploy_app: configured {\"service\":" << json_string(config->service_name)
              << ",\"environment\":" << json_string(config->environment) << ",\"host\":" << json_string(config->host)
              << ",\"file_path\":" << json_string(config->file_path) << ",\"admin_port\":" << alog::admin_port()
              << "}" << std::endl;
    int logged = 0;
    int round = 0;
    logged += burst(round++);
    std::cerr << "deploy_app: flushed " << logged << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
        logged += burst(round++);
        std::cerr << "deploy_app: flushed " << logged << std::endl;
    }
    alog::shutdown();
    return 0;
}
