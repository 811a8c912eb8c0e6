// Instruction-count cases for the CI perf gate (perf/regression runs this
// under valgrind --tool=callgrind). Each run measures one case: it does its
// setup and warm-up uninstrumented, then switches instrumentation on around
// exactly `iterations` repetitions of the measured work, so the count of the
// measuring thread divided by `iterations` is that work's cost per call.
//
//   regression_cases CASE ITERATIONS
//
// Calling-thread cases run the same loop with and without the call; the
// driver subtracts the `empty_loop` case, so what remains is the call alone.
// call_with_context and call_scoped make the call of call_int_int_double from
// a with_context() logger / inside a ScopedContext: the logger and the scope
// are made before the warm-up call, outside the counted loop.
// Backend cases run the decode/format/render and file-write steps on this
// thread, with no backend thread, so nothing but the measured code runs.

// The compiled-out case: AGORA_LOG_DEBUG below the minimum level must cost nothing.
#define AGORA_LOG_MIN_LEVEL INFO

#include "perf_common.hpp"

#include "format/render.hpp"
#include "sinks/rotating_file_sink.hpp"

#include <agora/log.hpp>

#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

/// Keeps the compiler from folding loop iterations together or dropping them.
inline void barrier(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

agora::log::Config gate_config(const std::string& dir) {
    agora::log::Config c;
    c.service_name = "perf-gate";
    c.file_path = dir + "/gate.log";
    c.console_enabled = false;
    // Large enough that the measured calls never fill it: a full ring would
    // bring the backend's scheduling into the calling thread's count.
    c.queue_capacity_bytes = 64u << 20;
    c.queue_max_capacity_bytes = 64u << 20;
    return c;
}

/// What a calling-thread case's `log` carries besides its name.
enum class CallContext {
    none,
    bound,   // log is logger.with_context({{"desk","fx"},{"book",7}})
    scoped,  // a ScopedContext{{{"correlation_id", <uuid>}}} is open on this thread
};

/// The counted loop, a function of its own per case with everything it calls
/// inlined into it: a case's count then does not depend on the other cases in
/// this file. (Inlined into main(), the calls share GCC's inlining budget, and
/// several calls with the same level and argument types can leave
/// Logger::log<...> out of line for all of them.) The empty loop runs here too.
template <class F>
[[gnu::noinline, gnu::flatten]] void counted_loop(std::uint64_t n, F& body, const agora::log::Logger& log,
                                                  const agora::log::Logger& quiet) {
    CALLGRIND_START_INSTRUMENTATION;
    for (std::uint64_t i = 0; i < n; ++i) {
        body(log, quiet, i);
        barrier(&i);
    }
    CALLGRIND_STOP_INSTRUMENTATION;
}

/// Sampling rules of a calling-thread case (Config::sampling); none by default.
using Configure = void (*)(agora::log::Config&);

template <class F>
int run_calling_thread_case(std::uint64_t n, F&& body, CallContext cc = CallContext::none,
                            Configure configure = nullptr) {
    perf::ScratchDir dir("agora-gate");
    agora::log::Config config = gate_config(dir.path());
    if (configure != nullptr) configure(config);
    if (!agora::log::initialize(config)) return 2;
    agora::log::preallocate();
    {
        const auto plain = agora::log::get_logger("perf.gate");
        const auto log = cc == CallContext::bound ? plain.with_context({{"desk", "fx"}, {"book", 7}}) : plain;
        auto quiet = agora::log::get_logger("perf.gate.quiet");
        quiet.set_level(agora::log::Level::warning);
        std::optional<agora::log::ScopedContext> scope;
        if (cc == CallContext::scoped)
            scope.emplace(agora::log::Context{{"correlation_id", agora::log::generate_correlation_id()}});
        body(log, quiet, 0);  // first use of each call site: registration, cache insert
        agora::log::flush();

        counted_loop(n, body, log, quiet);
    }  // the scope and the bound logger hand their snapshots back before shutdown

    agora::log::shutdown();
    return 0;
}

const std::string kFiftyChars(50, 'x');

/// A record as a calling thread writes it, for the backend cases.
struct SampleRecord {
    alignas(8) std::byte bytes[64];
    agora::log::detail::RecordHeader header;
    std::size_t args_size;
};

SampleRecord make_int_int_double_record(std::uint32_t site_id) {
    using namespace agora::log::detail;
    SampleRecord r{};
    int a = 12345, b = 67890;
    double d = 3.14159;
    std::byte* out = r.bytes;
    out = encode(out, a);
    out = encode(out, b);
    out = encode(out, d);
    r.args_size = static_cast<std::size_t>(out - r.bytes);
    r.header = RecordHeader{static_cast<std::uint32_t>(align_record(sizeof(RecordHeader) + r.args_size)), site_id, 0, 0, 1};
    return r;
}

constexpr std::string_view kTemplate = "Logging int: {}, int: {}, double: {}";

int run_backend_case(std::uint64_t n, bool write_to_file) {
    using namespace agora::log::detail;
    perf::ScratchDir dir("agora-gate");
    static constexpr auto loc = std::source_location::current();
    const CallSite site{1, agora::log::Level::info, kTemplate, loc.file_name(), loc.function_name(), loc.line(), SiteTypes<agora::log::Level::info, int, int, double>::codes};
    EntryRenderer renderer(EntryIdentity{"perf-gate", "production", "1.2.3", "gate-host"});
    // The sink the backend writes the configured file with.
    RotatingFileSink::Options o;
    o.path = dir.path() + "/gate.log";
    o.max_size_bytes = 1ull << 40;  // no rotation inside the measured loop
    RotatingFileSink file(o);
    const SampleRecord rec = make_int_int_double_record(site.id);
    const std::int64_t t0 = 1'764'000'000'000'000'000;  // a fixed time: the same digits every run

    agora::log::LogRecordView view{};
    renderer.render_record(rec.header, rec.bytes, rec.args_size, site, "perf.gate", t0, view);  // warm caches
    if (write_to_file) file.write_line(view.json);

    if (!write_to_file) {
        CALLGRIND_START_INSTRUMENTATION;
        for (std::uint64_t i = 0; i < n; ++i) {
            renderer.render_record(rec.header, rec.bytes, rec.args_size, site, "perf.gate", t0 + 1000, view);
            barrier(view.json.data());
        }
        CALLGRIND_STOP_INSTRUMENTATION;
    } else {
        const std::string line(view.json);
        CALLGRIND_START_INSTRUMENTATION;
        for (std::uint64_t i = 0; i < n; ++i) {
            file.write_line(line);
            barrier(&i);
        }
        file.flush();
        CALLGRIND_STOP_INSTRUMENTATION;
    }
    file.close();
    return 0;
}

/// Renders "Login {user} with {password} card {card_number}" (three string
/// call fields) with the default redaction rules plus a mask rule for
/// card_number, or with redaction off: the cost of redaction per record.
int run_backend_fields_case(std::uint64_t n, bool redact) {
    using namespace agora::log::detail;
    static constexpr auto loc = std::source_location::current();
    constexpr std::string_view kFieldsTemplate = "Login {user} with {password} card {card_number}";
    CallSite site{1, agora::log::Level::info, kFieldsTemplate, loc.file_name(), loc.function_name(), loc.line(),
                  SiteTypes<agora::log::Level::info, std::string_view, std::string_view, std::string_view>::codes};
    describe_template(site);
    RenderOptions options;
    options.sensitive_data.enabled = redact;
    options.sensitive_data.mask_fields["card_number"] = agora::log::MaskRule{};
    EntryRenderer renderer(EntryIdentity{"perf-gate", "production", "1.2.3", "gate-host"}, options);
    alignas(8) std::byte bytes[128];
    std::byte* out = bytes;
    out = encode(out, std::string_view("alice"));
    out = encode(out, std::string_view("hunter2"));
    out = encode(out, std::string_view("4532015112830366"));
    const std::size_t args_size = static_cast<std::size_t>(out - bytes);
    const RecordHeader header{static_cast<std::uint32_t>(align_record(sizeof(RecordHeader) + args_size)), site.id, 0, 0, 1};
    const std::int64_t t0 = 1'764'000'000'000'000'000;
    agora::log::LogRecordView view{};
    renderer.render_record(header, bytes, args_size, site, "perf.gate", t0, view);  // warm caches (key decisions)
    if (redact && view.json.find("************0366") == std::string_view::npos) {
        std::fprintf(stderr, "backend_render_fields_redacted: card_number not masked: %.*s\n",
                     static_cast<int>(view.json.size()), view.json.data());
        return 2;
    }
    CALLGRIND_START_INSTRUMENTATION;
    for (std::uint64_t i = 0; i < n; ++i) {
        renderer.render_record(header, bytes, args_size, site, "perf.gate", t0 + 1000, view);
        barrier(view.json.data());
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    return 0;
}

// Sampling rules of the controlled-call cases (docs/sampling.md).
void sample_info_half(agora::log::Config& c) {
    c.sampling.rates = {{agora::log::Level::info, 0.5}};
    c.sampling.seed = 1;  // the same draws every run
}
void rate_limit_never_empty(agora::log::Config& c) {
    c.sampling.rate_limit = agora::log::RateLimitConfig{1e9, 1'000'000'000};
}
void rate_limit_always_empty(agora::log::Config& c) {
    c.sampling.rate_limit = agora::log::RateLimitConfig{0.001, 1};  // one token (the warm-up call takes it), then one per 1000 s
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: regression_cases CASE ITERATIONS\n");
        return 2;
    }
    const std::string_view name = argv[1];
    const std::uint64_t n = perf::parse_count("ITERATIONS", argv[2]);
    using agora::log::Logger;

    if (name == "empty_loop")
        return run_calling_thread_case(n, [](const Logger&, const Logger&, std::uint64_t) {});
    if (name == "call_int_int_double")
        return run_calling_thread_case(n, [](const Logger& log, const Logger&, std::uint64_t i) {
            log.info("Logging int: {}, int: {}, double: {}", static_cast<int>(i), static_cast<int>(i + 1),
                     static_cast<double>(i) * 0.5);
        });
    if (name == "call_named_3")
        return run_calling_thread_case(n, [](const Logger& log, const Logger&, std::uint64_t i) {
            log.info("Order {order_id} qty {qty} px {price}", static_cast<int>(i), static_cast<int>(i + 1),
                     static_cast<double>(i) * 0.5);
        });
    if (name == "call_with_context" || name == "call_scoped")
        return run_calling_thread_case(
            n,
            [](const Logger& log, const Logger&, std::uint64_t i) {
                log.info("Logging int: {}, int: {}, double: {}", static_cast<int>(i), static_cast<int>(i + 1),
                         static_cast<double>(i) * 0.5);
            },
            name == "call_scoped" ? CallContext::scoped : CallContext::bound);
    if (name == "call_string_50")
        return run_calling_thread_case(n, [](const Logger& log, const Logger&, std::uint64_t) {
            log.info("Logging string: {}", kFiftyChars);
        });
    if (name == "call_below_level")
        return run_calling_thread_case(n, [](const Logger&, const Logger& quiet, std::uint64_t i) {
            quiet.info("Logging int: {}, int: {}, double: {}", static_cast<int>(i), static_cast<int>(i + 1),
                       static_cast<double>(i) * 0.5);
        });
    if (name == "macro_compiled_out")
        return run_calling_thread_case(n, []([[maybe_unused]] const Logger& log, const Logger&, [[maybe_unused]] std::uint64_t i) {
            AGORA_LOG_DEBUG(log, "Logging int: {}, int: {}, double: {}", static_cast<int>(i), static_cast<int>(i + 1),
                            static_cast<double>(i) * 0.5);
        });
    auto int_int_double = [](const Logger& log, const Logger&, std::uint64_t i) {
        log.info("Logging int: {}, int: {}, double: {}", static_cast<int>(i), static_cast<int>(i + 1),
                 static_cast<double>(i) * 0.5);
    };
    if (name == "call_sampled_half") return run_calling_thread_case(n, int_int_double, CallContext::none, sample_info_half);
    if (name == "call_rate_limit_pass")
        return run_calling_thread_case(n, int_int_double, CallContext::none, rate_limit_never_empty);
    if (name == "call_rate_limited_out")
        return run_calling_thread_case(n, int_int_double, CallContext::none, rate_limit_always_empty);
    if (name == "backend_render_json") return run_backend_case(n, false);
    if (name == "backend_render_fields") return run_backend_fields_case(n, false);
    if (name == "backend_render_fields_redacted") return run_backend_fields_case(n, true);
    if (name == "backend_write_file") return run_backend_case(n, true);

    std::fprintf(stderr, "regression_cases: unknown case '%.*s'\n", static_cast<int>(name.size()), name.data());
    return 2;
}
