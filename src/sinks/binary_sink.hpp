#pragma once
// The binary log file (Config::file_format = binary). The backend hands each
// record to write_record() as it is in the ring; the sink writes it as a
// timed_record entry (detail/binary_format.hpp), preceded by the entries it
// needs that its file does not hold yet. Nothing is formatted or escaped.
//
// Every file decodes on its own:
// - it starts with the FileHeader, the identity and the clock (a file that
//   was not empty when the sink opened it is rotated away first, so no file
//   mixes two writers; if that rotation fails, the file fails: chunks are
//   lost, counted, until the rotation is finished and a new file started);
// - a logger, site, snapshot or symbol entry precedes, in the same file,
//   the first record there that uses it; a snapshot entry again when its
//   address holds another snapshot (addresses are reused after a free);
// - a clock entry follows every recalibration, so Timer durations decode
//   with the ns_per_tick the live backend used.
// A record and the entries it needs are one chunk, handed to the file in one
// RotatingFileSink::append() after prepare_write(): a rotation happens
// before a chunk, never inside one. When prepare_write() started a new file
// (generation() changed), the sink forgets what it wrote and composes the
// chunk again, header first. When the file drops a chunk (the file fails:
// docs/operations.md, "File failures"), the sink forgets too: the next chunks repeat
// what they need, which a decoder accepts (a later definition replaces an
// earlier one).
//
// Backend thread only (like the handlers). Allocates only when it meets a new
// logger, site, snapshot address or frame address, and while its scratch
// buffer grows to the largest chunk.

#include "format/binary_writer.hpp"
#include "base/clock.hpp"
#include "format/exception_render.hpp"
#include "format/render.hpp"
#include "sinks/rotating_file_sink.hpp"

#include <agora/log/config.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log::detail {

/// Open-addressing set of 64-bit addresses (0 is never an address) with a
/// u64 value each: what the sink has written for an address in this file.
class AddressTable {
public:
    struct Slot {
        std::uint64_t address = 0;  // 0: empty
        std::uint64_t value = 0;
    };
    /// The slot of `address`, inserted (value 0) if absent; nullptr when the
    /// table could not grow (the caller writes the entry again each time).
    Slot* find_or_insert(std::uint64_t address) noexcept;
    /// Empties it, keeping the memory.
    void clear() noexcept;

private:
    bool grow() noexcept;
    std::vector<Slot> slots_;  // size 0 or a power of two
    std::size_t used_ = 0;
};

class BinaryLogSink {
public:
    /// `file` must be open (is_open()); `identity` and `config` are what the
    /// identity entry of every file says.
    BinaryLogSink(std::unique_ptr<RotatingFileSink> file, const EntryIdentity& identity, const Config& config);
    ~BinaryLogSink();
    BinaryLogSink(const BinaryLogSink&) = delete;
    BinaryLogSink& operator=(const BinaryLogSink&) = delete;

    /// `record` is a whole record (RecordHeader::size bytes) whose site and
    /// logger the registries hold; `unix_ns` is the time the backend gives it.
    /// Its context snapshots must be alive (the backend has not passed it).
    void write_record(const std::byte* record, const CallSite& site, std::string_view logger_name,
                      std::int64_t unix_ns, const TscClock& clock) noexcept;
    /// An entry the logger writes itself. `file` and `function` as
    /// std::source_location gives them (the decoder shortens them as the
    /// renderer does).
    void write_internal(Level level, std::int64_t unix_ns, std::uint32_t line, std::string_view file,
                        std::string_view function, std::string_view message, const TscClock& clock) noexcept;
    void flush() noexcept;

    const RotatingFileSink& file() const noexcept { return *file_; }
    RotatingFileSink& file() noexcept { return *file_; }
    /// Where exception frames get the text of their symbol entries.
    StackSymbolizer& symbolizer() noexcept { return symbolizer_; }

private:
    /// Appends to chunk_; remembers an allocation failure (the chunk is then
    /// incomplete and is not written).
    struct ChunkOut {
        std::string* chunk;
        bool* failed;
        void bytes(const void* p, std::size_t n) noexcept;
    };

    template <class Compose>
    void write_chunk(const TscClock& clock, const Compose& compose) noexcept;
    /// The common case of write_record(): a record that needs no other entry
    /// before it, written as its timed_record alone (the bytes write_chunk()
    /// would write for it). False, having written nothing, for any other.
    bool write_record_only(const std::byte* record, const CallSite& site, std::int64_t unix_ns,
                           const TscClock& clock) noexcept;
    /// FileHeader (for a new file), identity and clock.
    void put_preamble(ChunkOut& out, const TscClock& clock) noexcept;
    void put_clock_if_changed(ChunkOut& out, const TscClock& clock) noexcept;
    /// The logger, site, snapshot and symbol entries `record` needs.
    void put_metadata(ChunkOut& out, const std::byte* record, const CallSite& site,
                      std::string_view logger_name) noexcept;
    void put_snapshot_if_new(ChunkOut& out, std::uint64_t address) noexcept;
    void put_symbols(ChunkOut& out, const std::byte* blob, std::size_t size) noexcept;
    /// Everything written so far counts as not in the file (a new file, or a dropped chunk).
    void forget_written() noexcept;
    /// True if `id` was not yet marked in this file (and marks it now).
    bool mark(std::vector<std::uint32_t>& stamps, std::uint32_t id) noexcept;

    std::unique_ptr<RotatingFileSink> file_;
    EntryIdentity identity_;
    Context default_context_;
    std::uint32_t max_message_length_;
    std::string sensitive_data_;  // encode_identity_rules(), for the identity entry

    std::string chunk_;  // scratch, reused
    bool chunk_failed_ = false;
    std::uint64_t generation_;     // file_->generation() the marks below are for
    bool preamble_pending_ = true;  // the file does not hold header/identity/clock yet
    bool header_needed_;            // the file is new: the preamble starts with the FileHeader

    // What the current file holds. An id is written iff its stamp equals
    // stamp_; forget_written() increments stamp_ and clears the tables.
    std::uint32_t stamp_ = 1;
    std::vector<std::uint32_t> logger_stamps_;  // by logger id
    std::vector<std::uint32_t> site_stamps_;    // by call-site id
    /// By call-site id: 1 no exception argument, 2 one or more, 0 not looked at yet.
    std::vector<std::uint8_t> site_has_exception_;
    AddressTable snapshots_;  // address -> snapshot id written for it
    AddressTable symbols_;    // frame address -> (value unused)
    std::uint64_t clock_tsc_ = 0;  // anchor of the last clock written (0: none)
    double clock_ns_per_tick_ = 0;
    StackSymbolizer symbolizer_;
};

}  // namespace agora::log::detail
