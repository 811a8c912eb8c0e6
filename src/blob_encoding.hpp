#pragma once
// The length-prefixed blobs of detail/record.hpp (context and exception):
// writers shared by their encoders (calling thread, no allocation) and one
// bounds-checked reader shared by their decoders (backend, tools).

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

/// Reads values and u32-length strings from [p, end). The first read that
/// would pass `end` sets ok = false; every later read returns a default value,
/// so a caller may read a whole structure and check `ok` once.
struct BlobReader {
    const std::byte* p;
    const std::byte* end;
    bool ok = true;

    template <class T>
    T get() noexcept {
        T v{};
        if (!ok || static_cast<std::size_t>(end - p) < sizeof v) {
            ok = false;
            return v;
        }
        std::memcpy(&v, p, sizeof v);
        p += sizeof v;
        return v;
    }
    std::string_view string() noexcept {
        const auto n = get<std::uint32_t>();
        if (!ok || static_cast<std::size_t>(end - p) < n) {
            ok = false;
            return {};
        }
        std::string_view s(reinterpret_cast<const char*>(p), n);
        p += n;
        return s;
    }
};

}  // namespace agora::log::detail
