// get_health_status() and its JSON form (<agora/log/metrics.hpp>).

#include "backend/backend.hpp"
#include "format/format.hpp"
#include "lifecycle/lifecycle_state.hpp"

#include <agora/log/lifecycle.hpp>
#include <agora/log/metrics.hpp>

#include <fmt/format.h>

namespace agora::log {

namespace {
/// How long get_health_status() waits for the backend's answer.
constexpr std::chrono::milliseconds kHealthTimeout{1000};
}  // namespace

HealthStatus get_health_status() {
    HealthStatus status;
    const Stats totals = stats();
    status.entries_total = totals.records_written;
    status.dropped_total = totals.records_dropped;
    if (detail::Backend::on_a_backend_thread()) return status;  // a handler asking: no backend answer (it is us)
    detail::Lifecycle& l = detail::lifecycle();
    std::lock_guard lock(l.mutex);
    if (l.backend == nullptr) return status;
    status.running = true;
    const detail::BackendHealth backend = l.backend->health(kHealthTimeout);
    status.handlers = backend.handlers;
    status.queue_size = backend.queue_bytes;
    status.queue_capacity = backend.queue_capacity;
    status.errors_total = backend.errors_total;
    bool handlers_ok = backend.answered;
    for (const auto& h : status.handlers) handlers_ok = handlers_ok && h.is_healthy;
    if (!backend.answered)
        status.handlers.push_back(HandlerHealth{"backend", false, "the backend did not answer within 1 s"});
    status.is_healthy = handlers_ok;
    return status;
}

std::string to_json(const HealthStatus& s) {
    std::string out = fmt::format("{{\"status\":\"{}\",\"running\":{},\"handlers\":[", s.is_healthy ? "healthy" : "degraded",
                                  s.running ? "true" : "false");
    for (std::size_t i = 0; i < s.handlers.size(); ++i) {
        const HandlerHealth& h = s.handlers[i];
        if (i > 0) out += ',';
        out += "{\"type\":";
        detail::append_json_string(out, h.type);
        out += h.is_healthy ? ",\"status\":\"ok\",\"error\":" : ",\"status\":\"error\",\"error\":";
        if (h.last_error.empty()) out += "null";
        else detail::append_json_string(out, h.last_error);
        out += '}';
    }
    fmt::format_to(std::back_inserter(out),
                   "],\"queue\":{{\"size\":{},\"capacity\":{},\"dropped_total\":{}}},"
                   "\"metrics\":{{\"entries_total\":{},\"errors_total\":{}}}}}",
                   s.queue_size, s.queue_capacity, s.dropped_total, s.entries_total, s.errors_total);
    return out;
}

}  // namespace agora::log
