// Google Benchmark microbenchmarks of agora-log's internals, one thread, no
// backend running.
//
//   build/perf/micro [--benchmark_filter=REGEX] [--benchmark_repetitions=N] ...
//
// Encoding (calling-thread side)
//   Ring_*            SpscRing try_reserve + memcpy + commit, then peek + pop
//                     in the same thread (ring mechanics without cross-core traffic)
//   Encode_*          detail::encode of the arguments (plus the header) into a buffer
//   ReadTsc           detail::read_tsc(), the timestamp every record takes
//   LogCall_*         detail::log_call, the whole hot path after the level check
//                     (TLS context, site cache, reserve, header, encode, commit),
//                     with the record popped again in the same thread
// Rendering (backend side)
//   FormatMessage_*   detail::format_message (decode + fmt::vformat_to)
//   FmtFormatTo_*     fmt::format_to with the arguments known statically (baseline)
//   RenderRecord_*    detail::EntryRenderer::render_record: message + the JSON entry
//   AppendJsonString_*  detail::append_json_string on 100 bytes
//   AppendTimestamp   detail::append_timestamp (the once-a-second slow path)
// Audit entries (Logger::audit's calling thread; docs/audit.md)
//   AuditSeal         detail::seal_audit_line on a 280-byte entry (SHA-256)
//   AuditAppend_*     detail::AuditLog::append: seal, write(2), and with Sync
//                     fdatasync, to a file in $TMPDIR (rotating at 64 MiB)

#include "audit/audit_log.hpp"
#include "format/format.hpp"
#include "frontend/registry.hpp"
#include "format/render.hpp"

#include <agora/log.hpp>
#include <agora/log/detail/frontend.hpp>
#include <agora/log/detail/spsc_ring.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <source_location>
#include <string>
#include <string_view>

namespace {

using namespace agora::log::detail;
using agora::log::Level;
using agora::log::LogRecordView;

constexpr std::string_view kFormatIID = "Logging int: {}, int: {}, double: {}";
constexpr std::string_view kFormatStr = "Logging string: {}";
const std::string kString50(50, 's');

/// A call site the way the frontend registers one: static location and type list.
const std::source_location& site_location() {
    static constexpr std::source_location loc = std::source_location::current();
    return loc;
}

// ---- encoding ---------------------------------------------------------------

void Ring_ReserveCommitPop_40B(benchmark::State& state) {
    SpscRing* ring = SpscRing::create(std::size_t{1} << 16);
    // In memory (not rebuilt from registers each iteration, which makes GCC
    // reload it with a store-forwarding stall that is not the ring's cost).
    alignas(8) static std::byte record[40] = {};
    const RecordHeader h{40, 1, 0, 0, 1};
    std::memcpy(record, &h, sizeof h);
    benchmark::ClobberMemory();
    for (auto _ : state) {
        std::byte* p = ring->try_reserve(sizeof record);
        std::memcpy(p, record, sizeof record);
        ring->commit(sizeof record);
        const std::byte* q = ring->peek();
        benchmark::DoNotOptimize(q);
        ring->pop(sizeof record);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 40);
    SpscRing::destroy(ring);
}
BENCHMARK(Ring_ReserveCommitPop_40B);

void Encode_IntIntDouble(benchmark::State& state) {
    alignas(64) std::byte buf[128];
    int i = 12345;
    int j = -678;
    double d = 3.25;
    std::uint32_t seq = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(i);
        benchmark::DoNotOptimize(j);
        benchmark::DoNotOptimize(d);
        const std::size_t size =
            align_record(sizeof(RecordHeader) + encoded_size(i) + encoded_size(j) + encoded_size(d));
        const RecordHeader header{static_cast<std::uint32_t>(size), 1, 42, seq++, 1};
        std::memcpy(buf, &header, sizeof header);
        std::byte* out = buf + sizeof header;
        out = encode(out, i);
        out = encode(out, j);
        out = encode(out, d);
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(Encode_IntIntDouble);

void Encode_String50(benchmark::State& state) {
    alignas(64) std::byte buf[128];
    std::uint32_t seq = 0;
    const std::string& s = kString50;
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.data());
        const std::string_view w = to_wire(s);
        const std::size_t size = align_record(sizeof(RecordHeader) + encoded_size(w));
        const RecordHeader header{static_cast<std::uint32_t>(size), 1, 42, seq++, 1};
        std::memcpy(buf, &header, sizeof header);
        std::byte* out = encode(buf + sizeof header, w);
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(Encode_String50);

/// The hot path's timestamp (rdtsc), back to back.
void ReadTsc(benchmark::State& state) {
    for (auto _ : state) {
        std::uint64_t t = read_tsc();
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(ReadTsc);

/// Pops the record the last log_call wrote (this thread is its own consumer).
inline void pop_own_record() {
    SpscRing* ring = t_context->ring;
    const std::byte* r = ring->peek();
    RecordHeader h;
    std::memcpy(&h, r, sizeof h);
    ring->pop(h.size);
}

void LogCall_IntIntDouble(benchmark::State& state) {
    agora::log::preallocate();
    int i = 0;
    double d = 0.5;
    for (auto _ : state) {
        log_call<Level::info>(1, nullptr, site_location(), kFormatIID, i, i + 1, d);
        ++i;
        d += 0.25;
        pop_own_record();
    }
}
BENCHMARK(LogCall_IntIntDouble);

void LogCall_String50(benchmark::State& state) {
    agora::log::preallocate();
    for (auto _ : state) {
        log_call<Level::info>(1, nullptr, site_location(), kFormatStr, kString50);
        pop_own_record();
    }
}
BENCHMARK(LogCall_String50);

// ---- rendering ----------------------------------------------------------------

/// An int/int/double record built the way write_record() lays it out.
struct IidRecord {
    alignas(8) std::byte bytes[40] = {};
    RecordHeader header{40, 1, 0, 7, 1};

    IidRecord(int i, int j, double d) {
        std::memcpy(bytes, &header, sizeof header);
        std::byte* out = bytes + sizeof header;
        out = encode(out, i);
        out = encode(out, j);
        encode(out, d);
    }
    const std::byte* args() const { return bytes + sizeof header; }
    std::size_t args_size() const { return header.size - sizeof header; }
};

const TypeCode* iid_types() { return SiteTypes<Level::info, int, int, double>::codes; }

void FormatMessage_IntIntDouble(benchmark::State& state) {
    const IidRecord rec(12345, -678, 3.25);
    ArgStore store;
    RecordExtras extras;
    std::string out;
    out.reserve(256);
    for (auto _ : state) {
        out.clear();
        bool ok = format_message(kFormatIID, iid_types(), rec.args(), rec.args_size(), store, out, extras);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(FormatMessage_IntIntDouble);

void FormatMessage_String50(benchmark::State& state) {
    alignas(8) std::byte args[64];
    std::byte* end = encode(args, std::string_view(kString50));
    ArgStore store;
    RecordExtras extras;
    std::string out;
    out.reserve(256);
    const TypeCode* types = SiteTypes<Level::info, std::string>::codes;
    for (auto _ : state) {
        out.clear();
        bool ok = format_message(kFormatStr, types, args, static_cast<std::size_t>(end - args), store, out, extras);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(FormatMessage_String50);

void FmtFormatTo_IntIntDouble(benchmark::State& state) {
    int i = 12345;
    int j = -678;
    double d = 3.25;
    std::string out;
    out.reserve(256);
    for (auto _ : state) {
        benchmark::DoNotOptimize(i);
        out.clear();
        fmt::format_to(std::back_inserter(out), "Logging int: {}, int: {}, double: {}", i, j, d);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(FmtFormatTo_IntIntDouble);

void RenderRecord_IntIntDouble(benchmark::State& state) {
    EntryRenderer renderer(EntryIdentity{"agora-perf", "development", "0.1.0", "perf-host"});
    const CallSite site{1, Level::info, kFormatIID, site_location().file_name(), site_location().function_name(), site_location().line(), iid_types()};
    const IidRecord rec(12345, -678, 3.25);
    std::int64_t unix_ns = 1'764'060'879'000'000'000;  // 2025-11-25T08:54:39Z
    std::size_t bytes = 0;
    for (auto _ : state) {
        LogRecordView view{};
        bool ok = renderer.render_record(rec.header, rec.args(), rec.args_size(), site, "perf.micro", unix_ns, view);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(view.json.data());
        bytes += view.json.size();
        unix_ns += 1000;  // 1 us apart: the cached-second path, a new second every 1M records
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(RenderRecord_IntIntDouble);

std::string ascii100() {
    std::string s;
    while (s.size() < 100) s += "Quote AAPL bid 189.21 ask 189.23 size 300 venue XNAS; ";
    s.resize(100);
    return s;
}

std::string escapes100() {
    // Quotes, backslashes, newline, tab, a control byte and 2-byte UTF-8 among plain text.
    std::string s;
    while (s.size() < 100) s += "path \"C:\\data\\q.csv\"\n\tsym=\xc3\xa9t\x01 ok ";
    s.resize(100);
    return s;
}

void append_json_bench(benchmark::State& state, const std::string& s) {
    std::string out;
    out.reserve(512);
    for (auto _ : state) {
        out.clear();
        append_json_string(out, s);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.size()));
}

void AppendJsonString_Ascii100(benchmark::State& state) { append_json_bench(state, ascii100()); }
BENCHMARK(AppendJsonString_Ascii100);

void AppendJsonString_Escapes100(benchmark::State& state) {
    const std::string s = escapes100();
    std::string escaped;
    append_json_string(escaped, s);
    state.SetLabel(std::to_string(escaped.size() - 2) + " bytes out");
    append_json_bench(state, s);
}
BENCHMARK(AppendJsonString_Escapes100);

void AppendTimestamp(benchmark::State& state) {
    std::string out;
    out.reserve(64);
    std::int64_t unix_ns = 1'764'060'879'123'456'789;
    for (auto _ : state) {
        out.clear();
        append_timestamp(out, unix_ns);
        unix_ns += 1'000'000'000;
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(AppendTimestamp);

std::string audit_entry() {
    std::string e = "{\"timestamp\":\"2026-12-03T10:00:00.000000Z\",\"level\":\"INFO\",\"message\":\"User login\","
                    "\"service\":\"auth-service\",\"environment\":\"production\",\"version\":\"1.4.2\","
                    "\"host\":\"auth-7d9f\",\"logger_name\":\"audit\",\"file\":\"login.cpp\",\"line\":42,"
                    "\"function\":\"handle_login\",\"user_id\":\"123\",\"context\":{\"ip_address\":\"10.0.0.1\"}";
    return e;
}

void AuditSeal(benchmark::State& state) {
    const std::string entry = audit_entry();
    std::string line;
    std::string prev(kAuditGenesisHash);
    std::uint64_t seq = 0;
    for (auto _ : state) {
        line = entry;
        prev = seal_audit_line(line, ++seq, prev);
        benchmark::DoNotOptimize(line.data());
    }
    state.SetLabel(std::to_string(line.size()) + " bytes a line");
}
BENCHMARK(AuditSeal);

void audit_append_bench(benchmark::State& state, bool sync) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("agora-log-micro-audit-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    const std::string entry = audit_entry();
    {
        AuditLog log({(dir / "audit.log").string(), 64u << 20, 365, sync});
        std::string line;
        for (auto _ : state) {
            line = entry;
            if (log.append(line)) state.SkipWithError("append failed");
        }
    }
    fs::remove_all(dir);
}
void AuditAppend_NoSync(benchmark::State& state) { audit_append_bench(state, false); }
BENCHMARK(AuditAppend_NoSync);
void AuditAppend_Sync(benchmark::State& state) { audit_append_bench(state, true); }
BENCHMARK(AuditAppend_Sync)->Iterations(200);

}  // namespace

BENCHMARK_MAIN();
