#pragma once
// Single-producer / single-consumer byte ring: the only structure the calling
// thread writes to on the hot path.
//
// Indices
//   write_index_, consumed_index_ and read_index_ are monotonically increasing byte counts
//   (never wrapped); the byte offset in storage_ is `index & mask_`.
//   Invariant: read_index_ <= write_index_ <= read_index_ + capacity_.
//   Empty (for the consumer): consumed_index_ == write_index_.
//   Full (for the producer): write_index_ - read_index_ == capacity_.
//
// Who writes what
//   producer cache line: write_index_ (published with release after the bytes
//     are written), cached_read_index_ (producer-private copy, refreshed only
//     when the cached free space is not enough), write_limit_ (producer-private:
//     how far write_index_ may go without looking at either), next_ (a larger ring the
//     producer moved to; set once, after the last commit to this ring).
//   consumer cache line: consumed_index_ (consumer-private: how far the
//     consumer has read; peek() and consume() move it), read_index_ (published
//     by release(), with release order, once the consumer no longer needs the
//     bytes before it: the producer may then overwrite them), cached_write_index_
//     (consumer-private copy).
//   Invariant: read_index_ <= consumed_index_ <= write_index_.
//
// Why two consumer indices: the backend releases a record's bytes only after
// the line it rendered from it has been handed to the OS, so until then the
// record is still in the ring, and a crash dump (which reads from read_index_)
// holds every record that is not yet in the log file.
//
// Records never wrap: if a record does not fit between the write position and
// the end of storage_, the producer writes and publishes a padding header
// (site_id == kPaddingSiteId) covering the tail and starts the record at offset 0. Every record size and
// every offset is a multiple of kRecordAlign, so a tail is either empty or at
// least 8 bytes: room for a padding marker, which is only the header's first
// two fields (size, site_id), since a tail can be smaller than a whole header.
//
//   storage_: [ rec | rec | rec | .... free .... | pad ]
//               ^read&mask         ^write&mask
//
// The ring and its storage are one allocation whose pages are written once at
// construction, so no page fault lands on a later hot-path call.

#include <agora/log/detail/export.hpp>
#include <agora/log/detail/record.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

AGORA_LOG_API_BEGIN

namespace agora::log::detail {

inline constexpr std::size_t kCacheLine = 64;

class SpscRing {
public:
    /// Creates a ring of `capacity` bytes (a power of two, at least 4 KiB).
    /// Returns nullptr when memory cannot be obtained. Any thread.
    static SpscRing* create(std::size_t capacity) noexcept;
    /// Frees a ring created by create(). Consumer thread, after the producer is done with it.
    static void destroy(SpscRing* ring) noexcept;
    /// Empties a ring created by create() for another producer (indices 0, no
    /// next ring; the storage keeps its pages, and stale bytes nobody reads).
    /// Only when neither a producer nor a consumer nor a dump can reach it.
    static SpscRing* recreate(SpscRing* ring) noexcept;

    std::size_t capacity() const noexcept { return capacity_; }

    // ---- producer side ----------------------------------------------------

    /// Returns a pointer to `n` contiguous writable bytes (n a multiple of
    /// kRecordAlign, n <= capacity), or nullptr when the ring has not enough
    /// free space now. The record is not visible to the consumer until
    /// commit(n); the padding of a skipped tail may be, even on nullptr.
    std::byte* try_reserve(std::size_t n) noexcept {
        std::uint64_t end;
        return try_reserve(n, end);
    }

    /// The same, and `end` = the write index just past the reservation, for
    /// commit_to(end): the caller keeps it in a register, where commit(n)
    /// would load write_index_ again (the record's stores may alias it).
    std::byte* try_reserve(std::size_t n, std::uint64_t& end) noexcept {
        const std::uint64_t w = write_index_.load(std::memory_order_relaxed);
        end = w + n;
        // One comparison while the record fits below write_limit_ (see there).
        if (end > write_limit_) [[unlikely]] {
            std::byte* p = reserve_refresh(n);
            end = write_index_.load(std::memory_order_relaxed) + n;  // past a padded tail
            return p;
        }
        return storage() + (static_cast<std::size_t>(w) & mask_);
    }

    /// Publishes the `n` bytes returned by the last try_reserve(n).
    void commit(std::size_t n) noexcept { commit_to(write_index_.load(std::memory_order_relaxed) + n); }

    /// Publishes the reservation try_reserve(n, end) returned.
    void commit_to(std::uint64_t end) noexcept {
        // release: the record bytes are visible before the consumer sees the new index.
        write_index_.store(end, std::memory_order_release);
    }

    /// Producer moved to `next`; it will never write to this ring again. The
    /// consumer drains this ring, then follows next().
    void set_next(SpscRing* next) noexcept { next_.store(next, std::memory_order_release); }

    // ---- consumer side ----------------------------------------------------

    /// The next committed record after consumed_index_, or nullptr if there is
    /// none. Padding is skipped (consumed). The pointer stays valid until
    /// release(). Consumer thread only.
    const std::byte* peek() noexcept {
        for (;;) {
            const std::uint64_t r = consumed_index_;
            if (r == cached_write_index_) {
                cached_write_index_ = write_index_.load(std::memory_order_acquire);
                if (r == cached_write_index_) return nullptr;
            }
            const std::byte* p = storage() + (static_cast<std::size_t>(r) & mask_);
            // Size and site_id only: a padding tail may be smaller than a header.
            std::uint32_t marker[2];
            std::memcpy(marker, p, sizeof marker);
            if (marker[1] == kPaddingSiteId) {
                consumed_index_ = r + marker[0];
                continue;
            }
            return p;
        }
    }

    /// Moves past the record returned by peek() (`size` = its header's size).
    /// Its bytes stay reserved until release(). Consumer thread only.
    void consume(std::size_t size) noexcept { consumed_index_ += size; }

    /// Gives everything consumed so far back to the producer. Consumer thread
    /// only; stores only when there is something new (the producer reads the
    /// line this index is on).
    void release() noexcept {
        // release: our reads of the records happen before the producer reuses the bytes.
        if (read_index_.load(std::memory_order_relaxed) != consumed_index_)
            read_index_.store(consumed_index_, std::memory_order_release);
    }

    /// consume() and release() at once (tests and benchmarks).
    void pop(std::size_t size) noexcept {
        consume(size);
        release();
    }

    /// Bytes consumed and not yet released. Consumer thread only.
    std::uint64_t held_bytes() const noexcept { return consumed_index_ - read_index_.load(std::memory_order_relaxed); }

    /// The ring the producer moved to, or nullptr. acquire pairs with set_next().
    SpscRing* next() const noexcept { return next_.load(std::memory_order_acquire); }

    /// Bytes committed and not yet released (any thread; a snapshot), from 0
    /// to capacity().
    ///
    /// read_index_ is loaded first, with acquire: the consumer stored that
    /// value after loading a write_index_ at least as large, so our later load
    /// of write_index_ (read-read coherence; the index only grows) is at least
    /// as large too: the difference cannot go below 0. Loaded in the other
    /// order, the consumer could move read_index_ past the write value already
    /// taken. The stale read value can make the difference exceed capacity()
    /// (the consumer released and the producer wrote more between the two
    /// loads): it is capped there.
    std::uint64_t unread_bytes() const noexcept {
        const std::uint64_t r = read_index_.load(std::memory_order_acquire);
        const std::uint64_t w = write_index_.load(std::memory_order_acquire);
        const std::uint64_t n = w - r;
        return n < capacity_ ? n : capacity_;
    }

    /// Drops everything committed (consumer side, or a single-threaded child after fork()).
    void discard_all() noexcept {
        std::uint64_t w = write_index_.load(std::memory_order_acquire);
        cached_write_index_ = w;
        consumed_index_ = w;
        read_index_.store(w, std::memory_order_release);
    }

    // Read-only views for crash dumps and tools.
    std::uint64_t write_index() const noexcept { return write_index_.load(std::memory_order_acquire); }
    std::uint64_t read_index() const noexcept { return read_index_.load(std::memory_order_acquire); }
    const std::byte* data() const noexcept { return storage(); }

private:
    explicit SpscRing(std::size_t capacity) noexcept : capacity_(capacity), mask_(capacity - 1) {}

    std::byte* storage() noexcept { return reinterpret_cast<std::byte*>(this) + kStorageOffset; }
    const std::byte* storage() const noexcept {
        return reinterpret_cast<const std::byte*>(this) + kStorageOffset;
    }

    /// try_reserve() past write_limit_: pads the tail when the record does not
    /// fit before the end of storage_, refreshes cached_read_index_ when the
    /// cached free space is not enough, and moves write_limit_.
    [[gnu::noinline]] std::byte* reserve_refresh(std::size_t n) noexcept {
        std::uint64_t w = write_index_.load(std::memory_order_relaxed);
        std::size_t off = static_cast<std::size_t>(w) & mask_;
        const std::size_t tail = capacity_ - off;
        if (n > tail) {
            if (n > capacity_) return nullptr;  // never fits: keep the tail
            // Pad the tail as soon as the padding itself fits, even if the
            // record does not fit yet: counted together with the tail, a record
            // of more than capacity - tail bytes would never fit, even once the
            // consumer has emptied the ring.
            if (w + tail - cached_read_index_ > capacity_) {
                cached_read_index_ = read_index_.load(std::memory_order_acquire);
                if (w + tail - cached_read_index_ > capacity_) return nullptr;
            }
            write_padding(off, tail);
            // Publishing the padding alone is a valid state: the consumer skips it.
            w += tail;
            write_index_.store(w, std::memory_order_release);
            off = 0;
        }
        if (w + n - cached_read_index_ > capacity_) {
            // acquire: the consumer's reads of those bytes happen before our overwrite.
            cached_read_index_ = read_index_.load(std::memory_order_acquire);
            if (w + n - cached_read_index_ > capacity_) return nullptr;
        }
        const std::uint64_t lap_end = w - off + capacity_;
        const std::uint64_t free_end = cached_read_index_ + capacity_;
        write_limit_ = lap_end < free_end ? lap_end : free_end;
        return storage() + off;
    }

    /// Writes the padding marker: the size and site_id fields of a header, no
    /// more (the tail may be as small as kRecordAlign bytes).
    void write_padding(std::size_t off, std::size_t tail) noexcept {
        static_assert(offsetof(RecordHeader, size) == 0 && offsetof(RecordHeader, site_id) == 4 &&
                      kRecordAlign >= 2 * sizeof(std::uint32_t));
        const std::uint32_t marker[2] = {static_cast<std::uint32_t>(tail), kPaddingSiteId};
        std::memcpy(storage() + off, marker, sizeof marker);
    }

public:
    /// Identifies a ring in memory (crash dumps, core files).
    static constexpr std::uint64_t kMagic = 0x474e495247524741ull;  // "AGRGRING"

private:
    // Immutable after construction (read by both sides).
    alignas(kCacheLine) const std::uint64_t magic_ = kMagic;
    const std::size_t capacity_;
    const std::size_t mask_;

    // Producer cache line.
    alignas(kCacheLine) std::atomic<std::uint64_t> write_index_{0};
    std::uint64_t cached_read_index_ = 0;
    /// Producer-private: write_index_ may grow up to here without a check:
    /// min(cached_read_index_ + capacity_, the end of storage_ in the current
    /// lap). 0 until the first reservation; only ever too low, never too high
    /// (read_index_ only grows), so a stale value costs a refresh, not a record.
    std::uint64_t write_limit_ = 0;
    std::atomic<SpscRing*> next_{nullptr};

    // Consumer cache line.
    alignas(kCacheLine) std::atomic<std::uint64_t> read_index_{0};
    std::uint64_t cached_write_index_ = 0;
    std::uint64_t consumed_index_ = 0;

public:
    static constexpr std::size_t kStorageOffset = 4 * kCacheLine;
};

}  // namespace agora::log::detail

AGORA_LOG_API_END
