#pragma once
// Records that a handler could not write, process-wide: the file sinks count
// the lines they lose (file failures, a removed file, losses at close), the
// backend the records a handler threw on. Read by stats()
// (Stats::records_lost_by_handlers). Any thread.

#include <atomic>
#include <cstdint>

namespace agora::log::detail {

inline std::atomic<std::uint64_t> g_records_lost_by_handlers{0};

inline void count_lost_by_handlers(std::uint64_t n) noexcept {
    g_records_lost_by_handlers.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace agora::log::detail
