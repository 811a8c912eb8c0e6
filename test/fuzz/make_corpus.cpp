// Writes the fuzz seed corpus: valid decoder inputs that between them use
// every entry type and argument type, built with the library's own writers.
//
//   make_corpus DIR

#include "binary_input.hpp"

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

namespace {

using namespace agora_binary_input;
using agora::log::Level;
using agora::log::detail::TypeCode;
namespace d = agora::log::detail;

constexpr TypeCode kIntString[] = {TypeCode::i32, TypeCode::string, TypeCode::end};
constexpr TypeCode kMixed[] = {TypeCode::f64, TypeCode::boolean, TypeCode::u64, TypeCode::character,
                               TypeCode::i8, TypeCode::u16, TypeCode::f32, TypeCode::pointer, TypeCode::end};
constexpr TypeCode kTwoInts[] = {TypeCode::i32, TypeCode::i32, TypeCode::end};
constexpr TypeCode kTimer[] = {TypeCode::string, TypeCode::duration, TypeCode::end};
constexpr TypeCode kExtras[] = {TypeCode::i32, TypeCode::context, TypeCode::exception, TypeCode::end};

/// A u32-length-prefixed blob (context or exception argument).
std::string blob(const std::string& body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    return std::string(reinterpret_cast<const char*>(&n), 4) + body;
}

std::string u32(std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string u64(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string str(std::string_view s) { return u32(static_cast<std::uint32_t>(s.size())) + std::string(s); }

std::string context_blob() {
    std::string b = u32(2);
    b += str("order_id") + '\1' + u64(42);
    b += str("trace_id") + '\0' + str("abc");
    return blob(b);
}

std::string exception_blob() {
    std::string b(1, '\2');
    b += str("St13runtime_error") + str("outer") + str("St11logic_error") + str("inner");
    b += u32(2) + u64(0x401000) + u64(0x402000);
    return blob(b);
}

void write(const std::string& dir, const char* name, const std::string& data) {
    std::ofstream(dir + "/" + name, std::ios::binary) << data;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    const auto s1 = make_site(1, Level::info, "Order {} for {}", kIntString);
    const auto s2 = make_site(2, Level::warning, "{:.3f} {} {:#x} {} {} {:>6} {} {}", kMixed);
    const auto s3 = make_site(3, Level::error, "Order {id} qty {qty:>5}", kTwoInts);
    const auto s4 = make_site(4, Level::debug, "{} took", kTimer);
    const auto s5 = make_site(5, Level::critical, "Failed {}", kExtras);
    const auto s6 = make_site(6, Level::info, "[{:{}}]", kTwoInts);

    // A crash dump with every entry type of a dump.
    const agora::log::Context defaults{{"region", "eu"}, {"user_id", "u-1"}};
    std::unique_ptr<d::ContextSnapshot> bound(d::make_snapshot({{"desk", "fx"}, {"book", 7}, {"px", 1.5}}, nullptr));
    std::unique_ptr<d::ContextSnapshot> scoped(
        d::make_snapshot({{"correlation_id", "123e4567-e89b-42d3-a456-426614174000"}, {"live", true}}, nullptr));
    InputBuilder dump(d::FileKind::crash_dump, "corpus", 200, &defaults);
    dump.logger(1, "orders").logger(2, "risk");
    for (const auto* s : {&s1, &s2, &s3, &s4, &s5, &s6}) dump.site(*s);
    d::write_snapshot(dump.sink, bound.get());
    d::write_snapshot(dump.sink, scoped.get());
    d::write_symbol(dump.sink, 0x401000, "app::f() at /src/app/f.cpp:3");
    dump.thread(101);
    dump.record(RecordBuilder(1, kTsc0 + 5000, 1).arg(1).arg(std::string_view("acme")).bytes());
    dump.record(RecordBuilder(2, kTsc0 + 7000, 2)
                    .bound(reinterpret_cast<std::uint64_t>(bound.get()))
                    .arg(2.5)
                    .arg(true)
                    .arg(std::uint64_t{255})
                    .arg('c')
                    .arg(std::int8_t{-3})
                    .arg(std::uint16_t{7})
                    .arg(1.25f)
                    .arg(static_cast<const void*>(nullptr))
                    .bytes());
    dump.thread(102);
    dump.record(RecordBuilder(3, kTsc0 + 6000, 1)
                    .scoped(reinterpret_cast<std::uint64_t>(scoped.get()))
                    .arg(17)
                    .arg(300)
                    .bytes());
    const std::string timer_args = str("load") + u64(123456);
    dump.record(RecordBuilder(4, kTsc0 + 8000, 2).raw(timer_args.data(), timer_args.size()).bytes());
    const std::string extras = u32(9) + context_blob() + exception_blob();
    dump.record(RecordBuilder(5, kTsc0 + 9000, 1).raw(extras.data(), extras.size()).bytes());
    dump.record(RecordBuilder(6, kTsc0 + 9500, 1).arg(5).arg(8).bytes());
    d::write_internal(dump.sink, kUnix0 + 9600, Level::warning, 10, "/src/backend.cpp", "void Backend::run()",
                      "Async queue overflow, dropped 1 entries");
    d::write_crash(dump.sink, 11, 101, d::kDumpBackendDrained | d::kDumpBackendNotStopped, 6);
    write(dir, "crash_dump.bin", dump.data());

    // A binary log file: timed records and a second clock.
    InputBuilder log(d::FileKind::binary_log, "corpus-log");
    log.logger(1, "orders").site(s1);
    for (int i = 0; i < 3; ++i) {
        const std::string rec = RecordBuilder(1, kTsc0 + 1000u * static_cast<unsigned>(i), 1).arg(i).arg(std::string_view("x")).bytes();
        d::write_timed_record(log.sink, kUnix0 + 5000 * i, reinterpret_cast<const std::byte*>(rec.data()),
                              static_cast<std::uint32_t>(rec.size()));
    }
    d::write_clock(log.sink, kTsc0 * 2, 0.5, kUnix0 + 1'000'000);
    log.record(RecordBuilder(1, kTsc0 * 2 + 10, 1).arg(9).arg(std::string_view("after clock")).bytes());
    write(dir, "binary_log.bin", log.data());

    // An on-demand dump with one record and an entry type from the future.
    InputBuilder small(d::FileKind::on_demand_dump, "corpus-small");
    small.logger(1, "a").site(s1).thread(7);
    d::write_entry(small.sink, static_cast<d::EntryType>(42), [](auto& out) { d::put_str(out, "future"); });
    small.record(RecordBuilder(1, kTsc0 + 1, 1).arg(-1).arg(std::string_view("")).bytes());
    d::write_crash(small.sink, 0, 7, d::kDumpNoBackend, 1);
    write(dir, "on_demand.bin", small.data());

    // What the decoder must bound or refuse: a template whose fills fmt 9
    // frames differently from a naive scan (outside the subset the decoder
    // formats: refused), widths and precisions from arguments,
    // a field shown many times, a long string, a stack trace of many frames.
    static constexpr TypeCode kIntIntString[] = {TypeCode::i32, TypeCode::i32, TypeCode::string, TypeCode::end};
    static constexpr TypeCode kException[] = {TypeCode::exception, TypeCode::end};
    const auto h1 = make_site(1, Level::info, "{:}<{}} {:\xe2\x82\xac^{}} {2:?}", kIntIntString);
    const auto h2 = make_site(2, Level::info, "{0:.{1}} {2}{2}{2}{2}{2}{2}{2}{2}", kIntIntString);
    const auto h3 = make_site(3, Level::error, "Failed", kException);
    InputBuilder hostile(d::FileKind::crash_dump, "corpus-hostile", 100);
    hostile.logger(1, "h").site(h1).site(h2).site(h3).thread(9);
    d::write_symbol(hostile.sink, 0x401000, std::string(300, 's'));
    hostile.record(RecordBuilder(1, kTsc0 + 1, 1).arg(5).arg(12).arg(std::string_view("x\ty")).bytes());
    hostile.record(RecordBuilder(2, kTsc0 + 2, 1).arg(5).arg(3).arg(std::string(120, 'l')).bytes());
    std::string trace(1, '\1');
    trace += str("St13runtime_error") + str("boom") + u32(80);
    for (int i = 0; i < 80; ++i) trace += u64(0x401000);
    const std::string trace_arg = blob(trace);
    hostile.record(RecordBuilder(3, kTsc0 + 3, 1).raw(trace_arg.data(), trace_arg.size()).bytes());
    d::write_crash(hostile.sink, 6, 9, d::kDumpBackendDrained, 3);
    write(dir, "hostile.bin", hostile.data());
    return 0;
}
