// SpscRing (include/agora/log/detail/spsc_ring.hpp): empty/full, padding at
// the wrap-around for every tail size, and a producer/consumer pair that
// pass a million variable-size records, both sides driven by the same PRNG
// seed so the consumer knows what each record must contain.

#define BOOST_TEST_MODULE spsc_ring
#include "common.hpp"

#include <agora/log/detail/spsc_ring.hpp>

#include <cstring>
#include <random>
#include <thread>

using agora::log::detail::align_record;
using agora::log::detail::RecordHeader;
using agora::log::detail::SpscRing;

namespace {

struct RingDeleter {
    void operator()(SpscRing* r) const noexcept { SpscRing::destroy(r); }
};
using RingPtr = std::unique_ptr<SpscRing, RingDeleter>;

RingPtr make_ring(std::size_t capacity) {
    RingPtr r(SpscRing::create(capacity));
    BOOST_REQUIRE(r != nullptr);
    return r;
}

/// Writes a record of `size` bytes (header included) whose payload bytes are
/// derived from `tag`. Returns false when the ring has no room.
bool put(SpscRing& ring, std::size_t size, std::uint32_t tag) {
    std::byte* p = ring.try_reserve(size);
    if (p == nullptr) return false;
    RecordHeader h{static_cast<std::uint32_t>(size), tag | 1u, tag, tag, ~tag};
    std::memcpy(p, &h, sizeof h);
    for (std::size_t i = sizeof h; i < size; ++i) p[i] = static_cast<std::byte>((tag * 131u + i) & 0xff);
    ring.commit(size);
    return true;
}

/// Reads one record and checks it against what put(size, tag) wrote.
/// Returns an error text, or "" when it matches.
std::string take(SpscRing& ring, std::size_t size, std::uint32_t tag) {
    const std::byte* p = ring.peek();
    if (p == nullptr) return "ring empty";
    RecordHeader h;
    std::memcpy(&h, p, sizeof h);
    std::string err;
    if (h.size != size || h.site_id != (tag | 1u) || h.timestamp != tag || h.sequence != tag || h.logger_id != ~tag)
        err = "header mismatch (size " + std::to_string(h.size) + " expected " + std::to_string(size) + ")";
    else
        for (std::size_t i = sizeof h; i < size; ++i)
            if (p[i] != static_cast<std::byte>((tag * 131u + i) & 0xff)) {
                err = "payload byte " + std::to_string(i) + " differs";
                break;
            }
    ring.pop(h.size);
    return err;
}

}  // namespace

BOOST_AUTO_TEST_CASE(capacity_and_empty_ring) {
    auto ring = make_ring(4096);
    BOOST_TEST(ring->capacity() == 4096u);
    BOOST_TEST(ring->peek() == nullptr);
    BOOST_TEST(ring->unread_bytes() == 0u);
    BOOST_TEST(ring->next() == nullptr);
}

BOOST_AUTO_TEST_CASE(full_ring_refuses_and_frees_after_pop) {
    auto ring = make_ring(4096);
    const std::size_t size = 64;
    std::uint32_t written = 0;
    while (put(*ring, size, written)) ++written;
    BOOST_TEST(written == 4096u / size);
    BOOST_TEST(ring->unread_bytes() == 4096u);
    BOOST_TEST(ring->try_reserve(8) == nullptr);
    BOOST_TEST(take(*ring, size, 0) == "");
    BOOST_TEST(put(*ring, size, written));  // the freed 64 bytes are usable again
    for (std::uint32_t i = 1; i <= written; ++i) BOOST_TEST(take(*ring, size, i) == "");
    BOOST_TEST(ring->peek() == nullptr);
}

// The backend releases records only once their lines are written (a crash
// dump reads from the read index): consumed bytes stay the consumer's.
BOOST_AUTO_TEST_CASE(consumed_bytes_stay_reserved_until_release) {
    auto ring = make_ring(4096);
    const std::size_t size = 64;
    std::uint32_t written = 0;
    while (put(*ring, size, written)) ++written;
    BOOST_REQUIRE(written == 4096u / size);
    for (std::uint32_t i = 0; i < 3; ++i) {
        const std::byte* p = ring->peek();
        BOOST_REQUIRE(p != nullptr);
        RecordHeader h;
        std::memcpy(&h, p, sizeof h);
        BOOST_TEST(h.timestamp == i);  // consume() moves to the next record
        ring->consume(h.size);
    }
    BOOST_TEST(ring->held_bytes() == 3 * size);
    BOOST_TEST(ring->read_index() == 0u);
    BOOST_TEST(ring->unread_bytes() == 4096u);
    BOOST_TEST(ring->try_reserve(size) == nullptr);  // still full for the producer
    ring->release();
    BOOST_TEST(ring->held_bytes() == 0u);
    BOOST_TEST(ring->read_index() == 3 * size);
    BOOST_TEST(ring->unread_bytes() == 4096u - 3 * size);
    for (std::uint32_t i = 0; i < 3; ++i) BOOST_TEST(put(*ring, size, written + i));
    BOOST_TEST(ring->try_reserve(size) == nullptr);
    for (std::uint32_t i = 3; i < written + 3; ++i) BOOST_TEST(take(*ring, size, i) == "");
    BOOST_TEST(ring->peek() == nullptr);
    BOOST_TEST(ring->unread_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(whole_capacity_record) {
    auto ring = make_ring(4096);
    BOOST_TEST(put(*ring, 4096, 7));
    BOOST_TEST(take(*ring, 4096, 7) == "");
    BOOST_TEST(put(*ring, 4096, 8));  // starts at offset 0 again
    BOOST_TEST(take(*ring, 4096, 8) == "");
}

// Every tail size a record can leave at the end of storage (8 .. 4072 in
// steps of 8), followed by a record that does not fit in the tail: the
// producer pads the tail and the consumer must skip the padding. When the
// tail plus the record exceed the ring (a tail over half of it), the record
// must still fit once the consumer has passed the padding.
BOOST_AUTO_TEST_CASE(padding_for_every_tail_size) {
    std::vector<std::string> failures;
    for (std::size_t tail = 8; tail + sizeof(RecordHeader) <= 4096; tail += 8) {
        const std::string where = "tail " + std::to_string(tail) + ": ";
        auto ring = make_ring(4096);
        // One record moves the write position to 4096 - tail; consumed at once.
        const std::size_t first = 4096 - tail;
        if (!put(*ring, first, 1) || !take(*ring, first, 1).empty()) {
            failures.push_back(where + "first record failed");
            continue;
        }
        const std::size_t big = std::max(align_record(tail + 1), sizeof(RecordHeader));  // just over the tail
        bool ok = put(*ring, big, 1000);
        if (!ok) {
            if (tail + big <= 4096) failures.push_back(where + "refused although padding and record fit");
            // Only the padding is in the ring: the consumer skips it, which makes room.
            if (ring->peek() != nullptr) failures.push_back(where + "peek() found a record in the padding");
            ring->release();
            ok = put(*ring, big, 1000);
            if (!ok) {
                failures.push_back(where + "no room in an empty ring");
                continue;
            }
        } else if (ring->unread_bytes() != tail + big) {
            failures.push_back(where + "padding not counted");
        }
        if (std::string e = take(*ring, big, 1000); !e.empty()) failures.push_back(where + e);
        if (ring->peek() != nullptr || ring->unread_bytes() != 0) failures.push_back(where + "ring not empty afterwards");
    }
    BOOST_TEST(failures.empty(), agora_test::join_errors(failures));
}

// A record of more than half the ring, with the write position past the
// middle: it cannot go after the tail padding in one step, but it must not
// wait forever for space an empty ring has.
BOOST_AUTO_TEST_CASE(record_over_half_the_ring_fits_in_an_empty_ring) {
    auto ring = make_ring(4096);
    BOOST_REQUIRE(put(*ring, 1032, 1));
    BOOST_TEST(take(*ring, 1032, 1) == "");
    int attempts = 0;
    bool ok = false;
    while (!ok && attempts < 3) {
        ok = put(*ring, 3128, 2);
        ++attempts;
        if (!ok) {
            BOOST_TEST(ring->peek() == nullptr);  // consumes the padding, finds no record
            ring->release();
        }
    }
    BOOST_TEST_REQUIRE(ok);
    BOOST_TEST(take(*ring, 3128, 2) == "");
}

BOOST_AUTO_TEST_CASE(small_tails_are_padded) {
    // The smallest tails explicitly: 8 and 16 bytes, smaller than a record header.
    for (std::size_t tail : {8u, 16u}) {
        BOOST_TEST_CONTEXT("tail " << tail) {
            auto ring = make_ring(4096);
            const std::size_t first = 4096 - tail - 24;
            BOOST_REQUIRE(put(*ring, first, 1));
            BOOST_REQUIRE(put(*ring, 24, 2));
            BOOST_TEST(take(*ring, first, 1) == "");
            BOOST_TEST(take(*ring, 24, 2) == "");
            BOOST_REQUIRE(put(*ring, 32, 3));  // does not fit in the tail: padding, then offset 0
            BOOST_TEST(ring->unread_bytes() == tail + 32);
            BOOST_TEST(take(*ring, 32, 3) == "");
            BOOST_TEST(ring->peek() == nullptr);
            BOOST_TEST(ring->write_index() == 4096u + 32u);
        }
    }
}

BOOST_AUTO_TEST_CASE(discard_all_empties_the_ring) {
    auto ring = make_ring(4096);
    for (std::uint32_t i = 0; i < 10; ++i) BOOST_REQUIRE(put(*ring, 48, i));
    ring->discard_all();
    BOOST_TEST(ring->peek() == nullptr);
    BOOST_TEST(ring->unread_bytes() == 0u);
    BOOST_TEST(put(*ring, 48, 99));
    BOOST_TEST(take(*ring, 48, 99) == "");
}

// A million records of random sizes through a 4 KiB ring: producer and
// consumer threads draw sizes and tags from identically seeded PRNGs. The
// consumer records mismatches; the main thread asserts after join.
BOOST_AUTO_TEST_CASE(million_variable_size_records_between_two_threads) {
    constexpr std::size_t kCapacity = 4096;
    const std::uint32_t kRecords = 1'000'000;
    constexpr std::uint64_t kSeed = 0xA60A10C;
    auto ring = make_ring(kCapacity);

    auto next_record = [](std::mt19937_64& rng) {
        // Mostly small, some up to a quarter of the ring, rarely the whole ring.
        std::uint64_t r = rng();
        std::size_t payload;
        switch (r % 16) {
            case 0: payload = (r >> 8) % (kCapacity / 4); break;
            case 1: payload = ((r >> 8) % 64 == 0) ? kCapacity - sizeof(RecordHeader) : (r >> 8) % 200; break;
            default: payload = (r >> 8) % 100; break;
        }
        std::size_t size = align_record(sizeof(RecordHeader) + payload);
        if (size > kCapacity) size = kCapacity;
        auto tag = static_cast<std::uint32_t>(rng());
        return std::pair<std::size_t, std::uint32_t>{size, tag};
    };

    std::thread producer([&] {
        std::mt19937_64 rng(kSeed);
        for (std::uint32_t i = 0; i < kRecords; ++i) {
            auto [size, tag] = next_record(rng);
            while (!put(*ring, size, tag)) std::this_thread::yield();
        }
    });

    std::vector<std::string> mismatches;  // consumer thread only until join
    std::uint64_t consumed = 0;
    std::thread consumer([&] {
        std::mt19937_64 rng(kSeed);
        for (std::uint32_t i = 0; i < kRecords; ++i) {
            auto [size, tag] = next_record(rng);
            while (ring->peek() == nullptr) {
                ring->release();  // padding peek() skipped is the producer's again
                std::this_thread::yield();
            }
            std::string e = take(*ring, size, tag);
            if (!e.empty() && mismatches.size() < 10) mismatches.push_back("record " + std::to_string(i) + ": " + e);
            ++consumed;
        }
    });
    producer.join();
    consumer.join();

    BOOST_TEST(consumed == kRecords);
    BOOST_TEST(mismatches.empty(), agora_test::join_errors(mismatches));
    BOOST_TEST(ring->peek() == nullptr);
    BOOST_TEST(ring->unread_bytes() == 0u);
    // The ring wrapped many times.
    BOOST_TEST(ring->write_index() > 100u * kCapacity);
}

// docs/crash-recovery.md promises this header layout to tools that search a
// core file for rings: magic, capacity and mask, then the write index and the
// read index (and the consumer's consumed index) on their own cache lines,
// then the storage.
BOOST_AUTO_TEST_CASE(ring_header_is_findable_at_documented_offsets) {
    auto ring = make_ring(8192);
    for (int i = 0; i < 2; ++i) {
        std::byte* rec = ring->try_reserve(64);
        BOOST_REQUIRE(rec != nullptr);
        const RecordHeader h{64, 1, 0, 0, 0};
        std::memcpy(rec, &h, sizeof h);
        ring->commit(64);
    }
    BOOST_REQUIRE(ring->peek() != nullptr);
    ring->pop(64);
    const std::byte* second = ring->peek();
    BOOST_REQUIRE(second != nullptr);
    ring->consume(64);  // consumed, not released
    auto field = [&](std::size_t offset) {
        std::uint64_t v;
        std::memcpy(&v, reinterpret_cast<const std::byte*>(ring.get()) + offset, 8);
        return v;
    };
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(ring.get()) % 64 == 0u);
    BOOST_TEST(field(0) == SpscRing::kMagic);
    BOOST_TEST(std::memcmp(ring.get(), "AGRGRING", 8) == 0);
    BOOST_TEST(field(8) == 8192u);
    BOOST_TEST(field(16) == 8191u);
    BOOST_TEST(field(64) == 128u);  // write index
    BOOST_TEST(field(128) == 64u);  // read index: released
    BOOST_TEST(field(144) == 128u);  // consumed index
    BOOST_TEST(ring->data() == reinterpret_cast<const std::byte*>(ring.get()) + 256);
    BOOST_TEST(SpscRing::kStorageOffset == 256u);
}
