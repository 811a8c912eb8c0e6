// libFuzzer target: any bytes as one decoder input, rendered as JSON in
// timestamp order (on one thread, then on three in chunks of a few records,
// which must give the same lines and problems), then as text in input
// order, with checksums
// ignored (a mutated payload rarely keeps a valid checksum: this pass is the
// one that exercises the entry parsers on damaged contents), then as that
// text again on three threads in chunks of a few records, which must give
// the same lines and problems. Whatever the bytes, the decoder must not
// crash, read out of bounds, hit undefined behaviour or allocate beyond what
// the input's size justifies (libFuzzer's -malloc_limit_mb, by default its
// -rss_limit_mb, catches the last).

#include "decoder.hpp"

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
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace agora::log::detail;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    DecodeOptions json;
    json.threads = 1;
    g_fuzz_ignore_checksums = false;
    const Rendered json_one = decode(bytes, json);
    DecodeOptions json_threaded = json;
    json_threaded.threads = 3;
    json_threaded.chunk_records = 5;
    json_threaded.chunk_bytes = 2048;
    const Rendered json_three = decode(bytes, json_threaded);
    if (json_three.lines != json_one.lines || json_three.problems != json_one.problems) std::abort();

    DecodeOptions text;
    text.sort = false;
    text.text = true;
    text.threads = 1;
    g_fuzz_ignore_checksums = true;
    const Rendered one = decode(bytes, text);
    DecodeOptions threaded = text;
    threaded.threads = 3;
    threaded.chunk_records = 5;
    threaded.chunk_bytes = 2048;
    const Rendered three = decode(bytes, threaded);
    if (three.lines != one.lines || three.problems != one.problems) std::abort();
    return 0;
}
