// Sampling and rate limiting (Config::sampling, docs/sampling.md): nothing
// decided by default, sampling rates counted on a fixed seed, always-log
// patterns, the token bucket on an injected clock (burst, refill, per
// logger, racing threads), the order rate limit then sampling, the
// "Rate limited" WARNING, stats() and sampling_stats(), rules changed by a
// later initialize() reaching sites threads had already used, config errors,
// and the decoder writing sample_rate for a binary log file. Every entry read
// from a JSON file is validated against the schema.

#define BOOST_TEST_MODULE sampling
#include "common.hpp"

#include "decode/decoder.hpp"
#include "frontend/sampling.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <atomic>
#include <barrier>
#include <cstring>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using agora::log::Config;
using agora::log::Level;
using agora::log::RateLimitConfig;
namespace alog = agora::log;
namespace d = agora::log::detail;

namespace {

std::atomic<std::uint64_t> g_fake_ns{1'000'000'000};
std::uint64_t fake_now() noexcept { return g_fake_ns.load(std::memory_order_relaxed); }
void advance_ms(std::uint64_t ms) { g_fake_ns.fetch_add(ms * 1'000'000, std::memory_order_relaxed); }

/// The rate limit's clock is the fake one for a test case (set before
/// initialize(), which converts the rate to its ticks).
struct FakeClock {
    FakeClock() { d::set_sampling_clock_for_tests(&fake_now); }
    ~FakeClock() { d::set_sampling_clock_for_tests(nullptr); }
};

/// Shuts the logger down and returns the file's entries, schema-checked.
std::vector<agora_test::Entry> shutdown_and_read(const std::string& path) {
    alog::shutdown();
    auto read = agora_test::read_entries(path);
    BOOST_TEST(read.errors.empty(), agora_test::join_errors(read.errors));
    return read.entries;
}

void start(const Config& config) {
    auto ok = alog::initialize(config);
    BOOST_TEST_REQUIRE(ok.has_value(), agora_test::error_text(ok));
}

/// context.sample_rate of a JSON line, or -1 if absent.
double sample_rate_of(const std::string& line) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError()) return -2;
    const rapidjson::Value* v = rapidjson::Pointer("/context/sample_rate").Get(doc);
    return v != nullptr && v->IsNumber() ? v->GetDouble() : -1;
}

std::size_t count_message(const std::vector<agora_test::Entry>& entries, const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& e : entries) n += e.message.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
}

/// Sum of N over "Rate limited: N entries from <logger> suppressed" entries.
std::uint64_t reported_rate_limited(const std::vector<agora_test::Entry>& entries, const std::string& logger) {
    const std::regex re("Rate limited: ([0-9]+) entries from (.*) suppressed");
    std::uint64_t sum = 0;
    for (const auto& e : entries) {
        std::smatch m;
        if (e.level == "WARNING" && std::regex_match(e.message, m, re) && m[2] == logger)
            sum += std::stoull(m[1]);
    }
    return sum;
}

std::uint64_t sampled_out_of(const std::string& logger) {
    const auto all = alog::sampling_stats();
    auto it = all.find(logger);
    return it == all.end() ? 0 : it->second.sampled_out;
}
std::uint64_t rate_limited_of(const std::string& logger) {
    const auto all = alog::sampling_stats();
    auto it = all.find(logger);
    return it == all.end() ? 0 : it->second.rate_limited;
}

/// One call site for every record of a test (the site is what is decided).
void log_info(const alog::Logger& log, int i) { log.info("sampled record {}", i); }

}  // namespace

BOOST_AUTO_TEST_CASE(nothing_is_decided_by_default) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const auto before = alog::stats();
    const Config config = agora_test::quiet_config(dir.file("app.log"));
    BOOST_TEST(config.sampling.enabled);
    BOOST_TEST(!config.sampling.rate_limit.has_value());
    for (const auto& [level, rate] : config.sampling.rates) BOOST_TEST(rate == 1.0);
    start(config);
    BOOST_TEST((d::current_sampling_plan() == nullptr));
    auto log = alog::get_logger("sampling.default");
    for (int i = 0; i < 2000; ++i) log_info(log, i);
    const auto entries = shutdown_and_read(dir.file("app.log"));
    BOOST_TEST(count_message(entries, "sampled record") == 2000u);
    for (const auto& e : entries) BOOST_TEST(sample_rate_of(e.raw) == -1.0);
    BOOST_TEST(alog::stats().records_sampled_out == before.records_sampled_out);
    BOOST_TEST(alog::stats().records_rate_limited == before.records_rate_limited);
}

BOOST_AUTO_TEST_CASE(rates_keep_their_fraction_and_mark_kept_entries) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = agora_test::quiet_config(dir.file("app.log"));
    config.level = Level::debug;
    config.sampling.rates = {{Level::debug, 0.0}, {Level::info, 0.1}, {Level::warning, 0.5}};
    config.sampling.seed = 42;
    start(config);
    auto log = alog::get_logger("sampling.rates");
    const auto before = alog::stats();
    constexpr int kInfo = 20000, kWarning = 4000, kOther = 300;
    for (int i = 0; i < kInfo; ++i) log_info(log, i);
    for (int i = 0; i < kWarning; ++i) log.warning("warning record {}", i);
    for (int i = 0; i < kOther; ++i) {
        log.debug("debug record {}", i);  // rate 0: none
        log.error("error record {}", i);  // not listed: 1.0, never marked
    }
    const auto entries = shutdown_and_read(dir.file("app.log"));
    const std::size_t info = count_message(entries, "sampled record");
    const std::size_t warning = count_message(entries, "warning record");
    // Expected 2000 and 2000; the bounds are over 10 standard deviations wide
    // (and the seed is fixed, so the counts repeat).
    BOOST_TEST(info >= 1600u);
    BOOST_TEST(info <= 2400u);
    BOOST_TEST(warning >= 1700u);
    BOOST_TEST(warning <= 2300u);
    BOOST_TEST(count_message(entries, "debug record") == 0u);
    BOOST_TEST(count_message(entries, "error record") == static_cast<std::size_t>(kOther));
    for (const auto& e : entries) {
        if (e.message.rfind("sampled record", 0) == 0) BOOST_TEST(sample_rate_of(e.raw) == 0.1);
        if (e.message.rfind("warning record", 0) == 0) BOOST_TEST(sample_rate_of(e.raw) == 0.5);
        if (e.message.rfind("error record", 0) == 0) BOOST_TEST(sample_rate_of(e.raw) == -1.0);
    }
    const std::uint64_t out = (kInfo - info) + (kWarning - warning) + kOther;
    BOOST_TEST(alog::stats().records_sampled_out - before.records_sampled_out == out);
    BOOST_TEST(sampled_out_of("sampling.rates") == out);
    BOOST_TEST(alog::stats().records_rate_limited == before.records_rate_limited);
}

BOOST_AUTO_TEST_CASE(a_fixed_seed_repeats_the_same_records) {
    agora_test::TempDir dir;
    std::vector<std::string> kept[2];
    for (int run = 0; run < 2; ++run) {
        agora_test::ShutdownGuard guard;
        const std::string path = dir.file("run" + std::to_string(run) + ".log");
        Config config = agora_test::quiet_config(path);
        config.sampling.rates = {{Level::info, 0.25}};
        config.sampling.seed = 7;
        start(config);
        auto log = alog::get_logger("sampling.seed");
        for (int i = 0; i < 400; ++i) log_info(log, i);
        for (const auto& e : shutdown_and_read(path)) kept[run].push_back(e.message);
    }
    BOOST_TEST(kept[0].size() > 50u);
    BOOST_TEST(kept[0] == kept[1]);
}

BOOST_AUTO_TEST_CASE(always_log_patterns_bypass_rate_limit_and_sampling) {
    FakeClock clock;
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = agora_test::quiet_config(dir.file("app.log"));
    config.sampling.rates = {{Level::info, 0.0}};
    config.sampling.always_log_patterns = {".*STARTUP.*", "health.*check"};
    config.sampling.rate_limit = RateLimitConfig{1.0, 1};
    start(config);
    auto log = alog::get_logger("sampling.always");
    for (int i = 0; i < 50; ++i) {
        log.info("Service startup step {}", i);
        log.info("health {} check", i);
        log.info("ordinary {}", i);
    }
    const auto entries = shutdown_and_read(dir.file("app.log"));
    BOOST_TEST(count_message(entries, "Service startup step") == 50u);
    BOOST_TEST(count_message(entries, "health") == 50u);
    // The bucket's one token goes to the first ordinary record, which sampling then drops.
    BOOST_TEST(count_message(entries, "ordinary") == 0u);
    BOOST_TEST(rate_limited_of("sampling.always") == 49u);
    BOOST_TEST(sampled_out_of("sampling.always") == 1u);
    for (const auto& e : entries)
        if (e.message.rfind("Service", 0) == 0) BOOST_TEST(sample_rate_of(e.raw) == -1.0);
}

BOOST_AUTO_TEST_CASE(token_bucket_bursts_refills_and_is_per_logger) {
    FakeClock clock;
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = agora_test::quiet_config(dir.file("app.log"));
    config.sampling.rate_limit = RateLimitConfig{10.0, 5};  // a token every 100 ms, 5 at most
    config.sampling.report_interval = std::chrono::milliseconds(0);
    start(config);
    auto a = alog::get_logger("rl.a");
    auto b = alog::get_logger("rl.b");
    for (int i = 0; i < 20; ++i) a.info("a burst {}", i);  // 5 kept
    for (int i = 0; i < 7; ++i) b.info("b burst {}", i);   // its own bucket: 5 kept
    advance_ms(100);
    for (int i = 0; i < 3; ++i) a.info("a refill {}", i);  // one token back: 1 kept
    advance_ms(250);
    for (int i = 0; i < 3; ++i) a.info("a partial {}", i);  // 2.5 tokens: 2 kept
    advance_ms(60'000);
    for (int i = 0; i < 20; ++i) a.info("a capped {}", i);  // full again, never more than 5
    alog::flush();
    BOOST_TEST(rate_limited_of("rl.a") == 15u + 2u + 1u + 15u);
    BOOST_TEST(rate_limited_of("rl.b") == 2u);
    const auto entries = shutdown_and_read(dir.file("app.log"));
    BOOST_TEST(count_message(entries, "a burst") == 5u);
    BOOST_TEST(count_message(entries, "b burst") == 5u);
    BOOST_TEST(count_message(entries, "a refill") == 1u);
    BOOST_TEST(count_message(entries, "a partial") == 2u);
    BOOST_TEST(count_message(entries, "a capped") == 5u);
    BOOST_TEST(reported_rate_limited(entries, "rl.a") == 33u);
    BOOST_TEST(reported_rate_limited(entries, "rl.b") == 2u);
}

BOOST_AUTO_TEST_CASE(rate_limit_is_applied_before_sampling) {
    FakeClock clock;
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = agora_test::quiet_config(dir.file("app.log"));
    config.sampling.rate_limit = RateLimitConfig{1.0, 40};
    config.sampling.rates = {{Level::info, 0.5}};
    config.sampling.seed = 3;
    start(config);
    auto log = alog::get_logger("sampling.order");
    for (int i = 0; i < 100; ++i) log_info(log, i);
    const auto entries = shutdown_and_read(dir.file("app.log"));
    const std::size_t kept = count_message(entries, "sampled record");
    // 40 tokens are taken first; sampling decides among those 40 only.
    BOOST_TEST(rate_limited_of("sampling.order") == 60u);
    BOOST_TEST(kept + sampled_out_of("sampling.order") == 40u);
    BOOST_TEST(kept > 0u);
    BOOST_TEST(kept < 40u);
    BOOST_TEST(reported_rate_limited(entries, "sampling.order") == 60u);  // the shutdown report
}

BOOST_AUTO_TEST_CASE(racing_threads_share_one_bucket_exactly) {
    FakeClock clock;  // frozen: no refill during the race
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = agora_test::quiet_config(dir.file("app.log"));
    config.sampling.rate_limit = RateLimitConfig{1.0, 1000};
    start(config);
    constexpr int kThreads = 4, kEach = 2000;
    std::barrier sync(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&sync] {
            auto log = alog::get_logger("rl.race");
            sync.arrive_and_wait();
            for (int i = 0; i < kEach; ++i) log_info(log, i);
        });
    for (auto& t : threads) t.join();
    const auto entries = shutdown_and_read(dir.file("app.log"));
    BOOST_TEST(count_message(entries, "sampled record") == 1000u);
    BOOST_TEST(rate_limited_of("rl.race") == static_cast<std::uint64_t>(kThreads * kEach - 1000));
}

BOOST_AUTO_TEST_CASE(a_later_initialize_reaches_sites_threads_already_use) {
    agora_test::TempDir dir;
    auto log = alog::get_logger("sampling.reinit");
    std::barrier step(2);
    std::atomic<int> phase_logged{0};
    // A worker that keeps its thread (and its site cache) across initialize():
    // it logs 10 records through one site at each step the main thread opens.
    std::thread worker([&] {
        for (int phase = 0; phase < 3; ++phase) {
            step.arrive_and_wait();  // main: initialized
            for (int i = 0; i < 10; ++i) log_info(log, phase * 100 + i);
            phase_logged.fetch_add(1);
            step.arrive_and_wait();  // main: may shut down
        }
    });
    std::size_t kept[3] = {};
    for (int phase = 0; phase < 3; ++phase) {
        agora_test::ShutdownGuard guard;
        const std::string path = dir.file("phase" + std::to_string(phase) + ".log");
        Config config = agora_test::quiet_config(path);
        if (phase == 1) config.sampling.rates = {{Level::info, 0.0}};  // off, then on, then off again
        start(config);
        step.arrive_and_wait();
        for (int i = 0; i < 10; ++i) log_info(log, phase * 100 + i);  // the main thread's cache too
        step.arrive_and_wait();
        kept[phase] = count_message(shutdown_and_read(path), "sampled record");
    }
    worker.join();
    BOOST_TEST(phase_logged.load() == 3);
    BOOST_TEST(kept[0] == 20u);
    BOOST_TEST(kept[1] == 0u);
    BOOST_TEST(kept[2] == 20u);
}

BOOST_AUTO_TEST_CASE(disabled_sampling_ignores_the_rules) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = agora_test::quiet_config(dir.file("app.log"));
    config.sampling.enabled = false;
    config.sampling.rates = {{Level::info, 0.0}};
    config.sampling.rate_limit = RateLimitConfig{1.0, 1};
    start(config);
    BOOST_TEST((d::current_sampling_plan() == nullptr));
    auto log = alog::get_logger("sampling.disabled");
    for (int i = 0; i < 100; ++i) log_info(log, i);
    BOOST_TEST(count_message(shutdown_and_read(dir.file("app.log")), "sampled record") == 100u);
}

BOOST_AUTO_TEST_CASE(config_errors_name_the_field) {
    auto error_of = [](auto mutate) {
        Config c = agora_test::quiet_config("/tmp/unused.log");
        mutate(c);
        auto v = c.validate();
        return v.has_value() ? std::string("<valid>") : v.error().message;
    };
    BOOST_TEST(error_of([](Config& c) { c.sampling.rates[Level::info] = 1.5; }).find("sampling.rates[INFO]") !=
               std::string::npos);
    BOOST_TEST(error_of([](Config& c) { c.sampling.rates[Level::debug] = -0.1; }).find("sampling.rates[DEBUG]") !=
               std::string::npos);
    BOOST_TEST(error_of([](Config& c) { c.sampling.always_log_patterns = {"ok", "(unclosed"}; })
                   .find("sampling.always_log_patterns[1]='(unclosed'") != std::string::npos);
    BOOST_TEST(error_of([](Config& c) { c.sampling.rate_limit = RateLimitConfig{0.0, 5}; })
                   .find("sampling.rate_limit.messages_per_second") != std::string::npos);
    BOOST_TEST(error_of([](Config& c) { c.sampling.rate_limit = RateLimitConfig{10.0, 0}; })
                   .find("sampling.rate_limit.burst_size") != std::string::npos);
    BOOST_TEST(error_of([](Config& c) { c.sampling.report_interval = std::chrono::milliseconds(-1); })
                   .find("sampling.report_interval") != std::string::npos);
    BOOST_TEST(error_of([](Config& c) { c.sampling.rates = {{Level::info, 0.5}}; }) == "<valid>");
}

BOOST_AUTO_TEST_CASE(decoder_writes_sample_rate_for_a_binary_log) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    {
        agora_test::ShutdownGuard guard;
        Config config = agora_test::quiet_config(path);
        config.file_format = alog::FileFormat::binary;
        config.sampling.rates = {{Level::info, 0.5}};
        config.sampling.seed = 11;
        start(config);
        auto log = alog::get_logger("sampling.binary");
        for (int i = 0; i < 200; ++i) log_info(log, i);
        log.warning("not sampled");
    }
    const std::string bytes = agora_test::read_file(path);
    std::vector<std::byte> data(bytes.size());
    std::memcpy(data.data(), bytes.data(), bytes.size());
    d::Decoder decoder{d::DecodeOptions{}};
    decoder.add(path, std::move(data));
    std::vector<std::string> lines;
    decoder.render([&lines](std::string_view line) { lines.emplace_back(line); });
    for (const auto& info : decoder.inputs()) BOOST_TEST(info.problems.empty(), agora_test::join_errors(info.problems));
    std::size_t sampled = 0, warnings = 0;
    for (const auto& line : lines) {
        std::string error;
        BOOST_TEST(agora_test::parse_entry(line, error).has_value(), error);
        if (line.find("sampled record") != std::string::npos) {
            ++sampled;
            BOOST_TEST(sample_rate_of(line) == 0.5);
        }
        if (line.find("not sampled") != std::string::npos) {
            ++warnings;
            BOOST_TEST(sample_rate_of(line) == -1.0);
        }
    }
    BOOST_TEST(sampled > 50u);
    BOOST_TEST(sampled < 150u);
    BOOST_TEST(sampled + sampled_out_of("sampling.binary") == 200u);
    BOOST_TEST(warnings == 1u);
}

BOOST_AUTO_TEST_CASE(env_switches) {
    agora_test::EnvGuard env;
    env.set("LOG_SAMPLING", "off");
    env.set("LOG_RATE_LIMIT_PER_SECOND", "250.5");
    env.set("LOG_RATE_LIMIT_BURST", "40");
    auto c = Config::from_env();
    BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
    BOOST_TEST(!c->sampling.enabled);
    BOOST_TEST_REQUIRE(c->sampling.rate_limit.has_value());
    BOOST_TEST(c->sampling.rate_limit->messages_per_second == 250.5);
    BOOST_TEST(c->sampling.rate_limit->burst_size == 40u);

    // 0 turns a rate limit from the code (or the file) off.
    env.set("LOG_RATE_LIMIT_PER_SECOND", "0");
    env.unset("LOG_RATE_LIMIT_BURST");
    Config base;
    base.sampling.rate_limit = RateLimitConfig{};
    c = Config::from_env(base);
    BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
    BOOST_TEST(!c->sampling.rate_limit.has_value());

    const std::vector<std::pair<const char*, const char*>> bad = {
        {"LOG_SAMPLING", "sometimes"},     {"LOG_RATE_LIMIT_PER_SECOND", "-5"},
        {"LOG_RATE_LIMIT_PER_SECOND", "nan"}, {"LOG_RATE_LIMIT_PER_SECOND", "1e3"},
        {"LOG_RATE_LIMIT_BURST", "0"},     {"LOG_RATE_LIMIT_BURST", "12x"},
    };
    for (const auto& [name, value] : bad) {
        agora_test::EnvGuard inner;
        inner.set("LOG_RATE_LIMIT_PER_SECOND", "100");
        inner.set(name, value);
        auto r = Config::from_env();
        BOOST_TEST_REQUIRE(!r.has_value(), name << "=" << value);
        BOOST_TEST(r.error().message.find(std::string(name) + "='" + value + "'") != std::string::npos,
                   r.error().message);
    }
    // A burst without a rate limit says what is missing.
    agora_test::EnvGuard alone;
    alone.set("LOG_RATE_LIMIT_BURST", "10");
    auto r = Config::from_env();
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().message.find("LOG_RATE_LIMIT_PER_SECOND") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(extreme_rate_limits_keep_their_meaning) {
    // A token per 10^9 s with a burst of 10^9: interval x burst is far past
    // 2^64 ticks and must not wrap (unbounded, 11 of these 100 were kept).
    FakeClock clock;  // frozen
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config config = agora_test::quiet_config(dir.file("app.log"));
    config.sampling.rate_limit = RateLimitConfig{1e-9, 1'000'000'000};
    start(config);
    auto log = alog::get_logger("rl.extreme");
    for (int i = 0; i < 100; ++i) log_info(log, i);
    alog::shutdown();
    config.sampling.rate_limit = RateLimitConfig{1e9, 1};  // the other end: one token, refilled every tick
    config.file_path = dir.file("second.log");
    start(config);
    for (int i = 0; i < 3; ++i) log_info(log, i);  // frozen clock: the first only
    const auto first = agora_test::read_entries(dir.file("app.log"));
    BOOST_TEST(count_message(first.entries, "sampled record") == 100u);
    BOOST_TEST(count_message(shutdown_and_read(dir.file("second.log")), "sampled record") == 1u);
    BOOST_TEST(rate_limited_of("rl.extreme") == 2u);
}
