#pragma once
// The record codec: the one reader and writer of the byte layouts of
// detail/record.hpp, shared by every consumer of records (the backend, the
// binary log sink, the crash dump, the decoder) and by the calling thread's
// encoder of context blobs. Header-only, no allocation, no global state:
// async-signal-safe (the crash dump reads with it). The one exception blob
// writer is encode(ExceptionArg) (frontend/exception_capture.cpp): it reads
// the calling thread's capture, which only the frontend has.
//
//   RecordView          a record's header, context addresses and arguments
//   ArgIterator         its arguments one by one, framed by the site's type codes
//   ContextBlobReader   the fields of a context blob
//   put_context_blob    writes a context blob
//   ExceptionBlobReader the levels and stack frames of an exception blob
//
// Every reader checks each length against the bytes that remain: damaged
// bytes (a corrupt file, a torn dump) end the walk with ok() false, never a
// read past the end.

#include <agora/log/detail/record.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <variant>

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

/// The value of type T at `p` (any alignment). The caller checked the bytes are there.
template <class T>
T load(const std::byte* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
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
    /// Skips `n` bytes (ok = false if there are fewer).
    void skip(std::size_t n) noexcept {
        if (!ok || static_cast<std::size_t>(end - p) < n) {
            ok = false;
            return;
        }
        p += n;
    }
    std::size_t remaining() const noexcept { return ok ? static_cast<std::size_t>(end - p) : 0; }
};

// ---- records ------------------------------------------------------------------

/// A record: its header, the addresses of its context snapshots (0 if none)
/// and where its arguments are. A view: the bytes stay where they are.
struct RecordView {
    RecordHeader header{};
    std::uint64_t bound = 0;   // bound context snapshot address (kBoundContextFlag)
    std::uint64_t scoped = 0;  // scoped context snapshot address (kScopedContextFlag)
    const std::byte* args = nullptr;
    const std::byte* end = nullptr;  // record + header.size

    std::uint32_t logger_id() const noexcept { return header.logger_id & kLoggerIdMask; }
    std::size_t args_size() const noexcept { return static_cast<std::size_t>(end - args); }
    std::uint32_t args_offset(const std::byte* record) const noexcept {
        return static_cast<std::uint32_t>(args - record);
    }

    /// Reads the record at `p`, of which `available` bytes may be read. False
    /// if they cannot hold its header, its size or its context addresses.
    /// Padding (site_id kPaddingSiteId) reads as a record with no arguments.
    static bool read(const std::byte* p, std::size_t available, RecordView& out) noexcept {
        if (available < sizeof(RecordHeader)) return false;
        std::memcpy(&out.header, p, sizeof out.header);
        if (out.header.size < sizeof(RecordHeader) || out.header.size > available) return false;
        out.end = p + out.header.size;
        const std::byte* q = p + sizeof(RecordHeader);
        out.bound = out.scoped = 0;
        for (std::uint64_t* slot : {&out.bound, &out.scoped}) {
            const std::uint32_t flag = slot == &out.bound ? kBoundContextFlag : kScopedContextFlag;
            if ((out.header.logger_id & flag) == 0) continue;
            if (out.end - q < 8) return false;
            std::memcpy(slot, q, 8);
            q += 8;
        }
        out.args = q;
        return true;
    }
};

/// One argument of a record. Fixed-size codes: `data` is the value (`size`
/// bytes). string, context, exception: `data` is the payload after the u32
/// length, `size` that length.
struct ArgRef {
    TypeCode type = TypeCode::end;
    const std::byte* data = nullptr;
    std::uint32_t size = 0;
};

/// A record's arguments in the order of its call site's type codes.
/// next() returns false at the end of the list and when the bytes do not
/// frame (damaged() then says so) or a code is unknown (a newer writer).
class ArgIterator {
public:
    ArgIterator(const TypeCode* types, const std::byte* p, const std::byte* end) noexcept
        : t_(types), in_{p, end} {}

    bool next(ArgRef& out) noexcept {
        if (damaged_ || *t_ == TypeCode::end) return false;
        const TypeCode c = *t_++;
        out.type = c;
        if (const std::size_t n = fixed_size(c); n != 0) {
            out.data = in_.p;
            out.size = static_cast<std::uint32_t>(n);
            in_.skip(n);
        } else if (c == TypeCode::string || c == TypeCode::context || c == TypeCode::exception) {
            out.size = in_.get<std::uint32_t>();
            out.data = in_.p;
            in_.skip(out.size);
        } else {
            in_.ok = false;  // unknown code: cannot be framed
        }
        damaged_ = !in_.ok;
        return !damaged_;
    }
    bool damaged() const noexcept { return damaged_; }
    /// Where the next argument starts.
    const std::byte* position() const noexcept { return in_.p; }

private:
    const TypeCode* t_;
    BlobReader in_;
    bool damaged_ = false;
};

// ---- context blobs ------------------------------------------------------------

/// A field value as decoded from a record (or taken from a ContextValue).
struct RawValue {
    enum class Kind : std::uint8_t { string, integer, unsigned_integer, floating, boolean };
    Kind kind = Kind::string;
    std::string_view s;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;
    bool b = false;
};

/// Reads a context blob's fields (record.hpp) one by one; stops at the end
/// or at damage (then in.ok is false). A blob inside a larger entry is read
/// from a copy of that entry's reader; `in` is where the blob ends.
struct ContextBlobReader {
    BlobReader in;
    std::uint32_t remaining;  // fields not read yet (the blob's count, to begin with)

    ContextBlobReader(const std::byte* blob, std::size_t size) : ContextBlobReader(BlobReader{blob, blob + size}) {}
    explicit ContextBlobReader(BlobReader from) : in(from), remaining(in.get<std::uint32_t>()) {}

    bool next(std::string_view& key, RawValue& v) noexcept {
        if (!in.ok || remaining == 0) return false;
        --remaining;
        key = in.string();
        v = RawValue{};
        switch (static_cast<ContextTag>(in.get<std::uint8_t>())) {
            case ContextTag::string: v.s = in.string(); break;
            case ContextTag::integer: v.kind = RawValue::Kind::integer; v.i = in.get<std::int64_t>(); break;
            case ContextTag::floating: v.kind = RawValue::Kind::floating; v.d = in.get<double>(); break;
            case ContextTag::boolean: v.kind = RawValue::Kind::boolean; v.b = in.get<std::uint8_t>() != 0; break;
            default: in.ok = false;
        }
        return in.ok;
    }
};

/// Writes a context blob (record.hpp: u32 count, then per field key, tag,
/// value) of `fields` (a map of string keys to ContextValue-like variants
/// whose alternatives follow ContextTag's order) to `out`, any type with
/// `void bytes(const void*, std::size_t) noexcept`. Strings go through
/// `cut` (the calling thread's string limit). The one context writer: the
/// calling thread's encoder and the binary files' entries use it.
template <class Out, class Fields, class Cut>
void put_context_blob(Out& out, const Fields& fields, Cut&& cut) noexcept {
    const auto count = static_cast<std::uint32_t>(fields.size());
    out.bytes(&count, 4);
    for (const auto& [key, value] : fields) {
        const std::string_view k = cut(std::string_view(key));
        const auto klen = static_cast<std::uint32_t>(k.size());
        out.bytes(&klen, 4);
        if (klen != 0) out.bytes(k.data(), klen);
        const auto tag = static_cast<std::uint8_t>(value.index());  // ContextTag order = variant order
        out.bytes(&tag, 1);
        if (const auto* s = std::get_if<0>(&value)) {
            const std::string_view v = cut(std::string_view(*s));
            const auto vlen = static_cast<std::uint32_t>(v.size());
            out.bytes(&vlen, 4);
            if (vlen != 0) out.bytes(v.data(), vlen);
        } else if (const auto* i = std::get_if<1>(&value)) {
            out.bytes(i, 8);
        } else if (const auto* d = std::get_if<2>(&value)) {
            out.bytes(d, 8);
        } else if (const auto* b = std::get_if<3>(&value)) {
            const std::uint8_t v = *b ? 1 : 0;
            out.bytes(&v, 1);
        }
    }
}

// ---- exception blobs ----------------------------------------------------------

/// An exception blob (record.hpp: u8 depth, per level type and what(), u32
/// frame count, u64 return addresses), checked in one walk: ok() once the
/// levels read back and the frames shown fit. Every consumer reads it here,
/// with the same cap: at most kMaxExceptionFrames frames are shown, whatever
/// the count says (a writer records no more).
class ExceptionBlobReader {
public:
    ExceptionBlobReader(const std::byte* blob, std::size_t size) noexcept {
        BlobReader r{blob, blob + size};
        depth_ = r.get<std::uint8_t>();
        levels_ = r.p;
        for (unsigned i = 0; i < depth_ && r.ok; ++i) {
            r.string();
            r.string();
        }
        frames_claimed_ = r.get<std::uint32_t>();
        frames_shown_ = frames_claimed_ < kMaxExceptionFrames ? frames_claimed_ : kMaxExceptionFrames;
        frames_ = r.p;
        ok_ = r.ok && depth_ != 0 && r.remaining() / 8 >= frames_shown_;
        end_ = frames_;
    }
    bool ok() const noexcept { return ok_; }
    unsigned depth() const noexcept { return depth_; }
    std::uint32_t frames_claimed() const noexcept { return frames_claimed_; }
    std::uint32_t frames_shown() const noexcept { return ok_ ? frames_shown_ : 0; }
    /// Return address `i` (< frames_shown()); 0 marks the end of the unwound stack.
    std::uint64_t frame(std::uint32_t i) const noexcept {
        std::uint64_t a;
        std::memcpy(&a, frames_ + 8 * std::size_t{i}, 8);
        return a;
    }
    /// Calls f(type, message) for each level, outermost first (ok() only).
    template <class F>
    void for_each_level(F&& f) const {
        BlobReader r{levels_, end_};
        for (unsigned i = 0; i < depth_; ++i) {
            const std::string_view type = r.string();
            const std::string_view message = r.string();
            f(type, message);
        }
    }

private:
    const std::byte* levels_ = nullptr;
    const std::byte* frames_ = nullptr;
    const std::byte* end_ = nullptr;
    std::uint32_t frames_claimed_ = 0, frames_shown_ = 0;
    unsigned depth_ = 0;
    bool ok_ = false;
};

}  // namespace agora::log::detail
