// libFuzzer target: any bytes as one decoder input, rendered twice: as JSON
// in timestamp order, and as text in input order with checksums ignored (a
// mutated payload rarely keeps a valid checksum: this pass is the one that
// exercises the entry parsers on damaged contents). Each is rendered on one
// thread and on three in chunks of a few records, which must give the same
// lines and problems. Whatever the bytes, the decoder must not crash, read
// out of bounds, hit undefined behaviour or allocate beyond what the input's
// size justifies (libFuzzer's -malloc_limit_mb, by default its -rss_limit_mb,
// catches the last).

#include "decode/decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {
/// Keeps the rendering from being optimised away.
std::size_t g_bytes = 0;

struct Rendered {
    std::vector<std::string> lines;
    std::vector<std::string> problems;
};

Rendered decode(std::span<const std::byte> bytes, const agora::log::detail::DecodeOptions& options) {
    agora::log::detail::Decoder decoder(options);
    decoder.add("fuzz", bytes);
    Rendered out;
    decoder.render([&out](std::string_view line) {
        g_bytes += line.size();
        out.lines.emplace_back(line);
    });
    for (const auto& p : decoder.inputs().at(0).problems) out.problems.push_back(p);
    return out;
}

/// Decodes on one thread, then on three in chunks of a few records, and
/// aborts unless the lines and problems are the same.
void decode_on_one_and_three_threads(std::span<const std::byte> bytes, agora::log::detail::DecodeOptions options) {
    options.threads = 1;
    const Rendered one = decode(bytes, options);
    options.threads = 3;
    options.chunk_records = 5;
    options.chunk_bytes = 2048;
    const Rendered three = decode(bytes, options);
    if (three.lines != one.lines || three.problems != one.problems) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace agora::log::detail;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    g_fuzz_ignore_checksums = false;
    decode_on_one_and_three_threads(bytes, DecodeOptions{.sort = true, .text = false});
    g_fuzz_ignore_checksums = true;
    decode_on_one_and_three_threads(bytes, DecodeOptions{.sort = false, .text = true});
    return 0;
}
