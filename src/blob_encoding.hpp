#pragma once
// Writers for the length-prefixed blobs of detail/record.hpp (context and
// exception), shared by their encoders. Calling thread; no allocation.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace agora::log::detail {

inline std::byte* put_u32(std::byte* out, std::uint32_t n) noexcept {
    std::memcpy(out, &n, 4);
    return out + 4;
}

/// u32 length, then the bytes (an empty view may have no data pointer: not copied).
inline std::byte* put_string(std::byte* out, std::string_view s) noexcept {
    out = put_u32(out, static_cast<std::uint32_t>(s.size()));
    if (!s.empty()) std::memcpy(out, s.data(), s.size());
    return out + s.size();
}

}  // namespace agora::log::detail
