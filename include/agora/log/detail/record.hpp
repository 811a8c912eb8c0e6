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
//     u32 logger_id   logger registry id (name and, later, bound context)
//   arguments, packed without alignment, in call order, as the call site's
//   type codes say:
//     boolean, character, i8, u8      1 byte
//     i16, u16                        2 bytes
//     i32, u32, f32                   4 bytes
//     i64, u64, f64, pointer          8 bytes
//     string                          u32 length n, then n bytes (no terminator)
//   zero padding up to `size`.
//
// Rule for later versions: new TypeCode values are appended, existing values
// and header fields never change meaning; a reader that meets an unknown code
// skips the record using `size`.

#include <cstddef>
#include <cstdint>

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
};

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
inline constexpr std::size_t kRecordAlign = 8;

constexpr std::size_t align_record(std::size_t n) noexcept {
    return (n + kRecordAlign - 1) & ~(kRecordAlign - 1);
}

/// Encoded size of a fixed-width argument, 0 for `string` (variable) and `end`.
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
        case TypeCode::pointer: return 8;
        case TypeCode::string:
        case TypeCode::end: return 0;
    }
    return 0;
}

}  // namespace agora::log::detail
