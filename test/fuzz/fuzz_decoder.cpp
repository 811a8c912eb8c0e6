// libFuzzer target: any bytes as one decoder input, rendered as JSON in
// timestamp order, then again, as text in input order, with checksums
// ignored (a mutated payload rarely keeps a valid checksum: this pass is the
// one that exercises the entry parsers on damaged contents). Whatever the bytes, the
// decoder must not crash, read out of bounds, hit undefined behaviour or
// allocate beyond what the input's size justifies (libFuzzer's
// -malloc_limit_mb, by default its -rss_limit_mb, catches the last).

#include "decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {
/// Keeps the rendering from being optimised away.
std::size_t g_bytes = 0;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace agora::log::detail;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    for (const DecodeOptions options : {DecodeOptions{true, false}, DecodeOptions{false, true}}) {
        g_fuzz_ignore_checksums = options.text;
        Decoder decoder(options);
        decoder.add("fuzz", bytes);
        decoder.render([](std::string_view line) { g_bytes += line.size(); });
    }
    return 0;
}
