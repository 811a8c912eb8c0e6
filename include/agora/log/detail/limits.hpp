#pragma once
// Limits shared by the calling thread, the backend, the configuration and
// the decoder: one definition each.

#include <agora/log/detail/export.hpp>
#include <cstddef>
#include <cstdint>

AGORA_LOG_API_BEGIN

namespace agora::log::detail {

/// Config::max_message_length: its default and accepted range, in bytes.
inline constexpr std::size_t kDefaultMaxMessageLength = 10000;
inline constexpr std::size_t kMinMaxMessageLength = 64;
inline constexpr std::size_t kMaxMaxMessageLength = std::size_t{1} << 24;

/// A string argument is encoded cut to max_message_length + this many bytes:
/// a cut string still makes the message longer than the limit, so the
/// backend marks it "...[truncated]".
inline constexpr std::size_t kStringArgSlack = 4;

constexpr std::uint32_t string_arg_limit(std::size_t max_message_length) noexcept {
    return static_cast<std::uint32_t>(max_message_length + kStringArgSlack);
}

}  // namespace agora::log::detail

AGORA_LOG_API_END
