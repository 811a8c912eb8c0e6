#pragma once
// The binary file format of crash dumps, dump_now() files and binary log files
// (Config::file_format = binary). Written by src/format/binary_writer.hpp
// (for src/crash/dump_writer.cpp and src/sinks/binary_sink.cpp), read by
// src/decode/, which agora-log-decode (tools/) links. This is the only
// definition of the layout; docs/binary-format.md explains it and the rules
// for changing it.
//
// A file is a FileHeader, then framed entries, back to back, no padding:
//
//   FileHeader (64 bytes)
//   EntryHeader (16 bytes) + payload (EntryHeader::size bytes)
//   EntryHeader + payload
//   ...
//
// All integers are little-endian (FileHeader::byte_order says so; a writer on
// another byte order would set it and a reader refuses what it cannot read).
// Strings are u32 length + bytes (no terminator), as in detail/record.hpp.
//
// Entry payloads (fields in order; readers ignore bytes after the fields they
// know, so later versions append fields at the end):
//
//   identity   string service, string environment, string version, string host,
//              u32 max_message_length, context blob default_context
//              (the Config the writer rendered with; first entry of every file)
//   clock      u64 tsc, f64 ns_per_tick, i64 unix_ns: tick t is at
//              unix_ns + (t - tsc) * ns_per_tick. Applies to the records after it.
//   logger     u32 id, string name
//   site       u32 id, u8 level, u32 line, string format, string file,
//              string function, u32 n + n u8 type codes (TypeCode, no `end`),
//              u32 m + m strings placeholder names (named templates)
//   snapshot   u64 address, u64 id, context blob (u32 count, fields; see
//              record.hpp): a context snapshot as the records after it refer
//              to it (by the address in their context slots). A later
//              snapshot entry with the same address replaces it.
//   symbol     u64 address, string text: a stack frame already symbolised by
//              the writer (binary log files; crash dumps have none)
//   thread     u64 os thread id, u64 ring read index, u64 ring write index,
//              u64 ring capacity: the records after it, up to the next thread
//              entry, are that thread's unconsumed ring bytes (crash dumps)
//   record     the record exactly as in the ring (RecordHeader, context
//              addresses, arguments; record.hpp), without trailing padding
//              beyond RecordHeader::size
//   timed_record  i64 unix_ns, then a record: the timestamp the live backend
//              computed (binary log files, so decoding gives the same time)
//   internal   i64 unix_ns, u8 level, u32 line, string file, string function,
//              string message: an entry the logger wrote itself
//   crash      i32 signal (0 for dump_now), u64 os thread id of the dumping
//              thread, u32 DumpFlags, u64 records dumped (written last)
//
// Damage: every entry starts with kEntrySync and carries a checksum of its
// type, size and payload. A reader that finds a bad sync, an impossible size
// or a checksum mismatch reports the offset and searches forward, byte by
// byte, for the next header that checks out.

#include <agora/log/detail/export.hpp>
#include <agora/log/detail/record.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

AGORA_LOG_API_BEGIN

namespace agora::log::detail {

inline constexpr char kFileMagic[8] = {'A', 'G', 'O', 'R', 'A', 'L', 'O', 'G'};
/// Incremented only for changes an older reader cannot skip (see docs/binary-format.md).
inline constexpr std::uint16_t kFormatVersion = 1;
inline constexpr std::uint8_t kLittleEndian = 1;
inline constexpr std::uint32_t kEntrySync = 0x45524741u;  // "AGRE" in file byte order
/// No entry is larger: a size field above it is damage, whatever the input size.
inline constexpr std::uint32_t kMaxEntrySize = 1u << 30;

enum class FileKind : std::uint8_t { crash_dump = 1, on_demand_dump = 2, binary_log = 3 };

enum class EntryType : std::uint8_t {
    identity = 1,
    clock = 2,
    logger = 3,
    site = 4,
    snapshot = 5,
    symbol = 6,
    thread = 7,
    record = 8,
    timed_record = 9,
    internal = 10,
    crash = 11,
};

/// crash entry flags: what happened before the rings were dumped.
enum DumpFlags : std::uint32_t {
    kDumpBackendDrained = 1u << 0,     ///< the live backend wrote everything up to the dump
    kDumpBackendTimedOut = 1u << 1,    ///< it did not finish within the drain timeout
    kDumpBackendNotStopped = 1u << 2,  ///< it did not stop reading: records may also be in the log
    kDumpOnBackendThread = 1u << 3,    ///< the crash was on the backend thread
    kDumpNoBackend = 1u << 4,          ///< no backend was running
    kDumpTruncated = 1u << 5,          ///< a ring held bytes that were not a record: its rest was skipped
    kDumpTerminate = 1u << 6,          ///< std::terminate (an uncaught exception), not a signal
};

struct FileHeader {
    char magic[8];                 // kFileMagic
    std::uint16_t format_version;  // kFormatVersion
    std::uint16_t header_size;     // sizeof(FileHeader) of the writer; entries start here
    std::uint8_t byte_order;       // kLittleEndian
    FileKind kind;
    std::uint16_t reserved0;
    std::uint32_t pid;
    std::uint32_t reserved1;
    // Clock anchor (see the clock entry).
    std::uint64_t tsc;
    double ns_per_tick;
    std::int64_t unix_ns;
    std::uint64_t reserved2[2];
};
static_assert(sizeof(FileHeader) == 64, "file header layout is part of the format");
static_assert(offsetof(FileHeader, format_version) == 8 && offsetof(FileHeader, pid) == 16 &&
              offsetof(FileHeader, tsc) == 24 && offsetof(FileHeader, ns_per_tick) == 32 &&
              offsetof(FileHeader, unix_ns) == 40);
static_assert(std::is_trivially_copyable_v<FileHeader>);

struct EntryHeader {
    std::uint32_t sync;      // kEntrySync
    EntryType type;
    std::uint8_t reserved[3];
    std::uint32_t size;      // payload bytes, <= kMaxEntrySize
    std::uint32_t checksum;  // entry_checksum(type, size, payload)
};
static_assert(sizeof(EntryHeader) == 16, "entry header layout is part of the format");
static_assert(offsetof(EntryHeader, type) == 4 && offsetof(EntryHeader, size) == 8 &&
              offsetof(EntryHeader, checksum) == 12);

static_assert(std::endian::native == std::endian::little, "the writers assume a little-endian host");

/// Incremental checksum of an entry: 64-bit multiply-xorshift over 8-byte
/// words, folded to 32 bits. Not cryptographic; it detects flipped bytes and
/// misframed entries. Async-signal-safe (no state but its own).
class EntryChecksum {
public:
    EntryChecksum(EntryType type, std::uint32_t size) noexcept {
        mix((std::uint64_t{static_cast<std::uint8_t>(type)} << 32) | size);
    }
    void update(const void* data, std::size_t n) noexcept {
        auto* p = static_cast<const unsigned char*>(data);
        // Finish a partial word from an earlier update first.
        while (n > 0 && fill_ != 0) {
            partial_ |= std::uint64_t{*p++} << (8 * fill_);
            --n;
            if (++fill_ == 8) {
                mix(partial_);
                partial_ = 0;
                fill_ = 0;
            }
        }
        for (; n >= 8; n -= 8, p += 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            mix(w);
        }
        for (; n > 0; --n) partial_ |= std::uint64_t{*p++} << (8 * fill_++);
    }
    std::uint32_t value() const noexcept {
        std::uint64_t h = state_;
        if (fill_ != 0) h = step(h, partial_ ^ (std::uint64_t{fill_} << 56));
        h ^= h >> 29;
        return static_cast<std::uint32_t>(h ^ (h >> 32));
    }

private:
    static std::uint64_t step(std::uint64_t h, std::uint64_t w) noexcept {
        h ^= w * 0x9e3779b97f4a7c15ull;
        h = (h << 27) | (h >> 37);
        return h * 0xbf58476d1ce4e5b9ull + 0x94d049bb133111ebull;
    }
    void mix(std::uint64_t w) noexcept { state_ = step(state_, w); }

    std::uint64_t state_ = 0x243f6a8885a308d3ull;
    std::uint64_t partial_ = 0;
    unsigned fill_ = 0;
};

inline std::uint32_t entry_checksum(EntryType type, const void* payload, std::uint32_t size) noexcept {
    EntryChecksum c(type, size);
    c.update(payload, size);
    return c.value();
}

/// Size of a thread entry's payload (the other entries are read field by
/// field with a bounds-checked reader).
inline constexpr std::size_t kThreadPayloadSize = 32;

}  // namespace agora::log::detail

AGORA_LOG_API_END
