// Lifetime of context: ScopedContext stays on its thread and inside its
// scope, nests and restores; a scope opened before the thread's first record
// applies to it; bound (with_context) and scoped snapshots stay valid while
// records referring to them are queued after their owners are gone (the
// backend is held at a gate so that they are); many short-lived snapshots
// never lend their values to each other (the renderer caches merged context
// per snapshot pair); every snapshot is freed by shutdown()
// (detail::live_context_snapshots()); concurrent threads with their own
// scopes and a shared bound logger get exactly their own fields; renderers
// on several threads render the same snapshots at once (the decoder's
// workers do), each with its own cache.
//
// Built and run under ASan (use after free of a snapshot, leaks) and TSan.

#define BOOST_TEST_MODULE context_lifetime
#include "common.hpp"

#include "format/context_snapshot.hpp"
#include "format/render.hpp"

#include <fmt/format.h>

#include <latch>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using agora::log::Context;
using agora::log::Logger;
using agora::log::ScopedContext;
using agora_test::Entry;

namespace {

/// An entry's fields: the members of its "context" object, and the top-level
/// ids as "^correlation_id" etc. Strings as they are, other values as JSON.
using Fields = std::map<std::string, std::string>;

std::string value_text(const rapidjson::Value& v) {
    if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return buf.GetString();
}

Fields fields_of(const Entry& e) {
    rapidjson::Document d;
    d.Parse(e.raw.c_str(), e.raw.size());
    Fields out;
    if (d.HasParseError() || !d.IsObject()) {
        out["!"] = "unparsable";
        return out;
    }
    if (auto it = d.FindMember("context"); it != d.MemberEnd()) {
        if (!it->value.IsObject()) out["!"] = "context is not an object";
        else
            for (const auto& m : it->value.GetObject())
                out[std::string(m.name.GetString(), m.name.GetStringLength())] = value_text(m.value);
    }
    for (const char* key : {"correlation_id", "user_id", "trace_id", "span_id"})
        if (auto it = d.FindMember(key); it != d.MemberEnd()) out[std::string("^") + key] = value_text(it->value);
    return out;
}

std::string show(const Fields& f) {
    std::string s = "{";
    for (const auto& [k, v] : f) s += (s.size() > 1 ? ", " : "") + k + "=" + v;
    return s + "}";
}

/// Collects mismatches (the first few in full) so that a loop over thousands
/// of entries makes one assertion, on the main thread.
struct Mismatches {
    std::size_t count = 0;
    std::string first;
    void add(const std::string& what) {
        if (++count <= 5) first += "\n  " + what;
    }
};

void expect_fields(Mismatches& m, const Entry& e, const Fields& want) {
    const Fields got = fields_of(e);
    if (got != want) m.add("'" + e.message + "': got " + show(got) + ", want " + show(want));
}

/// The entries of `logger` in file order, after checking every line against the schema.
std::vector<Entry> logged(const std::string& path, std::string_view logger) {
    auto all = agora_test::read_entries(path);
    BOOST_TEST(all.errors.empty(), agora_test::join_errors(all.errors));
    return agora_test::with_logger(all.entries, logger);
}

/// Starts the logger with `gate` as an extra handler and holds the backend
/// at it (inside emit() of one record of logger "lifetime.gate").
void start_held(const agora::log::Config& config, const std::shared_ptr<agora_test::GateHandler>& gate) {
    BOOST_REQUIRE(agora::log::initialize(config, {gate}));
    agora::log::get_logger("lifetime.gate").info("the backend stops here");
    gate->wait_until_held();
}

}  // namespace

// ---- ScopedContext: thread and scope ----------------------------------------

BOOST_AUTO_TEST_CASE(scoped_context_never_reaches_another_thread_or_past_its_scope) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("scope.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("lifetime.scope");

    // Steps, in this order: A opens its scope and logs; B logs; A logs again;
    // B logs again (A still in scope); A closes its scope and logs; B logs.
    std::latch a_opened(1), b_logged(1), a_logged_again(1), b_logged_again(1), a_closed(1);
    std::thread a([&] {
        {
            ScopedContext scope{{{"owner", "A"}, {"a_only", 1}, {"user_id", "user-a"}}};
            log.info("A in scope 1");
            a_opened.count_down();
            b_logged.wait();
            log.info("A in scope 2");
            a_logged_again.count_down();
            b_logged_again.wait();
        }
        log.info("A after scope");
        a_closed.count_down();
    });
    std::thread b([&] {
        a_opened.wait();
        log.info("B while A in scope 1");
        b_logged.count_down();
        a_logged_again.wait();
        log.info("B while A in scope 2");
        b_logged_again.count_down();
        a_closed.wait();
        log.info("B after A's scope");
    });
    a.join();
    b.join();
    // The main thread never had a scope either.
    log.info("main");
    agora::log::flush();

    const Fields a_fields{{"owner", "A"}, {"a_only", "1"}, {"^user_id", "user-a"}};
    const std::map<std::string, Fields> want{
        {"A in scope 1", a_fields},        {"A in scope 2", a_fields}, {"A after scope", {}},
        {"B while A in scope 1", {}},      {"B while A in scope 2", {}}, {"B after A's scope", {}},
        {"main", {}},
    };
    auto entries = logged(path, "lifetime.scope");
    BOOST_TEST(entries.size() == want.size());
    std::map<std::string, int> seen;
    for (const auto& e : entries) {
        BOOST_TEST_CONTEXT("entry '" << e.message << "'") {
            BOOST_TEST_REQUIRE(want.count(e.message) == 1u);
            BOOST_TEST(show(fields_of(e)) == show(want.at(e.message)));
        }
        ++seen[e.message];
    }
    for (const auto& [message, fields] : want) BOOST_TEST(seen[message] == 1, message);
}

BOOST_AUTO_TEST_CASE(nested_scopes_stack_and_restore) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("nested.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("lifetime.nested");
    const std::string outer_id = agora::log::generate_correlation_id();
    const std::string inner_id = agora::log::generate_correlation_id();

    log.info("before");
    {
        ScopedContext outer{{{"k", "outer"}, {"o", 1}, {"correlation_id", outer_id}}};
        log.info("outer");
        {
            ScopedContext middle{{{"k", "middle"}, {"m", 2}}};
            log.info("middle");
            {
                ScopedContext inner{{{"k", "inner"}, {"i", 3}, {"correlation_id", inner_id}}};
                log.info("inner");
            }
            log.info("middle again");
        }
        log.info("outer again");
    }
    log.info("after");
    agora::log::flush();

    const Fields outer{{"k", "outer"}, {"o", "1"}, {"^correlation_id", outer_id}};
    const Fields middle{{"k", "middle"}, {"o", "1"}, {"m", "2"}, {"^correlation_id", outer_id}};
    const Fields inner{{"k", "inner"}, {"o", "1"}, {"m", "2"}, {"i", "3"}, {"^correlation_id", inner_id}};
    const std::vector<std::pair<std::string, Fields>> want{
        {"before", {}}, {"outer", outer}, {"middle", middle}, {"inner", inner},
        {"middle again", middle}, {"outer again", outer}, {"after", {}},
    };
    auto entries = logged(path, "lifetime.nested");
    BOOST_TEST_REQUIRE(entries.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        BOOST_TEST_CONTEXT("entry " << i) {
            BOOST_TEST(entries[i].message == want[i].first);
            BOOST_TEST(show(fields_of(entries[i])) == show(want[i].second));
        }
    }
}

BOOST_AUTO_TEST_CASE(scope_opened_before_the_threads_first_record_applies) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("first.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const Logger log = agora::log::get_logger("lifetime.first");

    // A new thread: its context is created by its first record, inside the scopes.
    std::thread([&] {
        ScopedContext outer{{{"phase", "outer"}, {"opened", "before first record"}}};
        {
            ScopedContext inner{{{"phase", "inner"}}};
            log.info("first record");
        }
        log.info("second record");
    }).join();
    // The same with the inner scope closed before the first record.
    std::thread([&] {
        ScopedContext outer{{{"phase", "outer"}}};
        { ScopedContext inner{{{"phase", "inner"}}}; }
        log.info("after a closed inner scope");
    }).join();
    agora::log::flush();

    auto entries = logged(path, "lifetime.first");
    BOOST_TEST_REQUIRE(entries.size() == 3u);
    BOOST_TEST(entries[0].message == "first record");
    BOOST_TEST(show(fields_of(entries[0])) == show({{"phase", "inner"}, {"opened", "before first record"}}));
    BOOST_TEST(entries[1].message == "second record");
    BOOST_TEST(show(fields_of(entries[1])) == show({{"phase", "outer"}, {"opened", "before first record"}}));
    BOOST_TEST(entries[2].message == "after a closed inner scope");
    BOOST_TEST(show(fields_of(entries[2])) == show({{"phase", "outer"}}));
}

BOOST_AUTO_TEST_CASE(scope_on_a_thread_that_never_logs_leaves_nothing) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("silent.log");
    const std::size_t live_at_start = agora::log::detail::live_context_snapshots();
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));
    const std::size_t live_before = agora::log::detail::live_context_snapshots();

    std::size_t live_inside = 0;
    std::thread([&] {
        ScopedContext a{{{"x", 1}}};
        {
            ScopedContext b{{{"y", std::string(1000, 'y')}}};
            live_inside = agora::log::detail::live_context_snapshots();
        }
    }).join();
    // No record refers to them: the scopes free their snapshots themselves,
    // at once (the leak checker of the ASan build sees any that is not).
    BOOST_TEST(live_inside == live_before + 2);
    BOOST_TEST(agora::log::detail::live_context_snapshots() == live_before);

    // A thread that logged nothing inside its scope, only before it.
    std::thread([&] {
        agora::log::get_logger("lifetime.silent").info("outside any scope");
        ScopedContext a{{{"x", 1}}};
    }).join();
    agora::log::shutdown();
    BOOST_TEST(agora::log::detail::live_context_snapshots() == live_at_start);
    auto entries = logged(path, "lifetime.silent");
    BOOST_TEST_REQUIRE(entries.size() == 1u);
    BOOST_TEST(fields_of(entries[0]).empty());
}

// ---- snapshots outlive their owners while records are queued ------------------

BOOST_AUTO_TEST_CASE(bound_context_survives_its_loggers_while_records_are_queued) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto gate = std::make_shared<agora_test::GateHandler>();
    agora_test::GateOpener opener{gate};
    const std::string path = dir.file("bound.log");
    start_held(agora_test::quiet_config(path), gate);

    constexpr int kN = 200;
    {
        Logger parent = agora::log::get_logger("lifetime.bound").with_context({{"desk", "fx"}, {"who", "parent"}});
        {
            Logger child = parent.with_context({{"book", "b1"}, {"who", "child"}, {"user_id", "u-child"}});
            Logger copy = child;
            std::thread other([mine = Logger(child)] {
                for (int i = 0; i < kN; ++i) mine.info("thread {}", i);
            });
            for (int i = 0; i < kN; ++i) {
                child.info("child {}", i);
                copy.info("copy {}", i);
                parent.info("parent {}", i);
            }
            other.join();
        }
        // A grandchild created and destroyed while its parent's records wait.
        parent.with_context({{"who", "grandchild"}, {"extra", true}}).warning("grandchild");
    }
    // Every owner is gone; the records are still in the rings. New snapshots
    // now would take the memory of the old ones if those had been freed.
    for (int i = 0; i < 50; ++i) {
        Logger reuse = agora::log::get_logger("lifetime.reuse").with_context({{"who", "reuse"}, {"i", i}});
        (void)reuse;
    }
    gate->open();
    agora::log::flush();

    const Fields parent_f{{"desk", "fx"}, {"who", "parent"}};
    const Fields child_f{{"desk", "fx"}, {"book", "b1"}, {"who", "child"}, {"^user_id", "u-child"}};
    const Fields grandchild_f{{"desk", "fx"}, {"who", "grandchild"}, {"extra", "true"}};
    std::map<std::string, int> counts;
    Mismatches m;
    for (const auto& e : logged(path, "lifetime.bound")) {
        const std::string source = e.message.substr(0, e.message.find(' '));
        ++counts[source];
        if (source == "parent") expect_fields(m, e, parent_f);
        else if (source == "child" || source == "copy" || source == "thread") expect_fields(m, e, child_f);
        else if (source == "grandchild") expect_fields(m, e, grandchild_f);
        else m.add("unexpected entry '" + e.message + "'");
    }
    BOOST_TEST(m.count == 0u, m.first);
    BOOST_TEST(counts["parent"] == kN);
    BOOST_TEST(counts["child"] == kN);
    BOOST_TEST(counts["copy"] == kN);
    BOOST_TEST(counts["thread"] == kN);
    BOOST_TEST(counts["grandchild"] == 1);
}

BOOST_AUTO_TEST_CASE(scoped_context_survives_its_scope_while_records_are_queued) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto gate = std::make_shared<agora_test::GateHandler>();
    agora_test::GateOpener opener{gate};
    const std::string path = dir.file("scoped.log");
    start_held(agora_test::quiet_config(path), gate);

    constexpr int kN = 200;
    const Logger log = agora::log::get_logger("lifetime.scoped");
    const Logger bound = log.with_context({{"bound", "yes"}, {"who", "bound"}});
    auto body = [&](const std::string& where) {
        {
            ScopedContext outer{{{"where", where}, {"who", "outer"}}};
            for (int i = 0; i < kN; ++i) log.info("outer {} {}", where, i);
            {
                ScopedContext inner{{{"who", "inner"}, {"depth", 2}}};
                for (int i = 0; i < kN; ++i) {
                    log.info("inner {} {}", where, i);
                    bound.info("inner-bound {} {}", where, i);
                }
            }
            for (int i = 0; i < kN; ++i) log.info("outer-again {} {}", where, i);
        }
        log.info("none {} 0", where);
    };
    body("main");
    // The same on a thread that exits before the backend reads its records.
    std::thread(body, std::string("thread")).join();
    // Scopes opened now would take the memory of the old ones if those had been freed.
    for (int i = 0; i < 50; ++i) {
        ScopedContext reuse{{{"who", "reuse"}, {"where", "reuse"}, {"i", i}}};
    }
    gate->open();
    agora::log::flush();

    std::map<std::string, int> counts;
    Mismatches m;
    auto entries = logged(path, "lifetime.scoped");
    for (const auto& e : entries) {
        // "<source> <where> <i>"
        std::istringstream words(e.message);
        std::string source, where;
        words >> source >> where;
        ++counts[where + "/" + source];
        if (source == "outer" || source == "outer-again") expect_fields(m, e, {{"where", where}, {"who", "outer"}});
        else if (source == "inner") expect_fields(m, e, {{"where", where}, {"who", "inner"}, {"depth", "2"}});
        else if (source == "inner-bound")
            expect_fields(m, e, {{"where", where}, {"who", "inner"}, {"depth", "2"}, {"bound", "yes"}});
        else if (source == "none") expect_fields(m, e, {});
        else m.add("unexpected entry '" + e.message + "'");
    }
    BOOST_TEST(m.count == 0u, m.first);
    for (const char* where : {"main", "thread"}) {
        BOOST_TEST_CONTEXT(where) {
            const std::string w = where;
            BOOST_TEST(counts[w + "/outer"] == kN);
            BOOST_TEST(counts[w + "/inner"] == kN);
            BOOST_TEST(counts[w + "/inner-bound"] == kN);
            BOOST_TEST(counts[w + "/outer-again"] == kN);
            BOOST_TEST(counts[w + "/none"] == 1);
        }
    }
}

BOOST_AUTO_TEST_CASE(many_short_lived_snapshots_each_keep_their_own_values) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto gate = std::make_shared<agora_test::GateHandler>();
    agora_test::GateOpener opener{gate};
    const std::string path = dir.file("many.log");
    start_held(agora_test::quiet_config(path), gate);

    constexpr int kChildren = 1000;
    const Logger log = agora::log::get_logger("lifetime.many");
    // One child per record, each with its own value. Every third record also
    // opens a scope with its own value; the scope and the child then change
    // independently of each other, so a merged-context cache keyed on one of
    // the two, or on reused addresses, gives a record someone else's values.
    auto one = [&](const char* phase, int i) {
        Logger child = log.with_context({{"child", fmt::format("{}-{}", phase, i)}, {"n", i}});
        std::optional<ScopedContext> scope;
        if (i % 3 == 0) scope.emplace(Context{{"scope", fmt::format("{}-{}", phase, i)}});
        child.info("{} {}", phase, i);
        if (i % 3 == 0) log.info("{}-scope-only {}", phase, i);
    };
    // Phase 1: the backend is held, every record waits while its snapshots are retired.
    for (int i = 0; i < kChildren; ++i) one("held", i);
    gate->open();
    // Phase 2: the backend runs and frees snapshots as it goes; new ones reuse
    // their memory (flush() now and then lets it catch up).
    for (int i = 0; i < kChildren; ++i) {
        one("running", i);
        if (i % 50 == 49) agora::log::flush();
    }
    // One child, alternating scopes; one scope, alternating children.
    const Logger fixed = log.with_context({{"child", "fixed"}});
    for (int i = 0; i < 100; ++i) {
        ScopedContext scope{{{"scope", fmt::format("alt-{}", i)}}};
        fixed.info("alt-scope {}", i);
    }
    {
        ScopedContext scope{{{"scope", "fixed"}}};
        for (int i = 0; i < 100; ++i) log.with_context({{"child", fmt::format("alt-{}", i)}}).info("alt-child {}", i);
    }
    agora::log::flush();

    Mismatches m;
    std::map<std::string, int> counts;
    for (const auto& e : logged(path, "lifetime.many")) {
        const auto space = e.message.find(' ');
        const std::string source = e.message.substr(0, space);
        const std::string n = e.message.substr(space + 1);
        ++counts[source];
        const int i = std::stoi(n);
        if (source == "held" || source == "running") {
            Fields want{{"child", source + "-" + n}, {"n", n}};
            if (i % 3 == 0) want["scope"] = source + "-" + n;
            expect_fields(m, e, want);
        } else if (source == "held-scope-only" || source == "running-scope-only") {
            expect_fields(m, e, {{"scope", source.substr(0, source.find('-')) + "-" + n}});
        } else if (source == "alt-scope") {
            expect_fields(m, e, {{"child", "fixed"}, {"scope", "alt-" + n}});
        } else if (source == "alt-child") {
            expect_fields(m, e, {{"child", "alt-" + n}, {"scope", "fixed"}});
        } else {
            m.add("unexpected entry '" + e.message + "'");
        }
    }
    BOOST_TEST(m.count == 0u, m.first);
    BOOST_TEST(counts["held"] == kChildren);
    BOOST_TEST(counts["running"] == kChildren);
    BOOST_TEST(counts["held-scope-only"] == (kChildren + 2) / 3);
    BOOST_TEST(counts["running-scope-only"] == (kChildren + 2) / 3);
    BOOST_TEST(counts["alt-scope"] == 100);
    BOOST_TEST(counts["alt-child"] == 100);
}

BOOST_AUTO_TEST_CASE(snapshot_waits_for_records_held_back_by_the_ordering_grace) {
    // The backend leaves records younger than backend_ordering_grace for a
    // later pass, so it can take a retired snapshot in one pass and reach its
    // records only in a later one: it must not free the snapshot in between.
    // With a 1 s grace, records logged just before their snapshots are
    // retired wait about a second while the backend keeps taking retirements.
    // The records fill a chain of growing rings (4 KiB first), so the mark
    // the backend waits for lies in a ring ahead of the one it reads.
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("grace.log");
    auto config = agora_test::quiet_config(path);
    config.backend_ordering_grace = std::chrono::seconds(1);
    config.queue_capacity_bytes = 4096;
    config.queue_full_policy = agora::log::QueueFullPolicy::grow;
    BOOST_REQUIRE(agora::log::initialize(config));
    const Logger log = agora::log::get_logger("lifetime.grace");

    constexpr int kN = 200;
    std::size_t live_retired = 0;
    std::latch started(1), go(1), retired(1), checked(1);
    // A new thread (its ring is created with the small capacity), alive until
    // the check is done (a thread's exit lets the backend drop its marks).
    std::thread worker([&] {
        log.info("start");
        started.count_down();
        go.wait();
        {
            Logger bound = log.with_context({{"who", "bound"}});
            ScopedContext scope{{{"scope", "grace"}}};
            for (int i = 0; i < kN; ++i) {
                if (i == kN / 2) {
                    // The second half 20 ms younger (busy work, measured by
                    // the steady clock): the backend's pass that reaches the
                    // end of the grace for the first half leaves the second
                    // half, in later rings, for later passes.
                    const auto t0 = std::chrono::steady_clock::now();
                    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(20)) {
                    }
                }
                bound.info("bound {} {}", i, "padding, so that the records need several rings");
                log.info("scoped {} {}", i, "padding, so that the records need several rings");
            }
        }
        live_retired = agora::log::detail::live_context_snapshots();
        retired.count_down();
        checked.wait();
    });
    started.wait();
    agora::log::flush();  // "start" is written: the worker's ring is empty
    const std::uint64_t written_before = agora::log::stats().records_written;
    go.count_down();
    retired.wait();  // both snapshots retired, their 2 * kN records queued

    // Wait (no timing) until the backend has written records or freed a
    // snapshot. A snapshot may only be freed after all its records were
    // written: a reader that sees the free also sees those records counted.
    std::size_t live = live_retired;
    std::uint64_t written = 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);  // a hang guard only
    for (;;) {
        live = agora::log::detail::live_context_snapshots();
        written = agora::log::stats().records_written - written_before;
        if (live < live_retired || written > 0 || std::chrono::steady_clock::now() > give_up) break;
        std::this_thread::yield();
    }
    checked.count_down();
    worker.join();
    BOOST_TEST((live < live_retired || written > 0), "the backend did nothing for 60 s");
    if (live < live_retired)
        BOOST_TEST(written >= 2u * kN, "a snapshot was freed after only " << written << " of its records were written");
    agora::log::flush();

    Mismatches m;
    std::map<std::string, int> counts;
    for (const auto& e : logged(path, "lifetime.grace")) {
        const std::string source = e.message.substr(0, e.message.find(' '));
        ++counts[source];
        if (source == "bound") expect_fields(m, e, {{"who", "bound"}, {"scope", "grace"}});
        else if (source == "scoped") expect_fields(m, e, {{"scope", "grace"}});
        else if (source != "start") m.add("unexpected entry '" + e.message + "'");
    }
    BOOST_TEST(m.count == 0u, m.first);
    BOOST_TEST(counts["bound"] == kN);
    BOOST_TEST(counts["scoped"] == kN);
}

// ---- snapshots are freed ---------------------------------------------------

BOOST_AUTO_TEST_CASE(every_snapshot_is_freed_by_shutdown) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("freed.log");
    const std::size_t live_at_start = agora::log::detail::live_context_snapshots();
    auto config = agora_test::quiet_config(path);
    config.default_context = {{"region", "eu"}};
    BOOST_REQUIRE(agora::log::initialize(config));

    const Logger log = agora::log::get_logger("lifetime.freed");
    {
        Logger a = log.with_context({{"a", 1}});
        Logger b = a.with_context({{"b", 2}});
        Logger moved = std::move(b);
        Logger assigned;
        assigned = moved;
        assigned = log.with_context({{"c", 3}});
        ScopedContext outer{{{"s", 1}}};
        auto timer = a.timer("timed", {{"t", 1}});
        std::thread([copy = a] {
            ScopedContext scope{{{"thread", true}}};
            copy.info("from a thread");
        }).join();
        for (int i = 0; i < 100; ++i) {
            ScopedContext inner{{{"i", i}}};
            moved.info("record {}", i);
            assigned.info("record {}", i);
            log.with_context({{"i", i}}).info("record {}", i);
        }
    }
    agora::log::shutdown();
    BOOST_TEST(agora::log::detail::live_context_snapshots() == live_at_start);

    // A snapshot whose last owner goes while no backend runs is left to the
    // next backend, which frees it.
    BOOST_REQUIRE(agora::log::initialize(config));
    std::optional<Logger> late = log.with_context({{"late", true}});
    std::optional<ScopedContext> late_scope;
    late_scope.emplace(Context{{"late_scope", true}});
    late->info("late");
    agora::log::shutdown();
    late.reset();
    late_scope.reset();
    BOOST_TEST(agora::log::detail::live_context_snapshots() == live_at_start + 2);
    BOOST_REQUIRE(agora::log::initialize(config));
    log.info("next run");
    agora::log::shutdown();
    BOOST_TEST(agora::log::detail::live_context_snapshots() == live_at_start);

    auto entries = logged(path, "lifetime.freed");
    BOOST_TEST(entries.size() == 300u + 4u);  // the records, the timer's, the thread's, "late", "next run"
}

// ---- concurrency -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(threads_with_their_own_scopes_and_a_shared_bound_logger) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("threads.log");
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path)));

    constexpr int kThreads = 4, kPerThread = 10000, kBlock = 100;
    const Logger shared =
        agora::log::get_logger("lifetime.threads").with_context({{"shared", "yes"}, {"who", "shared"}});
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            ScopedContext outer{{{"thread", t}}};
            start.arrive_and_wait();
            for (int block = 0; block < kPerThread / kBlock; ++block) {
                ScopedContext inner{{{"block", block}, {"who", fmt::format("t{}", t)}}};
                // Odd blocks log through a copy of their own (reference counts from several threads).
                const Logger copy = shared;
                const Logger& via = block % 2 ? copy : shared;
                for (int i = 0; i < kBlock; ++i) via.info("rec {} {}", t, block * kBlock + i);
            }
            shared.info("done {} {}", t, kPerThread);
        });
    }
    for (auto& th : threads) th.join();
    agora::log::flush();

    Mismatches m;
    std::vector<int> counts(kThreads, 0);
    for (const auto& e : logged(path, "lifetime.threads")) {
        int t = -1, i = -1;
        if (std::sscanf(e.message.c_str(), "rec %d %d", &t, &i) == 2 && t >= 0 && t < kThreads) {
            ++counts[static_cast<std::size_t>(t)];
            expect_fields(m, e,
                          {{"shared", "yes"}, {"who", fmt::format("t{}", t)}, {"thread", std::to_string(t)},
                           {"block", std::to_string(i / kBlock)}});
        } else if (std::sscanf(e.message.c_str(), "done %d %d", &t, &i) == 2 && t >= 0 && t < kThreads) {
            expect_fields(m, e, {{"shared", "yes"}, {"who", "shared"}, {"thread", std::to_string(t)}});
        } else {
            m.add("unexpected entry '" + e.message + "'");
        }
    }
    BOOST_TEST(m.count == 0u, m.first);
    for (int t = 0; t < kThreads; ++t) BOOST_TEST(counts[static_cast<std::size_t>(t)] == kPerThread, "thread " << t);
}

BOOST_AUTO_TEST_CASE(renderers_on_several_threads_render_shared_snapshots) {
    // A snapshot is never written once published: renderers on several
    // threads render the same ones concurrently (TSan sees any write), with
    // different limits, and each gets what a renderer alone gets.
    namespace d = agora::log::detail;
    constexpr int kSnapshots = 40, kThreads = 3, kRounds = 20;
    std::vector<std::unique_ptr<d::ContextSnapshot>> snapshots;
    for (int i = 0; i < kSnapshots; ++i)
        snapshots.emplace_back(d::make_snapshot({{"desk", std::string(150, static_cast<char>('a' + i % 26))}, {"n", i}}, nullptr));
    static constexpr d::TypeCode kTypes[] = {d::TypeCode::i32, d::TypeCode::end};
    const d::CallSite site{1, agora::log::Level::info, "n={}", "/src/a.cpp", "void f()", 1, kTypes, {}, {}};
    const d::EntryIdentity id{"svc", "env", "1", "host"};
    // Thread t renders with limit 100 * (t + 1): the snapshots' 150-byte
    // values are cut for some renderers and not for others.
    const auto render_all = [&](std::size_t limit, int rounds) {
        d::EntryRenderer renderer(id, d::RenderOptions{limit, {}});
        std::vector<std::string> out(kSnapshots);
        for (int round = 0; round < rounds; ++round) {
            for (int i = 0; i < kSnapshots; ++i) {
                const int which = (i * 7 + round) % kSnapshots;
                const d::RecordHeader h{24 + 8, 1, 0, 0, 1};
                const std::int32_t arg = which;
                agora::log::LogRecordView view{};
                renderer.render_record(h, reinterpret_cast<const std::byte*>(&arg), 4, site, "lg", 0, view,
                                       d::RecordContext{snapshots[which].get(), nullptr});
                if (round == 0) out[which] = std::string(view.json);
                else if (out[which] != view.json) out[which] = "differs between rounds";
            }
        }
        return out;
    };
    std::vector<std::vector<std::string>> got(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            got[t] = render_all(100 * static_cast<std::size_t>(t + 1), kRounds);
        });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) {
        BOOST_TEST_CONTEXT("thread " << t) {
            const std::vector<std::string> alone = render_all(100 * static_cast<std::size_t>(t + 1), 1);
            BOOST_TEST(got[t] == alone, boost::test_tools::per_element());
        }
    }
    BOOST_TEST(got[0][0].find(std::string(150, 'a')) == std::string::npos);
    BOOST_TEST(got[1][0].find(std::string(150, 'a')) != std::string::npos);
}
