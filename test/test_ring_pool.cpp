// Spare rings and signal stacks for new threads (src/frontend/ring_pool.hpp,
// alt_signal_stack.hpp): a new thread's first record takes a ring that
// initialize() or the backend wrote beforehand; the backend refills the pool
// and keeps exited threads' rings; records are neither lost nor reordered
// whichever ring a thread gets; the size follows queue_capacity_bytes across
// initialize() calls. Counters are process-wide: each case compares deltas.

#define BOOST_TEST_MODULE ring_pool
#include "common.hpp"

#include "frontend/alt_signal_stack.hpp"
#include "frontend/registry.hpp"
#include "frontend/ring_pool.hpp"

#include <agora/log/detail/frontend.hpp>
#include <agora/log/detail/spsc_ring.hpp>

#include <signal.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace detail = agora::log::detail;

namespace {

/// Two flushes: the backend pass that answers the second one starts after
/// the pass that answered the first ended, reclaims and refills included.
void settle() {
    agora::log::flush();
    agora::log::flush();
}

agora::log::Config pool_config(const std::string& path, std::size_t ring_bytes, std::size_t spares) {
    auto c = agora_test::quiet_config(path);
    c.crash_handler = false;
    c.queue_capacity_bytes = ring_bytes;
    c.queue_spare_rings = spares;
    return c;
}

/// What a thread saw of its own context after its first record.
struct FirstRecord {
    std::size_t ring_capacity = 0;
    bool has_context = false;
    bool signal_stack = false;
    std::size_t signal_stack_size = 0;
};

FirstRecord log_on_new_thread(const char* logger, int n) {
    FirstRecord seen;
    std::thread([&] {
        const auto log = agora::log::get_logger(logger);
        for (int i = 0; i < n; ++i) log.info("record {}", i);
        const detail::ThreadContext* ctx = detail::t_context;
        seen.has_context = ctx != nullptr;
        if (ctx != nullptr) seen.ring_capacity = ctx->ring->capacity();
        stack_t ss{};
        if (sigaltstack(nullptr, &ss) == 0 && !(ss.ss_flags & SS_DISABLE)) {
            seen.signal_stack = true;
            seen.signal_stack_size = ss.ss_size;
        }
    }).join();
    return seen;
}

std::size_t count_messages(const agora_test::Entries& parsed, const std::string& logger) {
    std::size_t n = 0;
    for (const auto& e : parsed.entries)
        if (e.logger_name == logger) ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(initialize_fills_the_pool_and_a_new_thread_takes_a_spare) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const auto config = pool_config(dir.file("take.log"), 8192, 2);
    BOOST_REQUIRE(agora::log::initialize(config));
    const detail::RingPoolStats before = detail::ring_pool_stats();
    BOOST_TEST(before.target == 2u);
    BOOST_TEST(before.ready >= 2u);
    BOOST_TEST(detail::spare_alt_signal_stacks() >= 2u);

    const FirstRecord seen = log_on_new_thread("pool.take", 3);
    const detail::RingPoolStats taken = detail::ring_pool_stats();
    BOOST_TEST(seen.has_context);
    BOOST_TEST(seen.ring_capacity == 8192u);
    BOOST_TEST(taken.taken == before.taken + 1);
    BOOST_TEST(taken.missed == before.missed);
    BOOST_TEST(seen.signal_stack);
    // Under a sanitizer its runtime gives each thread an alternate stack of
    // its own first, which ours keeps (alt_signal_stack.hpp): size unknown.
    if (!agora_test::kSanitized) BOOST_TEST(seen.signal_stack_size >= 65536u);

    // The backend wrote the records, reclaimed the exited thread's ring and
    // kept it (or refilled): the pool is back at its target at least, within
    // twice it.
    settle();
    const detail::RingPoolStats after = detail::ring_pool_stats();
    BOOST_TEST(after.ready >= 2u);
    BOOST_TEST(after.ready <= 4u);
    BOOST_TEST(after.returned + after.created > before.returned + before.created);
    BOOST_TEST(detail::spare_alt_signal_stacks() >= 2u);
    agora::log::shutdown();
    const auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    BOOST_TEST(count_messages(parsed, "pool.take") == 3u);
}

BOOST_AUTO_TEST_CASE(exited_threads_rings_are_reused_and_the_pool_stays_bounded) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const auto config = pool_config(dir.file("reuse.log"), 8192, 2);
    BOOST_REQUIRE(agora::log::initialize(config));
    const detail::RingPoolStats before = detail::ring_pool_stats();
    constexpr int kThreads = 12;
    for (int t = 0; t < kThreads; ++t) {
        const FirstRecord seen = log_on_new_thread("pool.reuse", 5);
        BOOST_TEST(seen.ring_capacity == 8192u);
        settle();
        const detail::RingPoolStats now = detail::ring_pool_stats();
        BOOST_TEST(now.ready <= 4u);
        BOOST_TEST(now.ready >= 2u);
    }
    const detail::RingPoolStats after = detail::ring_pool_stats();
    // Every thread found a spare; threads that come and go one at a time
    // reuse the exited ones' rings: the backend created at most one a thread
    // (and in steady state none).
    BOOST_TEST(after.taken == before.taken + kThreads);
    BOOST_TEST(after.missed == before.missed);
    BOOST_TEST(after.returned >= before.returned + kThreads - 2);
    BOOST_TEST(after.created <= before.created + 2);
    agora::log::shutdown();
    const auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    BOOST_TEST(count_messages(parsed, "pool.reuse") == static_cast<std::size_t>(kThreads * 5));
}

BOOST_AUTO_TEST_CASE(records_keep_their_order_on_pooled_and_grown_rings) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = pool_config(dir.file("order.log"), 4096, 3);
    config.queue_full_policy = agora::log::QueueFullPolicy::grow;
    config.queue_max_capacity_bytes = 1u << 20;
    BOOST_REQUIRE(agora::log::initialize(config));
    const detail::RingPoolStats before = detail::ring_pool_stats();
    // Rounds of concurrent threads: some take spares, some miss and create
    // their rings; the small rings grow (the first, pooled, ring of a
    // thread then goes back to the pool while the thread still logs).
    constexpr int kRounds = 6, kPerRound = 4, kRecords = 2000;
    for (int round = 0; round < kRounds; ++round) {
        std::vector<std::thread> threads;
        for (int t = 0; t < kPerRound; ++t)
            threads.emplace_back([round, t] {
                const auto log = agora::log::get_logger("pool.order");
                for (int i = 0; i < kRecords; ++i) log.info("thread {} seq {}", round * kPerRound + t, i);
            });
        for (auto& th : threads) th.join();
    }
    settle();
    const detail::RingPoolStats after = detail::ring_pool_stats();
    BOOST_TEST(after.taken + after.missed == before.taken + before.missed + kRounds * kPerRound);
    BOOST_TEST(after.taken > before.taken);
    agora::log::shutdown();

    const auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    std::vector<int> next(kRounds * kPerRound, 0);
    std::size_t out_of_order = 0, total = 0;
    for (const auto& e : parsed.entries) {
        if (e.logger_name != "pool.order") continue;
        int thread = -1, seq = -1;
        if (std::sscanf(e.message.c_str(), "thread %d seq %d", &thread, &seq) != 2 || thread < 0 ||
            thread >= kRounds * kPerRound) {
            ++out_of_order;
            continue;
        }
        if (seq != next[thread]) ++out_of_order;
        next[thread] = seq + 1;
        ++total;
    }
    BOOST_TEST(out_of_order == 0u);
    BOOST_TEST(total == static_cast<std::size_t>(kRounds * kPerRound * kRecords));
    for (int n : next) BOOST_TEST(n == kRecords);
}

BOOST_AUTO_TEST_CASE(a_new_ring_size_replaces_the_spares_at_the_next_initialize) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    BOOST_REQUIRE(agora::log::initialize(pool_config(dir.file("size1.log"), 8192, 2)));
    BOOST_TEST(log_on_new_thread("pool.size", 1).ring_capacity == 8192u);
    agora::log::shutdown();
    // Kept across shutdown() for the next initialize().
    BOOST_TEST(detail::ring_pool_stats().ready >= 1u);

    BOOST_REQUIRE(agora::log::initialize(pool_config(dir.file("size2.log"), 16384, 3)));
    const detail::RingPoolStats now = detail::ring_pool_stats();
    BOOST_TEST(now.target == 3u);
    BOOST_TEST(now.ready == 3u);  // the 8 KiB spares were freed, three 16 KiB ones written
    const detail::RingPoolStats before = detail::ring_pool_stats();
    BOOST_TEST(log_on_new_thread("pool.size", 1).ring_capacity == 16384u);
    BOOST_TEST(detail::ring_pool_stats().taken == before.taken + 1);
    agora::log::shutdown();
    const auto parsed = agora_test::read_entries(dir.file("size2.log"));
    BOOST_TEST(count_messages(parsed, "pool.size") == 1u);
}

BOOST_AUTO_TEST_CASE(no_spares_when_configured_off_and_records_still_written) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const auto config = pool_config(dir.file("off.log"), 8192, 0);
    BOOST_REQUIRE(agora::log::initialize(config));
    const detail::RingPoolStats before = detail::ring_pool_stats();
    BOOST_TEST(before.target == 0u);
    BOOST_TEST(before.ready == 0u);
    const FirstRecord seen = log_on_new_thread("pool.off", 4);
    BOOST_TEST(seen.ring_capacity == 8192u);
    settle();
    const detail::RingPoolStats after = detail::ring_pool_stats();
    BOOST_TEST(after.taken == before.taken);
    BOOST_TEST(after.missed == before.missed + 1);
    BOOST_TEST(after.ready == 0u);  // the exited thread's ring was freed, not kept
    agora::log::shutdown();
    BOOST_TEST(count_messages(agora_test::read_entries(config.file_path), "pool.off") == 4u);
}

BOOST_AUTO_TEST_CASE(preallocate_takes_a_spare_ring) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const auto config = pool_config(dir.file("prealloc.log"), 8192, 2);
    BOOST_REQUIRE(agora::log::initialize(config));
    const detail::RingPoolStats before = detail::ring_pool_stats();
    bool had_context_before = true, has_context_after = false;
    std::thread([&] {
        had_context_before = detail::t_context != nullptr;
        agora::log::preallocate();
        has_context_after = detail::t_context != nullptr;
        agora::log::get_logger("pool.prealloc").info("after preallocate");
    }).join();
    BOOST_TEST(!had_context_before);
    BOOST_TEST(has_context_after);
    BOOST_TEST(detail::ring_pool_stats().taken == before.taken + 1);
    agora::log::shutdown();
    BOOST_TEST(count_messages(agora_test::read_entries(config.file_path), "pool.prealloc") == 1u);
}
