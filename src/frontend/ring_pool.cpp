#include "frontend/ring_pool.hpp"

#include <array>
#include <atomic>

namespace agora::log::detail {

namespace {

struct RingPool {
    /// [0, target): filled by creating rings; [0, 2 x target): also by keeping exited threads' rings.
    std::array<std::atomic<SpscRing*>, 2 * kMaxSpareRings> slots{};
    /// Written by configure_ring_pool() only (no backend runs then); read relaxed elsewhere.
    std::atomic<std::size_t> capacity{0};
    std::atomic<std::size_t> target{0};
    std::atomic<std::uint64_t> taken{0};
    std::atomic<std::uint64_t> missed{0};
    std::atomic<std::uint64_t> created{0};
    std::atomic<std::uint64_t> returned{0};
};

RingPool& pool() noexcept {
    static RingPool* p = new RingPool();  // never destroyed: threads may start logging during exit
    return *p;
}

/// Filler (configure or backend): puts `ring` in an empty slot below
/// `limit`; false if there is none.
bool put(RingPool& p, SpscRing* ring, std::size_t limit) noexcept {
    for (std::size_t i = 0; i < limit; ++i) {
        SpscRing* expected = nullptr;
        // release: the ring's bytes and indices are written before a taker sees it.
        if (p.slots[i].load(std::memory_order_relaxed) == nullptr &&
            p.slots[i].compare_exchange_strong(expected, ring, std::memory_order_release, std::memory_order_relaxed))
            return true;
    }
    return false;
}

/// Spares in [0, 2 x target), the only slots filled (configure empties the
/// others). The backend calls this every pass: a few loads.
std::size_t count_ready(RingPool& p) noexcept {
    std::size_t n = 0;
    const std::size_t limit = 2 * p.target.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < limit; ++i)
        if (p.slots[i].load(std::memory_order_relaxed) != nullptr) ++n;
    return n;
}

}  // namespace

std::size_t configure_ring_pool(std::size_t capacity, std::size_t target) noexcept {
    RingPool& p = pool();
    if (target > kMaxSpareRings) target = kMaxSpareRings;
    if (capacity == 0 || target > kMaxSpareBytes / capacity) target = capacity == 0 ? 0 : kMaxSpareBytes / capacity;
    p.capacity.store(capacity, std::memory_order_relaxed);
    p.target.store(target, std::memory_order_relaxed);
    // Spares of another size, or beyond the target, go. A taker may empty a
    // slot meanwhile: exchange gives each ring to exactly one side.
    for (std::size_t i = 0; i < p.slots.size(); ++i) {
        SpscRing* r = p.slots[i].load(std::memory_order_relaxed);
        if (r == nullptr) continue;
        if (i < 2 * target && r->capacity() == capacity) continue;
        if ((r = p.slots[i].exchange(nullptr, std::memory_order_acquire)) != nullptr) SpscRing::destroy(r);
    }
    while (count_ready(p) < target) {
        SpscRing* ring = SpscRing::create(capacity);
        if (ring == nullptr) break;  // no memory: threads create their rings themselves
        p.created.fetch_add(1, std::memory_order_relaxed);
        if (!put(p, ring, target)) {
            SpscRing::destroy(ring);
            break;
        }
    }
    return count_ready(p);
}

SpscRing* take_spare_ring(std::size_t capacity) noexcept {
    RingPool& p = pool();
    const std::size_t limit = 2 * p.target.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < limit; ++i) {
        if (p.slots[i].load(std::memory_order_relaxed) == nullptr) continue;
        // acquire: pairs with the filler's release, so the ring's pages and indices are seen written.
        SpscRing* r = p.slots[i].exchange(nullptr, std::memory_order_acquire);
        if (r == nullptr) continue;
        if (r->capacity() != capacity) {
            SpscRing::destroy(r);  // left from before a configure that changed the size
            continue;
        }
        p.taken.fetch_add(1, std::memory_order_relaxed);
        return r;
    }
    p.missed.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
}

bool refill_ring_pool() noexcept {
    RingPool& p = pool();
    const std::size_t target = p.target.load(std::memory_order_relaxed);
    if (target == 0 || count_ready(p) >= target) return false;
    SpscRing* ring = SpscRing::create(p.capacity.load(std::memory_order_relaxed));
    if (ring == nullptr) return false;
    p.created.fetch_add(1, std::memory_order_relaxed);
    if (put(p, ring, target)) return true;
    SpscRing::destroy(ring);
    return false;
}

bool return_spare_ring(SpscRing* ring) noexcept {
    RingPool& p = pool();
    if (ring == nullptr || ring->capacity() != p.capacity.load(std::memory_order_relaxed)) return false;
    const std::size_t limit = 2 * p.target.load(std::memory_order_relaxed);
    if (limit == 0 || count_ready(p) >= limit) return false;
    ring = SpscRing::recreate(ring);
    if (!put(p, ring, limit)) return false;
    p.returned.fetch_add(1, std::memory_order_relaxed);
    return true;
}

RingPoolStats ring_pool_stats() noexcept {
    RingPool& p = pool();
    return RingPoolStats{p.taken.load(std::memory_order_relaxed),   p.missed.load(std::memory_order_relaxed),
                         p.created.load(std::memory_order_relaxed), p.returned.load(std::memory_order_relaxed),
                         count_ready(p),                             p.target.load(std::memory_order_relaxed)};
}

}  // namespace agora::log::detail
