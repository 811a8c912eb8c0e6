// Decoder throughput against the live backend's render path, in one run.
//
//   decode [--records N] [--threads N]   (default 1000000 records; threads as
//                                         agora-log-decode's default)
//
// Both cases turn the same N distinct records of
// "Logging int: {}, int: {}, double: {}" (record i: i, i + 1, i * 0.5, 1 us
// apart, one thread) into JSON lines written to a RotatingFileHandler in a
// scratch directory:
//   backend  EntryRenderer::render_record + write_line per record, the steps
//            Backend::process takes (as regression_cases' backend cases do),
//            walking the records laid out back to back as in a ring
//   decoder  Decoder::add on an in-memory crash dump holding the N records,
//            handed over as agora-log-decode hands over a file it read
//            (parse), then render() with write_line per line on this thread
//            (render: the sort check and the worker threads included)
// Prints records/s of each, the decoder's phases, and decoder/backend. The
// goal is a ratio >= 1. Afterwards (not timed) the two files must be equal
// byte for byte: the decoder renders what the backend wrote.

#include "perf_common.hpp"

#include "binary_input.hpp"
#include "decode/decoder.hpp"
#include "render.hpp"

#include <agora/log/handlers/rotating_file.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace {

using namespace agora_binary_input;
using agora::log::detail::TypeCode;
namespace d = agora::log::detail;

constexpr TypeCode kTypes[] = {TypeCode::i32, TypeCode::i32, TypeCode::f64, TypeCode::end};
constexpr std::string_view kTemplate = "Logging int: {}, int: {}, double: {}";

agora::log::RotatingFileHandler open_file(const perf::ScratchDir& dir, const char* name) {
    agora::log::RotatingFileHandler::Options o;
    o.path = dir.path() + "/" + name;
    o.max_size_bytes = 1ull << 40;  // no rotation inside the measured loop
    return agora::log::RotatingFileHandler(o);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// CPU time of the whole process (every thread), user and system.
double process_cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t n = 1'000'000;
    d::DecodeOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--records") {
            n = perf::parse_count(a, i + 1 < argc ? argv[++i] : nullptr);
        } else if (a == "--threads") {
            options.threads = static_cast<unsigned>(perf::parse_count(a, i + 1 < argc ? argv[++i] : nullptr));
        } else {
            std::fprintf(stderr, "usage: decode [--records N] [--threads N]\n");
            return 2;
        }
    }
    perf::ScratchDir dir("agora-decode");
    const d::CallSite site = make_site(1, agora::log::Level::info, kTemplate, kTypes);

    // The input: one thread's records, 1 us apart. `ring` holds the same
    // records back to back, as the backend finds them in a thread's ring.
    InputBuilder dump;
    dump.logger(1, "perf.decode").site(site).thread(1);
    std::string ring;
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::string record = RecordBuilder(1, kTsc0 + i * 1000, 1, static_cast<std::uint32_t>(i))
                                       .arg(static_cast<int>(i))
                                       .arg(static_cast<int>(i + 1))
                                       .arg(static_cast<double>(i) * 0.5)
                                       .bytes();
        dump.record(record);
        ring += record;
    }
    d::write_crash(dump.sink, 11, 1, d::kDumpBackendDrained, n);  // a dump ends with it

    // Live backend path.
    double backend_s = 0;
    {
        d::EntryRenderer renderer(d::EntryIdentity{"decode-test", "staging", "1.2.3", "test-host"});
        auto file = open_file(dir, "backend.log");
        const auto* p = reinterpret_cast<const std::byte*>(ring.data());
        const auto* end = p + ring.size();
        agora::log::LogRecordView view{};
        const auto start = std::chrono::steady_clock::now();
        while (p < end) {
            d::RecordHeader h;
            std::memcpy(&h, p, sizeof h);
            // The dump's clock: tick t is at kUnix0 + (t - kTsc0) ns.
            const auto unix_ns = kUnix0 + static_cast<std::int64_t>(h.timestamp - kTsc0);
            renderer.render_record(h, p + sizeof h, h.size - sizeof h, site, "perf.decode", unix_ns, view, {}, 1.0);
            file.write_line(view.json);
            p += h.size;
        }
        file.flush();
        backend_s = seconds_since(start);
        file.close();
    }

    // Decoder.
    double decoder_s = 0, parse_s = 0, render_s = 0, render_cpu_s = 0;
    std::uint64_t lines = 0;
    {
        auto file = open_file(dir, "decoded.log");
        const auto bytes = as_bytes(dump.data());
        std::vector<std::byte> input(bytes.begin(), bytes.end());  // as read from a file
        const auto start = std::chrono::steady_clock::now();
        d::Decoder decoder(options);
        decoder.add("dump", std::move(input));
        parse_s = seconds_since(start);
        const double cpu_before_render = process_cpu_seconds();
        decoder.render([&](std::string_view line) {
            file.write_line(line);
            ++lines;
        });
        file.flush();
        decoder_s = seconds_since(start);
        render_s = decoder_s - parse_s;
        render_cpu_s = process_cpu_seconds() - cpu_before_render;
        file.close();
        if (decoder.damaged() || lines != n) {
            std::fprintf(stderr, "decode: the input did not decode cleanly (%llu of %llu lines)\n",
                         static_cast<unsigned long long>(lines), static_cast<unsigned long long>(n));
            return 1;
        }
    }

    // Not timed: the decoder wrote what the backend wrote.
    if (read_whole(dir.path() + "/backend.log") != read_whole(dir.path() + "/decoded.log")) {
        std::fprintf(stderr, "decode: the decoded lines differ from the backend's\n");
        return 1;
    }

    const double backend_rate = static_cast<double>(n) / backend_s;
    const double decoder_rate = static_cast<double>(n) / decoder_s;
    std::printf("records:  %llu (input %.1f MB)\n", static_cast<unsigned long long>(n),
                static_cast<double>(dump.data().size()) / 1e6);
    std::printf("backend:  %.3f s  %.2f M records/s (render_record + file write)\n", backend_s, backend_rate / 1e6);
    std::printf("decoder:  %.3f s  %.2f M records/s (parse %.3f s + render and file write %.3f s; %u threads)\n",
                decoder_s, decoder_rate / 1e6, parse_s, render_s, d::resolve_decode_threads(options.threads));
    std::printf("          render used %.3f s of CPU (all threads)\n", render_cpu_s);
    std::printf("ratio:    decoder/backend = %.2f\n", decoder_rate / backend_rate);
    return 0;
}
