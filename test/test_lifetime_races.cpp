// Lifetimes and races at the edges of a calling thread's life and of the
// process-wide tables:
//   - a thread's end is marked after its thread_local destructors and after
//     other libraries' pthread key destructors: records they write are kept,
//     their queue is reclaimed, and a ScopedContext they close stays alive
//     until the backend has read the records that refer to it;
//   - a call site or a logger is complete (its id included) before readers
//     can see it in its table;
//   - Logger::set_level() cannot turn a logger back on after shutdown();
//   - a call site's fallback location key is integer arithmetic, defined for
//     any address and any line/column;
//   - SpscRing::unread_bytes() from a third thread stays within 0..capacity().
//
// Built and run under ASan+UBSan (a snapshot used after it was freed, pointer
// overflow) and TSan (the table and level races). Races are probabilistic:
// each test makes many attempts, and asserts on every one.

#define BOOST_TEST_MODULE lifetime_races
#include "common.hpp"

#include "format/context_snapshot.hpp"
#include "crash/crash.hpp"
#include "frontend/registry.hpp"

#include <agora/log/detail/frontend.hpp>
#include <agora/log/detail/spsc_ring.hpp>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace detail = agora::log::detail;
using agora::log::Level;
using agora::log::Logger;
using agora::log::ScopedContext;
using agora_test::Entry;

namespace {

constexpr int kRecords = 100;  // records per phase of a thread's life

/// Two flushes: the first drains every ring (and frees what its records
/// kept alive); the backend reclaims an exited thread's queue after
/// answering a flush, so the second one returns after that has happened.
void settle() {
    agora::log::flush();
    agora::log::flush();
}

/// The value of `key` in an entry's "context" object, or "" when absent.
std::string context_field(const Entry& e, const char* key) {
    rapidjson::Document d;
    d.Parse(e.raw.c_str(), e.raw.size());
    if (d.HasParseError() || !d.IsObject()) return "!unparsable";
    auto ctx = d.FindMember("context");
    if (ctx == d.MemberEnd() || !ctx->value.IsObject()) return "";
    auto it = ctx->value.FindMember(key);
    if (it == ctx->value.MemberEnd() || !it->value.IsString()) return "";
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

/// Entries of `logger` whose message starts with `prefix`, counted, and how
/// many of them have `key` = `value` in their context.
struct Counted {
    int entries = 0;
    int with_field = 0;
};
Counted count_entries(const std::vector<Entry>& all, std::string_view logger, std::string_view prefix, const char* key,
                      const std::string& value) {
    Counted c;
    for (const Entry& e : all) {
        if (e.logger_name != logger || e.message.compare(0, prefix.size(), prefix) != 0) continue;
        ++c.entries;
        if (context_field(e, key) == value) ++c.with_field;
    }
    return c;
}

std::vector<Entry> read_all(const std::string& path) {
    auto all = agora_test::read_entries(path);
    BOOST_TEST(all.errors.empty(), agora_test::join_errors(all.errors));
    return all.entries;
}

// ---- thread end ---------------------------------------------------------------

/// A thread_local constructed before the thread's first record: destroyed
/// after anything constructed later in the thread, and logs from its destructor
/// inside its own scope.
struct LogsOnExit {
    ScopedContext scope{{{"exit_scope", "open"}}};
    ~LogsOnExit() {
        const Logger log = agora::log::get_logger("races.exit");
        for (int i = 0; i < kRecords; ++i) log.info("destructor record {}", i);
    }
};

/// The same without the records: closes its scope after the thread's last record.
struct ScopeOnExit {
    ScopedContext scope{{{"held_scope", "open"}}};
};

}  // namespace

BOOST_AUTO_TEST_CASE(thread_local_destructor_logs_after_the_threads_first_record) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("exit.log");
    auto config = agora_test::quiet_config(path);
    config.crash_handler = false;
    BOOST_REQUIRE(agora::log::initialize(config));
    agora::log::get_logger("races.exit").info("main thread");
    settle();
    const std::size_t queues_before = detail::active_thread_queues();
    const std::size_t snapshots_before = detail::live_context_snapshots();

    std::thread([] {
        static thread_local LogsOnExit on_exit;  // constructed here, before the first record
        (void)on_exit;
        const Logger log = agora::log::get_logger("races.exit");
        for (int i = 0; i < kRecords; ++i) log.info("body record {}", i);
    }).join();
    settle();

    // The destructor's records went to the thread's own queue, which the
    // backend reclaimed once the thread had ended.
    BOOST_TEST(detail::active_thread_queues() == queues_before);
    BOOST_TEST(detail::live_context_snapshots() == snapshots_before);
    agora::log::shutdown();
    const auto all = read_all(path);
    const Counted body = count_entries(all, "races.exit", "body record", "exit_scope", "open");
    const Counted exit = count_entries(all, "races.exit", "destructor record", "exit_scope", "open");
    BOOST_TEST(body.entries == kRecords);
    BOOST_TEST(body.with_field == kRecords);
    BOOST_TEST(exit.entries == kRecords);
    BOOST_TEST(exit.with_field == kRecords);
}

BOOST_AUTO_TEST_CASE(scope_closed_by_a_thread_local_outlives_the_queued_records) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("held.log");
    auto config = agora_test::quiet_config(path);
    config.crash_handler = false;
    BOOST_REQUIRE(agora::log::initialize(config));
    agora::log::get_logger("races.held").info("main thread");
    settle();
    const std::size_t queues_before = detail::active_thread_queues();
    const std::size_t snapshots_before = detail::live_context_snapshots();

    // The backend reads nothing while the thread logs and ends: its records
    // are still queued when the scope closes at thread exit.
    BOOST_REQUIRE(detail::hold_backend_for_tests());
    std::thread([] {
        static thread_local ScopeOnExit on_exit;  // constructed before the first record
        (void)on_exit;
        const Logger log = agora::log::get_logger("races.held");
        for (int i = 0; i < kRecords; ++i) log.info("scoped record {}", i);
    }).join();
    const std::size_t snapshots_while_held = detail::live_context_snapshots();
    detail::release_backend_for_tests();
    settle();

    BOOST_TEST(snapshots_while_held == snapshots_before + 1);  // queued records still refer to it
    BOOST_TEST(detail::live_context_snapshots() == snapshots_before);
    BOOST_TEST(detail::active_thread_queues() == queues_before);
    agora::log::shutdown();
    const Counted c = count_entries(read_all(path), "races.held", "scoped record", "held_scope", "open");
    BOOST_TEST(c.entries == kRecords);
    BOOST_TEST(c.with_field == kRecords);
}

namespace {
pthread_key_t g_later_key;
std::atomic<bool> g_context_gone_in_later_destructor{false};

/// A pthread key destructor of "another library", created after the
/// logger's key, so glibc runs it after the logger's in the same round: it
/// closes a scope the thread's records refer to, then logs again.
void later_key_destructor(void* scope) {
    g_context_gone_in_later_destructor.store(detail::t_context == nullptr, std::memory_order_relaxed);
    delete static_cast<ScopedContext*>(scope);
    const Logger log = agora::log::get_logger("races.key");
    for (int i = 0; i < kRecords; ++i) log.info("key destructor record {}", i);
}
}  // namespace

BOOST_AUTO_TEST_CASE(pthread_key_destructor_after_the_threads_end_closes_a_scope_and_logs) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("key.log");
    auto config = agora_test::quiet_config(path);
    config.crash_handler = false;
    BOOST_REQUIRE(agora::log::initialize(config));
    agora::log::get_logger("races.key").info("main thread");  // the logger's key exists from here
    settle();
    BOOST_REQUIRE(pthread_key_create(&g_later_key, later_key_destructor) == 0);
    const std::size_t queues_before = detail::active_thread_queues();
    const std::size_t snapshots_before = detail::live_context_snapshots();

    BOOST_REQUIRE(detail::hold_backend_for_tests());
    std::thread([] {
        const Logger log = agora::log::get_logger("races.key");
        auto* scope = new ScopedContext{{{"key_scope", "open"}}};
        for (int i = 0; i < kRecords; ++i) log.info("body record {}", i);
        pthread_setspecific(g_later_key, scope);
    }).join();
    const std::size_t snapshots_while_held = detail::live_context_snapshots();
    detail::release_backend_for_tests();
    settle();
    pthread_key_delete(g_later_key);

    // The key destructor ran after the thread's end was marked: it closed
    // the scope with no context on the thread, and its records made a new one.
    BOOST_TEST(g_context_gone_in_later_destructor.load());
    BOOST_TEST(snapshots_while_held == snapshots_before + 1);  // the body's records still refer to it
    BOOST_TEST(detail::live_context_snapshots() == snapshots_before);
    BOOST_TEST(detail::active_thread_queues() == queues_before);
    agora::log::shutdown();
    const auto all = read_all(path);
    const Counted body = count_entries(all, "races.key", "body record", "key_scope", "open");
    const Counted late = count_entries(all, "races.key", "key destructor record", "key_scope", "open");
    BOOST_TEST(body.entries == kRecords);
    BOOST_TEST(body.with_field == kRecords);
    BOOST_TEST(late.entries == kRecords);
    BOOST_TEST(late.with_field == 0);  // the scope was closed before them
}

// ---- tables: an entry is complete before it is published ---------------------

BOOST_AUTO_TEST_CASE(call_site_ids_are_written_before_the_site_is_published) {
    constexpr int kThreads = 3;
    const int per_thread = agora_test::kSanitized ? 2000 : 20000;
    // Distinct format pointers make distinct call sites (one type list, one location).
    static std::vector<char> texts(kThreads * 20000, 'x');
    detail::Registry& reg = detail::Registry::instance();
    const std::uint32_t first_new = reg.sites.size() + 1;

    std::atomic<int> writers_left{kThreads};
    std::atomic<std::uint64_t> registered_zero{0};
    std::uint64_t wrong_ids = 0, reads = 0;
    std::latch start(kThreads + 1);
    std::thread reader([&] {
        start.arrive_and_wait();
        std::uint32_t seen = 0;
        // Reads every entry as soon as its count is published.
        auto scan = [&] {
            const std::uint32_t n = reg.sites.size();
            for (std::uint32_t id = seen + 1; id <= n; ++id) {
                const detail::CallSite* site = reg.sites.get(id);
                ++reads;
                if (site == nullptr || site->id != id) ++wrong_ids;
            }
            seen = n;
        };
        while (writers_left.load(std::memory_order_acquire) != 0) scan();
        scan();
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t)
        writers.emplace_back([&, t] {
            agora::log::preallocate();
            detail::ThreadContext* ctx = detail::t_context;
            start.arrive_and_wait();
            for (int i = 0; ctx != nullptr && i < per_thread; ++i) {
                const std::string_view format(&texts[static_cast<std::size_t>(t) * 20000 + static_cast<std::size_t>(i)], 1);
                if (detail::register_call_site(*ctx, detail::SiteTypes<Level::info>::codes, Level::info,
                                               std::source_location::current(), format, 0)
                        .site_id == 0)
                    registered_zero.fetch_add(1, std::memory_order_relaxed);
            }
            writers_left.fetch_sub(1, std::memory_order_release);
        });
    for (auto& w : writers) w.join();
    reader.join();

    BOOST_TEST(registered_zero.load() == 0u);
    BOOST_TEST(reg.sites.size() - first_new + 1 == static_cast<std::uint32_t>(kThreads * per_thread));
    BOOST_TEST(reads >= static_cast<std::uint64_t>(kThreads * per_thread));
    BOOST_TEST(wrong_ids == 0u);
}

BOOST_AUTO_TEST_CASE(logger_ids_are_written_before_the_logger_is_published) {
    constexpr int kThreads = 3;
    const int per_thread = agora_test::kSanitized ? 1000 : 5000;
    detail::Registry& reg = detail::Registry::instance();

    std::atomic<int> writers_left{kThreads};
    std::uint64_t wrong_ids = 0;
    std::latch start(kThreads + 1);
    std::thread reader([&] {
        start.arrive_and_wait();
        std::uint32_t seen = 0;
        auto scan = [&] {
            const std::uint32_t n = reg.loggers.size();
            for (std::uint32_t id = seen + 1; id <= n; ++id) {
                detail::LoggerState* const* state = reg.loggers.get(id);
                if (state == nullptr || (*state)->id != id) ++wrong_ids;
            }
            seen = n;
        };
        while (writers_left.load(std::memory_order_acquire) != 0) scan();
        scan();
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t)
        writers.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int i = 0; i < per_thread; ++i)
                (void)agora::log::get_logger("races.table." + std::to_string(t) + "." + std::to_string(i));
            writers_left.fetch_sub(1, std::memory_order_release);
        });
    for (auto& w : writers) w.join();
    reader.join();
    BOOST_TEST(wrong_ids == 0u);
}

// ---- set_level against shutdown ------------------------------------------------

BOOST_AUTO_TEST_CASE(set_level_never_reenables_a_logger_after_shutdown) {
    agora::log::Config config;
    config.service_name = "agora-log-test";
    config.environment = "development";
    config.version = "1.2.3";
    config.host = "test-host";
    config.console_enabled = false;
    config.file_enabled = false;
    config.crash_handler = false;
    Logger log = agora::log::get_logger("races.level");
    const int cycles = agora_test::kSanitized ? 200 : 1000;

    // The setter calls set_level() without pause, except while the main
    // thread looks at the level after a shutdown() (pause/paused handshake).
    std::atomic<bool> stop{false}, pause{false}, paused{false};
    std::thread setter([&] {
        while (!stop.load(std::memory_order_acquire)) {
            if (pause.load(std::memory_order_acquire)) {
                paused.store(true, std::memory_order_release);
                paused.notify_one();
                pause.wait(true, std::memory_order_acquire);
                paused.store(false, std::memory_order_release);
                continue;
            }
            log.set_level(Level::debug);
        }
    });
    int enabled_after_shutdown = 0, failed_initialize = 0;
    for (int i = 0; i < cycles; ++i) {
        if (!agora::log::initialize(config)) ++failed_initialize;
        agora::log::shutdown();
        pause.store(true, std::memory_order_release);
        paused.wait(false, std::memory_order_acquire);  // the setter is between two calls
        if (log.enabled(Level::critical)) ++enabled_after_shutdown;
        pause.store(false, std::memory_order_release);
        pause.notify_one();
        while (paused.load(std::memory_order_acquire)) std::this_thread::yield();  // it runs again
    }
    stop.store(true, std::memory_order_release);
    pause.store(false, std::memory_order_release);
    pause.notify_one();
    setter.join();
    BOOST_TEST(failed_initialize == 0);
    BOOST_TEST(enabled_after_shutdown == 0, enabled_after_shutdown << " of " << cycles << " cycles");
    BOOST_TEST(log.level() == Level::debug);
}

// ---- location key ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fallback_location_key_is_defined_for_any_address_and_position) {
    static const char function[] = "void f()";
    // Distinct positions in one function make distinct keys; equal ones equal keys.
    BOOST_TEST(detail::location_key_of(function, 10, 5) == detail::location_key_of(function, 10, 5));
    BOOST_TEST(detail::location_key_of(function, 10, 5) != detail::location_key_of(function, 11, 5));
    BOOST_TEST(detail::location_key_of(function, 10, 5) != detail::location_key_of(function, 10, 6));

    // Far past the name, and wrapping around the address space: integer
    // arithmetic (UBSan reports pointer arithmetic that overflows).
    constexpr std::uint_least32_t kMax = 0xffffffffu;
    const auto base = reinterpret_cast<std::uintptr_t>(function);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(detail::location_key_of(function, kMax, kMax)) ==
               base + std::uintptr_t{kMax} * 4099u + kMax);
    const std::uintptr_t top = ~std::uintptr_t{0} - 15;
    const auto* high = reinterpret_cast<const char*>(top);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(detail::location_key_of(high, kMax, kMax)) ==
               top + std::uintptr_t{kMax} * 4099u + kMax);
}

// ---- SpscRing::unread_bytes from a third thread ----------------------------------

BOOST_AUTO_TEST_CASE(unread_bytes_from_a_third_thread_stays_within_capacity) {
    struct RingDeleter {
        void operator()(detail::SpscRing* r) const noexcept { detail::SpscRing::destroy(r); }
    };
    std::unique_ptr<detail::SpscRing, RingDeleter> ring(detail::SpscRing::create(4096));
    BOOST_REQUIRE(ring != nullptr);
    const std::uint64_t records = agora_test::kSanitized ? 200'000 : 2'000'000;
    constexpr std::size_t kSize = 32;

    std::atomic<bool> consumer_done{false};
    std::uint64_t samples = 0, over_capacity = 0, largest = 0, consumed = 0;
    std::latch start(3);
    std::thread producer([&] {
        start.arrive_and_wait();
        for (std::uint64_t i = 0; i < records;) {
            std::byte* p = ring->try_reserve(kSize);
            if (p == nullptr) continue;
            const detail::RecordHeader h{static_cast<std::uint32_t>(kSize), 1, i, 0, 0};
            std::memcpy(p, &h, sizeof h);
            ring->commit(kSize);
            ++i;
        }
    });
    std::thread consumer([&] {
        start.arrive_and_wait();
        while (consumed < records) {
            const std::byte* p = ring->peek();
            if (p == nullptr) continue;
            detail::RecordHeader h;
            std::memcpy(&h, p, sizeof h);
            ring->pop(h.size);
            ++consumed;
        }
        consumer_done.store(true, std::memory_order_release);
    });
    std::thread sampler([&] {
        start.arrive_and_wait();
        while (!consumer_done.load(std::memory_order_acquire)) {
            const std::uint64_t n = ring->unread_bytes();
            ++samples;
            largest = std::max(largest, n);
            if (n > ring->capacity()) ++over_capacity;
        }
    });
    producer.join();
    consumer.join();
    sampler.join();
    BOOST_TEST(consumed == records);
    BOOST_TEST(samples > 0u);
    BOOST_TEST(over_capacity == 0u, over_capacity << " of " << samples << " samples, largest " << largest);
    BOOST_TEST(ring->unread_bytes() == 0u);
}
