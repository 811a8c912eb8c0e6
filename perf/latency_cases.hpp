#pragma once
// The measured operations of perf/latency. Every case is an out-of-line,
// non-inlinable function with the same signature, so each sample pays the
// same call overhead and the "empty" case is the exact floor to subtract.

#include <agora/log/logger.hpp>

#include <string>

namespace perf {

using CaseFn = void (*)(const agora::log::Logger& log, int i, int j, double d, const std::string& s);

/// (e) AGORA_LOG_DEBUG in a TU compiled with -DAGORA_LOG_MIN_LEVEL=INFO
/// (perf/latency_compiled_out.cpp): the macro expands to nothing.
[[gnu::noipa]] void case_debug_compiled_out(const agora::log::Logger& log, int i, int j, double d,
                                            const std::string& s);

}  // namespace perf
