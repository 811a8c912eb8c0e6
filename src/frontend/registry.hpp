#pragma once
// Process-wide registries shared by calling threads (which append) and the
// backend (which reads): call sites, loggers and per-thread queues.

#include "format/call_site.hpp"
#include "format/context_snapshot.hpp"

#include <agora/log/detail/frontend.hpp>
#include <agora/log/detail/record.hpp>
#include <agora/log/detail/spsc_ring.hpp>
#include <agora/log/level.hpp>
#include <agora/log/logger.hpp>

#include <concurrentqueue/concurrentqueue.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace agora::log::detail {

/// Append-only table with lock-free reads by id (ids start at 1).
/// Appends are serialised by the owner's mutex. An entry is complete (its id
/// included) before the count that publishes it is stored with release: a
/// reader that sees the count (acquire, in get() and size()), or holds an id
/// obtained through a release/acquire chain from the append, sees the whole
/// entry, and nobody writes it afterwards.
template <class T>
class ChunkedTable {
public:
    static constexpr std::size_t kChunkBits = 10;
    static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
    static constexpr std::size_t kMaxChunks = 4096;  // 4M entries

    ChunkedTable() { chunks_[0].store(new T[kChunkSize], std::memory_order_relaxed); }

    /// Appends `make(id)` under the caller's lock and returns the new id, or 0
    /// when the table is full (then `make` is not called). `make` learns the
    /// id before the entry is published, so it can store it in the entry.
    template <class Make>
    std::uint32_t append_locked(Make&& make) {
        std::uint32_t id = size_ + 1;
        std::size_t index = id - 1;
        std::size_t c = index >> kChunkBits;
        if (c >= kMaxChunks) return 0;
        T* chunk = chunks_[c].load(std::memory_order_relaxed);
        if (chunk == nullptr) {
            chunk = new (std::nothrow) T[kChunkSize];
            if (chunk == nullptr) return 0;
            chunks_[c].store(chunk, std::memory_order_release);
        }
        chunk[index & (kChunkSize - 1)] = make(id);
        size_ = id;
        count_.store(id, std::memory_order_release);
        return id;
    }

    /// Entry `id`, or nullptr if there is none. Any thread.
    const T* get(std::uint32_t id) const noexcept {
        if (id == 0 || id > count_.load(std::memory_order_acquire)) return nullptr;
        std::size_t index = id - 1;
        T* chunk = chunks_[index >> kChunkBits].load(std::memory_order_acquire);
        return chunk ? &chunk[index & (kChunkSize - 1)] : nullptr;
    }

    std::uint32_t size() const noexcept { return count_.load(std::memory_order_acquire); }

private:
    std::array<std::atomic<T*>, kMaxChunks> chunks_{};
    std::uint32_t size_ = 0;  // guarded by the owner's mutex
    std::atomic<std::uint32_t> count_{0};
};

/// A calling thread's registration with the backend. Created by the thread's
/// first record. Once the thread has exited and its rings are drained, the
/// backend frees the rings (see Registry::dump_readers) and parks the queue
/// on Registry::free_queues for the next new thread: queues are never freed,
/// so the crash path can walk Registry::all_queues at any moment.
struct ThreadQueue {
    /// Backend only: the ring being read (follows SpscRing::next()).
    SpscRing* ring = nullptr;
    /// `ring` as the crash path sees it (null: no rings, or a parent's after
    /// fork()). Written (release) by the creating thread and the backend
    /// before a ring is freed; read (acquire) by dumps.
    std::atomic<SpscRing*> live_ring{nullptr};
    /// Next in Registry::all_queues; set once, before the queue is published.
    ThreadQueue* next_all = nullptr;
    /// Set once (release) when the producer thread ends (its pthread key
    /// destructor, which glibc runs after the thread's C++ thread_local
    /// destructors; src/frontend/frontend.cpp); the producer writes nothing after it.
    std::atomic<bool> producer_done{false};
    /// Records this thread dropped. Producer: relaxed increments; backend: reads.
    std::atomic<std::uint64_t> dropped{0};
    /// Backend only: how many of `dropped` were reported.
    std::uint64_t dropped_reported = 0;
    /// Written by the thread that (re)uses the queue; read by dumps.
    std::atomic<std::uint64_t> os_thread_id{0};
    /// The producer's context while its thread lives (null once retired).
    /// Guarded by Registry::mutex; what invalidate_site_caches_locked() walks.
    ThreadContext* context = nullptr;
};

/// Where a snapshot goes when its last reference is dropped.
struct RetiredSnapshot {
    ContextSnapshot* snapshot;
    /// The only queue whose records may refer to it (a ScopedContext's
    /// thread), or null: any queue may.
    ThreadQueue* queue;
};

/// Hands `snapshot` to the backend for freeing (see the lifetime rule above).
void retire_snapshot(ContextSnapshot* snapshot, ThreadQueue* only_queue) noexcept;

/// A retired snapshot waiting for the backend to pass, in each queue, the
/// write position observed when it was retired. Backend only.
struct PendingRetirement {
    struct Mark {
        ThreadQueue* queue;
        SpscRing* ring;             // the ring the producer was writing then
        std::uint64_t write_index;  // and its write index then
    };
    ContextSnapshot* snapshot;
    std::vector<Mark> marks;  // queues still to pass their mark
};

inline constexpr std::int64_t kNoLevelDeadline = INT64_MAX;

/// A runtime level set by set_level() for one name (or the root, "").
struct LevelOverride {
    std::uint8_t level;
    /// For a timed override: what the name reverts to at the deadline, i.e.
    /// the permanent override it replaced (has_base) or none (the entry is
    /// erased and the configured/hierarchical level applies again).
    bool has_base = false;
    std::uint8_t base = 0;
    /// level_clock_now_ns() value at which it reverts; kNoLevelDeadline: permanent.
    std::int64_t deadline_ns = kNoLevelDeadline;
};

struct SiteKeyLess {
    bool operator()(const SiteKey& a, const SiteKey& b) const noexcept {
        return std::tie(a.location, a.format, a.types) < std::tie(b.location, b.format, b.types);
    }
};

/// Everything process-wide. Never destroyed (threads may log during exit).
struct Registry {
    std::mutex mutex;  // guards the maps and appends below

    ChunkedTable<CallSite> sites;
    std::map<SiteKey, std::uint32_t, SiteKeyLess> site_ids;

    ChunkedTable<LoggerState*> loggers;
    /// Ordered, so the loggers at and below a name ("a", "a.b", ...) are one
    /// range and set_level() for a name stores only those levels.
    std::map<std::string, LoggerState*, std::less<>> logger_by_name;

    /// Every queue ever created, newest first (a lock-free list for the crash
    /// path; pushes are serialised by `mutex`). Queues of exited threads are
    /// on `free_queues` (guarded by `mutex`) with a null live_ring.
    std::atomic<ThreadQueue*> all_queues{nullptr};
    std::vector<ThreadQueue*> free_queues;

    /// The backend's current tick length in ns (0 before the first backend):
    /// what a crash dump's clock anchor uses.
    std::atomic<double> ns_per_tick{0.0};

    /// New threads announce their queue here; the backend takes them.
    /// Replaced (old one leaked) in a forked child.
    std::atomic<moodycamel::ConcurrentQueue<ThreadQueue*>*> new_queues{
        new moodycamel::ConcurrentQueue<ThreadQueue*>()};

    /// Context snapshots whose last owner is gone; the backend frees them
    /// (context_snapshot.hpp). Replaced (old one leaked) in a forked child.
    std::atomic<moodycamel::ConcurrentQueue<RetiredSnapshot>*> retired{
        new moodycamel::ConcurrentQueue<RetiredSnapshot>()};

    /// Retired snapshots the backend has not yet freed. Only the running
    /// backend touches it; a stopped backend leaves it to the next one.
    std::vector<PendingRetirement> pending_retired;

    // Queue settings for rings created from now on (written by initialize()).
    std::atomic<std::size_t> queue_capacity{1u << 20};
    std::atomic<std::size_t> queue_max_capacity{64u << 20};
    std::atomic<int> queue_policy{2};  // QueueFullPolicy
    /// True while a backend consumes the rings (the block policy gives up otherwise).
    std::atomic<bool> backend_running{false};

    /// The configured root level: Config::level of the last initialize()
    /// (what a logger has when neither a runtime override nor
    /// Config::logger_levels names it or an ancestor). Written under `mutex`.
    std::atomic<std::uint8_t> default_level{static_cast<std::uint8_t>(Level::info)};

    // Runtime levels (src/frontend/levels.cpp). The maps are guarded by
    // `mutex`; every LoggerState's levels are recomputed under it whenever
    // one of them changes, so the calling thread only ever loads its byte.
    /// Config::logger_levels of the last initialize(): name -> level.
    std::map<std::string, std::uint8_t, std::less<>> configured_levels;
    /// set_level() overrides by exact name; "" is the root (set_level(Level)).
    std::map<std::string, LevelOverride, std::less<>> level_overrides;
    /// Earliest LevelOverride::deadline_ns (kNoLevelDeadline if none). Written
    /// under `mutex`, read relaxed by the backend each pass: a stale value
    /// only delays a revert by one pass or causes one needless locked check.
    std::atomic<std::int64_t> next_level_deadline{kNoLevelDeadline};
    /// False until the first initialize() starts a backend. Until then
    /// loggers keep their effective level (not kLevelOff), so a record that
    /// passes it reaches create_thread_context(), which refuses to create a
    /// ring and the record is counted in dropped_before_initialize. Release
    /// store under `mutex`; acquire loads on the slow paths.
    std::atomic<bool> initialized_once{false};
    /// Records discarded because initialize() had not been called yet.
    std::atomic<std::uint64_t> dropped_before_initialize{0};
    /// Records the backends have handed to the handlers (statistics only).
    /// Added per batch by the backend (Backend::publish_counts).
    std::atomic<std::uint64_t> records_written{0};
    /// Drops the backend has reported so far (all threads).
    std::atomic<std::uint64_t> dropped_total{0};

    /// Records lost outside any queue (no memory for a thread's ring).
    std::atomic<std::uint64_t> lost_records{0};

    /// Dumps walking the rings now (DumpReadGuard). A dump may run while the
    /// backend still reads (dump_now() when the backend did not pause, a
    /// crash with a stuck backend), so the backend frees a ring only after
    /// unlinking it, and a context snapshot only after releasing the ring
    /// bytes of every record that refers to it, and then only if
    /// dump_reading() is false; otherwise it tries again later. Each side
    /// puts a seq_cst fence between its store (the unlink or release; the
    /// count) and its load (the count; live_ring or the read index), so at
    /// least one of them sees the other: the backend waits, or the dump
    /// does not reach what is freed.
    std::atomic<std::uint32_t> dump_readers{0};

    static Registry& instance() noexcept;
};

/// Counts a dump in Registry::dump_readers for its lifetime. Async-signal-safe.
class DumpReadGuard {
public:
    DumpReadGuard() noexcept {
        Registry::instance().dump_readers.fetch_add(1, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    ~DumpReadGuard() { Registry::instance().dump_readers.fetch_sub(1, std::memory_order_release); }
    DumpReadGuard(const DumpReadGuard&) = delete;
    DumpReadGuard& operator=(const DumpReadGuard&) = delete;
};

/// Backend, after unlinking a ring or releasing ring bytes: true while a dump
/// may still read what was unlinked or released (see Registry::dump_readers).
inline bool dump_reading() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return Registry::instance().dump_readers.load(std::memory_order_relaxed) != 0;
}

/// True once this thread's context has been retired at its end (the thread
/// may still run destructors, and even log, which makes a new context).
/// Written by the retiring thread only; read by ScopedContext on it.
inline thread_local bool t_context_retired = false;

/// Test hook: queues in use, i.e. on Registry::all_queues and not parked on
/// Registry::free_queues: one per thread with a context, plus those of
/// exited threads the backend has not yet reclaimed.
std::size_t active_thread_queues() noexcept;

/// Backend: unlinks a drained queue's ring from the crash path (live_ring),
/// parks the queue on Registry::free_queues (queues are never freed; see
/// ThreadQueue) and returns the ring, which the caller frees once no dump
/// reads it.
SpscRing* recycle_thread_queue(ThreadQueue* q) noexcept;

/// Makes every live thread's SiteCache miss on its next lookup, so each call
/// site is cached or decided again (under the sampling plan installed
/// before). Caller holds reg.mutex.
void invalidate_site_caches_locked(Registry& reg) noexcept;

/// Rounds up to a power of two, at least `min`.
std::size_t ring_capacity_for(std::size_t bytes, std::size_t min = 4096) noexcept;

}  // namespace agora::log::detail
