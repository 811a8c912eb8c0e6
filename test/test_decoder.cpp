// The post-mortem decoder (src/decode/) and agora-log-decode: inputs are
// built with the writers the crash dump and the binary sink use
// (binary_input.hpp); a clean input must render byte for byte what the live
// backend's EntryRenderer renders for the same records, and damage must cost
// only the damaged entries. The CLI cases run the built program (its path in
// AGORA_DECODE_BIN, set by test/meson.build).

#define BOOST_TEST_MODULE decoder
#include "common.hpp"

#include "binary_input.hpp"
#include "decode_cli.hpp"
#include "decode/decoder.hpp"
#include "format/render.hpp"

#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <new>
#include <thread>

// The largest single allocation since the last reset: a length field must
// never size one (the 4 GB case below). Also the bytes allocated in all, and
// an injected failure: with g_fail_from = k, the k-th allocation from then
// on and every later one fail (as when memory runs out), until reset to 0.
namespace {
std::atomic<std::size_t> g_largest_allocation{0};
std::atomic<std::uint64_t> g_allocated_bytes{0};
std::atomic<std::uint64_t> g_allocations{0};
std::atomic<std::uint64_t> g_fail_from{0};  // 0: no failures
void note_allocation(std::size_t n) noexcept {
    std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
    g_allocated_bytes.fetch_add(n, std::memory_order_relaxed);
}
/// True if this allocation is to fail (see g_fail_from).
bool injected_failure() noexcept {
    const std::uint64_t count = g_allocations.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::uint64_t from = g_fail_from.load(std::memory_order_relaxed);
    return from != 0 && count >= from;
}
}  // namespace

// Out of line: GCC inlines a replaced operator new/delete pair as
// malloc/free and then warns that they do not match.
[[gnu::noinline]] void* operator new(std::size_t n) {
    if (injected_failure()) throw std::bad_alloc();
    note_allocation(n);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n) { return operator new(n); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
// The nothrow forms too: the library allocates with them, and with only the
// others replaced a sanitizer sees its own operator new paired with free().
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    if (injected_failure()) return nullptr;
    note_allocation(n);
    return std::malloc(n == 0 ? 1 : n);
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace agora_binary_input;
using agora::log::Level;
using agora::log::detail::CallSite;
using agora::log::detail::Decoder;
using agora::log::detail::DecodeOptions;
using agora::log::detail::EntryRenderer;
using agora::log::detail::RecordHeader;
using agora::log::detail::TypeCode;
namespace d = agora::log::detail;

constexpr TypeCode kIntString[] = {TypeCode::i32, TypeCode::string, TypeCode::end};
constexpr std::uint32_t kSite = 7;
constexpr std::uint32_t kLogger = 3;
constexpr std::string_view kFormat = "Order {} for {}";

const CallSite& order_site() {
    static const CallSite site = make_site(kSite, Level::info, kFormat, kIntString);
    return site;
}

/// An input with the order call site and logger "orders", then one thread.
InputBuilder order_input(d::FileKind kind = d::FileKind::crash_dump) {
    InputBuilder b(kind);
    b.logger(kLogger, "orders").site(order_site()).thread(101);
    return b;
}

/// A record of the order site `us` microseconds after the anchor (timestamps show microseconds).
std::string order_record(std::uint64_t us, int n, std::string_view who = "acme") {
    return RecordBuilder(kSite, kTsc0 + us * 1000, kLogger).arg(n).arg(who).bytes();
}

struct Decoded {
    std::vector<std::string> lines;
    std::vector<d::InputInfo> inputs;
    bool damaged = false;
};

Decoded decode(const std::vector<std::string>& files, DecodeOptions options = {}) {
    Decoder decoder(options);
    for (std::size_t i = 0; i < files.size(); ++i) decoder.add("input" + std::to_string(i), as_bytes(files[i]));
    Decoded out;
    decoder.render([&out](std::string_view line) { out.lines.emplace_back(line); });
    out.inputs = decoder.inputs();
    out.damaged = decoder.damaged();
    return out;
}

/// The "message" of a rendered JSON line.
std::string message_of(const std::string& line) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("message")) return "<not an entry: " + line + ">";
    return doc["message"].GetString();
}

/// `s` as it reads back from an entry (invalid UTF-8 shows as U+FFFD).
std::string as_rendered(std::string_view s) {
    std::string json;
    d::append_json_string(json, s);
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    return doc.GetString();
}

std::vector<std::string> messages(const Decoded& d) {
    std::vector<std::string> out;
    for (const auto& l : d.lines) out.push_back(message_of(l));
    return out;
}

std::string all_problems(const Decoded& d) {
    std::string out;
    for (const auto& i : d.inputs)
        for (const auto& p : i.problems) out += p + "\n";
    return out;
}

/// What the live backend renders for `record` (record.hpp layout, no context addresses).
std::string backend_json(EntryRenderer& renderer, const std::string& record, const CallSite& site,
                         std::string_view logger, std::int64_t unix_ns, d::RecordContext context = {},
                         std::size_t context_bytes = 0) {
    RecordHeader h;
    std::memcpy(&h, record.data(), sizeof h);
    const auto* args = reinterpret_cast<const std::byte*>(record.data()) + sizeof h + context_bytes;
    agora::log::LogRecordView view{};
    renderer.render_record(h, args, record.size() - sizeof h - context_bytes, site, logger, unix_ns, view, context, 1.0);
    return std::string(view.json);
}

/// Arms the injected allocation failure (g_fail_from) for one scope: the
/// `nth` allocation from here on and all after it fail.
struct FailAllocations {
    explicit FailAllocations(std::uint64_t nth) { g_fail_from.store(g_allocations.load() + nth); }
    ~FailAllocations() { g_fail_from.store(0); }
    FailAllocations(const FailAllocations&) = delete;
    FailAllocations& operator=(const FailAllocations&) = delete;
};

/// Allocations `f` makes.
template <class F>
std::uint64_t allocations_of(F&& f) {
    const std::uint64_t before = g_allocations.load();
    f();
    return g_allocations.load() - before;
}

std::string u32_bytes(std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string u64_bytes(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string str_bytes(std::string_view s) { return u32_bytes(static_cast<std::uint32_t>(s.size())) + std::string(s); }

/// An exception argument (record.hpp): blob length, depth 1, type, what(), frames.
std::string exception_arg(std::uint32_t frame_count, const std::vector<std::uint64_t>& frames) {
    std::string blob(1, '\1');
    blob += str_bytes("St13runtime_error") + str_bytes("boom") + u32_bytes(frame_count);
    for (std::uint64_t a : frames) blob += u64_bytes(a);
    return u32_bytes(static_cast<std::uint32_t>(blob.size())) + blob;
}

/// The dump ends as a writer ends it: with its crash entry.
std::string finished(InputBuilder b, std::uint64_t records = 0) {
    d::write_crash(b.sink, 11, 101, d::kDumpBackendDrained, records);
    return b.data();
}

std::vector<std::string> kExpectedOrder = {"Order 1 for acme", "Order 2 for acme", "Order 3 for acme"};

/// Three records of the order site at ticks 10, 20, 30; `offsets` gets each record entry's offset.
std::string three_records(std::vector<std::size_t>* offsets = nullptr) {
    InputBuilder b = order_input();
    for (int i = 1; i <= 3; ++i) {
        if (offsets) offsets->push_back(b.offset());
        b.record(order_record(static_cast<std::uint64_t>(10 * i), i));
    }
    d::write_crash(b.sink, 11, 101, d::kDumpBackendDrained, 3);
    return b.data();
}

}  // namespace

BOOST_AUTO_TEST_CASE(renderers_with_different_limits_share_a_snapshot) {
    // Each renderer renders a snapshot's fields with its own limit and keeps
    // them: another renderer rendering the same snapshot in between changes
    // nothing for the first (the decoder's workers and the live backend
    // share snapshots).
    const std::unique_ptr<d::ContextSnapshot> bound(
        d::make_snapshot({{"desk", std::string(300, 'd')}, {"book", 7}}, nullptr));
    const std::string rec = RecordBuilder(kSite, kTsc0 + 1, kLogger)
                                .bound(reinterpret_cast<std::uint64_t>(bound.get()))
                                .arg(2)
                                .arg(std::string_view("globex"))
                                .bytes();
    const d::EntryIdentity id{"decode-test", "staging", "1.2.3", "test-host"};
    EntryRenderer wide(id, d::RenderOptions{10000, {}});
    EntryRenderer narrow(id, d::RenderOptions{100, {}});
    const d::RecordContext context{bound.get(), nullptr};
    const std::string wide_first = backend_json(wide, rec, order_site(), "orders", kUnix0, context, 8);
    const std::string narrow_first = backend_json(narrow, rec, order_site(), "orders", kUnix0, context, 8);
    const std::string wide_again = backend_json(wide, rec, order_site(), "orders", kUnix0, context, 8);
    BOOST_TEST(wide_first.find(std::string(300, 'd')) != std::string::npos, wide_first);
    BOOST_TEST(narrow_first.find(std::string(300, 'd')) == std::string::npos, narrow_first);
    BOOST_TEST(wide_again == wide_first);
    BOOST_TEST(backend_json(narrow, rec, order_site(), "orders", kUnix0, context, 8) == narrow_first);
}

BOOST_AUTO_TEST_CASE(a_renderer_seeing_thousands_of_snapshots_renders_each_right) {
    // More snapshots than a renderer keeps rendered (it starts over): each
    // record, an early snapshot's again after the cache was cleared, renders
    // as a fresh renderer renders it.
    constexpr int kSnapshots = 9000;
    std::vector<std::unique_ptr<d::ContextSnapshot>> snapshots;
    for (int i = 0; i < kSnapshots; ++i)
        snapshots.emplace_back(d::make_snapshot({{"desk", fmt::format("desk-{}", i)}, {"book", i}}, nullptr));
    const d::EntryIdentity id{"decode-test", "staging", "1.2.3", "test-host"};
    const agora::log::Context defaults{{"region", "eu"}, {"desk", "default"}};
    EntryRenderer renderer(id, d::RenderOptions{10000, defaults});
    const auto render = [&](EntryRenderer& r, int scope, int bound) {
        const std::string rec = RecordBuilder(kSite, kTsc0 + 1, kLogger)
                                    .bound(reinterpret_cast<std::uint64_t>(snapshots[bound].get()))
                                    .scoped(reinterpret_cast<std::uint64_t>(snapshots[scope].get()))
                                    .arg(2)
                                    .arg(std::string_view("globex"))
                                    .bytes();
        return backend_json(r, rec, order_site(), "orders", kUnix0,
                            d::RecordContext{snapshots[bound].get(), snapshots[scope].get()}, 16);
    };
    int wrong = 0;
    std::string first_wrong;
    for (int i = 0; i < kSnapshots + 100; ++i) {
        const int scope = (i * 7) % kSnapshots, bound = i < kSnapshots ? i : i - kSnapshots;
        EntryRenderer fresh(id, d::RenderOptions{10000, defaults});
        const std::string got = render(renderer, scope, bound);
        const std::string expected = render(fresh, scope, bound);
        if (got != expected && wrong++ == 0) first_wrong = got + "\n" + expected;
        // The same pair again (the merged context is reused).
        if (render(renderer, scope, bound) != expected && wrong++ == 0) first_wrong = "again: " + expected;
    }
    BOOST_TEST(wrong == 0, first_wrong);
    BOOST_TEST(render(renderer, 1, 0).find("\"desk\":\"desk-1\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(clean_input_renders_as_the_backend_does) {
    // Context: a default context, a bound snapshot and a scoped one.
    const agora::log::Context defaults{{"region", "eu"}};
    std::unique_ptr<d::ContextSnapshot> bound(d::make_snapshot({{"desk", "fx"}, {"book", 7}}, nullptr));
    std::unique_ptr<d::ContextSnapshot> scoped(
        d::make_snapshot({{"correlation_id", "123e4567-e89b-42d3-a456-426614174000"}}, nullptr));
    InputBuilder b(d::FileKind::binary_log, "decode-test", 10000, &defaults);
    b.logger(kLogger, "orders").site(order_site()).thread(101);
    d::write_snapshot(b.sink, bound.get());
    d::write_snapshot(b.sink, scoped.get());
    const std::string plain = order_record(5, 1, "acme \"quoted\"\n");
    const std::string with_context = RecordBuilder(kSite, kTsc0 + 6000, kLogger)
                                         .bound(reinterpret_cast<std::uint64_t>(bound.get()))
                                         .scoped(reinterpret_cast<std::uint64_t>(scoped.get()))
                                         .arg(2)
                                         .arg(std::string_view("globex"))
                                         .bytes();
    b.record(plain).record(with_context);
    d::write_internal(b.sink, kUnix0 + 7000, Level::warning, 12, "/src/backend.cpp", "void agora::Backend::run()",
                      "Async queue overflow, dropped 3 entries");
    d::write_crash(b.sink, 11, 101, d::kDumpBackendDrained, 2);

    const Decoded got = decode({b.data()});
    BOOST_TEST(all_problems(got) == "");
    BOOST_TEST(!got.damaged);
    BOOST_TEST_REQUIRE(got.lines.size() == 3u);

    EntryRenderer backend(d::EntryIdentity{"decode-test", "staging", "1.2.3", "test-host"}, d::RenderOptions{10000, defaults});
    BOOST_TEST(got.lines[0] == backend_json(backend, plain, order_site(), "orders", kUnix0 + 5000));
    BOOST_TEST(got.lines[1] == backend_json(backend, with_context, order_site(), "orders", kUnix0 + 6000,
                                            d::RecordContext{bound.get(), scoped.get()}, 16));
    agora::log::LogRecordView view{};
    const auto site = EntryRenderer::make_site_info("/src/backend.cpp", 12, "void agora::Backend::run()");
    backend.render(Level::warning, kUnix0 + 7000, "Async queue overflow, dropped 3 entries", site, 0, "agora.log", view);
    BOOST_TEST(got.lines[2] == std::string(view.json));
    // Every line is an entry of the schema.
    for (const auto& line : got.lines) {
        std::string error;
        BOOST_TEST(agora_test::parse_entry(line, error).has_value(), error);
    }

    const d::InputInfo& info = got.inputs.at(0);
    BOOST_TEST(info.header_ok);
    BOOST_TEST(info.service == "decode-test");
    BOOST_TEST(info.host == "test-host");
    BOOST_TEST(info.pid == 4242u);
    BOOST_TEST(static_cast<int>(info.kind) == static_cast<int>(d::FileKind::binary_log));
    BOOST_TEST(info.threads == 1u);
    BOOST_TEST(info.records == 3u);
    BOOST_TEST_REQUIRE(info.crash.has_value());
    BOOST_TEST(info.crash->signal == 11);
    BOOST_TEST(info.crash->thread == 101u);
    BOOST_TEST(d::dump_flags_text(info.crash->flags) == "backend drained");
}

BOOST_AUTO_TEST_CASE(text_format_is_format_text_of_the_entry) {
    const std::string rec = order_record(5, 9);
    InputBuilder b = order_input();
    b.record(rec);
    const Decoded got = decode({b.data()}, DecodeOptions{true, true});
    BOOST_TEST_REQUIRE(got.lines.size() == 1u);

    EntryRenderer backend(d::EntryIdentity{"decode-test", "staging", "1.2.3", "test-host"});
    RecordHeader h;
    std::memcpy(&h, rec.data(), sizeof h);
    agora::log::LogRecordView view{};
    backend.render_record(h, reinterpret_cast<const std::byte*>(rec.data()) + sizeof h, rec.size() - sizeof h,
                          order_site(), "orders", kUnix0 + 5000, view);
    std::string text;
    agora::log::format_text(view, text, false);
    BOOST_TEST(got.lines[0] == text);
}

BOOST_AUTO_TEST_CASE(exception_frames_come_from_symbol_entries_only) {
    static constexpr TypeCode kException[] = {TypeCode::exception, TypeCode::end};
    const CallSite site = make_site(9, Level::error, "Failed", kException);
    // Exception blob (record.hpp): depth, type, what(), frames.
    std::string blob;
    auto put_u32 = [&blob](std::uint32_t v) { blob.append(reinterpret_cast<const char*>(&v), 4); };
    auto put_str = [&](std::string_view s) {
        put_u32(static_cast<std::uint32_t>(s.size()));
        blob += s;
    };
    blob.push_back('\1');
    put_str("St13runtime_error");
    put_str("boom");
    put_u32(2);
    for (std::uint64_t a : {std::uint64_t{0x1234}, std::uint64_t{0x5678}}) blob.append(reinterpret_cast<const char*>(&a), 8);
    std::string args;
    const auto n = static_cast<std::uint32_t>(blob.size());
    args.append(reinterpret_cast<const char*>(&n), 4);
    args += blob;

    InputBuilder b = order_input();
    b.site(site);
    d::write_symbol(b.sink, 0x1234, "app::fail() at /src/app/fail.cpp:12");
    b.record(RecordBuilder(9, kTsc0 + 1, kLogger).raw(args.data(), args.size()).bytes());
    const Decoded got = decode({finished(b, 1)});
    BOOST_TEST(all_problems(got) == "");
    BOOST_TEST_REQUIRE(got.lines.size() == 1u);
    BOOST_TEST(got.lines[0].find(R"("exception":{"type":"std::runtime_error","message":"boom","stacktrace":)"
                                 R"("#0 app::fail() at /src/app/fail.cpp:12\n#1 0x5678")") != std::string::npos,
               got.lines[0]);
}

BOOST_AUTO_TEST_CASE(sort_orders_threads_by_timestamp_and_no_sort_keeps_input_order) {
    InputBuilder b = order_input();  // thread 101
    b.record(order_record(10, 1)).record(order_record(30, 3));
    b.thread(102);
    b.record(order_record(20, 2)).record(order_record(40, 4));
    // A second input (another process) whose records fall in between.
    InputBuilder other = order_input();
    other.record(order_record(25, 25));

    const Decoded sorted = decode({b.data(), other.data()});
    BOOST_TEST(messages(sorted) == (std::vector<std::string>{"Order 1 for acme", "Order 2 for acme", "Order 25 for acme",
                                                             "Order 3 for acme", "Order 4 for acme"}),
               boost::test_tools::per_element());
    BOOST_TEST(sorted.inputs.at(0).threads == 2u);

    const Decoded unsorted = decode({b.data(), other.data()}, DecodeOptions{false, false});
    BOOST_TEST(messages(unsorted) == (std::vector<std::string>{"Order 1 for acme", "Order 3 for acme", "Order 2 for acme",
                                                               "Order 4 for acme", "Order 25 for acme"}),
               boost::test_tools::per_element());
    // Timestamps never go backwards: "Order 2" (tick 20) shows the time of "Order 3" (tick 30).
    std::vector<std::string> stamps;
    for (const auto& line : unsorted.lines) stamps.push_back(line.substr(line.find("\"timestamp\":"), 41));
    BOOST_TEST(stamps[2] == stamps[1]);
    BOOST_TEST(stamps[4] == stamps[3]);
    BOOST_TEST(std::is_sorted(stamps.begin(), stamps.end()));
}

BOOST_AUTO_TEST_CASE(truncated_mid_record_keeps_what_came_before) {
    std::vector<std::size_t> offsets;
    const std::string full = three_records(&offsets);
    const std::string cut = full.substr(0, offsets[2] + 16 + 10);  // header and 10 bytes of the third record
    const Decoded got = decode({cut});
    BOOST_TEST(messages(got) == (std::vector<std::string>{kExpectedOrder[0], kExpectedOrder[1]}),
               boost::test_tools::per_element());
    BOOST_TEST(got.damaged);
    BOOST_TEST(all_problems(got) ==
               fmt::format("input0: offset {}: entry of {} bytes runs past the end of the input (10 bytes left; "
                           "truncated?); skipped 26 bytes\n"
                           "input0: offset {}: dump ends before its crash entry (the writer's last): it was cut short, "
                           "and records it had not written yet are lost\n",
                           offsets[2], order_record(30, 3).size(), cut.size()));
}

BOOST_AUTO_TEST_CASE(flipped_bytes_cost_only_their_record) {
    std::vector<std::size_t> offsets;
    std::string data = three_records(&offsets);
    data[offsets[1] + 16 + 30] ^= 0x5a;  // inside the second record's arguments
    const Decoded got = decode({data});
    BOOST_TEST(messages(got) == (std::vector<std::string>{kExpectedOrder[0], kExpectedOrder[2]}),
               boost::test_tools::per_element());
    BOOST_TEST(all_problems(got).starts_with(fmt::format("input0: offset {}: checksum mismatch", offsets[1])));
    BOOST_TEST(all_problems(got).ends_with(fmt::format("; skipped {} bytes\n", offsets[2] - offsets[1])));
}

BOOST_AUTO_TEST_CASE(four_gigabyte_length_field_allocates_nothing_and_resyncs) {
    for (std::uint32_t size : {0xFFFFFFF0u, 0x3FFFFFF0u}) {
        BOOST_TEST_CONTEXT("size field " << size) {
            std::vector<std::size_t> offsets;
            std::string data = three_records(&offsets);
            std::memcpy(data.data() + offsets[1] + offsetof(d::EntryHeader, size), &size, 4);
            g_largest_allocation.store(0);
            const Decoded got = decode({data});
            BOOST_TEST(g_largest_allocation.load() < data.size() * 4 + 65536);
            BOOST_TEST(messages(got) == (std::vector<std::string>{kExpectedOrder[0], kExpectedOrder[2]}),
                       boost::test_tools::per_element());
            BOOST_TEST(got.inputs.at(0).problems.size() == 1u);
            BOOST_TEST(all_problems(got).starts_with(fmt::format("input0: offset {}: entry", offsets[1])));
        }
    }
}

namespace {
/// An order record, then a run of `count` entry headers that each claim the
/// rest of the input as payload (checksum 0: none checks out), then an order
/// record and the crash entry. `patch` may change each bogus header.
std::string headers_claiming_the_rest(int count, const std::function<void(d::EntryHeader&)>& patch = {}) {
    InputBuilder b = order_input();
    b.record(order_record(10, 1));
    const std::size_t run = b.offset();
    InputBuilder tail_builder = order_input();
    const std::size_t tail_start = tail_builder.offset();
    tail_builder.record(order_record(20, 2));
    d::write_crash(tail_builder.sink, 11, 101, d::kDumpBackendDrained, 2);
    const std::string tail = tail_builder.data().substr(tail_start);
    const std::size_t total = run + 16 * static_cast<std::size_t>(count) + tail.size();
    std::string data = b.data();
    for (int i = 0; i < count; ++i) {
        d::EntryHeader h{};
        h.sync = d::kEntrySync;
        h.type = d::EntryType::record;
        h.size = static_cast<std::uint32_t>(total - data.size() - sizeof h);
        h.checksum = 0;
        if (patch) patch(h);
        data.append(reinterpret_cast<const char*>(&h), sizeof h);
    }
    return data + tail;
}
}  // namespace

BOOST_AUTO_TEST_CASE(resync_gives_up_when_candidates_cost_too_much_checksumming) {
    // 8192 headers, each claiming the rest: checksumming every candidate
    // would read about 550 MB (quadratic in the input size).
    const std::string data = headers_claiming_the_rest(8192);
    const Decoded got = decode({data});
    BOOST_TEST_REQUIRE(!got.lines.empty());
    BOOST_TEST(message_of(got.lines[0]) == "Order 1 for acme");
    BOOST_TEST(got.damaged);
    const auto& problems = got.inputs.at(0).problems;
    BOOST_TEST_REQUIRE(problems.size() >= 2u, all_problems(got));
    BOOST_TEST(problems[0].find("checksum mismatch in an entry of type 8") != std::string::npos, all_problems(got));
    BOOST_TEST(problems[1].find("gave up resynchronising: candidate entries that did not check out cost") !=
                   std::string::npos,
               all_problems(got));
}

BOOST_AUTO_TEST_CASE(resync_rejects_implausible_headers_without_checksumming_them) {
    // The same run with what no writer writes (a reserved byte set, an
    // unknown type): rejected from the header alone, so the budget is not
    // spent and the record after them is found.
    for (const auto& patch : std::vector<std::function<void(d::EntryHeader&)>>{
             [](d::EntryHeader& h) { h.reserved[1] = 1; },
             [](d::EntryHeader& h) { h.type = static_cast<d::EntryType>(77); }}) {
        const Decoded got = decode({headers_claiming_the_rest(8192, patch)});
        BOOST_TEST(messages(got) == (std::vector<std::string>{"Order 1 for acme", "Order 2 for acme"}),
                   boost::test_tools::per_element());
        BOOST_TEST(got.inputs.at(0).problems.size() == 1u, all_problems(got));
        BOOST_TEST(all_problems(got).find("checksum mismatch") != std::string::npos, all_problems(got));
    }
}

BOOST_AUTO_TEST_CASE(unknown_entry_type_is_skipped_with_one_note) {
    InputBuilder b = order_input();
    b.record(order_record(10, 1));
    const auto unknown = static_cast<d::EntryType>(200);
    const std::size_t at = b.offset();
    for (int i = 0; i < 2; ++i)
        d::write_entry(b.sink, unknown, [](auto& out) { d::put_str(out, "from a newer writer"); });
    b.record(order_record(20, 2)).record(order_record(30, 3));
    const Decoded got = decode({finished(b, 3)});
    BOOST_TEST(messages(got) == kExpectedOrder, boost::test_tools::per_element());
    BOOST_TEST(!got.damaged);
    BOOST_TEST_REQUIRE(got.inputs.at(0).notes.size() == 1u);
    BOOST_TEST(got.inputs.at(0).notes[0].starts_with(fmt::format("input0: offset {}: entry type 200 is unknown", at)));
}

BOOST_AUTO_TEST_CASE(dump_without_its_crash_entry_was_cut_short) {
    for (const auto kind : {d::FileKind::crash_dump, d::FileKind::on_demand_dump, d::FileKind::binary_log}) {
        BOOST_TEST_CONTEXT("kind " << d::kind_name(kind)) {
            InputBuilder b = order_input(kind);
            b.record(order_record(10, 1));
            const Decoded got = decode({b.data()});
            BOOST_TEST(messages(got) == std::vector<std::string>{"Order 1 for acme"}, boost::test_tools::per_element());
            if (kind == d::FileKind::binary_log) {
                // A log file has no crash entry: it ends wherever the process stopped.
                BOOST_TEST(!got.damaged, all_problems(got));
            } else {
                BOOST_TEST(all_problems(got) ==
                           fmt::format("input0: offset {}: dump ends before its crash entry (the writer's last): it "
                                       "was cut short, and records it had not written yet are lost\n",
                                       b.data().size()));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(file_without_identity_entry_is_a_problem) {
    // The builder's header, then everything but the identity entry.
    InputBuilder b(d::FileKind::binary_log);
    std::string data = b.data().substr(0, sizeof(d::FileHeader));
    StringSink rest;
    d::write_logger(rest, kLogger, "orders");
    d::write_site(rest, order_site());
    const std::string rec = order_record(10, 1);
    d::write_record(rest, reinterpret_cast<const std::byte*>(rec.data()), static_cast<std::uint32_t>(rec.size()));
    data += rest.data;
    const Decoded got = decode({data});
    BOOST_TEST_REQUIRE(got.lines.size() == 1u);
    BOOST_TEST(message_of(got.lines[0]) == "Order 1 for acme");
    BOOST_TEST(got.lines[0].find("\"service\":\"\"") != std::string::npos, got.lines[0]);
    BOOST_TEST(all_problems(got) == "input0: offset 64: no identity entry (every writer starts with one): service, "
                                    "environment, version, host, max_message_length and the default context are "
                                    "unknown; records render with defaults\n");
}

BOOST_AUTO_TEST_CASE(empty_file_is_a_problem) {
    const Decoded got = decode({std::string()});
    BOOST_TEST(got.lines.empty());
    BOOST_TEST(got.damaged);
    BOOST_TEST(all_problems(got) == "input0: empty file\n");
}

BOOST_AUTO_TEST_CASE(json_log_passed_by_mistake_says_so) {
    const Decoded got = decode({"{\"timestamp\":\"2026-01-01T00:00:00.000000Z\",\"level\":\"INFO\"}\n"});
    BOOST_TEST(got.lines.empty());
    BOOST_TEST(all_problems(got) == "input0: not an agora-log binary file (it starts with '{', a JSON log?)\n");
}

BOOST_AUTO_TEST_CASE(unsupported_version_and_truncated_header) {
    std::string data = three_records();
    const std::uint16_t version = d::kFormatVersion + 1;
    std::memcpy(data.data() + offsetof(d::FileHeader, format_version), &version, 2);
    const Decoded newer = decode({data, three_records().substr(0, 40)});
    BOOST_TEST(newer.lines.empty());
    BOOST_TEST_REQUIRE(newer.inputs.size() == 2u);
    BOOST_TEST(newer.inputs[0].problems.at(0).find("unsupported format version 2") != std::string::npos);
    BOOST_TEST(newer.inputs[1].problems.at(0).find("truncated file header (40 of 64 bytes)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(records_of_unknown_sites_loggers_and_snapshots) {
    InputBuilder b = order_input();
    const std::size_t unknown_site = b.offset();
    b.record(RecordBuilder(99, kTsc0 + 1, kLogger).arg(1).bytes());
    const std::size_t unknown_logger = b.offset();
    b.record(RecordBuilder(kSite, kTsc0 + 2, 55).arg(2).arg(std::string_view("x")).bytes());
    const std::size_t unknown_snapshot = b.offset();
    b.record(RecordBuilder(kSite, kTsc0 + 3, kLogger).bound(0xdead0).arg(3).arg(std::string_view("acme")).bytes());
    b.record(RecordBuilder(0, kTsc0 + 4, 0).bytes());  // ring padding: tolerated silently
    const Decoded got = decode({finished(b, 1)});
    BOOST_TEST(messages(got) == std::vector<std::string>{"Order 3 for acme"}, boost::test_tools::per_element());
    BOOST_TEST(all_problems(got) ==
               fmt::format("input0: offset {}: record refers to unknown call site 99; skipped 48 bytes\n"
                           "input0: offset {}: record refers to unknown logger 55; skipped 56 bytes\n"
                           "input0: offset {}: record refers to unknown context snapshot 0xdead0; rendered without it\n",
                           unknown_site, unknown_logger, unknown_snapshot));
}

BOOST_AUTO_TEST_CASE(record_not_matching_its_site_renders_as_damaged) {
    InputBuilder b = order_input();
    std::string bad = order_record(10, 1);
    const std::uint32_t huge = 1000;  // the string's length: past the record's end
    std::memcpy(bad.data() + sizeof(RecordHeader) + 4, &huge, 4);
    const std::size_t at = b.offset();
    b.record(bad).record(order_record(20, 2));
    const Decoded got = decode({finished(b, 2)});
    BOOST_TEST_REQUIRE(got.lines.size() == 2u);
    BOOST_TEST(message_of(got.lines[0]) == "Order {} for {} [agora-log: record arguments are damaged]");
    BOOST_TEST(message_of(got.lines[1]) == "Order 2 for acme");
    BOOST_TEST(got.damaged);
    BOOST_TEST(all_problems(got).starts_with(fmt::format("input0: offset {}: record does not match its call site", at)));
}

BOOST_AUTO_TEST_CASE(huge_field_width_is_refused) {
    static constexpr TypeCode kTwoInts[] = {TypeCode::i32, TypeCode::i32, TypeCode::end};
    const CallSite dynamic = make_site(11, Level::info, "[{:{}}]", kTwoInts);
    const CallSite fixed = make_site(12, Level::info, "[{:99999999}] {}", kTwoInts);
    InputBuilder b = order_input();
    b.site(dynamic).site(fixed);
    b.record(RecordBuilder(11, kTsc0 + 1, kLogger).arg(7).arg(4).bytes());
    b.record(RecordBuilder(11, kTsc0 + 2, kLogger).arg(7).arg(2'000'000'000).bytes());
    b.record(RecordBuilder(12, kTsc0 + 3, kLogger).arg(7).arg(1).bytes());
    g_largest_allocation.store(0);
    const Decoded got = decode({finished(b, 3)});
    BOOST_TEST(g_largest_allocation.load() < std::size_t{1} << 20);
    // The refused records show their template and why, at their place.
    BOOST_TEST(messages(got) == (std::vector<std::string>{
                                    "[   7]", "[{:{}}] [agora-log: not formatted: a field wider than 4096 characters]",
                                    "[{:99999999}] {} [agora-log: not formatted: a field wider than 4096 characters]"}),
               boost::test_tools::per_element());
    BOOST_TEST(got.inputs.at(0).problems.size() == 2u);
}

BOOST_AUTO_TEST_CASE(out_of_memory_in_add_keeps_only_records_that_stay_valid) {
    // A second input large enough that its copy is mapped memory (freed,
    // it is unmapped), with a site and a logger defined between records so
    // that add() also allocates after records were queued.
    InputBuilder b = order_input();
    for (int i = 1; i <= 1500; ++i) b.record(order_record(static_cast<std::uint64_t>(i), i));
    b.logger(kLogger + 1, "late");
    b.site(make_site(kSite + 1, Level::warning, "late {}", kIntString));
    for (int i = 1501; i <= 3000; ++i) b.record(order_record(static_cast<std::uint64_t>(i), i));
    const std::string big = finished(b, 3000);
    const std::string small = finished(order_input(), 0);

    std::uint64_t clean = 0;
    {
        Decoder decoder;
        clean = allocations_of([&] { decoder.add("big", as_bytes(big)); });
    }
    BOOST_TEST_REQUIRE(clean > 0u);
    std::uint64_t failed = 0;
    for (std::uint64_t nth = 1; nth <= clean; ++nth) {
        Decoder decoder;
        decoder.add("small", as_bytes(small));
        bool threw = false;
        {
            FailAllocations fail(nth);
            try {
                decoder.add("big", as_bytes(big));
            } catch (const std::bad_alloc&) {
                threw = true;
            }
        }
        failed += threw ? 1 : 0;
        // Whatever add() queued before it threw renders from live memory, in order.
        std::vector<std::string> lines;
        decoder.render([&lines](std::string_view line) { lines.emplace_back(line); });
        bool in_order = true;
        for (std::size_t i = 0; i < lines.size(); ++i)
            in_order = in_order && message_of(lines[i]) == fmt::format("Order {} for acme", i + 1);
        BOOST_TEST(in_order, "allocation " << nth << " failing: " << lines.size() << " lines");
        BOOST_TEST(lines.size() <= 3000u);
        BOOST_TEST(decoder.inputs().size() <= 2u);  // 1 if even its InputInfo could not be made
        if (threw && decoder.inputs().size() == 2u) BOOST_TEST(decoder.damaged());
    }
    BOOST_TEST(failed == clean);
}

BOOST_AUTO_TEST_CASE(many_inputs_do_not_copy_the_records_queued_so_far_each_time) {
    const std::string one = finished([] {
        InputBuilder b = order_input();
        for (int i = 1; i <= 3; ++i) b.record(order_record(static_cast<std::uint64_t>(i), i));
        return b;
    }(), 3);
    constexpr int kInputs = 2000;
    Decoder decoder;
    const std::uint64_t before = g_allocated_bytes.load();
    for (int i = 0; i < kInputs; ++i) decoder.add("input", as_bytes(one));
    const std::uint64_t per_input = (g_allocated_bytes.load() - before) / kInputs;
    // Each input costs its copy, its tables and its renderer (a few KB); an
    // exact reserve per input made it the size of all queued records.
    BOOST_TEST(per_input < 64u * 1024, per_input << " bytes allocated per input");
    std::size_t lines = 0;
    decoder.render([&lines](std::string_view) { ++lines; });
    BOOST_TEST(lines == 3u * kInputs);
}

namespace {
/// One site with `format` and `types`, one record with `args` (raw bytes),
/// then an order record that must still decode; returns the decoded input
/// and the largest allocation decoding it took.
struct OneSite {
    Decoded got;
    std::size_t largest_allocation = 0;
};
OneSite decode_one_site(std::string_view format, const TypeCode* types, const std::string& args,
                        std::uint32_t max_message_length = 10000) {
    InputBuilder b(d::FileKind::crash_dump, "decode-test", max_message_length);
    b.logger(kLogger, "orders").site(order_site()).thread(101);
    b.site(make_site(20, Level::info, format, types));
    b.record(RecordBuilder(20, kTsc0 + 1, kLogger).raw(args.data(), args.size()).bytes());
    b.record(order_record(2, 1));
    const std::string input = finished(b, 2);
    g_largest_allocation.store(0);
    OneSite out;
    out.got = decode({input});
    out.largest_allocation = g_largest_allocation.load();
    return out;
}

constexpr TypeCode kOneInt[] = {TypeCode::i32, TypeCode::end};
constexpr TypeCode kTwoInts[] = {TypeCode::i32, TypeCode::i32, TypeCode::end};
constexpr TypeCode kFourInts[] = {TypeCode::i32, TypeCode::i32, TypeCode::i32, TypeCode::i32, TypeCode::end};
constexpr TypeCode kOneString[] = {TypeCode::string, TypeCode::end};
constexpr TypeCode kOneDouble[] = {TypeCode::f64, TypeCode::end};
constexpr TypeCode kDoubleInt[] = {TypeCode::f64, TypeCode::i32, TypeCode::end};
constexpr TypeCode kOneException[] = {TypeCode::exception, TypeCode::end};
constexpr TypeCode kOneContext[] = {TypeCode::context, TypeCode::end};

std::string int_args(std::initializer_list<std::int32_t> values) {
    std::string out;
    for (std::int32_t v : values) out.append(reinterpret_cast<const char*>(&v), 4);
    return out;
}
}  // namespace

namespace {
constexpr std::string_view kBadTemplateNote =
    " [agora-log: not formatted: the template is outside the fmt syntax the decoder formats]";
constexpr std::string_view kTooWideNote = " [agora-log: not formatted: a field wider than 4096 characters]";
constexpr std::string_view kBadTemplateProblem = "its call site's template is outside the fmt syntax the decoder formats";
}  // namespace

BOOST_AUTO_TEST_CASE(widths_hidden_behind_fills_fmt_accepts_are_refused) {
    // fmt 9 takes any code point but '{' as fill, '}' included, and reads a
    // spec to the end of the template: each spelling asks that fmt for a
    // field of 300 million characters (four bytes each with a four-byte
    // fill). Fills outside the subset every fmt version frames alike are
    // refused as such; the others are too wide.
    struct Case {
        std::string format;
        const TypeCode* types;
        std::string args;
        std::string_view note;
    };
    const std::vector<Case> cases = {
        {"{:}<300000000}", kOneInt, int_args({7}), kBadTemplateNote},
        {"{:\xF0}AB<300000000}", kOneInt, int_args({7}), kBadTemplateNote},      // a lead byte frames 4 bytes: "\xF0}AB"
        {"{:\xE2\x82\xAC^300000000}", kOneInt, int_args({7}), kBadTemplateNote},  // a real multi-byte fill
        {"{:}<{}}", kTwoInts, int_args({7, 300000000}), kBadTemplateNote},        // the width is argument 1
        {"{0:}<{1}}", kTwoInts, int_args({7, 300000000}), kBadTemplateNote},
        {"{:}<{}}{:{}}", kFourInts, int_args({7, 300000000, 7, 5}), kBadTemplateNote},
        {"{:.{}}", kDoubleInt, std::string(u64_bytes(0x3ff8000000000000ull)) + int_args({300000000}), kTooWideNote},
        {"{:.300000000}", kOneDouble, u64_bytes(0x3ff8000000000000ull), kTooWideNote},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("template " << c.format) {
            const OneSite r = decode_one_site(c.format, c.types, c.args);
            BOOST_TEST(r.largest_allocation < std::size_t{1} << 20);
            BOOST_TEST(messages(r.got) == (std::vector<std::string>{as_rendered(c.format + std::string(c.note)),
                                                                    "Order 1 for acme"}),
                       boost::test_tools::per_element());
            BOOST_TEST(r.got.inputs.at(0).problems.size() == 1u, all_problems(r.got));
            BOOST_TEST(all_problems(r.got).find("record not formatted: ") != std::string::npos, all_problems(r.got));
        }
    }
}

BOOST_AUTO_TEST_CASE(templates_outside_the_subset_every_fmt_version_frames_alike_are_refused) {
    // fmt versions 8 to 11 frame these differently, or differently from a
    // scan that does not model each one: the decoder formats none of them,
    // whatever fmt it is built with, and says why.
    struct Case {
        std::string format;
        const TypeCode* types;
        std::string args;
        std::string_view note;
        std::string why;  // in the problem
    };
    const std::vector<Case> cases = {
        {"[{:\xC3\xA9>4}]", kOneInt, int_args({1}), kBadTemplateNote, "a non-ASCII fill at byte 3"},
        {"{:}<2000000000}", kOneInt, int_args({1}), kBadTemplateNote, "'{' or '}' as a fill at byte 2"},
        {"[{:}>3}] {{}}", kOneInt, int_args({5}), kBadTemplateNote, "'{' or '}' as a fill at byte 3"},
        {"{:{<5}", kOneInt, int_args({1}), kBadTemplateNote, "'{' or '}' as a fill at byte 2"},
        {"{:\x01<5}", kOneInt, int_args({1}), kBadTemplateNote, "a control character as a fill at byte 2"},
        {"{:\x7f^5}", kOneInt, int_args({1}), kBadTemplateNote, "a control character as a fill at byte 2"},
        {"{:\t>5}", kOneInt, int_args({1}), kBadTemplateNote, "a control character as a fill at byte 2"},
        {"{:k}", kOneInt, int_args({1}), kBadTemplateNote, "a spec character outside"},
        {"{:5n}", kOneInt, int_args({1}), kBadTemplateNote, "a spec character outside"},
        {"{:00}", kOneInt, int_args({1}), kBadTemplateNote, "a width with a leading zero at byte 3"},
        {"{01}", kTwoInts, int_args({1, 2}), kBadTemplateNote, "an argument id with a leading zero at byte 1"},
        {"{:>4097}", kOneInt, int_args({1}), kTooWideNote, "wider than 4096 characters"},
        {"{:.4097f}", kOneDouble, u64_bytes(0x3ff8000000000000ull), kTooWideNote, "wider than 4096 characters"},
        {"{:{}}", kTwoInts, int_args({1, 4097}), kTooWideNote, "it asks for a field 4097 characters wide"},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("template " << c.format) {
            const OneSite r = decode_one_site(c.format, c.types, c.args);
            BOOST_TEST(r.largest_allocation < std::size_t{1} << 20);
            BOOST_TEST(messages(r.got) == (std::vector<std::string>{as_rendered(c.format + std::string(c.note)),
                                                                    "Order 1 for acme"}),
                       boost::test_tools::per_element());
            BOOST_TEST(r.got.inputs.at(0).problems.size() == 1u, all_problems(r.got));
            BOOST_TEST(all_problems(r.got).find(c.why) != std::string::npos, all_problems(r.got));
            if (c.note == kBadTemplateNote)
                BOOST_TEST(all_problems(r.got).find(kBadTemplateProblem) != std::string::npos, all_problems(r.got));
        }
    }
}

BOOST_AUTO_TEST_CASE(ordinary_specs_format_as_fmt_formats_them) {
    struct Case {
        std::string format;
        const TypeCode* types;
        std::string args;
        std::string expected;
    };
    const double pi = 3.14159265;
    std::uint64_t pi_bits;
    std::memcpy(&pi_bits, &pi, 8);
    const std::string pi_bytes = u64_bytes(pi_bits);
    static constexpr TypeCode kDoubleIntInt[] = {TypeCode::f64, TypeCode::i32, TypeCode::i32, TypeCode::end};
    const std::vector<Case> cases = {
        {"[{:>10}]", kOneInt, int_args({42}), fmt::format("[{:>10}]", 42)},
        {"[{:*^8.3f}]", kOneDouble, pi_bytes, fmt::format("[{:*^8.3f}]", pi)},
        {"[{:#x}]", kOneInt, int_args({255}), fmt::format("[{:#x}]", 255)},
        {"[{:08d}]", kOneInt, int_args({-42}), fmt::format("[{:08d}]", -42)},
        {"[{:{}.{}f}]", kDoubleIntInt, pi_bytes + int_args({12, 4}), fmt::format("[{:{}.{}f}]", pi, 12, 4)},
        {"[{0:>{1}}]", kTwoInts, int_args({7, 5}), fmt::format("[{0:>{1}}]", 7, 5)},
        {"[{:<<6}] {{}} }}", kOneInt, int_args({3}), fmt::format("[{:<<6}] {{}} }}", 3)},
        {"[{:+.0e}|{:L}]", kDoubleInt, pi_bytes + int_args({1234}), fmt::format("[{:+.0e}|{:L}]", pi, 1234)},
        {"[{:0<5}|{1:^+#06X}]", kTwoInts, int_args({9, 10}), ""},  // automatic then manual: refused
        {"[{0:0<5}|{1:^+#06X}]", kTwoInts, int_args({9, 10}), fmt::format("[{0:0<5}|{1:^+#06X}]", 9, 10)},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("template " << c.format) {
            const OneSite r = decode_one_site(c.format, c.types, c.args);
            BOOST_TEST_REQUIRE(r.got.lines.size() == 2u);
            if (c.expected.empty()) {
                BOOST_TEST(message_of(r.got.lines[0]) == c.format + std::string(kBadTemplateNote));
                BOOST_TEST(all_problems(r.got).find("automatic and manual argument numbering mixed") != std::string::npos,
                           all_problems(r.got));
            } else {
                BOOST_TEST(message_of(r.got.lines[0]) == c.expected);
                BOOST_TEST(!r.got.damaged, all_problems(r.got));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(fields_a_writer_never_writes_are_not_confused_with_fmt_syntax) {
    // What fmt formats, the scan must frame the same way: these all render.
    struct Case {
        std::string format;
        const TypeCode* types;
        std::string args;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"[{:*^7}]", kOneInt, int_args({42}), "[**42***]"},
        {"[{:{}}] [{:>{}}]", kFourInts, int_args({7, 4, 8, 3}), "[   7] [  8]"},
        {"[{1:{0}}]", kTwoInts, int_args({3, 9}), "[  9]"},
        {"{:+#010x}", kOneInt, int_args({255}), "+0x00000ff"},
        // fmt refuses a precision for an int: damaged, as the live backend
        // shows it. The note ends with fmt's own message, whose wording
        // changes between fmt versions: only its frame is expected here.
        {"{:.2f}|{:8.3e}", kDoubleInt, std::string(u64_bytes(0x3ff8000000000000ull)) + int_args({0}),
         "1.50|{:.2f}|{:8.3e} [agora-log: format error: "},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("template " << c.format) {
            const OneSite r = decode_one_site(c.format, c.types, c.args);
            BOOST_TEST_REQUIRE(r.got.lines.size() == 2u);
            const std::string message = message_of(r.got.lines[0]);
            const bool refused = c.expected.find("format error") != std::string::npos;
            if (refused) {
                BOOST_TEST(message.starts_with(c.expected), message);
                BOOST_TEST(message.size() > c.expected.size() + 1, message);  // fmt's message, not empty
                BOOST_TEST(message.ends_with("]"), message);
            } else {
                BOOST_TEST(message == c.expected);
            }
            BOOST_TEST(r.got.damaged == refused, all_problems(r.got));
        }
    }
}

BOOST_AUTO_TEST_CASE(templates_fmt_rejects_are_not_formatted) {
    for (const std::string format : {"{", "}", "{0}{}", "{}{0}", "{:{name}}", "{:\x7b<5}", "{:.}", "{:Q}",
                                     "{:99999999999}", "{0"}) {
        BOOST_TEST_CONTEXT("template " << format) {
            const OneSite r = decode_one_site(format, kTwoInts, int_args({1, 2}));
            BOOST_TEST(messages(r.got) ==
                           (std::vector<std::string>{
                               format + std::string(kBadTemplateNote),
                               "Order 1 for acme"}),
                       boost::test_tools::per_element());
            BOOST_TEST(all_problems(r.got).find(kBadTemplateProblem) != std::string::npos,
                       all_problems(r.got));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_message_many_times_its_record_is_not_built) {
    // Thousands of fields showing one 10 KB string: 50 MB before the cut.
    std::string repeated;
    for (int i = 0; i < 5000; ++i) repeated += "{0}";
    const std::string text(10000, 'x');
    const OneSite strings = decode_one_site(repeated, kOneString, str_bytes(text));
    BOOST_TEST(strings.largest_allocation < std::size_t{1} << 20);
    BOOST_TEST_REQUIRE(strings.got.lines.size() == 2u);
    BOOST_TEST(message_of(strings.got.lines[0]).ends_with(" [agora-log: not formatted: the message would be too large]"));
    BOOST_TEST(message_of(strings.got.lines[1]) == "Order 1 for acme");
    BOOST_TEST(all_problems(strings.got).find("record not formatted: formatting it could take 50070256 bytes, above the 1688576 allowed") != std::string::npos,
               all_problems(strings.got));

    // Thousands of fields 4096 wide: 8 MB of padding.
    std::string wide;
    for (int i = 0; i < 2000; ++i) wide += "{0:4096}";
    const OneSite padded = decode_one_site(wide, kOneInt, int_args({1}));
    BOOST_TEST(padded.largest_allocation < std::size_t{1} << 20);
    BOOST_TEST_REQUIRE(padded.got.lines.size() == 2u);
    BOOST_TEST(message_of(padded.got.lines[0]).ends_with(" [agora-log: not formatted: the message would be too large]"));
    BOOST_TEST(padded.got.damaged);

    // A real message: each field once, strings as long as the writer cuts them.
    const std::string longest(10004, 'y');
    const OneSite fine = decode_one_site("{0} and {0}", kOneString, str_bytes(longest));
    BOOST_TEST(all_problems(fine.got) == "");
    BOOST_TEST_REQUIRE(fine.got.lines.size() == 2u);
    BOOST_TEST(message_of(fine.got.lines[0]) == std::string(10000, 'y') + "...[truncated]");
}

BOOST_AUTO_TEST_CASE(string_argument_longer_than_the_writer_writes_is_damage) {
    // The writer cuts strings to max_message_length + 4 (or 10004 before
    // initialize() set the limit); this one is longer.
    const OneSite r = decode_one_site("{}", kOneString, str_bytes(std::string(20000, 'z')), 100);
    BOOST_TEST_REQUIRE(r.got.lines.size() == 2u);
    BOOST_TEST(message_of(r.got.lines[0]) == "{} [agora-log: not formatted: a string argument longer than the writer writes]");
    BOOST_TEST(all_problems(r.got).find("string argument 0 is 20000 bytes; the writer cuts strings to 10004") !=
                   std::string::npos,
               all_problems(r.got));
    // 10004 bytes is what a writer with the default limit writes: no problem.
    const OneSite ok = decode_one_site("{}", kOneString, str_bytes(std::string(10004, 'z')), 100);
    BOOST_TEST(all_problems(ok.got) == "");
    BOOST_TEST(message_of(ok.got.lines.at(0)) == std::string(100, 'z') + "...[truncated]");
}

BOOST_AUTO_TEST_CASE(formatting_budget_bounds_the_work_of_a_whole_input) {
    // Each record may make fmt write 1.5 MB (1500 fields of a double, 1 KB
    // of bound each) though it writes 4.5 KB: past the budget (1 GiB plus
    // 256 bytes per input byte) the rest are not formatted.
    std::string format;
    for (int i = 0; i < 1500; ++i) format += "{0}";
    InputBuilder b;
    b.logger(kLogger, "orders").site(make_site(21, Level::info, format, kOneDouble)).thread(101);
    constexpr int kRecords = 1000;
    for (int i = 0; i < kRecords; ++i) b.record(RecordBuilder(21, kTsc0 + static_cast<std::uint64_t>(i), kLogger).arg(1.5).bytes());
    const Decoded got = decode({finished(b, kRecords)});
    BOOST_TEST_REQUIRE(got.lines.size() == static_cast<std::size_t>(kRecords));
    std::size_t formatted = 0;
    while (formatted < got.lines.size() && message_of(got.lines[formatted]).starts_with("1.51.51.5")) ++formatted;
    BOOST_TEST(formatted > 100u);
    BOOST_TEST(formatted < static_cast<std::size_t>(kRecords));
    bool rest_refused = true;
    for (std::size_t i = formatted; i < got.lines.size(); ++i)
        rest_refused = rest_refused &&
                       message_of(got.lines[i]).ends_with("[agora-log: not formatted: the decoder's formatting budget is spent]");
    BOOST_TEST(rest_refused);
    const auto& problems = got.inputs.at(0).problems;
    BOOST_TEST_REQUIRE(problems.size() == 2u, all_problems(got));
    BOOST_TEST(problems[0].find("the decoder's formatting budget is spent") != std::string::npos);
    BOOST_TEST(problems[1].find(fmt::format("{} more records were not formatted", kRecords - formatted - 1)) !=
               std::string::npos, problems[1]);
}

BOOST_AUTO_TEST_CASE(stack_trace_is_bounded_by_frames_and_symbol_length) {
    // 20000 frames of one 20000-character symbol: 400 MB of trace before.
    InputBuilder b = order_input();
    b.site(make_site(22, Level::error, "Failed", kOneException));
    d::write_symbol(b.sink, 0x1234, std::string(20000, 's'));
    const std::string args = exception_arg(20000, std::vector<std::uint64_t>(20000, 0x1234));
    b.record(RecordBuilder(22, kTsc0 + 1, kLogger).raw(args.data(), args.size()).bytes());
    g_largest_allocation.store(0);
    const Decoded got = decode({finished(b, 1)});
    BOOST_TEST(g_largest_allocation.load() < std::size_t{4} << 20);
    BOOST_TEST_REQUIRE(got.lines.size() == 1u);
    const std::string frame = std::string(10000, 's') + "...[truncated]";
    BOOST_TEST(got.lines[0].find("#0 " + frame + "\\n#1 ") != std::string::npos);
    BOOST_TEST(got.lines[0].find("\\n#63 " + frame + "\"") != std::string::npos);
    BOOST_TEST(got.lines[0].find("#64 ") == std::string::npos);
    BOOST_TEST(all_problems(got).find("exception argument has 1 levels and 20000 stack frames; a writer records at most "
                                      "8 and 64: rendered with the first 64 frames") != std::string::npos,
               all_problems(got));
}

// A record's bound counts its frames with the symbols known when it is
// parsed; it renders with the same ones. A symbol entry that comes later
// (20000 characters here, where the record counted an 18-character address)
// or that redefines a symbol changes nothing.
BOOST_AUTO_TEST_CASE(symbols_are_defined_once_before_the_records_that_show_them) {
    InputBuilder b = order_input();
    b.site(make_site(22, Level::error, "Failed", kOneException));
    d::write_symbol(b.sink, 0x1234, "app::fail()");
    const std::string args = exception_arg(2, {0x1234, 0x5678});
    b.record(RecordBuilder(22, kTsc0 + 1, kLogger).raw(args.data(), args.size()).bytes());
    d::write_symbol(b.sink, 0x5678, std::string(20000, 's'));
    d::write_symbol(b.sink, 0x1234, "app::fail()");  // a repeat, as a writer with a full table writes
    const std::size_t redefined = b.offset();
    d::write_symbol(b.sink, 0x1234, "app::other()");
    b.record(RecordBuilder(22, kTsc0 + 2, kLogger).raw(args.data(), args.size()).bytes());
    const Decoded got = decode({finished(b, 2)});
    BOOST_TEST_REQUIRE(got.lines.size() == 2u);
    for (const auto& line : got.lines)
        BOOST_TEST(line.find(R"("stacktrace":"#0 app::fail()\n#1 0x5678")") != std::string::npos, line);
    const auto& problems = got.inputs.at(0).problems;
    BOOST_TEST_REQUIRE(problems.size() == 1u, all_problems(got));
    BOOST_TEST(problems[0].find(fmt::format("offset {}", redefined)) != std::string::npos, problems[0]);
    BOOST_TEST(problems[0].find("symbol entry for 0x1234 differs from an earlier one; the earlier one applies") !=
                   std::string::npos,
               problems[0]);
    const auto& notes = got.inputs.at(0).notes;
    BOOST_TEST_REQUIRE(notes.size() == 1u);
    BOOST_TEST(notes[0].find("a symbol entry for 0x5678 after records that show its address; such entries are ignored") !=
                   std::string::npos,
               notes[0]);
}

// An identity entry after the first record is reported and changes nothing:
// not the limits the records were bounded with, nor how any of them render
// (on any thread).
BOOST_AUTO_TEST_CASE(an_identity_entry_after_the_first_record_changes_nothing) {
    StringSink sink;
    const d::FileHeader h = d::make_file_header(d::FileKind::crash_dump, 4242, kTsc0, 1.0, kUnix0);
    sink.bytes(&h, sizeof h);
    d::write_clock(sink, kTsc0, 1.0, kUnix0);
    d::write_logger(sink, kLogger, "orders");
    d::write_site(sink, order_site());
    d::write_thread(sink, 101, 0, 0, 4096);
    const std::string who(200, 'w');
    auto put = [&sink](const std::string& rec) {
        d::write_record(sink, reinterpret_cast<const std::byte*>(rec.data()), static_cast<std::uint32_t>(rec.size()));
    };
    put(order_record(1, 1, who));
    const std::size_t late = sink.data.size();
    d::write_identity(sink, d::IdentityFields{"late-service", "prod", "9.9.9", "late-host", 64, nullptr});
    put(order_record(2, 2, who));
    // A symbol after it is cut with the limit the records render with too.
    d::write_site(sink, make_site(22, Level::error, "Failed", kOneException));
    d::write_symbol(sink, 0x1234, who);
    const std::string args = exception_arg(1, {0x1234});
    put(RecordBuilder(22, kTsc0 + 3000, kLogger).raw(args.data(), args.size()).bytes());
    d::write_crash(sink, 11, 101, d::kDumpBackendDrained, 3);
    for (const unsigned threads : {1u, 2u}) {
        const Decoded got = decode({sink.data}, DecodeOptions{.threads = threads, .chunk_records = 1});
        BOOST_TEST_REQUIRE(got.lines.size() == 3u);
        for (const auto& line : got.lines) {
            BOOST_TEST(line.find("late") == std::string::npos, line);
            BOOST_TEST(line.find(who) != std::string::npos, "cut to the late entry's 64 bytes: " << line);
        }
        const auto& problems = got.inputs.at(0).problems;
        BOOST_TEST_REQUIRE(problems.size() == 1u, all_problems(got));
        BOOST_TEST(problems[0].find(fmt::format("offset {}: identity entry after the first record; this input renders "
                                                "without it", late)) != std::string::npos,
                   problems[0]);
        BOOST_TEST(got.inputs.at(0).service == "late-service");  // --info shows what the file says
    }
}

BOOST_AUTO_TEST_CASE(count_fields_of_all_ones_are_damage_not_allocations) {
    constexpr std::uint32_t kAllOnes = 0xFFFFFFFFu;
    struct Case {
        std::string name;
        std::string problem;  // the problem it reports
        std::function<void(InputBuilder&)> add;  // what goes between the order site and the order record
    };
    const std::vector<Case> cases = {
        {"site type-code count", "site entry is malformed",
         [](InputBuilder& b) {
             d::write_entry(b.sink, d::EntryType::site, [](auto& out) {
                 d::put_value(out, std::uint32_t{30});
                 d::put_value(out, std::uint8_t{1});
                 d::put_value(out, std::uint32_t{1});
                 d::put_str(out, "{}");
                 d::put_str(out, "f.cpp");
                 d::put_str(out, "f()");
                 d::put_value(out, kAllOnes);
                 d::put_value(out, std::uint8_t{7});
             });
         }},
        {"site placeholder-name count", "site entry is malformed",
         [](InputBuilder& b) {
             d::write_entry(b.sink, d::EntryType::site, [](auto& out) {
                 d::put_value(out, std::uint32_t{30});
                 d::put_value(out, std::uint8_t{1});
                 d::put_value(out, std::uint32_t{1});
                 d::put_str(out, "{id}");
                 d::put_str(out, "f.cpp");
                 d::put_str(out, "f()");
                 d::put_value(out, std::uint32_t{1});
                 d::put_value(out, std::uint8_t{7});
                 d::put_value(out, kAllOnes);
                 d::put_str(out, "id");
             });
         }},
        {"snapshot context count", "snapshot entry is malformed",
         [](InputBuilder& b) {
             d::write_entry(b.sink, d::EntryType::snapshot, [](auto& out) {
                 d::put_value(out, std::uint64_t{0x5000});
                 d::put_value(out, std::uint64_t{1});
                 d::put_value(out, kAllOnes);
                 d::put_str(out, "key");
                 d::put_value(out, std::uint8_t{1});
                 d::put_value(out, std::int64_t{1});
             });
         }},
        {"record context count", "context argument is damaged after 1 of its 4294967295 fields; rendered with those 1",
         [](InputBuilder& b) {
             b.site(make_site(31, Level::info, "with context", kOneContext));
             const std::string blob = u32_bytes(kAllOnes) + str_bytes("key") + '\1' + u64_bytes(5);
             const std::string args = u32_bytes(static_cast<std::uint32_t>(blob.size())) + blob;
             b.record(RecordBuilder(31, kTsc0 + 1, kLogger).raw(args.data(), args.size()).bytes());
         }},
        {"exception frame count", "exception argument is damaged; rendered without it",
         [](InputBuilder& b) {
             b.site(make_site(32, Level::error, "Failed", kOneException));
             const std::string args = exception_arg(kAllOnes, {0x1234, 0x5678});
             b.record(RecordBuilder(32, kTsc0 + 1, kLogger).raw(args.data(), args.size()).bytes());
         }},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            InputBuilder b = order_input();
            c.add(b);
            b.record(order_record(5, 1));
            const std::string input = finished(b, 1);
            g_largest_allocation.store(0);
            const Decoded got = decode({input});
            BOOST_TEST(g_largest_allocation.load() < input.size() * 4 + 65536);
            BOOST_TEST(got.inputs.at(0).problems.size() == 1u, all_problems(got));
            BOOST_TEST(all_problems(got).find(c.problem) != std::string::npos, all_problems(got));
            BOOST_TEST_REQUIRE(!got.lines.empty());
            BOOST_TEST(message_of(got.lines.back()) == "Order 1 for acme");
        }
    }
}

// ---- agora-log-decode -------------------------------------------------------

namespace {

struct Run {
    int status = -1;
    std::string out, err;
    std::uint64_t allocations = 0;  // run_in_process: decode_cli's
};

/// Runs agora-log-decode with `args`; stdin from `stdin_path` (or /dev/null).
Run run_cli(const agora_test::TempDir& dir, std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
    const char* bin = std::getenv("AGORA_DECODE_BIN");
    BOOST_TEST_REQUIRE(bin != nullptr, "AGORA_DECODE_BIN names the built agora-log-decode");
    const std::string out_path = dir.file("cli.out"), err_path = dir.file("cli.err");
    std::vector<char*> argv{const_cast<char*>(bin)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        const int in = ::open(stdin_path.c_str(), O_RDONLY);
        const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0) ::_exit(126);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execv(bin, argv.data());
        ::_exit(127);
    }
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    Run r;
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = agora_test::read_file(out_path);
    r.err = agora_test::read_file(err_path);
    return r;
}

std::string write_input(const agora_test::TempDir& dir, const std::string& name, const std::string& bytes) {
    const std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

std::string joined_lines(const Decoded& d) {
    std::string out;
    for (const auto& l : d.lines) out += l + "\n";
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(cli_decodes_files_and_stdin) {
    agora_test::TempDir dir;
    const std::string clean = three_records();
    const std::string path = write_input(dir, "clean.bin", clean);
    const std::string expected = joined_lines(decode({clean}));

    Run r = run_cli(dir, {path});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out == expected);
    BOOST_TEST(r.err == "");

    r = run_cli(dir, {"-"}, path);
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out == expected);

    const std::string output = dir.file("decoded.log");
    r = run_cli(dir, {"--format", "text", "--output", output, path});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out == "");
    BOOST_TEST(agora_test::read_file(output) == joined_lines(decode({clean}, DecodeOptions{true, true})));

    r = run_cli(dir, {"--info", path});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.find("kind:           crash dump") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("service:        decode-test") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("records:        3") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\"message\"") == std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(cli_exit_status_1_for_damage_with_everything_decodable_written) {
    agora_test::TempDir dir;
    std::vector<std::size_t> offsets;
    std::string damaged = three_records(&offsets);
    damaged[offsets[1] + 16 + 30] ^= 0x5a;
    const std::string path = write_input(dir, "damaged.bin", damaged);
    const std::string json = write_input(dir, "app.log", "{\"message\":\"x\"}\n");
    Run r = run_cli(dir, {path, json});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out == joined_lines(decode({damaged})));
    BOOST_TEST(r.err.find("checksum mismatch") != std::string::npos, r.err);
    BOOST_TEST(r.err.find(json + ": not an agora-log binary file (it starts with '{', a JSON log?)") != std::string::npos,
               r.err);

    r = run_cli(dir, {dir.file("missing.bin")});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err.find("missing.bin: No such file or directory") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(cli_usage_errors_exit_2_and_help_exits_0) {
    agora_test::TempDir dir;
    const std::string path = write_input(dir, "clean.bin", three_records());
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"--bogus", path}, {"--format", "xml", path}, {"--format"}, {"--output"}, {"--threads"},
             {"--threads", "0", path}, {"--threads=x", path}, {"--threads", "2k", path}, {"--threads", "100000", path},
             {"--max-input-mb"}, {"--max-input-mb", "0", path}, {"--max-input-mb=1x", path},
             {"--max-input-mb", "1048577", path}, {"--max-input-mb", "-1", path}}) {
        const Run r = run_cli(dir, args);
        BOOST_TEST(r.status == 2, r.err);
        BOOST_TEST(r.err.starts_with("agora-log-decode: "), r.err);
        BOOST_TEST(r.out == "");
    }
    const Run help = run_cli(dir, {"--help"});
    BOOST_TEST(help.status == 0);
    BOOST_TEST(help.out.starts_with("Usage: agora-log-decode"));
    BOOST_TEST(help.out.find("Example:") != std::string::npos);
}

namespace {
/// Runs the command line in this process (decode_cli), its output and
/// standard error in `dir`, for cases that need this test's operator new:
/// with fail_nth > 0, its fail_nth-th allocation and all after it fail.
Run run_in_process(const agora_test::TempDir& dir, std::vector<std::string> args, std::uint64_t fail_nth = 0,
                   std::FILE* in = stdin) {
    std::vector<char*> argv{const_cast<char*>("agora-log-decode")};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out_path = dir.file("in-process.out"), err_path = dir.file("in-process.err");
    std::FILE* out = std::fopen(out_path.c_str(), "wb");
    std::FILE* err = std::fopen(err_path.c_str(), "wb");
    Run r;
    if (out != nullptr && err != nullptr) {
        std::optional<FailAllocations> fail;
        if (fail_nth != 0) fail.emplace(fail_nth);
        try {
            r.allocations = allocations_of([&] {
                r.status = agora::log::detail::decode_cli(static_cast<int>(argv.size() - 1), argv.data(), in, out, err);
            });
        } catch (...) {
            r.status = -2;  // escaped decode_cli: what ended the process before
        }
    }
    if (out != nullptr) std::fclose(out);
    if (err != nullptr) std::fclose(err);
    r.out = agora_test::read_file(out_path);
    r.err = agora_test::read_file(err_path);
    return r;
}
}  // namespace

BOOST_AUTO_TEST_CASE(cli_out_of_memory_anywhere_exits_1_and_says_so) {
    agora_test::TempDir dir;
    // Two inputs out of timestamp order (the sort allocates), one with an
    // exception argument (its trace allocates while rendering).
    InputBuilder b = order_input();
    b.site(make_site(22, Level::error, "Failed", kOneException));
    d::write_symbol(b.sink, 0x1234, "app::fail()");
    const std::string args = exception_arg(2, {0x1234, 0x5678});
    b.record(order_record(30, 3)).record(RecordBuilder(22, kTsc0 + 40'000, kLogger).raw(args.data(), args.size()).bytes());
    const std::string first = write_input(dir, "oom-first.bin", finished(b, 2));
    const std::string second = write_input(dir, "oom-second.bin", three_records());
    for (const std::vector<std::string>& cli : {std::vector<std::string>{first, second},
                                                std::vector<std::string>{"--info", first, second},
                                                std::vector<std::string>{"--format", "text", first, second}}) {
        BOOST_TEST_CONTEXT("arguments " << cli.size() << " starting with " << cli[0]) {
            const Run clean = run_in_process(dir, cli);
            const std::uint64_t clean_allocations = clean.allocations;
            BOOST_TEST_REQUIRE(clean.status == 0, clean.err);
            BOOST_TEST_REQUIRE(clean_allocations > 10u);
            std::uint64_t bad_status = 0, unexplained = 0;
            for (std::uint64_t nth = 1; nth <= clean_allocations; ++nth) {
                const Run r = run_in_process(dir, cli, nth);
                if (r.status != 1) ++bad_status;
                if (r.err.find("out of memory") == std::string::npos) ++unexplained;
                if (r.status != 1 || r.err.find("out of memory") == std::string::npos)
                    BOOST_TEST_MESSAGE("allocation " << nth << " failing: status " << r.status << ", " << r.err);
            }
            BOOST_TEST(bad_status == 0u);
            BOOST_TEST(unexplained == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(cli_info_reports_what_a_decode_reports) {
    agora_test::TempDir dir;
    const std::string clean = write_input(dir, "info-clean.bin", three_records());
    Run r = run_cli(dir, {"--info", clean});
    BOOST_TEST(r.status == 0, r.err);
    std::string anchor;
    d::append_timestamp(anchor, kUnix0);
    const std::string expected = clean + "\n"
        "  kind:           crash dump\n"
        "  service:        decode-test\n"
        "  environment:    staging\n"
        "  version:        1.2.3\n"
        "  host:           test-host\n"
        "  pid:            4242\n"
        "  format version: 1\n"
        "  clock anchor:   tsc " + std::to_string(kTsc0) + ", 1 ns/tick, " + anchor + "\n"
        "  threads:        1\n"
        "  records:        3\n"
        "  crash:          SIGSEGV (11) on thread 101, 3 records dumped\n"
        "  dump flags:     backend drained\n"
        "  problems:       none\n";
    BOOST_TEST(r.out == expected);

    // A record that does not match its site shows only when rendered:
    // --info renders too, so it says so and exits 1 like a decode.
    InputBuilder b = order_input();
    std::string bad = order_record(10, 1);
    const std::uint32_t huge = 1000;
    std::memcpy(bad.data() + sizeof(RecordHeader) + 4, &huge, 4);
    const std::size_t at = b.offset();
    b.record(bad);
    const std::string damaged = write_input(dir, "info-damaged.bin", finished(b, 1));
    r = run_cli(dir, {"--info", damaged});
    BOOST_TEST(r.status == 1);
    const std::string problem = fmt::format("{}: offset {}: record does not match its call site", damaged, at);
    BOOST_TEST(r.out.find("  problem: " + problem) != std::string::npos, r.out);
    BOOST_TEST(r.out.find("problems:       none") == std::string::npos, r.out);
    BOOST_TEST(r.err.find("agora-log-decode: " + problem) != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(cli_output_that_cannot_be_opened_fails_before_reading_inputs) {
    agora_test::TempDir dir;
    const std::string output = dir.file("no-such-dir/out.log");
    const Run r = run_cli(dir, {"--output", output, dir.file("missing-input.bin")});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "agora-log-decode: cannot open output " + output + ": No such file or directory\n");
    BOOST_TEST(r.out == "");

    // An output that is also an input is read before it is emptied.
    const std::string both = write_input(dir, "in-and-out.bin", three_records());
    const std::string expected = joined_lines(decode({three_records()}));
    const Run same = run_cli(dir, {"-o", both, both});
    BOOST_TEST(same.status == 0, same.err);
    BOOST_TEST(agora_test::read_file(both) == expected);
}

BOOST_AUTO_TEST_CASE(cli_several_files_sorted_and_with_no_sort) {
    agora_test::TempDir dir;
    InputBuilder a = order_input();
    a.record(order_record(10, 1)).record(order_record(30, 3));
    InputBuilder b = order_input();
    b.record(order_record(20, 2)).record(order_record(40, 4));
    const std::string first = write_input(dir, "several-a.bin", finished(a, 2));
    const std::string second = write_input(dir, "several-b.bin", finished(b, 2));

    const Run sorted = run_cli(dir, {first, second});
    BOOST_TEST(sorted.status == 0, sorted.err);
    BOOST_TEST(sorted.out == joined_lines(decode({finished(a, 2), finished(b, 2)})));
    const Run unsorted = run_cli(dir, {"--no-sort", "--format=text", first, second});
    BOOST_TEST(unsorted.status == 0, unsorted.err);
    BOOST_TEST(unsorted.out == joined_lines(decode({finished(a, 2), finished(b, 2)}, DecodeOptions{false, true})));
    std::vector<std::string> order;
    for (std::size_t p = unsorted.out.find("Order "); p != std::string::npos; p = unsorted.out.find("Order ", p + 1))
        order.push_back(unsorted.out.substr(p, 7));
    BOOST_TEST(order == (std::vector<std::string>{"Order 1", "Order 3", "Order 2", "Order 4"}),
               boost::test_tools::per_element());
    // One damaged file among clean ones: all decodable records, exit 1.
    const std::string cut = write_input(dir, "several-cut.bin", finished(b, 2).substr(0, 300));
    const Run mixed = run_cli(dir, {first, cut});
    BOOST_TEST(mixed.status == 1);
    BOOST_TEST(mixed.err.find(cut + ": offset ") != std::string::npos, mixed.err);
    BOOST_TEST(mixed.out.find("Order 3 for acme") != std::string::npos);
}

// ---- rendering on several threads ---------------------------------------------

namespace {

/// Input `file` of a multi-file set: `records` records from two threads of
/// one process, each thread's written as one block (so the input is not in
/// timestamp order) and interleaved in time with the other files'. Some
/// records carry a context snapshot, every 997th does not match its site
/// (a problem found while rendering), one has a flipped byte (found while
/// parsing), one is refused (its template is outside the fmt syntax the decoder formats), and an
/// internal entry sits in the middle.
std::string busy_input(int file, int records) {
    static const CallSite broken = make_site(40, Level::warning, "broken {", kIntString);
    const std::unique_ptr<d::ContextSnapshot> desk(d::make_snapshot({{"desk", "fx"}, {"book", file}}, nullptr));
    InputBuilder b = order_input();
    b.site(broken);
    d::write_snapshot(b.sink, desk.get());
    std::size_t flipped = 0;
    for (int thread = 0; thread < 2; ++thread) {
        b.thread(static_cast<std::uint64_t>(101 + thread));
        for (int i = thread; i < records; i += 2) {
            const auto us = static_cast<std::uint64_t>(3 * i + file);
            std::string rec;
            if (i == records / 3) {
                rec = RecordBuilder(40, kTsc0 + us * 1000, kLogger).arg(i).arg(std::string_view("x")).bytes();
            } else if (i % 997 == 0) {
                rec = order_record(us, i);
                const std::uint32_t huge = 1000;  // the string's length: past the record's end
                std::memcpy(rec.data() + sizeof(RecordHeader) + 4, &huge, 4);
            } else if (i % 5 == 0) {
                rec = RecordBuilder(kSite, kTsc0 + us * 1000, kLogger)
                          .bound(reinterpret_cast<std::uint64_t>(desk.get()))
                          .arg(i)
                          .arg(std::string_view("globex"))
                          .bytes();
            } else {
                rec = order_record(us, i, i % 7 == 0 ? "a somewhat longer customer name" : "acme");
            }
            if (i == records / 2) flipped = b.offset();
            b.record(rec);
            if (i == records / 4)
                d::write_internal(b.sink, kUnix0 + static_cast<std::int64_t>(us) * 1000, Level::warning, 12,
                                  "/src/backend.cpp", "void agora::Backend::run()", "Async queue overflow");
        }
    }
    std::string data = finished(b, static_cast<std::uint64_t>(records));
    data[flipped + 16 + 30] ^= 0x5a;
    return data;
}

std::vector<std::string> busy_inputs(int files, int records) {
    std::vector<std::string> out;
    for (int f = 0; f < files; ++f) out.push_back(busy_input(f, records));
    return out;
}

DecodeOptions threaded(unsigned threads, bool sort, bool text, std::size_t chunk_records, std::size_t chunk_bytes) {
    return DecodeOptions{
        .sort = sort, .text = text, .threads = threads, .chunk_records = chunk_records, .chunk_bytes = chunk_bytes};
}

}  // namespace

BOOST_AUTO_TEST_CASE(threads_render_the_same_lines_and_problems_as_one) {
    const std::vector<std::string> files = busy_inputs(3, 2000);
    for (const bool sort : {true, false}) {
        for (const bool text : {false, true}) {
            const Decoded one = decode(files, threaded(1, sort, text, 4096, 1 << 22));
            BOOST_TEST_REQUIRE(one.lines.size() == 3u * (2000u - 1u + 1u));  // the flipped record lost, the internal entry added
            BOOST_TEST(all_problems(one).find("does not match its call site") != std::string::npos);
            BOOST_TEST(all_problems(one).find("checksum mismatch") != std::string::npos);
            BOOST_TEST(all_problems(one).find("outside the fmt syntax the decoder formats") != std::string::npos);
            // Chunks of many sizes, and buffers small enough that the calling
            // thread renders the rest of most chunks itself.
            for (const auto& [threads, records, bytes] : std::vector<std::tuple<unsigned, std::size_t, std::size_t>>{
                     {2, 4096, 1 << 22}, {3, 500, 1 << 22}, {3, 7, 1 << 22}, {4, 64, 600}, {3, 1, 1}, {8, 333, 5000}}) {
                BOOST_TEST_CONTEXT("sort " << sort << ", text " << text << ", " << threads << " threads, chunks of "
                                           << records << " records or " << bytes << " bytes") {
                    const Decoded many = decode(files, threaded(threads, sort, text, records, bytes));
                    BOOST_TEST(many.lines == one.lines);
                    BOOST_TEST(all_problems(many) == all_problems(one));
                    BOOST_TEST(many.damaged == one.damaged);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(threads_report_render_problems_once_across_renders) {
    const std::vector<std::string> files = busy_inputs(2, 3000);
    Decoder decoder(threaded(3, true, false, 100, 1 << 22));
    for (std::size_t i = 0; i < files.size(); ++i) decoder.add("input" + std::to_string(i), as_bytes(files[i]));
    std::vector<std::string> first, second;
    decoder.render([&first](std::string_view line) { first.emplace_back(line); });
    const std::vector<d::InputInfo> after_first = decoder.inputs();
    decoder.render([&second](std::string_view line) { second.emplace_back(line); });
    BOOST_TEST(first == second);
    BOOST_TEST_REQUIRE(decoder.inputs().size() == 2u);
    for (std::size_t i = 0; i < 2; ++i) BOOST_TEST(decoder.inputs()[i].problems == after_first[i].problems);
}

BOOST_AUTO_TEST_CASE(threads_stop_cleanly_when_the_line_callback_throws) {
    const std::vector<std::string> files = busy_inputs(2, 3000);
    const Decoded clean = decode(files, threaded(1, true, false, 4096, 1 << 22));
    for (const std::size_t stop_after : {std::size_t{0}, std::size_t{1}, std::size_t{150}, std::size_t{2999}}) {
        BOOST_TEST_CONTEXT("throwing after " << stop_after << " lines") {
            Decoder decoder(threaded(3, true, false, 50, 1 << 22));
            for (std::size_t i = 0; i < files.size(); ++i) decoder.add("input" + std::to_string(i), as_bytes(files[i]));
            std::vector<std::string> lines;
            bool threw = false;
            try {
                decoder.render([&](std::string_view line) {
                    if (lines.size() == stop_after) throw std::runtime_error("output closed");
                    lines.emplace_back(line);
                });
            } catch (const std::runtime_error&) {
                threw = true;
            }
            BOOST_TEST(threw);
            BOOST_TEST_REQUIRE(lines.size() == stop_after);
            BOOST_TEST(std::equal(lines.begin(), lines.end(), clean.lines.begin()));
        }
    }
}

BOOST_AUTO_TEST_CASE(threads_out_of_memory_while_rendering_write_a_prefix_and_throw) {
    // Allocation failures from the nth on, wherever they happen: on a worker
    // (its renderers, its chunk's buffers) or on this thread. render() must
    // throw std::bad_alloc or finish, with a prefix of the clean lines.
    const std::vector<std::string> files = busy_inputs(2, 1500);
    const Decoded clean = decode(files, threaded(1, true, false, 4096, 1 << 22));
    std::uint64_t threw = 0, finished_runs = 0, not_prefix = 0, finished_short = 0;
    for (std::uint64_t nth = 1; nth <= 400; nth += (nth < 60 ? 1 : 17)) {
        Decoder decoder(threaded(3, true, false, 64, 4000));
        for (std::size_t i = 0; i < files.size(); ++i) decoder.add("input" + std::to_string(i), as_bytes(files[i]));
        std::vector<std::string> lines;
        lines.reserve(clean.lines.size());
        for (const auto& l : clean.lines) lines.emplace_back().reserve(l.size());
        std::size_t written = 0;
        try {
            FailAllocations fail(nth);
            decoder.render([&](std::string_view line) { lines[written++].assign(line); });
            ++finished_runs;
            if (written != clean.lines.size()) ++finished_short;  // finished, but lines went missing
        } catch (const std::bad_alloc&) {
            ++threw;
        }
        for (std::size_t i = 0; i < written; ++i)
            if (lines[i] != clean.lines[i]) ++not_prefix;
    }
    BOOST_TEST(threw > 0u);
    BOOST_TEST(not_prefix == 0u);
    BOOST_TEST(finished_short == 0u);
    BOOST_TEST_MESSAGE(threw << " runs threw, " << finished_runs << " finished");
}

BOOST_AUTO_TEST_CASE(cli_threads_1_and_3_write_the_same_output_and_problems) {
    agora_test::TempDir dir;
    const std::vector<std::string> inputs = busy_inputs(3, 6000);  // several 4096-record chunks
    std::vector<std::string> paths;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        paths.push_back(write_input(dir, "threads-" + std::to_string(i) + ".bin", inputs[i]));
    for (const std::vector<std::string>& options :
         {std::vector<std::string>{}, std::vector<std::string>{"--format", "text"},
          std::vector<std::string>{"--no-sort"}, std::vector<std::string>{"--info"}}) {
        BOOST_TEST_CONTEXT("options " << (options.empty() ? std::string("none") : options[0])) {
            std::vector<std::string> one_args{"--threads", "1"}, three_args{"--threads=3"};
            for (auto* args : {&one_args, &three_args}) {
                args->insert(args->end(), options.begin(), options.end());
                args->insert(args->end(), paths.begin(), paths.end());
            }
            const Run one = run_cli(dir, one_args);
            const Run three = run_cli(dir, three_args);
            BOOST_TEST(one.status == 1);  // the inputs are damaged
            BOOST_TEST(three.status == one.status);
            BOOST_TEST(three.out == one.out);
            BOOST_TEST(three.err == one.err);
            BOOST_TEST(one.err.find("does not match its call site") != std::string::npos, one.err);
            BOOST_TEST(std::count(one.out.begin(), one.out.end(), '\n') > (options == std::vector<std::string>{"--info"} ? 0 : 17000));
        }
    }
    // As a decode in this process renders them, and as the command line
    // does when it runs in this process.
    const Run three = run_cli(dir, {"--threads", "3", paths[0], paths[1], paths[2]});
    BOOST_TEST(three.out == joined_lines(decode(inputs, threaded(1, true, false, 4096, 1 << 22))));
    const Run in_process = run_in_process(dir, {"--threads", "3", paths[0], paths[1], paths[2]});
    BOOST_TEST(in_process.status == three.status);
    BOOST_TEST(in_process.out == three.out);
    BOOST_TEST(in_process.err == three.err);
}

// ---- bounded inputs -------------------------------------------------------

BOOST_AUTO_TEST_CASE(cli_dev_zero_ends_at_once_as_not_an_agora_log_file) {
    // Read whole, /dev/zero would grow the heap until the process is killed:
    // its first bytes are not the magic, so nothing after them is read.
    agora_test::TempDir dir;
    Run r = run_cli(dir, {"/dev/zero"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out == "");
    BOOST_TEST(r.err == "agora-log-decode: /dev/zero: not an agora-log binary file (no AGORALOG magic)\n");

    r = run_cli(dir, {"-"}, "/dev/zero");
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "agora-log-decode: <stdin>: not an agora-log binary file (no AGORALOG magic)\n");
}

namespace {

/// A clean crash dump of at most `limit` bytes and more than `limit` - 4096,
/// and how many records it holds.
std::string dump_close_to(std::size_t limit, std::size_t& records) {
    const std::string who(1000, 'w');
    InputBuilder b = order_input();
    records = 0;
    std::string next = order_record(1, 1, who);
    // Room for the next record and the crash entry (well under 1 KiB).
    while (b.offset() + 2 * next.size() + 1024 < limit) {
        b.record(next);
        ++records;
        next = order_record(records + 1, static_cast<int>(records + 1), who);
    }
    d::write_crash(b.sink, 11, 101, d::kDumpBackendDrained, records);
    return b.data();
}

}  // namespace

BOOST_AUTO_TEST_CASE(cli_inputs_above_max_input_mb_are_refused_and_below_it_decode) {
    agora_test::TempDir dir;
    constexpr std::size_t kMiB = 1024 * 1024;
    std::size_t records = 0;
    const std::string dump = dump_close_to(kMiB, records);
    BOOST_TEST_REQUIRE(dump.size() <= kMiB);
    BOOST_TEST_REQUIRE(dump.size() > kMiB - 4096);
    const std::string under = write_input(dir, "under-cap.bin", dump);
    Run r = run_cli(dir, {"--max-input-mb", "1", under});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(std::count(r.out.begin(), r.out.end(), '\n') == static_cast<std::ptrdiff_t>(records));
    r = run_cli(dir, {"--max-input-mb=1", "-"}, under);  // from a descriptor: read to its end
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(std::count(r.out.begin(), r.out.end(), '\n') == static_cast<std::ptrdiff_t>(records));

    // One byte more: a regular file is refused by its size, before reading.
    const std::string over = write_input(dir, "over-cap.bin", dump + std::string(kMiB + 1 - dump.size(), '\0'));
    r = run_cli(dir, {"--max-input-mb", "1", over, under});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.err == "agora-log-decode: " + over +
                            ": 1048577 bytes is above the input cap of 1 MiB (--max-input-mb); not decoded\n");
    BOOST_TEST(std::count(r.out.begin(), r.out.end(), '\n') == static_cast<std::ptrdiff_t>(records));

    // The default cap (4096 MiB) takes it.
    r = run_cli(dir, {over});
    BOOST_TEST(r.err.find("above the input cap") == std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(cli_an_endless_stream_stops_at_max_input_mb) {
    // A valid file header, then zeros for as long as anybody reads them. The
    // writer ends when the read end is closed (EPIPE; SIGPIPE is ignored).
    agora_test::TempDir dir;
    const std::string header = three_records().substr(0, sizeof(d::FileHeader));
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    const auto old_sigpipe = std::signal(SIGPIPE, SIG_IGN);
    std::uint64_t written = 0;  // by the writer; read after join()
    int write_errno = 0;
    std::thread writer([&, fd = fds[1]] {
        static const char kZeros[1 << 16] = {};
        std::string_view pending = header;
        for (;;) {
            const char* data = pending.empty() ? kZeros : pending.data();
            const std::size_t size = pending.empty() ? sizeof kZeros : pending.size();
            const ssize_t n = ::write(fd, data, size);
            if (n < 0) {
                if (errno == EINTR) continue;
                write_errno = errno;
                break;
            }
            written += static_cast<std::uint64_t>(n);
            if (!pending.empty()) pending.remove_prefix(std::min(pending.size(), static_cast<std::size_t>(n)));
        }
        ::close(fd);
    });
    std::FILE* in = ::fdopen(fds[0], "rb");
    Run r;
    if (in != nullptr) {
        r = run_in_process(dir, {"--max-input-mb", "1", "-"}, 0, in);
        std::fclose(in);  // the writer's next write fails with EPIPE
    } else {
        ::close(fds[0]);
    }
    writer.join();
    std::signal(SIGPIPE, old_sigpipe);
    BOOST_TEST_REQUIRE(in != nullptr);
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.out == "");
    BOOST_TEST(r.err == "agora-log-decode: <stdin>: more than the input cap of 1 MiB (--max-input-mb); "
                        "stopped reading, not decoded\n");
    BOOST_TEST(write_errno == EPIPE);
    BOOST_TEST(written > 1024u * 1024u);
}

// ---- sensitive data ---------------------------------------------------------

namespace {
/// An input whose identity carries `sensitive` (encoded; "" = none, as an
/// older writer wrote it) and default context {api_key, note}, then one
/// order record.
std::string input_with_rules(std::string_view sensitive) {
    static const agora::log::Context defaults{{"api_key", "sk_live_raw"}, {"note", "key sk_live_raw here"}};
    StringSink sink;
    const d::FileHeader h = d::make_file_header(d::FileKind::crash_dump, 4242, kTsc0, 1.0, kUnix0);
    sink.bytes(&h, sizeof h);
    d::write_identity(sink, d::IdentityFields{"decode-test", "staging", "1.2.3", "test-host", 10000, &defaults, sensitive});
    d::write_clock(sink, kTsc0, 1.0, kUnix0);
    d::write_logger(sink, kLogger, "orders");
    d::write_site(sink, order_site());
    d::write_thread(sink, 101, 0, 0, 4096);
    const std::string rec = order_record(1, 7);
    d::write_record(sink, reinterpret_cast<const std::byte*>(rec.data()), static_cast<std::uint32_t>(rec.size()));
    d::write_crash(sink, 0, 101, d::kDumpBackendDrained, 1);
    return sink.data;
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_identity_entry_carries_the_writers_redaction_rules) {
    agora::log::SensitiveDataConfig rules;
    rules.redaction_text = "<cut>";
    rules.redact_patterns = {"sk_live_\\w+"};
    {
        const Decoded got = decode({input_with_rules(d::encode_sensitive_data(rules))});
        BOOST_TEST_REQUIRE(got.lines.size() == 1u);
        BOOST_TEST(!got.damaged, all_problems(got));
        BOOST_TEST(got.lines[0].find("\"api_key\":\"<cut>\"") != std::string::npos, got.lines[0]);
        BOOST_TEST(got.lines[0].find("\"note\":\"key <cut> here\"") != std::string::npos, got.lines[0]);
    }
    {  // An older writer recorded none: the defaults apply.
        const Decoded got = decode({input_with_rules("")});
        BOOST_TEST_REQUIRE(got.lines.size() == 1u);
        BOOST_TEST(!got.damaged, all_problems(got));
        BOOST_TEST(got.lines[0].find("\"api_key\":\"[REDACTED]\"") != std::string::npos, got.lines[0]);
        BOOST_TEST(got.lines[0].find("\"note\":\"key sk_live_raw here\"") != std::string::npos, got.lines[0]);
    }
    {  // The writer turned it off; an option overrides what the file says.
        agora::log::SensitiveDataConfig off;
        off.enabled = false;
        const std::string input = input_with_rules(d::encode_sensitive_data(off));
        const Decoded raw = decode({input});
        BOOST_TEST_REQUIRE(raw.lines.size() == 1u);
        BOOST_TEST(raw.lines[0].find("\"api_key\":\"sk_live_raw\"") != std::string::npos, raw.lines[0]);
        DecodeOptions forced;
        forced.sensitive_data = agora::log::SensitiveDataConfig{};
        const Decoded redacted = decode({input}, forced);
        BOOST_TEST_REQUIRE(redacted.lines.size() == 1u);
        BOOST_TEST(redacted.lines[0].find("\"api_key\":\"[REDACTED]\"") != std::string::npos, redacted.lines[0]);
    }
    {  // A pattern that does not compile (no validating writer wrote it) is left out, and said.
        agora::log::SensitiveDataConfig bad = rules;
        bad.redact_patterns = {"(unclosed", "sk_live_\\w+"};
        const Decoded got = decode({input_with_rules(d::encode_sensitive_data(bad))});
        BOOST_TEST_REQUIRE(got.lines.size() == 1u);
        BOOST_TEST_REQUIRE(got.inputs.at(0).problems.size() == 1u, all_problems(got));
        BOOST_TEST(got.inputs.at(0).problems[0].find("'(unclosed'") != std::string::npos, all_problems(got));
        BOOST_TEST(got.lines[0].find("\"note\":\"key <cut> here\"") != std::string::npos, got.lines[0]);
    }
    {  // A section cut short is damage: the identity entry is refused and reported.
        std::string cut = d::encode_sensitive_data(rules);
        cut.resize(cut.size() - 3);
        const Decoded got = decode({input_with_rules(cut)});
        BOOST_TEST(got.damaged);
        BOOST_TEST(all_problems(got).find("identity entry is malformed (sensitive data rules)") != std::string::npos,
                   all_problems(got));
    }
}

BOOST_AUTO_TEST_CASE(cli_redaction_option) {
    agora_test::TempDir dir;
    agora::log::SensitiveDataConfig off;
    off.enabled = false;
    const std::string path = write_input(dir, "rules.bin", input_with_rules(d::encode_sensitive_data(off)));
    Run r = run_cli(dir, {path});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.find("\"api_key\":\"sk_live_raw\"") != std::string::npos, r.out);
    r = run_cli(dir, {"--redaction", "defaults", path});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.find("\"api_key\":\"[REDACTED]\"") != std::string::npos, r.out);
    r = run_cli(dir, {"--redaction=off", write_input(dir, "defaults.bin", input_with_rules(""))});
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST(r.out.find("\"api_key\":\"sk_live_raw\"") != std::string::npos, r.out);
    r = run_cli(dir, {"--redaction", "partly", path});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.err.find("unknown --redaction 'partly'") != std::string::npos, r.err);
}
