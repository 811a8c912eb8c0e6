#pragma once
// Spare rings for threads' first records (Config::queue_spare_rings).
//
// A new ring is fresh memory: its first-touch page faults (256 for 1 MiB)
// would land on the thread's first record. The pool keeps up to `target`
// rings whose pages are already written, so a new thread takes one with a
// few atomic operations: no allocation, no page fault, no system call.
//
// Who does what
//   configure_ring_pool(): initialize(), while no backend runs (the lifecycle
//     mutex serialises it with the backend's start and stop): sets the ring
//     capacity and the target, frees spare rings of another capacity or
//     beyond the target, and fills the pool up to the target on the calling thread.
//   take_spare_ring(): any thread (a thread's first record, preallocate()).
//   refill_ring_pool(), return_spare_ring(): the backend thread only.
//   So slots are emptied by any thread (exchange) but filled only by the
//   initialize() thread or the backend, never both at once (a fill still
//   compare-exchanges from null, so a slot holds one ring and a ring one slot).
//
// A ring in a slot is reachable from nothing else: no queue, no crash dump,
// no retirement mark. Its indices are zero and it has no next ring; its
// storage may hold bytes of an exited thread's records, never read (the
// consumer reads only between the indices). The slot's release store of the
// ring pairs with the taker's acquire exchange.
//
// How many: rings are created (initialize(), backend) while fewer than
// `target` are ready; rings of exited threads are kept while fewer than
// 2 x target are, so threads that come and go reuse rings instead of the
// backend creating one for each new thread and freeing one for each exited.
//
// Memory: target x capacity bytes (Config::queue_spare_rings x the ring
// size; the target is lowered so that this stays within kMaxSpareBytes), up
// to twice that while exited threads' rings are kept, never more; kept
// across shutdown() for the next initialize().
// After fork() the child keeps its copy of the spare rings (copy-on-write
// until one of the processes writes them).

#include <agora/log/detail/spsc_ring.hpp>

#include <cstddef>
#include <cstdint>

namespace agora::log::detail {

/// Most spare rings Config::queue_spare_rings accepts.
inline constexpr std::size_t kMaxSpareRings = 64;
/// Most bytes the spare rings take in all: the target is lowered to fit.
inline constexpr std::size_t kMaxSpareBytes = std::size_t{64} << 20;

/// initialize(), while no backend runs: rings of `capacity` bytes from now
/// on, `target` of them kept ready (fewer if they would take more than
/// kMaxSpareBytes); filled now. Returns how many are ready.
std::size_t configure_ring_pool(std::size_t capacity, std::size_t target) noexcept;

/// A spare ring of `capacity` bytes, empty, or nullptr if none is ready.
/// Any thread; lock-free, no allocation and no system call (unless it
/// meets a ring of another capacity left by a concurrent configure, which it frees).
SpscRing* take_spare_ring(std::size_t capacity) noexcept;

/// Backend thread: if the pool is short of its target, creates one ring
/// (writing each of its pages) and adds it. Returns true if it added one.
bool refill_ring_pool() noexcept;

/// Backend thread, for a ring that no producer, queue or dump can reach any
/// more: keeps it as a spare (emptied) if it has the pool's capacity and
/// fewer than 2 x target are ready; returns false otherwise (the caller frees it).
bool return_spare_ring(SpscRing* ring) noexcept;

/// Counters since the process started (tests and benchmarks).
struct RingPoolStats {
    std::uint64_t taken;     ///< rings new threads took from the pool
    std::uint64_t missed;    ///< new threads that found no spare ring of their capacity
    std::uint64_t created;   ///< spare rings created (initialize() and the backend)
    std::uint64_t returned;  ///< rings of exited threads kept as spares
    std::size_t ready;       ///< spare rings in the pool now
    std::size_t target;      ///< Config::queue_spare_rings of the last initialize()
};
RingPoolStats ring_pool_stats() noexcept;

}  // namespace agora::log::detail
