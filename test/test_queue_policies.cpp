// Queue-full policies, made deterministic with a handler that holds the
// backend thread at a gate (no timing): while the backend is held, the
// producer logs far more than its 4 KiB ring holds.
//   drop: written + dropped == logged, dropped > 0, the WARNING
//         "Async queue overflow, dropped N entries" reports every drop and
//         stats().records_dropped agrees.
//   grow: the ring grows up to queue_max_capacity_bytes and nothing is lost.

#define BOOST_TEST_MODULE queue_policies
#include "common.hpp"

#include <regex>
#include <thread>

using agora::log::QueueFullPolicy;

namespace {

struct Outcome {
    std::size_t written = 0;         // our records in the file
    std::uint64_t reported_drops = 0;  // sum of N over the overflow warnings
    std::size_t warnings = 0;
    std::vector<std::string> errors;
    std::vector<long> seqs;  // our records' sequence numbers, file order
};

Outcome read_outcome(const std::string& path, std::string_view logger) {
    Outcome o;
    auto parsed = agora_test::read_entries(path);
    o.errors = parsed.errors;
    static const std::regex overflow(R"(^Async queue overflow, dropped (\d+) entries$)");
    for (const auto& e : parsed.entries) {
        std::smatch m;
        if (e.logger_name == logger) {
            ++o.written;
            unsigned seq = 0;
            o.seqs.push_back(std::sscanf(e.message.c_str(), "seq=%u", &seq) == 1 ? static_cast<long>(seq) : -1);
        } else if (e.level == "WARNING" && std::regex_match(e.message, m, overflow)) {
            ++o.warnings;
            o.reported_drops += std::stoull(m[1].str());
        }
    }
    return o;
}

bool strictly_increasing(const std::vector<long>& v) {
    for (std::size_t i = 1; i < v.size(); ++i)
        if (v[i] <= v[i - 1]) return false;
    return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(drop_policy_counts_every_dropped_record) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto gate = std::make_shared<agora_test::GateHandler>();
    agora_test::GateOpener opener{gate};

    auto config = agora_test::quiet_config(dir.file("drop.log"));
    config.queue_full_policy = QueueFullPolicy::drop;
    config.queue_capacity_bytes = 4096;
    config.queue_max_capacity_bytes = 4096;
    const auto before = agora::log::stats();
    BOOST_REQUIRE(agora::log::initialize(config, {gate}));
    auto log = agora::log::get_logger("policy.drop");

    // The first record takes the backend to the gate, where it stays. A new
    // thread, so the ring is a new one of the configured 4 KiB.
    const unsigned kLogged = 5000;  // ~48 bytes each: 60 times what the ring holds
    std::thread([&] {
        log.info("seq={} pad={}", 0u, "xxxxxxxx");
        gate->wait_until_held();
        for (unsigned i = 1; i < kLogged; ++i) log.info("seq={} pad={}", i, "xxxxxxxx");
    }).join();
    gate->open();
    agora::log::shutdown();

    const auto after = agora::log::stats();
    auto o = read_outcome(config.file_path, "policy.drop");
    BOOST_TEST(o.errors.empty(), agora_test::join_errors(o.errors));
    const std::uint64_t dropped = after.records_dropped - before.records_dropped;
    BOOST_TEST(dropped > 0u);
    BOOST_TEST(o.written + dropped == kLogged);
    BOOST_TEST(o.reported_drops == dropped);
    BOOST_TEST(o.warnings >= 1u);
    // What was kept is in order, starting with the record that held the gate.
    BOOST_TEST_REQUIRE(!o.seqs.empty());
    BOOST_TEST(o.seqs.front() == 0);
    BOOST_TEST(strictly_increasing(o.seqs));
    // The gate handler saw the same records as the file (ours and the warnings).
    BOOST_TEST(gate->emitted() == o.written + o.warnings);
}

BOOST_AUTO_TEST_CASE(drop_policy_from_several_threads) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto gate = std::make_shared<agora_test::GateHandler>();
    agora_test::GateOpener opener{gate};

    auto config = agora_test::quiet_config(dir.file("drop_threads.log"));
    config.queue_full_policy = QueueFullPolicy::drop;
    config.queue_capacity_bytes = 4096;
    config.queue_max_capacity_bytes = 4096;
    const auto before = agora::log::stats();
    BOOST_REQUIRE(agora::log::initialize(config, {gate}));
    auto log = agora::log::get_logger("policy.drop.threads");
    std::thread([&] {
        log.info("seq={}", 0u);
        gate->wait_until_held();
    }).join();

    const unsigned kThreads = 3, kPerThread = 2000;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (unsigned i = 0; i < kPerThread; ++i) log.info("seq={}", 1 + t * kPerThread + i);
        });
    for (auto& th : threads) th.join();
    gate->open();
    agora::log::shutdown();

    auto o = read_outcome(config.file_path, "policy.drop.threads");
    BOOST_TEST(o.errors.empty(), agora_test::join_errors(o.errors));
    const std::uint64_t dropped = agora::log::stats().records_dropped - before.records_dropped;
    BOOST_TEST(dropped > 0u);
    BOOST_TEST(o.written + dropped == 1u + kThreads * kPerThread);
    BOOST_TEST(o.reported_drops == dropped);
}

BOOST_AUTO_TEST_CASE(grow_policy_loses_nothing) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto gate = std::make_shared<agora_test::GateHandler>();
    agora_test::GateOpener opener{gate};

    auto config = agora_test::quiet_config(dir.file("grow.log"));
    config.queue_full_policy = QueueFullPolicy::grow;
    config.queue_capacity_bytes = 4096;
    config.queue_max_capacity_bytes = 4u << 20;  // room for everything below (~0.5 MB)
    const auto before = agora::log::stats();
    BOOST_REQUIRE(agora::log::initialize(config, {gate}));
    auto log = agora::log::get_logger("policy.grow");

    const unsigned kLogged = 10000;
    std::thread([&] {
        log.info("seq={} pad={}", 0u, "xxxxxxxx");
        gate->wait_until_held();
        for (unsigned i = 1; i < kLogged; ++i) log.info("seq={} pad={}", i, "xxxxxxxx");
    }).join();
    gate->open();
    agora::log::shutdown();

    auto o = read_outcome(config.file_path, "policy.grow");
    BOOST_TEST(o.errors.empty(), agora_test::join_errors(o.errors));
    BOOST_TEST(o.written == kLogged);
    BOOST_TEST(o.warnings == 0u);
    BOOST_TEST(agora::log::stats().records_dropped == before.records_dropped);
    std::vector<long> expected(kLogged);
    for (unsigned i = 0; i < kLogged; ++i) expected[i] = i;
    BOOST_TEST(o.seqs == expected, boost::test_tools::per_element());
}

// Grow policy: a record larger than the whole ring grows it (under any policy).
BOOST_AUTO_TEST_CASE(record_larger_than_the_ring_grows_it) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    for (auto policy : {QueueFullPolicy::grow, QueueFullPolicy::block, QueueFullPolicy::drop}) {
        BOOST_TEST_CONTEXT("policy " << agora::log::to_string(policy)) {
            const std::string path = dir.file(std::string("big_") + std::string(agora::log::to_string(policy)) + ".log");
            auto config = agora_test::quiet_config(path);
            config.queue_full_policy = policy;
            config.queue_capacity_bytes = 4096;
            config.queue_max_capacity_bytes = 1u << 20;
            config.max_message_length = 1u << 20;  // the record, not the message limit, is under test
            BOOST_REQUIRE(agora::log::initialize(config));
            const std::string big(20000, 'b');
            // A fresh thread gets a fresh 4 KiB ring.
            std::thread([&] { agora::log::get_logger("policy.big").info("big={}", big); }).join();
            agora::log::shutdown();
            auto parsed = agora_test::read_entries(path);
            BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
            BOOST_TEST_REQUIRE(parsed.entries.size() == 1u);
            BOOST_TEST(parsed.entries[0].message == "big=" + big);
        }
    }
}

// Grow beyond the maximum: with the drop policy a record that cannot fit
// even the largest ring is dropped and counted.
BOOST_AUTO_TEST_CASE(record_larger_than_the_max_is_dropped_and_counted) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("too_big.log"));
    config.queue_full_policy = QueueFullPolicy::drop;
    config.queue_capacity_bytes = 4096;
    config.queue_max_capacity_bytes = 8192;
    config.max_message_length = 1u << 20;  // the record, not the message limit, is under test
    const auto before = agora::log::stats();
    BOOST_REQUIRE(agora::log::initialize(config));
    std::thread([] {
        auto log = agora::log::get_logger("policy.too_big");
        log.info("small {}", 1);
        log.info("huge {}", std::string(20000, 'h'));
        log.info("small {}", 2);
    }).join();
    agora::log::shutdown();
    auto o = read_outcome(config.file_path, "policy.too_big");
    BOOST_TEST(o.written == 2u);
    BOOST_TEST(o.reported_drops == 1u);
    BOOST_TEST(agora::log::stats().records_dropped - before.records_dropped == 1u);
}

// Block policy, 4 KiB ring: a record of more than half the ring, logged
// when the write position is past the middle of an empty ring, must not wait
// forever (the tail padding plus the record exceed the ring).
BOOST_AUTO_TEST_CASE(block_policy_record_over_half_the_ring) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("block_big.log"));
    config.queue_full_policy = QueueFullPolicy::block;
    config.queue_capacity_bytes = 4096;
    config.queue_max_capacity_bytes = 4096;
    config.max_message_length = 1u << 20;  // the record, not the message limit, is under test
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("policy.block.big");
    std::thread([&] {
        for (int round = 0; round < 20; ++round) {
            log.info("first {}", std::string(1000, 'a'));  // moves the write position to ~1 KiB
            agora::log::flush();                          // the ring is empty again
            log.info("second {}", std::string(3100, 'b'));  // over the 3 KiB tail: padding first
            agora::log::flush();
        }
    }).join();
    agora::log::shutdown();
    auto o = read_outcome(config.file_path, "policy.block.big");
    BOOST_TEST(o.errors.empty(), agora_test::join_errors(o.errors));
    BOOST_TEST(o.written == 40u);
    BOOST_TEST(o.reported_drops == 0u);
}
