#pragma once
// Public API: the logger's own metrics (Prometheus) and health status
// (docs/operations.md). Kept apart from <agora/log/logger.hpp>: code that only
// logs does not compile it. prometheus-cpp's headers are not needed to call
// these; an application that registers the registry with its own
// prometheus::Exposer includes <prometheus/registry.h> itself.

#include <agora/log/detail/export.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

AGORA_LOG_API_BEGIN

namespace agora::log {

/// The registry holding the logger's metrics (prometheus-cpp core), the same
/// for the whole process and every initialize(): counters never go back.
/// Families (labels): agora_log_entries_total{service,level,logger},
/// agora_log_entry_duration_seconds{handler} (the seed's buckets, 10 us to
/// 50 ms), agora_log_queue_size{service} (bytes waiting in the rings),
/// agora_log_queue_dropped_total{service},
/// agora_log_file_rotations_total{service,file_path},
/// agora_log_file_size_bytes{service,file_path},
/// agora_log_sampled_out_total{service,logger},
/// agora_log_rate_limited_total{service,logger},
/// agora_log_redactions_total{service},
/// agora_log_handler_errors_total{service,handler},
/// agora_log_file_write_failures_total{service,file_path},
/// agora_log_crash_dumps_total{service}.
/// Updated by the backend thread; the calling threads never touch them.
/// An application with its own exposer: exposer.RegisterCollectable(agora::log::metrics_registry()).
std::shared_ptr<prometheus::Registry> metrics_registry();

/// The metrics in Prometheus' text exposition format (what the admin
/// endpoint's GET /metrics serves). Any thread.
std::string metrics_text();

/// One handler as get_health_status() reports it.
struct HandlerHealth {
    std::string type;        ///< "console", "file", "binary_file", or a user handler's type name
    bool is_healthy = true;  ///< false while its last write failed
    std::string last_error;  ///< empty when healthy
};

/// The seed's health status: handlers, queue and totals.
struct HealthStatus {
    bool is_healthy = false;  ///< running, the backend answered, and every handler healthy
    bool running = false;     ///< a backend runs (initialize() and no shutdown() since)
    std::vector<HandlerHealth> handlers;
    std::uint64_t queue_size = 0;      ///< bytes waiting in the threads' rings
    std::uint64_t queue_capacity = 0;  ///< bytes of ring space of the threads that log
    std::uint64_t dropped_total = 0;   ///< records dropped since the process started
    std::uint64_t entries_total = 0;   ///< records written since the process started
    std::uint64_t errors_total = 0;    ///< handler write errors since the process started
};

/// Asks the backend for its state and waits for the answer (at most about a
/// second: a backend stuck in a handler is reported as not healthy).
/// Not from a handler (returns the state without the backend's part). Any other thread.
HealthStatus get_health_status();

/// The port the admin endpoint (Config::admin) listens on, or 0 when it does
/// not run. Any thread.
int admin_port() noexcept;

/// The seed's JSON reply of GET /health/logging:
/// {"status":"healthy"|"degraded","handlers":[{"type","status":"ok"|"error","error"}],
///  "queue":{"size","capacity","dropped_total"},"metrics":{"entries_total","errors_total"}}.
std::string to_json(const HealthStatus& status);

}  // namespace agora::log

AGORA_LOG_API_END
