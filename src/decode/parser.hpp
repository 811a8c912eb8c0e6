#pragma once
// Parses one input of the decoder (decoder.hpp) into its tables
// (Decoder::Input) and records queued for rendering (Decoder::Item),
// checking every length against the bytes that remain and bounding each
// record's formatting (template_bounds.hpp). Internal to src/decode/.

#include "decode/decode_internal.hpp"

#include <agora/log/detail/binary_format.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace agora::log::detail::decode {

/// Bytes that resynchronisation may checksum in candidate entries that do not
/// check out, per input: a base and so much per input byte. Each candidate
/// costs its claimed size; a file of headers claiming the rest of the file
/// would otherwise cost the square of its size.
inline constexpr std::uint64_t kResyncBudgetBase = std::uint64_t{16} << 20;
inline constexpr std::uint64_t kResyncBudgetPerInputByte = 4;

/// Parses one input's entries into a Decoder's items. Short-lived: add() only.
class Parser {
public:
    Parser(Decoder::Input& in, InputInfo& info, std::vector<Decoder::Item>& items, std::uint32_t input_index,
           std::uint64_t& format_budget)
        : in_(in), info_(info), items_(items), input_index_(input_index), data_(in.bytes.data()), size_(in.bytes.size()),
          format_budget_(format_budget),
          resync_budget_(add_sat(kResyncBudgetBase, mul_sat(kResyncBudgetPerInputByte, in.bytes.size()))) {}

    void run();
    /// Where run() is (for a problem when it throws).
    std::size_t position() const noexcept { return pos_; }

private:
    void problem(std::uint64_t offset, std::string_view what, std::uint64_t skipped = 0) {
        if (skipped != 0) info_.problems.push_back(fmt::format("{}: offset {}: {}; skipped {} bytes", info_.name, offset, what, skipped));
        else info_.problems.push_back(fmt::format("{}: offset {}: {}", info_.name, offset, what));
    }
    bool plausible_header(std::size_t pos, EntryHeader& h) const noexcept;
    bool payload_checks_out(const EntryHeader& h, std::size_t pos) noexcept;
    std::size_t resync(std::size_t from) noexcept;
    bool read_file_header();
    void entry(const EntryHeader& h, std::size_t pos);
    void identity(BlobReader r, std::size_t pos, std::uint32_t size);
    void site(BlobReader r, std::size_t pos, std::uint32_t size);
    void record(const std::byte* p, std::size_t n, std::size_t pos, const std::int64_t* timed);
    Refusal check_args(const DecodedSite& s, const std::byte* p, const std::byte* end, std::size_t pos,
                       std::uint64_t& bound);
    Refusal refuse(std::size_t pos, Refusal why, std::string_view what);
    void internal(BlobReader r, std::size_t pos, std::uint32_t size);
    void finish();

    Decoder::Input& in_;
    InputInfo& info_;
    std::vector<Decoder::Item>& items_;
    std::uint32_t input_index_;
    const std::byte* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    std::uint64_t& format_budget_;       // the Decoder's, shared by its inputs
    bool budget_reported_ = false;       // one problem for the first record refused for it,
    std::uint64_t budget_refusals_ = 0;  // one for the count of the others
    const std::uint64_t resync_budget_;
    std::uint64_t resync_spent_ = 0;     // bytes checksummed in entries that did not check out
    bool gave_up_ = false;
    /// The entry resync() found checks out: run() does not checksum it again.
    std::size_t verified_ = std::numeric_limits<std::size_t>::max();
};

}  // namespace agora::log::detail::decode
