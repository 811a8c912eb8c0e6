// Runtime levels (docs/levels.md): set_level() for the root and by name,
// hierarchy at dot boundaries (loggers created later included), get_level(),
// get_all_levels(), reset_level(), timed reverts on an injected clock,
// runtime levels across initialize(), records logged before the first
// initialize() counted, and set_level() racing logging and shutdown().
//
// The first test case must run before any initialize() in this process.

#define BOOST_TEST_MODULE runtime_levels
#include "common.hpp"

#include "frontend/levels.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using agora::log::Level;
using namespace std::chrono_literals;
namespace alog = agora::log;

namespace {

std::atomic<std::int64_t> g_fake_now{1'000'000'000'000};
std::int64_t fake_now() noexcept { return g_fake_now.load(std::memory_order_relaxed); }
void advance(std::chrono::nanoseconds d) { g_fake_now.fetch_add(d.count(), std::memory_order_relaxed); }

/// Installs the fake clock for a test case, and puts the real one back.
struct FakeClock {
    FakeClock() { agora::log::detail::set_level_clock_for_tests(&fake_now); }
    ~FakeClock() { agora::log::detail::set_level_clock_for_tests(nullptr); }
};

std::size_t count_from(const std::vector<agora_test::Captured>& records, std::string_view logger) {
    std::size_t n = 0;
    for (const auto& r : records) n += r.logger_name == logger ? 1 : 0;
    return n;
}

/// Initializes with `config` and a capture handler; the runtime levels of
/// earlier test cases are dropped (keep_runtime_levels is false by default).
std::shared_ptr<agora_test::CaptureHandler> start(alog::Config config) {
    auto capture = std::make_shared<agora_test::CaptureHandler>();
    auto ok = alog::initialize(config, {capture});
    BOOST_TEST_REQUIRE(ok.has_value(), agora_test::error_text(ok));
    return capture;
}

alog::Config config_in(const agora_test::TempDir& dir) { return agora_test::quiet_config(dir.file("app.log")); }

}  // namespace

BOOST_AUTO_TEST_CASE(records_before_initialize_are_counted_not_written) {
    const std::uint64_t before = alog::stats().records_dropped_before_initialize;
    auto log = alog::get_logger("pre.init");
    BOOST_TEST(log.level() == Level::info);  // Config::level's default
    log.info("before initialize {}", 1);
    log.warning("before initialize {}", 2);
    log.debug("below the level: not counted {}", 3);
    std::thread worker([] {
        auto wlog = alog::get_logger("pre.init.worker");
        for (int i = 0; i < 5; ++i) wlog.error("worker before initialize {}", i);
    });
    worker.join();
    BOOST_TEST(alog::stats().records_dropped_before_initialize - before == 7u);
    // No ring was made for them: the thread still has none.
    BOOST_TEST((agora::log::detail::t_context == nullptr));

    agora_test::TempDir dir;
    {
        agora_test::ShutdownGuard guard;
        auto capture = start(config_in(dir));
        log.info("after initialize {}", 4);
        alog::flush();
        const auto records = capture->records();
        BOOST_TEST(count_from(records, "pre.init") == 1u);
        BOOST_TEST(count_from(records, "pre.init.worker") == 0u);
    }
    // After shutdown() records are discarded as before, not counted here.
    const std::uint64_t after_shutdown = alog::stats().records_dropped_before_initialize;
    log.critical("after shutdown {}", 5);
    BOOST_TEST(alog::stats().records_dropped_before_initialize == after_shutdown);
    BOOST_TEST(!log.enabled(Level::critical));
}

BOOST_AUTO_TEST_CASE(global_and_named_set_level) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto capture = start(config_in(dir));
    auto a = alog::get_logger("gn.a");
    auto ab = alog::get_logger("gn.a.b");
    auto other = alog::get_logger("gn.other");
    BOOST_TEST(alog::get_level() == Level::info);
    BOOST_TEST(!other.enabled(Level::debug));

    BOOST_TEST(alog::set_level(Level::debug).has_value());
    BOOST_TEST(alog::get_level() == Level::debug);
    BOOST_TEST(other.enabled(Level::debug));
    BOOST_TEST(ab.level() == Level::debug);

    BOOST_TEST(alog::set_level(Level::warning, "gn.a").has_value());
    BOOST_TEST(alog::get_level("gn.a") == Level::warning);
    BOOST_TEST(a.level() == Level::warning);
    BOOST_TEST(ab.level() == Level::warning);
    BOOST_TEST(!ab.enabled(Level::info));
    BOOST_TEST(ab.enabled(Level::warning));
    BOOST_TEST(alog::get_level("gn.other") == Level::debug);
    BOOST_TEST(alog::get_level() == Level::debug);

    other.debug("debug from other {}", 1);
    ab.info("info from a.b is below {}", 2);
    ab.warning("warning from a.b {}", 3);
    alog::flush();
    auto records = capture->records();
    BOOST_TEST(count_from(records, "gn.other") == 1u);
    BOOST_TEST(count_from(records, "gn.a.b") == 1u);

    // Arguments that are not accepted change nothing.
    auto empty = alog::set_level(Level::debug, "");
    BOOST_TEST_REQUIRE(!empty.has_value());
    BOOST_TEST(empty.error().code == alog::ErrorCode::invalid_argument);
    auto bad_level = alog::set_level(static_cast<Level>(7), "gn.a");
    BOOST_TEST_REQUIRE(!bad_level.has_value());
    BOOST_TEST(bad_level.error().code == alog::ErrorCode::invalid_argument);
    auto zero = alog::set_level(Level::debug, "gn.a", 0ms);
    BOOST_TEST_REQUIRE(!zero.has_value());
    BOOST_TEST(zero.error().code == alog::ErrorCode::invalid_argument);
    BOOST_TEST(!alog::set_level(Level::debug, -1s).has_value());
    BOOST_TEST(alog::get_level("gn.a") == Level::warning);
    BOOST_TEST(alog::get_level() == Level::debug);

    alog::reset_level();
    BOOST_TEST(alog::get_level() == Level::info);
    BOOST_TEST(ab.level() == Level::info);
    BOOST_TEST(!other.enabled(Level::debug));
}

BOOST_AUTO_TEST_CASE(hierarchy_at_dot_boundaries_and_for_later_loggers) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto capture = start(config_in(dir));
    auto ingestion = alog::get_logger("agora.market_data.ingestion");
    auto market = alog::get_logger("agora.market");
    BOOST_TEST(alog::set_level(Level::error, "agora.market_data").has_value());
    BOOST_TEST(ingestion.level() == Level::error);
    BOOST_TEST(!ingestion.enabled(Level::warning));
    // Created after the set: resolved when created.
    auto feed = alog::get_logger("agora.market_data.feed.x");
    BOOST_TEST(feed.level() == Level::error);
    BOOST_TEST(!feed.enabled(Level::warning));
    // "agora.market" is not an ancestor of "agora.market_data".
    BOOST_TEST(market.level() == Level::info);
    BOOST_TEST(alog::set_level(Level::debug, "agora.market").has_value());
    BOOST_TEST(market.enabled(Level::debug));
    BOOST_TEST(ingestion.level() == Level::error);
    BOOST_TEST(alog::get_level("agora.market_datafeed") == Level::info);
    // A closer name wins over an ancestor, and over the root.
    BOOST_TEST(alog::set_level(Level::debug, "agora.market_data.ingestion").has_value());
    BOOST_TEST(alog::set_level(Level::critical).has_value());
    BOOST_TEST(ingestion.enabled(Level::debug));
    BOOST_TEST(feed.level() == Level::error);
    BOOST_TEST(alog::get_level("agora.market_data.other") == Level::error);
    BOOST_TEST(alog::get_level("unrelated") == Level::critical);
    // Logger::set_level is a runtime level for its exact name: children follow.
    auto parent = alog::get_logger("ls");
    parent.set_level(Level::warning);
    auto child = alog::get_logger("ls.child");
    BOOST_TEST(child.level() == Level::warning);
    BOOST_TEST(alog::get_level("ls") == Level::warning);
    alog::reset_level();
    BOOST_TEST(child.level() == Level::info);
    BOOST_TEST(parent.level() == Level::info);
}

// set_level(name) stores the level byte the calls compare with (enabled())
// only for the name and the loggers below it; names that merely start with
// it sort among them ("sub-x" and "sub!" between "sub" and "sub.a") and keep theirs.
BOOST_AUTO_TEST_CASE(set_level_stores_the_levels_of_the_name_and_the_loggers_below_it) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto capture = start(config_in(dir));
    const std::vector<std::string> below = {"sub", "sub.a", "sub.a.b", "sub.z"};
    const std::vector<std::string> beside = {"su", "sub!", "sub-x", "sub-x.a", "subx", "sub/", "sua.sub", "sub_.a"};
    std::vector<alog::Logger> below_loggers, beside_loggers;
    for (const auto& name : below) below_loggers.push_back(alog::get_logger(name));
    for (const auto& name : beside) beside_loggers.push_back(alog::get_logger(name));

    BOOST_TEST(alog::set_level(Level::debug, "sub").has_value());
    for (std::size_t i = 0; i < below.size(); ++i) BOOST_TEST(below_loggers[i].enabled(Level::debug), below[i]);
    for (std::size_t i = 0; i < beside.size(); ++i) BOOST_TEST(!beside_loggers[i].enabled(Level::debug), beside[i]);

    // A name below with its own level; the root reaches every logger without one.
    BOOST_TEST(alog::set_level(Level::error, "sub.a").has_value());
    BOOST_TEST(below_loggers[0].enabled(Level::debug));
    BOOST_TEST(!below_loggers[1].enabled(Level::warning));
    BOOST_TEST(!below_loggers[2].enabled(Level::warning));
    BOOST_TEST(below_loggers[3].enabled(Level::debug));
    BOOST_TEST(alog::set_level(Level::critical).has_value());
    for (std::size_t i = 0; i < beside.size(); ++i) BOOST_TEST(!beside_loggers[i].enabled(Level::error), beside[i]);
    BOOST_TEST(below_loggers[3].enabled(Level::debug));

    // Logger::set_level on a logger with children, then on the root's name again.
    below_loggers[1].set_level(Level::info);
    BOOST_TEST(below_loggers[2].enabled(Level::info));
    BOOST_TEST(!below_loggers[2].enabled(Level::debug));
    BOOST_TEST(alog::set_level(Level::debug).has_value());
    for (std::size_t i = 0; i < beside.size(); ++i) BOOST_TEST(beside_loggers[i].enabled(Level::debug), beside[i]);
    BOOST_TEST(!below_loggers[1].enabled(Level::debug));
}

BOOST_AUTO_TEST_CASE(get_all_levels_lists_loggers_overrides_and_configured_names) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = config_in(dir);
    config.level = Level::warning;
    config.logger_levels = {{"all.cfg", Level::error}};
    auto capture = start(config);
    auto x = alog::get_logger("all.x");
    auto cfg_child = alog::get_logger("all.cfg.child");
    BOOST_TEST(alog::set_level(Level::debug, "all.not_yet_created").has_value());
    const auto levels = alog::get_all_levels();
    // 0: not listed.
    auto at = [&](const std::string& name) -> int {
        auto it = levels.find(name);
        return it == levels.end() ? 0 : static_cast<int>(it->second);
    };
    BOOST_TEST(at("") == static_cast<int>(Level::warning));
    BOOST_TEST(at("all.x") == static_cast<int>(Level::warning));
    BOOST_TEST(at("all.cfg.child") == static_cast<int>(Level::error));
    BOOST_TEST(at("all.cfg") == static_cast<int>(Level::error));
    BOOST_TEST(at("all.not_yet_created") == static_cast<int>(Level::debug));
    // Every logger created so far is listed (this process's earlier ones too).
    BOOST_TEST(at("pre.init") != 0);
    BOOST_TEST(at("gn.a.b") != 0);
    BOOST_TEST(at("all") == 0);
}

BOOST_AUTO_TEST_CASE(reset_level_restores_configured_levels_and_drops_reverts) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = config_in(dir);
    config.logger_levels = {{"rs.cfg", Level::warning}};
    auto capture = start(config);
    auto cfg = alog::get_logger("rs.cfg.child");
    BOOST_TEST(cfg.level() == Level::warning);
    BOOST_TEST(alog::set_level(Level::debug, "rs.cfg").has_value());
    BOOST_TEST(alog::set_level(Level::error, 1h).has_value());
    BOOST_TEST(alog::set_level(Level::critical, "rs.timed", 1h).has_value());
    BOOST_TEST(cfg.level() == Level::debug);
    BOOST_TEST(alog::get_level() == Level::error);
    auto& reg = agora::log::detail::Registry::instance();
    BOOST_TEST(reg.next_level_deadline.load() != agora::log::detail::kNoLevelDeadline);
    alog::reset_level();
    BOOST_TEST(cfg.level() == Level::warning);
    BOOST_TEST(alog::get_level() == Level::info);
    BOOST_TEST(alog::get_level("rs.timed") == Level::info);
    BOOST_TEST(reg.next_level_deadline.load() == agora::log::detail::kNoLevelDeadline);

    alog::Config bad = config;
    bad.logger_levels = {{"", Level::debug}};
    auto invalid = bad.validate();
    BOOST_TEST_REQUIRE(!invalid.has_value());
    BOOST_TEST(invalid.error().code == alog::ErrorCode::invalid_config);
}

BOOST_AUTO_TEST_CASE(timed_levels_revert_on_the_injected_clock) {
    FakeClock clock;
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto capture = start(config_in(dir));
    auto log = alog::get_logger("rv.a.b");

    BOOST_TEST(alog::set_level(Level::debug, "rv.a", 10s).has_value());
    BOOST_TEST(log.enabled(Level::debug));
    advance(9s);
    agora::log::detail::apply_due_level_reverts(fake_now());
    BOOST_TEST(log.enabled(Level::debug));
    BOOST_TEST(alog::get_level("rv.a") == Level::debug);
    advance(1s);
    agora::log::detail::apply_due_level_reverts(fake_now());
    BOOST_TEST(!log.enabled(Level::debug));
    BOOST_TEST(alog::get_level("rv.a") == Level::info);

    // A timed level over a permanent one reverts to the permanent one, also
    // when a second timed level replaced the first.
    BOOST_TEST(alog::set_level(Level::warning, "rv.a").has_value());
    BOOST_TEST(alog::set_level(Level::debug, "rv.a", 5s).has_value());
    BOOST_TEST(alog::set_level(Level::error, "rv.a", 20s).has_value());
    BOOST_TEST(log.level() == Level::error);
    advance(5s);
    agora::log::detail::apply_due_level_reverts(fake_now());
    BOOST_TEST(log.level() == Level::error);  // the first revert was cancelled
    advance(15s);
    BOOST_TEST(alog::get_level("rv.a") == Level::warning);  // level calls apply due reverts too
    BOOST_TEST(log.level() == Level::warning);

    // A permanent set cancels a pending revert.
    BOOST_TEST(alog::set_level(Level::debug, "rv.p", 1s).has_value());
    BOOST_TEST(alog::set_level(Level::critical, "rv.p").has_value());
    advance(2s);
    agora::log::detail::apply_due_level_reverts(fake_now());
    BOOST_TEST(alog::get_level("rv.p") == Level::critical);

    // The root: every logger without a closer runtime level follows it back.
    BOOST_TEST(alog::set_level(Level::debug, 3s).has_value());
    BOOST_TEST(alog::get_level("rv.other") == Level::debug);
    BOOST_TEST(alog::get_level("rv.a.b") == Level::warning);
    advance(3s);
    agora::log::detail::apply_due_level_reverts(fake_now());
    BOOST_TEST(alog::get_level() == Level::info);
    BOOST_TEST(alog::get_level("rv.other") == Level::info);
    BOOST_TEST(agora::log::detail::Registry::instance().next_level_deadline.load() ==
               agora::log::detail::kNoLevelDeadline);

    // What the backend writes follows: a debug record is written only while
    // the timed level is in force.
    BOOST_TEST(alog::set_level(Level::debug, "rv.w", 1s).has_value());
    auto w = alog::get_logger("rv.w");
    w.debug("while debug {}", 1);
    advance(1s);
    agora::log::detail::apply_due_level_reverts(fake_now());
    w.debug("after the revert {}", 2);
    alog::flush();
    BOOST_TEST(count_from(capture->records(), "rv.w") == 1u);
    alog::reset_level();
}

BOOST_AUTO_TEST_CASE(runtime_levels_survive_initialize_only_when_asked) {
    agora_test::TempDir dir;
    auto config = config_in(dir);
    {
        agora_test::ShutdownGuard guard;
        auto capture = start(config);
        BOOST_TEST(alog::set_level(Level::debug, "keep.k").has_value());
    }
    // Set while stopped: kept until the next initialize(), which drops it.
    BOOST_TEST(alog::get_level("keep.k") == Level::debug);
    {
        agora_test::ShutdownGuard guard;
        auto capture = start(config);
        BOOST_TEST(alog::get_level("keep.k") == Level::info);
        BOOST_TEST(alog::set_level(Level::debug, "keep.k").has_value());
    }
    {
        agora_test::ShutdownGuard guard;
        auto kept = config;
        kept.keep_runtime_levels = true;
        kept.logger_levels = {{"keep", Level::error}};
        auto capture = start(kept);
        BOOST_TEST(alog::get_level("keep.k") == Level::debug);
        BOOST_TEST(alog::get_level("keep.other") == Level::error);
        auto k = alog::get_logger("keep.k");
        BOOST_TEST(k.enabled(Level::debug));
        alog::reset_level();
        BOOST_TEST(k.level() == Level::error);
    }
}

BOOST_AUTO_TEST_CASE(set_level_never_turns_a_logger_on_after_shutdown) {
    agora_test::TempDir dir;
    auto log = alog::get_logger("off.after");
    {
        agora_test::ShutdownGuard guard;
        auto capture = start(config_in(dir));
        BOOST_TEST(log.enabled(Level::info));
    }
    log.set_level(Level::debug);
    BOOST_TEST(alog::set_level(Level::debug).has_value());
    BOOST_TEST(alog::set_level(Level::debug, "off").has_value());
    BOOST_TEST(!log.enabled(Level::critical));
    BOOST_TEST(log.level() == Level::debug);  // what it will have once running
    alog::reset_level();
}

BOOST_AUTO_TEST_CASE(set_level_races_logging_and_shutdown) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto capture = start(config_in(dir));
    constexpr int kWriters = 3;
    std::vector<alog::Logger> loggers;
    for (int t = 0; t < kWriters; ++t) loggers.push_back(alog::get_logger("race.w" + std::to_string(t)));
    std::atomic<bool> stop_writers{false};
    std::atomic<bool> stop{false};
    std::atomic<int> setter_failures{0};
    std::atomic<std::uint64_t> written_calls{0};
    std::barrier started(kWriters + 2);
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t)
        threads.emplace_back([&, t] {
            started.arrive_and_wait();
            std::uint64_t n = 0;
            while (!stop_writers.load(std::memory_order_relaxed)) {
                loggers[static_cast<std::size_t>(t)].debug("race {} {}", t, n);
                loggers[static_cast<std::size_t>(t)].info("race {} {}", t, n);
                ++n;
            }
            written_calls.fetch_add(n, std::memory_order_relaxed);
        });
    threads.emplace_back([&] {
        started.arrive_and_wait();
        const Level levels[] = {Level::debug, Level::info, Level::warning, Level::error};
        for (unsigned i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            const Level l = levels[i % 4];
            bool ok = true;
            switch (i % 5) {
                case 0: ok = alog::set_level(l).has_value(); break;
                case 1: ok = alog::set_level(l, "race").has_value(); break;
                case 2: loggers[i % kWriters].set_level(l); break;
                case 3: ok = alog::set_level(l, "race.w1", 1ms).has_value(); break;
                case 4:
                    ok = !alog::get_all_levels().empty();
                    alog::reset_level();
                    break;
            }
            if (!ok) setter_failures.fetch_add(1, std::memory_order_relaxed);
        }
    });
    started.arrive_and_wait();
    while (written_calls.load() == 0 && capture->records().size() < 100) std::this_thread::yield();
    alog::shutdown();
    // The writers raced shutdown(); they stop now (a logger wrongly on again
    // would fill their rings with nobody to drain them).
    stop_writers.store(true);
    for (int t = 0; t < kWriters; ++t) threads[static_cast<std::size_t>(t)].join();
    // Stopped while the setter keeps going: no logger may be on again.
    std::vector<bool> on_after_shutdown;
    for (int round = 0; round < 1000; ++round)
        for (const auto& l : loggers) on_after_shutdown.push_back(l.enabled(Level::critical));
    stop.store(true);
    threads.back().join();
    for (const auto& l : loggers) on_after_shutdown.push_back(l.enabled(Level::critical));
    BOOST_TEST(std::count(on_after_shutdown.begin(), on_after_shutdown.end(), true) == 0);
    BOOST_TEST(setter_failures.load() == 0);
    BOOST_TEST(written_calls.load() > 0u);
    alog::reset_level();
}
