#pragma once
// The optional admin HTTP endpoint (Config::admin, docs/operations.md), on
// cpp-httplib: GET /metrics, GET /health/logging, GET and PUT
// /admin/logging/level. It runs its own thread and uses the public API only
// (metrics_text(), get_health_status(), the level functions), so a request
// costs the calling threads nothing.

#include <agora/log/config.hpp>
#include <agora/log/error.hpp>

#include <memory>

namespace agora::log::detail {

class AdminServer {
public:
    /// Binds to config.bind_address:config.port (0: a port the OS picks) and
    /// starts serving; an Error (io_error) naming the address if it cannot bind.
    static Expected<std::unique_ptr<AdminServer>> start(const AdminConfig& config);
    /// Stops serving and joins the thread (waits for a request being served).
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    /// The port it listens on.
    int port() const noexcept;

    struct Impl;

private:
    explicit AdminServer(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace agora::log::detail
