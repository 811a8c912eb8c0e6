#pragma once
// The process-wide lifecycle state behind initialize(), flush(), shutdown(),
// fork() support and get_health_status() (src/lifecycle/).

#include "backend/backend.hpp"
#include "format/render.hpp"
#include "lifecycle/admin_server.hpp"

#include <agora/log/config.hpp>
#include <agora/log/handlers/handler.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace agora::log::detail {

/// Lifecycle state. `mutex` serialises initialize/shutdown/fork;
/// `backend` is read by flush() under it too (flush is not on the hot path).
struct Lifecycle {
    std::mutex mutex;
    Backend* backend = nullptr;
    Config config;
    EntryIdentity identity;  // of `config`
    std::vector<std::shared_ptr<Handler>> extra_handlers;
    bool atexit_registered = false;
    bool atfork_registered = false;
    /// The admin endpoint, or null. Guarded by admin_mutex, not `mutex`:
    /// shutdown() stops it (waiting for a request in flight, which may take
    /// `mutex` in get_health_status()) before it takes `mutex`.
    std::mutex admin_mutex;
    std::unique_ptr<AdminServer> admin;
};

/// The one Lifecycle. Never destroyed: threads may log during exit.
Lifecycle& lifecycle() noexcept;

}  // namespace agora::log::detail
