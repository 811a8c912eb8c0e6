// Case (e) of perf/latency: compiled with -DAGORA_LOG_MIN_LEVEL=INFO (see
// perf/meson.build), so AGORA_LOG_DEBUG expands to ((void)0) and this
// function is as empty as perf::case_empty.

#include "latency_cases.hpp"

#include <agora/log/macros.hpp>

#if AGORA_LOG_MIN_LEVEL_VALUE <= 10
#error "perf/latency_compiled_out.cpp must be compiled with AGORA_LOG_MIN_LEVEL above DEBUG"
#endif

namespace perf {

void case_debug_compiled_out(const agora::log::Logger& log, int i, int j, double d, const std::string& s) {
    (void)log;
    (void)s;
    AGORA_LOG_DEBUG(log, "Logging int: {}, int: {}, double: {}", i, j, d);
    (void)i;
    (void)j;
    (void)d;
    asm volatile("" ::: "memory");  // the same body as case_empty
}

}  // namespace perf
