#pragma once
// The binary record format: what a calling thread writes into its ring and
// what the backend (src/) and the tools (tools/) read back. This is the only
// definition of the layout; everything else includes it.
//
// A record, in ring byte order (host byte order, 8-byte aligned start):
//
//   RecordHeader (24 bytes)
//     u32 size        whole record in bytes, header included, multiple of 8
//     u32 site_id     call-site id (CallSite registry); 0 marks padding
//     u64 timestamp   TSC ticks (see detail/clock.hpp), taken on the calling thread
//     u32 sequence    per-thread sequence number, +1 per record written (wraps)
//     u32 logger_id   bits 0-28: logger registry id; bit 31: a bound-context
//                     pointer follows the header; bit 30: a scoped-context
//                     pointer follows (after the bound one if both); bit 29:
//                     the record was kept by sampling (its entry carries the
//                     sample rate of its level)
//   [u64 bound context snapshot address]   if bit 31
//   [u64 scoped context snapshot address]  if bit 30
//   arguments, packed without alignment, in call order, as the call site's
//   type codes say:
//     boolean, character, i8, u8      1 byte
//     i16, u16                        2 bytes
//     i32, u32, f32                   4 bytes
//     i64, u64, f64, pointer          8 bytes
//     string                          u32 length n, then n bytes (no terminator)
//     duration                        u64 TSC ticks (a Timer's elapsed time)
//     context, exception              u32 length n, then n bytes (blobs below)
//   Only the codes up to `pointer` are format arguments; duration, context and
//   exception carry an entry's other fields.
//
// Context blob: u32 count, then per field: string key (u32 length + bytes),
//   u8 ContextTag, value (string: u32 length + bytes; int: i64; dbl: f64; bool: u8).
// Exception blob: u8 depth (outermost first, nested_exception chain), per
//   level: string type (mangled, as typeid().name()), string what();
//   then u32 frame count and that many u64 return addresses (the logging
//   thread's stack at the call, innermost first).
//   zero padding up to `size`.
//
// Rule for later versions: new TypeCode values are appended, existing values
// and header fields never change meaning; a reader that meets an unknown code
// skips the record using `size`.

#include <agora/log/detail/export.hpp>
#include <cstddef>
#include <cstdint>

AGORA_LOG_API_BEGIN

namespace agora::log::detail {

enum class TypeCode : std::uint8_t {
    end = 0,  // terminates a call site's type list
    boolean = 1,
    character = 2,
    i8 = 3,
    u8 = 4,
    i16 = 5,
    u16 = 6,
    i32 = 7,
    u32 = 8,
    i64 = 9,
    u64 = 10,
    f32 = 11,
    f64 = 12,
    string = 13,
    pointer = 14,
    duration = 15,
    context = 16,
    exception = 17,
};

enum class ContextTag : std::uint8_t { string = 0, integer = 1, floating = 2, boolean = 3 };

/// logger_id flags (see the layout above).
inline constexpr std::uint32_t kLoggerIdMask = 0x1fffffffu;
inline constexpr std::uint32_t kBoundContextFlag = 1u << 31;
inline constexpr std::uint32_t kScopedContextFlag = 1u << 30;
inline constexpr std::uint32_t kSampledFlag = 1u << 29;

/// True for the codes that are fmt arguments of the message.
constexpr bool is_format_arg(TypeCode c) noexcept { return c >= TypeCode::boolean && c <= TypeCode::pointer; }

struct RecordHeader {
    std::uint32_t size;
    std::uint32_t site_id;
    std::uint64_t timestamp;
    std::uint32_t sequence;
    std::uint32_t logger_id;
};
static_assert(sizeof(RecordHeader) == 24, "record header layout is part of the format");
static_assert(alignof(RecordHeader) == 8);

inline constexpr std::uint32_t kPaddingSiteId = 0;

/// Exception blobs: a writer records at most this many levels (the outermost
/// and its nested chain) and stack frames; readers show no more frames.
inline constexpr std::uint32_t kMaxExceptionDepth = 8;
inline constexpr std::uint32_t kMaxExceptionFrames = 64;
inline constexpr std::size_t kRecordAlign = 8;

constexpr std::size_t align_record(std::size_t n) noexcept {
    return (n + kRecordAlign - 1) & ~(kRecordAlign - 1);
}

/// Encoded size of a fixed-width argument, 0 for the variable ones and `end`.
constexpr std::size_t fixed_size(TypeCode c) noexcept {
    switch (c) {
        case TypeCode::boolean:
        case TypeCode::character:
        case TypeCode::i8:
        case TypeCode::u8: return 1;
        case TypeCode::i16:
        case TypeCode::u16: return 2;
        case TypeCode::i32:
        case TypeCode::u32:
        case TypeCode::f32: return 4;
        case TypeCode::i64:
        case TypeCode::u64:
        case TypeCode::f64:
        case TypeCode::pointer:
        case TypeCode::duration: return 8;
        case TypeCode::context:
        case TypeCode::exception:
        case TypeCode::string:
        case TypeCode::end: return 0;
    }
    return 0;
}

}  // namespace agora::log::detail

AGORA_LOG_API_END
