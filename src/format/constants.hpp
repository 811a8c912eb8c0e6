#pragma once
// Constants of the record format and of the entries the logger writes
// itself, shared by the backend, the binary writers and the decoder.

#include <agora/log/detail/limits.hpp>
#include <agora/log/detail/record.hpp>

#include <cstdint>
#include <string_view>

namespace agora::log::detail {

/// The logger id and name of entries the logger writes itself (drop reports,
/// warnings at initialize()). Registered loggers have ids from 1.
inline constexpr std::uint32_t kInternalLoggerId = 0;
inline constexpr std::string_view kInternalLoggerName = "agora.log";

/// The longest string argument a writer encodes before initialize() sets
/// the limit from its Config (g_string_arg_limit's initial value).
inline constexpr std::uint64_t kDefaultStringArgLimit = string_arg_limit(kDefaultMaxMessageLength);

}  // namespace agora::log::detail
