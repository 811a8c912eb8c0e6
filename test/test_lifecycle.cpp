// initialize / flush / shutdown: flush() writes everything logged before it
// (from any thread) without shutting down, shutdown() drains everything and
// is idempotent, logging when not running is discarded, and the logger can
// be initialized again after a shutdown (the calling threads' queues are
// picked up by the new backend).

#define BOOST_TEST_MODULE lifecycle
#include "common.hpp"

#include "backend/backend.hpp"
#include "sinks/binary_sink.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

using agora::log::Level;

namespace {

std::size_t count_messages(const std::string& path, std::string_view logger) {
    auto parsed = agora_test::read_entries(path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    return agora_test::with_logger(parsed.entries, logger).size();
}

void log_from_threads(agora::log::Logger log, unsigned threads, unsigned per_thread, unsigned round) {
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < threads; ++t)
        ts.emplace_back([=] {
            for (unsigned i = 0; i < per_thread; ++i) log.info("round={} t={} i={}", round, t, i);
        });
    for (auto& th : ts) th.join();
}

}  // namespace

BOOST_AUTO_TEST_CASE(flush_writes_everything_before_shutdown) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("flush.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("life.flush");

    const unsigned kThreads = 4, kPerThread = 2500;
    log_from_threads(log, kThreads, kPerThread, 0);
    agora::log::flush();
    BOOST_TEST(count_messages(config.file_path, "life.flush") == kThreads * kPerThread);

    // Again, with the main thread logging too.
    log_from_threads(log, kThreads, kPerThread, 1);
    for (unsigned i = 0; i < 100; ++i) log.info("main i={}", i);
    agora::log::flush();
    BOOST_TEST(count_messages(config.file_path, "life.flush") == 2 * kThreads * kPerThread + 100);

    // A flush with nothing new is harmless.
    agora::log::flush();
    BOOST_TEST(count_messages(config.file_path, "life.flush") == 2 * kThreads * kPerThread + 100);
    agora::log::shutdown();
    BOOST_TEST(count_messages(config.file_path, "life.flush") == 2 * kThreads * kPerThread + 100);
}

BOOST_AUTO_TEST_CASE(shutdown_drains_everything) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("drain.log"));
    config.backend_idle_sleep = std::chrono::microseconds(1000);
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("life.drain");
    log_from_threads(log, 3, 3000, 0);
    for (unsigned i = 0; i < 1000; ++i) log.info("main i={}", i);
    agora::log::shutdown();
    BOOST_TEST(count_messages(config.file_path, "life.drain") == 3u * 3000u + 1000u);
}

BOOST_AUTO_TEST_CASE(stats_count_written_records) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("stats.log"));
    const auto before = agora::log::stats();
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("life.stats");
    for (int i = 0; i < 321; ++i) log.info("i={}", i);
    agora::log::flush();
    BOOST_TEST(agora::log::stats().records_written - before.records_written == 321u);
    agora::log::shutdown();
    // Records of stopped backends still count.
    BOOST_TEST(agora::log::stats().records_written - before.records_written == 321u);
    BOOST_TEST(agora::log::stats().records_dropped == before.records_dropped);
}

BOOST_AUTO_TEST_CASE(shutdown_twice_and_logging_after_shutdown) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("after.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("life.after");
    log.info("before shutdown");
    agora::log::shutdown();
    agora::log::shutdown();  // idempotent
    const auto size = agora_test::file_size(config.file_path);
    const auto written = agora::log::stats().records_written;

    BOOST_TEST(!log.enabled(Level::critical));
    log.critical("after shutdown {}", 1);
    std::thread([log] { log.error("after shutdown from a thread {}", 2); }).join();
    agora::log::get_logger("life.after.new").critical("new logger after shutdown");
    agora::log::flush();  // no-op when not running
    agora::log::shutdown();

    BOOST_TEST(agora_test::file_size(config.file_path) == size);
    BOOST_TEST(agora::log::stats().records_written == written);
    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST_REQUIRE(parsed.entries.size() == 1u);
    BOOST_TEST(parsed.entries[0].message == "before shutdown");
}

BOOST_AUTO_TEST_CASE(logging_before_initialize_is_discarded) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto log = agora::log::get_logger("life.early");
    log.critical("too early");
    auto config = agora_test::quiet_config(dir.file("early.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    log.info("in time");
    agora::log::shutdown();
    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST_REQUIRE(parsed.entries.size() == 1u);
    BOOST_TEST(parsed.entries[0].message == "in time");
}

// The main thread and a long-lived worker log across several
// initialize/shutdown cycles, to different files: each cycle's file holds
// exactly that cycle's records.
BOOST_AUTO_TEST_CASE(reinitialize_after_shutdown) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto log = agora::log::get_logger("life.reinit");

    // A worker that logs one batch per cycle when told to.
    std::mutex m;
    std::condition_variable cv;
    int requested = -1, done = -1;
    bool quit = false;
    std::thread worker([&] {
        std::unique_lock lock(m);
        for (;;) {
            cv.wait(lock, [&] { return quit || requested > done; });
            if (quit) return;
            const int cycle = requested;
            lock.unlock();
            for (int i = 0; i < 500; ++i) log.info("worker cycle={} i={}", cycle, i);
            lock.lock();
            done = cycle;
            cv.notify_all();
        }
    });

    const int kCycles = 4;
    std::vector<std::string> paths;
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        auto config = agora_test::quiet_config(dir.file("cycle" + std::to_string(cycle) + ".log"));
        // Small rings with the block policy: a record left in a ring nobody reads would hang here.
        config.queue_capacity_bytes = 4096;
        config.queue_max_capacity_bytes = 4096;
        config.queue_full_policy = agora::log::QueueFullPolicy::block;
        paths.push_back(config.file_path);
        auto ok = agora::log::initialize(config);
        BOOST_TEST_REQUIRE(static_cast<bool>(ok), agora_test::error_text(ok));
        for (int i = 0; i < 500; ++i) log.info("main cycle={} i={}", cycle, i);
        {
            std::unique_lock lock(m);
            requested = cycle;
            cv.notify_all();
            cv.wait(lock, [&] { return done == cycle; });
        }
        std::thread([&log, cycle] { log.info("short-lived thread cycle={}", cycle); }).join();
        agora::log::shutdown();
    }
    {
        std::lock_guard lock(m);
        quit = true;
        cv.notify_all();
    }
    worker.join();

    for (int cycle = 0; cycle < kCycles; ++cycle) {
        BOOST_TEST_CONTEXT("cycle " << cycle) {
            auto parsed = agora_test::read_entries(paths[cycle]);
            BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
            std::size_t main_n = 0, worker_n = 0, short_n = 0, wrong_cycle = 0;
            const std::string tag = "cycle=" + std::to_string(cycle);
            for (const auto& e : parsed.entries) {
                if (e.message.find(tag) == std::string::npos) ++wrong_cycle;
                if (e.message.rfind("main ", 0) == 0) ++main_n;
                if (e.message.rfind("worker ", 0) == 0) ++worker_n;
                if (e.message.rfind("short-lived ", 0) == 0) ++short_n;
            }
            BOOST_TEST(main_n == 500u);
            BOOST_TEST(worker_n == 500u);
            BOOST_TEST(short_n == 1u);
            BOOST_TEST(wrong_cycle == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(flush_and_shutdown_without_initialize_are_noops) {
    agora::log::shutdown();
    agora::log::flush();
    agora::log::shutdown();
    const auto s = agora::log::stats();
    agora::log::get_logger("life.noop").critical("discarded");
    BOOST_TEST(agora::log::stats().records_written == s.records_written);
}

BOOST_AUTO_TEST_CASE(handlers_are_flushed_and_closed) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("closed.log"));
    auto capture = std::make_shared<agora_test::CaptureHandler>();
    BOOST_REQUIRE(agora::log::initialize(config, {capture}));
    agora::log::get_logger("life.closed").info("one");
    agora::log::flush();
    BOOST_TEST(capture->flushes() >= 1u);
    BOOST_TEST(capture->closes() == 0u);
    agora::log::shutdown();
    BOOST_TEST(capture->closes() == 1u);
    BOOST_TEST(capture->records().size() == 1u);
}

// flush() called from inside a handler (on the backend thread) is a no-op,
// as documented, even while another thread is waiting in flush().
class FlushingHandler : public agora::log::Handler {
public:
    void emit(const agora::log::LogRecordView&) noexcept override {
        agora::log::flush();
        emitted_.fetch_add(1);
    }
    void flush() noexcept override {}
    void close() noexcept override {}
    std::atomic<int> emitted_{0};
};

BOOST_AUTO_TEST_CASE(flush_from_a_handler_does_not_deadlock) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("reentrant.log"));
    auto handler = std::make_shared<FlushingHandler>();
    BOOST_REQUIRE(agora::log::initialize(config, {handler}));
    auto log = agora::log::get_logger("life.reentrant");
    for (int i = 0; i < 100; ++i) {
        log.info("i={}", i);
        agora::log::flush();  // waits for the backend, which calls flush() from emit()
    }
    agora::log::shutdown();
    BOOST_TEST(handler->emitted_.load() == 100);
}

// shutdown() called from a handler (say, on a fatal record) stops accepting
// records without deadlocking against a thread waiting in flush(); the
// backend is stopped by the next shutdown() from another thread.
class StoppingHandler : public agora::log::Handler {
public:
    void emit(const agora::log::LogRecordView& r) noexcept override {
        if (r.message == "stop") agora::log::shutdown();
    }
    void flush() noexcept override {}
    void close() noexcept override {}
};

BOOST_AUTO_TEST_CASE(shutdown_from_a_handler_does_not_deadlock) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("stop.log"));
    BOOST_REQUIRE(agora::log::initialize(config, {std::make_shared<StoppingHandler>()}));
    auto log = agora::log::get_logger("life.stop");
    log.info("before");
    log.critical("stop");
    agora::log::flush();  // the handler calls shutdown() while we wait here
    BOOST_TEST(!log.enabled(Level::critical));
    log.critical("after");  // discarded
    agora::log::shutdown();
    auto parsed = agora_test::read_entries(config.file_path);
    std::vector<std::string> messages;
    for (const auto& e : parsed.entries) messages.push_back(e.message);
    const std::vector<std::string> expected = {"before", "stop"};
    BOOST_TEST(messages == expected, boost::test_tools::per_element());
    // And the logger starts again normally.
    BOOST_TEST_REQUIRE(agora::log::initialize(config).has_value());
    log.info("restarted");
    agora::log::shutdown();
    BOOST_TEST(agora_test::read_entries(config.file_path).entries.size() == 3u);
}

// pause_for() that gives up must never leave the backend parked: a backend
// that takes the request just as it is withdrawn would wait for a resume()
// nobody sends, and flush() below would never return (the test then times
// out). Many tries with timeouts of 0 to 300 ns, around the backend's
// reaction time, make the two meet (the load-then-store park this replaced
// hung here within a few hundred thousand tries).
BOOST_AUTO_TEST_CASE(pause_for_that_gives_up_never_leaves_the_backend_parked) {
    using agora::log::detail::Backend;
    agora::log::Config config;
    config.console_enabled = false;
    config.file_enabled = false;
    config.backend_idle_sleep = std::chrono::microseconds(0);  // the backend loops as fast as it can
    Backend backend(config, agora::log::detail::EntryIdentity{"svc", "test", "1", "host"}, {});
    backend.start();
    constexpr int kTries = 600000;
    int paused = 0, failed = 0, other = 0;
    for (int i = 0; i < kTries; ++i) {
        switch (backend.pause_for(std::chrono::nanoseconds(i % 300))) {
            case Backend::PauseResult::paused:
                ++paused;
                backend.resume();
                break;
            case Backend::PauseResult::failed: ++failed; break;
            default: ++other; break;
        }
    }
    backend.flush();  // hangs if a withdrawn request left the backend parked
    backend.stop();
    BOOST_TEST(paused + failed == kTries);
    BOOST_TEST(other == 0);
    BOOST_TEST_MESSAGE("paused " << paused << ", gave up " << failed);
}
