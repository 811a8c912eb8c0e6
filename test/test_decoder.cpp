// The post-mortem decoder (src/decoder.cpp) and agora-log-decode: inputs are
// built with the writers the crash dump and the binary sink use
// (binary_input.hpp); a clean input must render byte for byte what the live
// backend's EntryRenderer renders for the same records, and damage must cost
// only the damaged entries. The CLI cases run the built program (its path in
// AGORA_DECODE_BIN, set by test/meson.build).

#define BOOST_TEST_MODULE decoder
#include "common.hpp"

#include "binary_input.hpp"
#include "decoder.hpp"
#include "render.hpp"

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <new>

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
    return b.data();
}

}  // namespace

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
    const Decoded got = decode({b.data()});
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
                           "truncated?); skipped 26 bytes\n",
                           offsets[2], full.size() - offsets[2] - 16));
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

BOOST_AUTO_TEST_CASE(unknown_entry_type_is_skipped_with_one_note) {
    InputBuilder b = order_input();
    b.record(order_record(10, 1));
    const auto unknown = static_cast<d::EntryType>(200);
    const std::size_t at = b.offset();
    for (int i = 0; i < 2; ++i)
        d::write_entry(b.sink, unknown, [](auto& out) { d::put_str(out, "from a newer writer"); });
    b.record(order_record(20, 2)).record(order_record(30, 3));
    const Decoded got = decode({b.data()});
    BOOST_TEST(messages(got) == kExpectedOrder, boost::test_tools::per_element());
    BOOST_TEST(!got.damaged);
    BOOST_TEST_REQUIRE(got.inputs.at(0).notes.size() == 1u);
    BOOST_TEST(got.inputs.at(0).notes[0].starts_with(fmt::format("input0: offset {}: entry type 200 is unknown", at)));
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
    const Decoded got = decode({b.data()});
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
    const Decoded got = decode({b.data()});
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
    const Decoded got = decode({b.data()});
    BOOST_TEST(g_largest_allocation.load() < std::size_t{1} << 20);
    BOOST_TEST(messages(got) == std::vector<std::string>{"[   7]"}, boost::test_tools::per_element());
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

// ---- agora-log-decode -------------------------------------------------------

namespace {

struct Run {
    int status = -1;
    std::string out, err;
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
             {}, {"--bogus", path}, {"--format", "xml", path}, {"--format"}, {"--output"}}) {
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
