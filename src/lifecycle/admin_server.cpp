// The admin HTTP endpoint (see admin_server.hpp).

#include "lifecycle/admin_server.hpp"

#include "format/format.hpp"

#include <agora/log/levels.hpp>
#include <agora/log/metrics.hpp>

#include <fmt/format.h>
#include <httplib.h>

#include <pthread.h>
#include <sys/socket.h>

#include <cerrno>
#include <atomic>
#include <charconv>
#include <cstring>
#include <optional>
#include <chrono>
#include <string>
#include <thread>

namespace agora::log::detail {

namespace {

/// Bodies a request may carry (none of the endpoints reads one).
constexpr std::size_t kMaxRequestBody = 4096;

std::string json_string(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

void reply_json(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, "application/json");
}

void reply_error(httplib::Response& res, int status, std::string_view message) {
    reply_json(res, status, "{\"error\":" + json_string(message) + "}");
}

/// 405 for a known path asked with another method.
httplib::Server::Handler method_not_allowed(std::string allowed) {
    return [allowed](const httplib::Request& req, httplib::Response& res) {
        res.set_header("Allow", allowed);
        reply_error(res, 405, fmt::format("Method {} not allowed on {}: use {}", req.method, req.path, allowed));
    };
}

/// Whether `given` is `expected` (not empty), in time that depends on the
/// length of `given` only: how long a wrong token takes says nothing about
/// how much of it was right.
bool same_token(std::string_view given, std::string_view expected) noexcept {
    if (expected.empty()) return false;
    unsigned diff = given.size() == expected.size() ? 0u : 1u;
    for (std::size_t i = 0; i < given.size(); ++i)
        diff |= static_cast<unsigned char>(given[i]) ^ static_cast<unsigned char>(expected[i % expected.size()]);
    return diff == 0;
}

void reply_levels(const httplib::Request& req, httplib::Response& res) {
    if (req.has_param("logger_name")) {
        const std::string name = req.get_param_value("logger_name");
        if (name.empty()) return reply_error(res, 400, "Invalid logger_name: empty");
        return reply_json(res, 200,
                          fmt::format("{{\"logger\":{},\"level\":\"{}\"}}", json_string(name), to_string(agora::log::get_level(name))));
    }
    std::string body = "{\"levels\":{";
    bool first = true;
    for (const auto& [name, level] : get_all_levels()) {
        if (!first) body += ',';
        first = false;
        body += json_string(name);
        body += ':';
        body += json_string(to_string(level));
    }
    body += "}}";
    reply_json(res, 200, body);
}

void change_level(const AdminConfig& config, const httplib::Request& req, httplib::Response& res) {
    if (!config.bearer_token.empty()) {
        const std::string auth = req.get_header_value("Authorization");
        constexpr std::string_view kBearer = "Bearer ";
        if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0 ||
            !same_token(std::string_view(auth).substr(kBearer.size()), config.bearer_token)) {
            res.set_header("WWW-Authenticate", "Bearer");
            return reply_error(res, 401, "A valid bearer token is required to change levels");
        }
    }
    if (!req.has_param("level")) return reply_error(res, 400, "Missing parameter: level");
    const std::string level_text = req.get_param_value("level");
    const auto level = parse_level(level_text);
    if (!level) return reply_error(res, 400, "Invalid level: " + level_text);
    std::optional<std::string> name;
    if (req.has_param("logger_name")) {
        name = req.get_param_value("logger_name");
        if (name->empty()) return reply_error(res, 400, "Invalid logger_name: empty");
    }
    std::optional<std::int64_t> seconds;
    if (req.has_param("duration_seconds")) {
        const std::string text = req.get_param_value("duration_seconds");
        std::int64_t v = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0 || v > 31'536'000)
            return reply_error(res, 400, "Invalid duration_seconds: " + text + " (an integer from 1 to 31536000)");
        seconds = v;
    }
    Expected<void> done;
    if (seconds) {
        const std::chrono::milliseconds after(*seconds * 1000);
        done = name ? set_level(*level, *name, after) : set_level(*level, after);
    } else {
        done = name ? set_level(*level, *name) : set_level(*level);
    }
    if (!done) return reply_error(res, 400, done.error().message);
    reply_json(res, 200,
               fmt::format("{{\"status\":\"updated\",\"level\":\"{}\",\"logger\":{},\"auto_revert_seconds\":{}}}",
                           to_string(*level), name ? json_string(*name) : std::string("\"all\""),
                           seconds ? std::to_string(*seconds) : std::string("null")));
}

}  // namespace

struct AdminServer::Impl {
    AdminConfig config;
    httplib::Server server;
    std::thread thread;
    int port = 0;
    std::atomic<bool> listen_returned{false};  // the serving thread is done (stopped, or failed to start)
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

AdminServer::~AdminServer() {
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

int AdminServer::port() const noexcept { return impl_->port; }

Expected<std::unique_ptr<AdminServer>> AdminServer::start(const AdminConfig& config) {
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    httplib::Server& s = impl->server;
    const AdminConfig* cfg = &impl->config;  // lives as long as the server
    // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, with which
    // a second process (ours, configured with the same port, or anyone's
    // under this user) could bind the port too and take half the requests.
    s.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    s.set_payload_max_length(kMaxRequestBody);
    s.set_read_timeout(5, 0);
    s.set_write_timeout(5, 0);
    s.set_keep_alive_max_count(10);

    // A PUT with no body and no Content-Length (`curl -X PUT URL`): httplib
    // refuses it with 400 while reading the body, before routing. The level
    // change needs no body (its parameters are in the query), so it is served
    // here, before that; there is no body left on the connection to skip.
    s.set_pre_routing_handler([cfg](const httplib::Request& req, httplib::Response& res) {
        if (req.method == "PUT" && req.path == "/admin/logging/level" && !req.has_header("Content-Length") &&
            !req.has_header("Transfer-Encoding")) {
            change_level(*cfg, req, res);
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    s.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    });
    s.Get("/health/logging", [](const httplib::Request&, httplib::Response& res) {
        reply_json(res, 200, to_json(get_health_status()));
    });
    s.Get("/admin/logging/level", [](const httplib::Request& req, httplib::Response& res) { reply_levels(req, res); });
    s.Put("/admin/logging/level",
          [cfg](const httplib::Request& req, httplib::Response& res) { change_level(*cfg, req, res); });
    for (const char* path : {"/metrics", "/health/logging"}) {
        s.Post(path, method_not_allowed("GET"));
        s.Put(path, method_not_allowed("GET"));
        s.Delete(path, method_not_allowed("GET"));
        s.Patch(path, method_not_allowed("GET"));
    }
    s.Post("/admin/logging/level", method_not_allowed("GET, PUT"));
    s.Delete("/admin/logging/level", method_not_allowed("GET, PUT"));
    s.Patch("/admin/logging/level", method_not_allowed("GET, PUT"));
    // Everything else: a JSON error instead of httplib's empty body (404,
    // 413 for an oversized body, 400 for a malformed request).
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return;
        const char* what = res.status == 404   ? "Not found: the endpoints are /metrics, /health/logging and /admin/logging/level"
                           : res.status == 413 ? "Request body too large"
                                               : "Bad request";
        reply_error(res, res.status, what);
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        reply_error(res, 500, "Internal error while serving the request");
    });

    int port = config.port;
    if (port == 0) {
        port = s.bind_to_any_port(config.bind_address);
        if (port <= 0)
            return Error{ErrorCode::io_error,
                         fmt::format("admin endpoint: cannot listen on {} (any port)", config.bind_address)};
    } else if (!s.bind_to_port(config.bind_address, port)) {
        return Error{ErrorCode::io_error, fmt::format("admin endpoint: cannot listen on {}:{}: {}", config.bind_address,
                                                      port, std::strerror(errno))};
    }
    impl->port = port;
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] {
        pthread_setname_np(pthread_self(), "agora-log-admin");
        raw->server.listen_after_bind();
        raw->listen_returned.store(true, std::memory_order_release);
    });
    // Not before the server runs: httplib's stop() does nothing until then,
    // so a server stopped right after start() would stay in accept() for good.
    while (!impl->server.is_running() && !impl->listen_returned.load(std::memory_order_acquire))
        std::this_thread::yield();
    return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

}  // namespace agora::log::detail
