// Many threads logging at once: with the block policy and a tiny ring nothing
// is lost, each thread's order is kept and timestamps never go backwards;
// threads that come and go are drained; flush() from a thread that has just
// logged its first record sees that record written.
//
// Worker threads never call Boost.Test macros: they record into plain
// vectors and atomics, and the main thread asserts after join().

#define BOOST_TEST_MODULE concurrency
#include "common.hpp"

#include <charconv>
#include <latch>
#include <thread>

using agora::log::Level;

namespace {

/// Parses "t=<thread> i=<index>".
bool parse_ti(const std::string& message, unsigned& t, unsigned& i) {
    return std::sscanf(message.c_str(), "t=%u i=%u", &t, &i) == 2;
}

}  // namespace

BOOST_AUTO_TEST_CASE(block_policy_threads_lose_nothing_and_keep_order) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const unsigned kThreads = 4;
    const unsigned kRecords = agora_test::kSanitized ? 5'000 : 25'000;

    auto config = agora_test::quiet_config(dir.file("block.log"));
    config.queue_full_policy = agora::log::QueueFullPolicy::block;
    config.queue_capacity_bytes = 4096;  // ~128 records: producers wait for the backend constantly
    config.queue_max_capacity_bytes = 4096;
    config.max_file_size_mb = 1024;
    const auto dropped_before = agora::log::stats().records_dropped;
    BOOST_REQUIRE(agora::log::initialize(config));

    auto log = agora::log::get_logger("conc.block");
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            for (unsigned i = 0; i < kRecords; ++i) log.info("t={} i={}", t, i);
        });
    }
    for (auto& th : threads) th.join();
    agora::log::shutdown();

    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    BOOST_TEST(agora::log::stats().records_dropped == dropped_before);

    std::vector<std::vector<unsigned>> seen(kThreads, std::vector<unsigned>(kRecords, 0));
    std::vector<long> last(kThreads, -1);
    std::size_t unparsed = 0, out_of_order = 0, other_loggers = 0, backwards = 0;
    std::string prev_ts;
    for (const auto& e : parsed.entries) {
        if (e.timestamp < prev_ts) ++backwards;
        prev_ts = e.timestamp;
        if (e.logger_name != "conc.block") {
            ++other_loggers;
            continue;
        }
        unsigned t = 0, i = 0;
        if (!parse_ti(e.message, t, i) || t >= kThreads || i >= kRecords) {
            ++unparsed;
            continue;
        }
        ++seen[t][i];
        if (static_cast<long>(i) <= last[t]) ++out_of_order;
        last[t] = static_cast<long>(i);
    }
    BOOST_TEST(unparsed == 0u);
    BOOST_TEST(other_loggers == 0u);
    BOOST_TEST(out_of_order == 0u);
    BOOST_TEST(backwards == 0u, "timestamps went backwards " << backwards << " times");
    std::size_t missing = 0, duplicated = 0;
    for (const auto& per_thread : seen)
        for (unsigned n : per_thread) {
            if (n == 0) ++missing;
            if (n > 1) ++duplicated;
        }
    BOOST_TEST(missing == 0u);
    BOOST_TEST(duplicated == 0u);
    BOOST_TEST(parsed.entries.size() == std::size_t{kThreads} * kRecords);
}

BOOST_AUTO_TEST_CASE(short_lived_threads_are_drained) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const unsigned kWaves = agora_test::kSanitized ? 10 : 40;
    const unsigned kPerWave = 4;
    const unsigned kRecords = 100;
    auto config = agora_test::quiet_config(dir.file("short.log"));
    config.queue_capacity_bytes = 4096;
    config.queue_full_policy = agora::log::QueueFullPolicy::block;
    config.queue_max_capacity_bytes = 4096;
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("conc.short");
    for (unsigned w = 0; w < kWaves; ++w) {
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < kPerWave; ++t)
            threads.emplace_back([&, id = w * kPerWave + t] {
                for (unsigned i = 0; i < kRecords; ++i) log.info("t={} i={}", id, i);
            });
        for (auto& th : threads) th.join();
    }
    agora::log::flush();
    // Counted before shutdown: flush() alone must have written everything.
    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    BOOST_TEST(agora_test::with_logger(parsed.entries, "conc.short").size() ==
               std::size_t{kWaves} * kPerWave * kRecords);
    agora::log::shutdown();
}

// Each round a new thread logs its first record (registering its queue with
// the backend) and immediately calls flush(): when flush() returns, the
// record must have reached the handlers.
BOOST_AUTO_TEST_CASE(flush_sees_a_new_threads_first_record) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const unsigned kRounds = agora_test::kSanitized ? 300 : 2000;
    auto config = agora_test::quiet_config(dir.file("flush_new_thread.log"));
    config.queue_capacity_bytes = 4096;
    auto capture = std::make_shared<agora_test::CaptureHandler>();
    BOOST_REQUIRE(agora::log::initialize(config, {capture}));
    auto log = agora::log::get_logger("conc.flush");

    std::vector<unsigned> missed;  // written by the round's thread, read after its join
    for (unsigned round = 0; round < kRounds; ++round) {
        bool seen = false;
        std::thread th([&] {
            log.info("round {}", round);
            agora::log::flush();
            const std::string want = "round " + std::to_string(round);
            auto records = capture->records();
            for (auto it = records.rbegin(); it != records.rend(); ++it)
                if (it->message == want) {
                    seen = true;
                    break;
                }
        });
        th.join();
        if (!seen) missed.push_back(round);
    }
    BOOST_TEST(missed.empty(), missed.size() << " of " << kRounds << " flushes returned before the record was written");
    agora::log::shutdown();
    BOOST_TEST(capture->records().size() == kRounds);
}

// Threads creating the same loggers and changing levels concurrently (a data
// race here shows under ThreadSanitizer); every record logged at an enabled
// level is written.
BOOST_AUTO_TEST_CASE(concurrent_get_logger_and_set_level) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("loggers.log"));
    config.level = Level::info;
    BOOST_REQUIRE(agora::log::initialize(config));
    const unsigned kThreads = 4, kLoggers = 8, kRecords = 200;
    std::latch start(kThreads);
    std::vector<std::vector<std::string>> names(kThreads);  // per thread, read after join
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            for (unsigned i = 0; i < kRecords; ++i) {
                auto logger = agora::log::get_logger("conc.logger." + std::to_string(i % kLoggers));
                if (t == 0) logger.set_level(Level::info);  // same level: only the race matters
                names[t].push_back(logger.name());
                logger.info("t={} i={}", t, i);
            }
        });
    }
    for (auto& th : threads) th.join();
    agora::log::shutdown();

    for (unsigned t = 0; t < kThreads; ++t) {
        BOOST_TEST_REQUIRE(names[t].size() == kRecords);
        for (unsigned i = 0; i < kRecords; ++i)
            BOOST_TEST(names[t][i] == "conc.logger." + std::to_string(i % kLoggers));
    }
    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    std::size_t ok = 0;
    for (const auto& e : parsed.entries) {
        unsigned t = 0, i = 0;
        if (parse_ti(e.message, t, i) && e.logger_name == "conc.logger." + std::to_string(i % kLoggers)) ++ok;
    }
    BOOST_TEST(ok == std::size_t{kThreads} * kRecords);
}
