#pragma once
// Writes the entries of detail/binary_format.hpp. Shared by the crash dump
// (a signal handler: fixed buffer, write(2)) and the binary log sink (backend
// thread: a std::string), so both produce the same bytes.
//
// Every function here is async-signal-safe when its Sink is: no allocation,
// no locks. A payload is described once, as a function of an Out (any type
// with `void bytes(const void*, std::size_t) noexcept`), and run three times:
// to measure it, to checksum it, and to write it after its header. The
// sources (call sites, snapshots) are immutable, so the passes agree.

#include "format/context_snapshot.hpp"
#include "format/record_codec.hpp"
#include "format/call_site.hpp"

#include <agora/log/detail/binary_format.hpp>
#include <agora/log/detail/frontend.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace agora::log::detail {

struct SizeOut {
    std::size_t n = 0;
    void bytes(const void*, std::size_t count) noexcept { n += count; }
};

struct ChecksumOut {
    EntryChecksum sum;
    void bytes(const void* p, std::size_t count) noexcept { sum.update(p, count); }
};

/// Context strings are cut as the calling thread cuts string arguments.
inline std::string_view cut_to_arg_limit(std::string_view s) noexcept { return as_string_view(s); }

template <class Out, class T>
void put_value(Out& out, T v) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    out.bytes(&v, sizeof v);
}

template <class Out>
void put_str(Out& out, std::string_view s) noexcept {
    put_value(out, static_cast<std::uint32_t>(s.size()));
    if (!s.empty()) out.bytes(s.data(), s.size());
}

/// Writes one framed entry: header (with the payload's size and checksum),
/// then the payload that `payload(out)` describes.
template <class Sink, class Payload>
void write_entry(Sink& sink, EntryType type, const Payload& payload) noexcept {
    SizeOut size;
    payload(size);
    ChecksumOut sum{EntryChecksum(type, static_cast<std::uint32_t>(size.n))};
    payload(sum);
    EntryHeader h{};
    h.sync = kEntrySync;
    h.type = type;
    h.size = static_cast<std::uint32_t>(size.n);
    h.checksum = sum.sum.value();
    sink.bytes(&h, sizeof h);
    payload(sink);
}

inline FileHeader make_file_header(FileKind kind, std::uint32_t pid, std::uint64_t tsc, double ns_per_tick,
                                   std::int64_t unix_ns) noexcept {
    FileHeader h{};
    std::memcpy(h.magic, kFileMagic, sizeof h.magic);
    h.format_version = kFormatVersion;
    h.header_size = sizeof(FileHeader);
    h.byte_order = kLittleEndian;
    h.kind = kind;
    h.pid = pid;
    h.tsc = tsc;
    h.ns_per_tick = ns_per_tick;
    h.unix_ns = unix_ns;
    return h;
}

/// What an identity entry carries: the writer's Config as rendering uses it.
struct IdentityFields {
    std::string_view service, environment, version, host;
    std::uint32_t max_message_length;
    const Context* default_context;  // may be null (no fields)
    /// encode_identity_rules() of the writer's Config (format/render.hpp):
    /// its sensitive-data rules and sample rates, encoded beforehand: a
    /// crash dump writes them from a signal handler. Empty: not written (a
    /// reader then applies the defaults).
    std::string_view sensitive_data = {};
};

template <class Sink>
void write_identity(Sink& sink, const IdentityFields& id) noexcept {
    write_entry(sink, EntryType::identity, [&id](auto& out) {
        put_str(out, id.service);
        put_str(out, id.environment);
        put_str(out, id.version);
        put_str(out, id.host);
        put_value(out, id.max_message_length);
        if (id.default_context != nullptr) put_context_blob(out, *id.default_context, cut_to_arg_limit);
        else put_value(out, std::uint32_t{0});
        if (!id.sensitive_data.empty()) out.bytes(id.sensitive_data.data(), id.sensitive_data.size());
    });
}

template <class Sink>
void write_clock(Sink& sink, std::uint64_t tsc, double ns_per_tick, std::int64_t unix_ns) noexcept {
    write_entry(sink, EntryType::clock, [&](auto& out) {
        put_value(out, tsc);
        put_value(out, ns_per_tick);
        put_value(out, unix_ns);
    });
}

template <class Sink>
void write_logger(Sink& sink, std::uint32_t id, std::string_view name) noexcept {
    write_entry(sink, EntryType::logger, [&](auto& out) {
        put_value(out, id);
        put_str(out, name);
    });
}

template <class Sink>
void write_site(Sink& sink, const CallSite& site) noexcept {
    write_entry(sink, EntryType::site, [&site](auto& out) {
        put_value(out, site.id);
        put_value(out, static_cast<std::uint8_t>(site.level));
        put_value(out, site.line);
        put_str(out, site.format);
        put_str(out, site.file);
        put_str(out, site.function);
        std::uint32_t n = 0;
        while (site.types[n] != TypeCode::end) ++n;
        put_value(out, n);
        out.bytes(site.types, n);
        put_value(out, static_cast<std::uint32_t>(site.names.size()));
        for (const auto& name : site.names) put_str(out, name);
    });
}

template <class Sink>
void write_snapshot(Sink& sink, const ContextSnapshot* snapshot) noexcept {
    write_entry(sink, EntryType::snapshot, [snapshot](auto& out) {
        put_value(out, reinterpret_cast<std::uint64_t>(snapshot));
        put_value(out, snapshot->id);
        put_context_blob(out, snapshot->values, cut_to_arg_limit);
    });
}

template <class Sink>
void write_symbol(Sink& sink, std::uint64_t address, std::string_view text) noexcept {
    write_entry(sink, EntryType::symbol, [&](auto& out) {
        put_value(out, address);
        put_str(out, text);
    });
}

template <class Sink>
void write_thread(Sink& sink, std::uint64_t os_thread_id, std::uint64_t read_index, std::uint64_t write_index,
                  std::uint64_t capacity) noexcept {
    write_entry(sink, EntryType::thread, [&](auto& out) {
        put_value(out, os_thread_id);
        put_value(out, read_index);
        put_value(out, write_index);
        put_value(out, capacity);
    });
}

/// `record` points at a RecordHeader whose size covers the whole record.
template <class Sink>
void write_record(Sink& sink, const std::byte* record, std::uint32_t size) noexcept {
    write_entry(sink, EntryType::record, [&](auto& out) { out.bytes(record, size); });
}

template <class Sink>
void write_timed_record(Sink& sink, std::int64_t unix_ns, const std::byte* record, std::uint32_t size) noexcept {
    write_entry(sink, EntryType::timed_record, [&](auto& out) {
        put_value(out, unix_ns);
        out.bytes(record, size);
    });
}

template <class Sink>
void write_internal(Sink& sink, std::int64_t unix_ns, Level level, std::uint32_t line, std::string_view file,
                    std::string_view function, std::string_view message) noexcept {
    write_entry(sink, EntryType::internal, [&](auto& out) {
        put_value(out, unix_ns);
        put_value(out, static_cast<std::uint8_t>(level));
        put_value(out, line);
        put_str(out, file);
        put_str(out, function);
        put_str(out, message);
    });
}

template <class Sink>
void write_crash(Sink& sink, std::int32_t signal, std::uint64_t os_thread_id, std::uint32_t flags,
                 std::uint64_t records) noexcept {
    write_entry(sink, EntryType::crash, [&](auto& out) {
        put_value(out, signal);
        put_value(out, os_thread_id);
        put_value(out, flags);
        put_value(out, records);
    });
}

}  // namespace agora::log::detail
