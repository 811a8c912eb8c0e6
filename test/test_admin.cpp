// Metrics, health and the admin HTTP endpoint (docs/operations.md), with real
// clients: cpp-httplib's client against every endpoint (bad methods, bad
// levels, a missing or wrong token, an oversized body, unknown paths),
// promtool checking the exposition, and a real Prometheus server scraping the
// endpoint and answering a query for agora_log_entries_total. Ports are
// picked by the OS (port 0) and everything started is stopped.

#define BOOST_TEST_MODULE admin
#include "common.hpp"

#include "lifecycle/admin_server.hpp"

#include <agora/log/levels.hpp>
#include <agora/log/metrics.hpp>

#include <httplib.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

using agora::log::Config;
using agora::log::Level;
namespace alog = agora::log;

namespace {

Config admin_config(const agora_test::TempDir& dir) {
    Config c = agora_test::quiet_config(dir.file("app.log"));
    c.admin.enabled = true;
    c.admin.port = 0;  // the OS picks a free one
    return c;
}

void start(const Config& config) {
    auto ok = alog::initialize(config);
    BOOST_TEST_REQUIRE(ok.has_value(), agora_test::error_text(ok));
}

httplib::Client client() {
    httplib::Client c("127.0.0.1", alog::admin_port());
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(10, 0);
    return c;
}

/// The value at `pointer` of a JSON body as text ("<missing>", "<not JSON>").
std::string json_at(const std::string& body, const char* pointer) {
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    if (doc.HasParseError()) return "<not JSON>";
    const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
    if (v == nullptr) return "<missing>";
    if (v->IsString()) return v->GetString();
    if (v->IsBool()) return v->GetBool() ? "true" : "false";
    if (v->IsNull()) return "null";
    if (v->IsUint64()) return std::to_string(v->GetUint64());
    if (v->IsInt64()) return std::to_string(v->GetInt64());
    return "<other>";
}

/// Runs `command`, feeding it `input`; returns its exit status and output.
std::pair<int, std::string> run_with_input(const std::string& command, const std::string& input,
                                           const agora_test::TempDir& dir) {
    const std::string in = dir.file("stdin.txt"), out = dir.file("stdout.txt");
    std::ofstream(in) << input;
    const int status = std::system((command + " < " + in + " > " + out + " 2>&1").c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, agora_test::read_file(out)};
}

/// 127.0.0.1:`port`.
sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    return a;
}

/// A port nobody listens on now (bound to port 0, read, closed).
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace

BOOST_AUTO_TEST_CASE(off_unless_configured) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(agora_test::quiet_config(dir.file("app.log")));
    BOOST_TEST(!Config{}.admin.enabled);
    BOOST_TEST(Config{}.admin.bind_address == "127.0.0.1");
    BOOST_TEST(alog::admin_port() == 0);
}

BOOST_AUTO_TEST_CASE(metrics_and_health_endpoints) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(admin_config(dir));
    BOOST_TEST_REQUIRE(alog::admin_port() > 0);
    auto log = alog::get_logger("admin.metrics");
    for (int i = 0; i < 25; ++i) log.info("metric record {}", i);
    log.error("one error");
    alog::flush();

    auto c = client();
    auto metrics = c.Get("/metrics");
    BOOST_TEST_REQUIRE(static_cast<bool>(metrics));
    BOOST_TEST(metrics->status == 200);
    BOOST_TEST(metrics->get_header_value("Content-Type").find("text/plain") == 0u);
    const std::string& text = metrics->body;
    BOOST_TEST(text.find("agora_log_entries_total{") != std::string::npos, text.substr(0, 2000));
    BOOST_TEST(text.find("logger=\"admin.metrics\"") != std::string::npos);
    BOOST_TEST(text.find("service=\"agora-log-test\"") != std::string::npos);
    for (const char* name : {"agora_log_entry_duration_seconds_bucket", "agora_log_queue_size", "agora_log_queue_dropped_total",
                             "agora_log_file_rotations_total", "agora_log_file_size_bytes"})
        BOOST_TEST(text.find(name) != std::string::npos, name);
    BOOST_TEST(alog::metrics_text().find("agora_log_entries_total{") != std::string::npos);  // the API's text

    auto health = c.Get("/health/logging");
    BOOST_TEST_REQUIRE(static_cast<bool>(health));
    BOOST_TEST(health->status == 200);
    BOOST_TEST(json_at(health->body, "/status") == "healthy", health->body);
    BOOST_TEST(json_at(health->body, "/handlers/0/type") == "file", health->body);
    BOOST_TEST(json_at(health->body, "/handlers/0/status") == "ok");
    BOOST_TEST(json_at(health->body, "/handlers/0/error") == "null");
    BOOST_TEST(std::stoull(json_at(health->body, "/queue/capacity")) > 0u, health->body);
    BOOST_TEST(std::stoull(json_at(health->body, "/metrics/entries_total")) >= 26u, health->body);

    const alog::HealthStatus s = alog::get_health_status();
    BOOST_TEST(s.is_healthy);
    BOOST_TEST(s.running);
    BOOST_TEST(s.entries_total >= 26u);
}

BOOST_AUTO_TEST_CASE(level_endpoint_reads_and_changes_levels) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(admin_config(dir));
    auto log = alog::get_logger("admin.levels");
    auto c = client();

    auto set = c.Put("/admin/logging/level?level=debug&logger_name=admin.levels", "", "text/plain");
    BOOST_TEST_REQUIRE(static_cast<bool>(set));
    BOOST_TEST(set->status == 200, set->body);
    BOOST_TEST(json_at(set->body, "/status") == "updated");
    BOOST_TEST(json_at(set->body, "/level") == "DEBUG");
    BOOST_TEST(json_at(set->body, "/logger") == "admin.levels");
    BOOST_TEST(json_at(set->body, "/auto_revert_seconds") == "null");
    BOOST_TEST((alog::get_level("admin.levels") == Level::debug));
    BOOST_TEST(log.enabled(Level::debug));

    auto one = c.Get("/admin/logging/level?logger_name=admin.levels");
    BOOST_TEST_REQUIRE(static_cast<bool>(one));
    BOOST_TEST(json_at(one->body, "/logger") == "admin.levels");
    BOOST_TEST(json_at(one->body, "/level") == "DEBUG");
    auto all = c.Get("/admin/logging/level");
    BOOST_TEST_REQUIRE(static_cast<bool>(all));
    BOOST_TEST(json_at(all->body, "/levels/admin.levels") == "DEBUG", all->body);

    auto timed = c.Put("/admin/logging/level?level=ERROR&duration_seconds=300", "", "text/plain");
    BOOST_TEST_REQUIRE(static_cast<bool>(timed));
    BOOST_TEST(timed->status == 200, timed->body);
    BOOST_TEST(json_at(timed->body, "/logger") == "all");
    BOOST_TEST(json_at(timed->body, "/auto_revert_seconds") == "300");
    BOOST_TEST((alog::get_level() == Level::error));

    struct Bad {
        const char* query;
        const char* error;
    };
    for (const Bad& b : {Bad{"level=LOUD", "Invalid level: LOUD"}, Bad{"", "Missing parameter: level"},
                         Bad{"level=INFO&duration_seconds=abc", "Invalid duration_seconds: abc"},
                         Bad{"level=INFO&duration_seconds=-5", "Invalid duration_seconds: -5"},
                         Bad{"level=INFO&logger_name=", "Invalid logger_name: empty"}}) {
        auto r = c.Put(std::string("/admin/logging/level?") + b.query, "", "text/plain");
        BOOST_TEST_REQUIRE(static_cast<bool>(r));
        BOOST_TEST(r->status == 400, b.query);
        BOOST_TEST(json_at(r->body, "/error").find(b.error) == 0u, r->body);
    }
    BOOST_TEST((alog::get_level() == Level::error));  // nothing changed by the bad requests
}

BOOST_AUTO_TEST_CASE(bad_methods_paths_and_bodies_get_json_errors) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(admin_config(dir));
    auto c = client();
    auto post = c.Post("/metrics", "x", "text/plain");
    BOOST_TEST_REQUIRE(static_cast<bool>(post));
    BOOST_TEST(post->status == 405);
    BOOST_TEST(post->get_header_value("Allow") == "GET");
    BOOST_TEST(json_at(post->body, "/error").find("Method POST not allowed") == 0u, post->body);
    auto del = c.Delete("/admin/logging/level");
    BOOST_TEST_REQUIRE(static_cast<bool>(del));
    BOOST_TEST(del->status == 405);
    BOOST_TEST(del->get_header_value("Allow") == "GET, PUT");
    auto missing = c.Get("/nope");
    BOOST_TEST_REQUIRE(static_cast<bool>(missing));
    BOOST_TEST(missing->status == 404);
    BOOST_TEST(json_at(missing->body, "/error").find("Not found") == 0u, missing->body);
    auto big = c.Put("/admin/logging/level?level=INFO", std::string(100'000, 'x'), "text/plain");
    BOOST_TEST_REQUIRE(static_cast<bool>(big));
    BOOST_TEST(big->status == 413);
    // Still serving after all of it.
    auto ok = c.Get("/health/logging");
    BOOST_TEST_REQUIRE(static_cast<bool>(ok));
    BOOST_TEST(ok->status == 200);
}

BOOST_AUTO_TEST_CASE(put_requires_the_configured_token) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = admin_config(dir);
    config.admin.bearer_token = "s3cret-Token";
    start(config);
    auto c = client();
    auto none = c.Put("/admin/logging/level?level=DEBUG", "", "text/plain");
    BOOST_TEST_REQUIRE(static_cast<bool>(none));
    BOOST_TEST(none->status == 401);
    BOOST_TEST(none->get_header_value("WWW-Authenticate") == "Bearer");
    httplib::Headers wrong{{"Authorization", "Bearer s3cret-Tokem"}};
    auto bad = c.Put("/admin/logging/level?level=DEBUG", wrong, "", "text/plain");
    BOOST_TEST_REQUIRE(static_cast<bool>(bad));
    BOOST_TEST(bad->status == 401);
    BOOST_TEST((alog::get_level() == Level::info));
    httplib::Headers right{{"Authorization", "Bearer s3cret-Token"}};
    auto good = c.Put("/admin/logging/level?level=DEBUG", right, "", "text/plain");
    BOOST_TEST_REQUIRE(static_cast<bool>(good));
    BOOST_TEST(good->status == 200, good->body);
    BOOST_TEST((alog::get_level() == Level::debug));
    auto read = c.Get("/admin/logging/level");  // reading needs no token
    BOOST_TEST_REQUIRE(static_cast<bool>(read));
    BOOST_TEST(read->status == 200);
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_a_warning_not_a_failure) {
    agora_test::TempDir dir;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_TEST_REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    {
        agora_test::ShutdownGuard guard;
        Config config = admin_config(dir);
        config.admin.port = ntohs(a.sin_port);
        start(config);
        BOOST_TEST(alog::admin_port() == 0);
        alog::get_logger("admin.busy").info("still logging");
    }
    {
        // The same with a second endpoint of ours on a port the first one holds.
        agora_test::ShutdownGuard guard;
        start(admin_config(dir));
        const int taken = alog::admin_port();
        BOOST_TEST_REQUIRE(taken > 0);
        Config second = admin_config(dir);
        second.admin.port = taken;
        second.file_path = dir.file("second.log");
        auto server = agora::log::detail::AdminServer::start(second.admin);
        BOOST_TEST(!server.has_value());
        if (!server) BOOST_TEST(server.error().message.find(std::to_string(taken)) != std::string::npos);
    }
    ::close(fd);
    auto read = agora_test::read_entries(dir.file("app.log"));
    BOOST_TEST(read.errors.empty(), agora_test::join_errors(read.errors));
    bool warned = false, logged = false;
    for (const auto& e : read.entries) {
        warned = warned || (e.level == "WARNING" && e.message.find("admin endpoint: cannot listen on 127.0.0.1:") == 0);
        logged = logged || e.message == "still logging";
    }
    BOOST_TEST(warned);
    BOOST_TEST(logged);
}

BOOST_AUTO_TEST_CASE(config_from_env_and_file) {
    {
        agora_test::EnvGuard env;
        env.set("LOG_ADMIN_PORT", "9464");
        env.set("LOG_ADMIN_BIND", "0.0.0.0");
        env.set("LOG_ADMIN_TOKEN", "abc.DEF-123");
        auto c = Config::from_env();
        BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
        BOOST_TEST(c->admin.enabled);
        BOOST_TEST(c->admin.port == 9464);
        BOOST_TEST(c->admin.bind_address == "0.0.0.0");
        BOOST_TEST(c->admin.bearer_token == "abc.DEF-123");
    }
    for (const auto& [name, value] : {std::pair{"LOG_ADMIN_PORT", "70000"}, std::pair{"LOG_ADMIN_PORT", "http"},
                                      std::pair{"LOG_ADMIN_BIND", ""}}) {
        agora_test::EnvGuard env;
        env.set(name, value);
        auto c = Config::from_env();
        BOOST_TEST_REQUIRE(!c.has_value());
        BOOST_TEST(c.error().message.find(name) == 0u, c.error().message);
    }
    {
        agora_test::EnvGuard env;
        env.set("LOG_ADMIN_TOKEN", "has space");
        auto c = Config::from_env();
        BOOST_TEST_REQUIRE(!c.has_value());
        BOOST_TEST(c.error().message.find("has space") == std::string::npos, c.error().message);  // never quoted
    }
    Config bad = agora_test::quiet_config("/tmp/unused.log");
    bad.admin.port = -1;
    BOOST_TEST(!bad.validate().has_value());
    bad.admin.port = 8080;
    bad.admin.bearer_token = std::string(300, 'a');
    BOOST_TEST(!bad.validate().has_value());
}

BOOST_AUTO_TEST_CASE(promtool_accepts_the_exposition) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(admin_config(dir));
    auto log = alog::get_logger("admin.promtool");
    for (int i = 0; i < 10; ++i) log.warning("promtool {}", i);
    alog::flush();
    const auto body = client().Get("/metrics");
    BOOST_TEST_REQUIRE(static_cast<bool>(body));
    const auto [status, output] = run_with_input("promtool check metrics", body->body, dir);
    BOOST_TEST(status == 0, output);
}

BOOST_AUTO_TEST_CASE(a_real_prometheus_scrapes_the_endpoint) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(admin_config(dir));
    auto log = alog::get_logger("admin.prometheus");
    for (int i = 0; i < 42; ++i) log.info("scraped {}", i);
    alog::flush();

    const int prom_port = free_port();
    std::ofstream(dir.file("prometheus.yml")) << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                                              << "scrape_configs:\n"
                                              << "  - job_name: agora-log\n"
                                              << "    static_configs: [{targets: ['127.0.0.1:" << alog::admin_port()
                                              << "']}]\n";
    // posix_spawn, not fork(): no atfork handler (ours restart the logger in
    // a child) and no allocation between fork and exec in a threaded process.
    const std::string out = dir.file("prometheus.out");
    const std::string config = "--config.file=" + dir.file("prometheus.yml");
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(prom_port);
    const std::string storage = "--storage.tsdb.path=" + dir.file("tsdb");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    char* const argv[] = {const_cast<char*>("prometheus"), const_cast<char*>(config.c_str()),
                          const_cast<char*>(listen.c_str()), const_cast<char*>(storage.c_str()), nullptr};
    pid_t pid = -1;
    const int spawned = ::posix_spawnp(&pid, "prometheus", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    BOOST_TEST_REQUIRE(spawned == 0, "cannot start prometheus: " << std::strerror(spawned));
    struct Stop {
        pid_t pid;
        ~Stop() {
            ::kill(pid, SIGTERM);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
    } stop{pid};

    // Ask Prometheus until it has scraped us: the condition is its answer
    // (no fixed wait); the deadline only stops a broken run.
    httplib::Client prom("127.0.0.1", prom_port);
    prom.set_connection_timeout(1, 0);
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    bool found = false;
    while (!found && std::chrono::steady_clock::now() < deadline) {
        auto r = prom.Get("/api/v1/query?query=agora_log_entries_total%7Blogger%3D%22admin.prometheus%22%7D");
        if (r && r->status == 200) {
            answer = r->body;
            found = json_at(answer, "/data/result/0/value/1") == "42";
        }
        if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // poll interval, not a sync
    }
    BOOST_TEST(found, answer << "\nprometheus output:\n" << agora_test::read_file(dir.file("prometheus.out")).substr(0, 3000));
    BOOST_TEST(json_at(answer, "/data/result/0/metric/service") == "agora-log-test");
    BOOST_TEST(json_at(answer, "/data/result/0/metric/level") == "INFO");
}

namespace {
/// A handler that throws on every record (a user handler gone wrong).
class ThrowingHandler : public alog::Handler {
public:
    void emit(const alog::LogRecordView&) override { throw std::runtime_error("disk quota of the audit store"); }
    void flush() override {}
    void close() override {}
};

/// The value of the sample `name{labels...}` in an exposition, or -1.
double sample_value(const std::string& text, const std::string& name, const std::string& label) {
    std::size_t pos = 0;
    while ((pos = text.find(name + "{", pos)) != std::string::npos) {
        const std::size_t end = text.find('\n', pos);
        const std::string line = text.substr(pos, end - pos);
        if (line.find(label) != std::string::npos) return std::stod(line.substr(line.rfind(' ') + 1));
        pos = end;
    }
    return -1;
}
}  // namespace

BOOST_AUTO_TEST_CASE(failing_handlers_show_in_health_and_metrics) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string blocker = dir.file("not-a-directory");
    { std::ofstream(blocker) << "x"; }
    Config config = agora_test::quiet_config(blocker + "/app.log");  // cannot be opened
    config.service_name = "admin-failing";
    start(config);
    // The configured file and a user handler, both failing.
    alog::shutdown();
    auto ok = alog::initialize(config, {std::make_shared<ThrowingHandler>()});
    BOOST_TEST_REQUIRE(ok.has_value(), agora_test::error_text(ok));
    auto log = alog::get_logger("admin.failing");
    for (int i = 0; i < 5; ++i) log.info("lost {}", i);
    alog::flush();

    const alog::HealthStatus s = alog::get_health_status();
    BOOST_TEST(!s.is_healthy);
    BOOST_TEST(s.errors_total > 0u);
    bool file_seen = false, user_seen = false;
    for (const auto& h : s.handlers) {
        if (h.type == "file") {
            file_seen = true;
            BOOST_TEST(!h.is_healthy);
            BOOST_TEST(h.last_error.find("not-a-directory") != std::string::npos, h.last_error);
        }
        if (h.type.find("ThrowingHandler") != std::string::npos) {
            user_seen = true;
            BOOST_TEST(!h.is_healthy);
            BOOST_TEST(h.last_error == "disk quota of the audit store");
        }
    }
    BOOST_TEST(file_seen);
    BOOST_TEST(user_seen);
    const std::string json = alog::to_json(s);
    BOOST_TEST(json_at(json, "/status") == "degraded", json);

    alog::shutdown();  // the backend publishes its last figures
    const std::string text = alog::metrics_text();
    BOOST_TEST(sample_value(text, "agora_log_handler_errors_total", "ThrowingHandler") >= 5.0, text.substr(0, 4000));
    BOOST_TEST(sample_value(text, "agora_log_file_write_failures_total", "not-a-directory") >= 5.0);
    BOOST_TEST(sample_value(text, "agora_log_entries_total", "logger=\"admin.failing\"") == 5.0);
}

BOOST_AUTO_TEST_CASE(a_put_without_a_body_changes_the_level) {
    // What `curl -X PUT URL` sends: no Content-Length, no body.
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(admin_config(dir));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(alog::admin_port());
    BOOST_TEST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const std::string request =
        "PUT /admin/logging/level?level=ERROR&logger_name=admin.nobody HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Connection: close\r\n\r\n";
    BOOST_TEST_REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    BOOST_TEST(reply.rfind("HTTP/1.1 200", 0) == 0u, reply);
    BOOST_TEST(reply.find("\"status\":\"updated\"") != std::string::npos, reply);
    BOOST_TEST((alog::get_level("admin.nobody") == Level::error));
}
