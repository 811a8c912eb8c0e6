#pragma once
// Writes crash dumps and dump_now() files (detail/binary_format.hpp): the
// file header, the identity, then every thread's ring bytes not yet released
// by the backend, each record after the call-site, logger and snapshot
// entries it needs, and a closing crash entry. Async-signal-safe: no
// allocation (the memory is a DumpScratch mapped beforehand), no locks.

#include "base/write_all.hpp"
#include "format/binary_writer.hpp"
#include "format/render.hpp"
#include "frontend/registry.hpp"

#include <agora/log/config.hpp>
#include <agora/log/detail/binary_format.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace agora::log::detail {

/// The writer's Config as rendering uses it: the dump's identity entry.
struct DumpIdentity {
    std::string service, environment, version, host;
    Context default_context;
    std::uint32_t max_message_length = 0;
    std::string sensitive_data;  // encode_identity_rules(config): redaction rules, sample rates
};
DumpIdentity make_dump_identity(const Config& config, const EntryIdentity& identity);

/// Memory a dump works in, mapped before it is needed: the output buffer and
/// the "already written" sets for call sites, loggers and snapshots.
struct DumpScratch {
    static constexpr std::size_t kOutBytes = 256u << 10;
    static constexpr std::size_t kIdWords = (ChunkedTable<CallSite>::kMaxChunks * ChunkedTable<CallSite>::kChunkSize) / 64;
    static constexpr std::size_t kSnapshotSlots = 16384;  // power of two
    static constexpr std::size_t kBytes = kOutBytes + 2 * kIdWords * 8 + kSnapshotSlots * 8;

    std::byte* base = nullptr;
    std::byte* out() const noexcept { return base; }
    std::uint64_t* sites() const noexcept { return reinterpret_cast<std::uint64_t*>(base + kOutBytes); }
    std::uint64_t* loggers() const noexcept { return sites() + kIdWords; }
    std::uint64_t* snapshots() const noexcept { return loggers() + kIdWords; }

    bool map() noexcept {
        void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return false;
        base = static_cast<std::byte*>(p);
        return true;
    }
    void unmap() noexcept {
        if (base != nullptr) munmap(base, kBytes);
        base = nullptr;
    }
    void clear_sets() noexcept { std::memset(base + kOutBytes, 0, kBytes - kOutBytes); }
};

/// A buffered fd: write(2) through base/write_all.hpp's loop. After a
/// failure it drops the rest (`failed`, `error` say why).
struct FdSink {
    int fd;
    std::byte* buf;
    std::size_t cap;
    std::size_t used = 0;
    bool failed = false;
    int error = 0;

    void bytes(const void* data, std::size_t n) noexcept {
        auto* p = static_cast<const std::byte*>(data);
        while (n > 0) {
            if (used == cap) flush();
            const std::size_t k = n < cap - used ? n : cap - used;
            std::memcpy(buf + used, p, k);
            used += k;
            p += k;
            n -= k;
        }
    }
    void flush() noexcept {
        if (!failed && used > 0) {
            const int out = fd;
            if (write_all([out](const char* p, std::size_t k) { return ::write(out, p, k); },
                          reinterpret_cast<const char*>(buf), used) < used) {
                failed = true;
                error = errno;
            }
        }
        used = 0;
    }
};

/// Fixed-size text builder for file names and notes (no allocation).
struct Text {
    char buf[4352];
    std::size_t n = 0;
    Text& operator<<(std::string_view s) noexcept {
        for (char c : s)
            if (n + 1 < sizeof buf) buf[n++] = c;
        buf[n] = '\0';
        return *this;
    }
    Text& number(std::uint64_t v, unsigned base = 10, unsigned min_digits = 1) noexcept {
        char digits[24];
        unsigned k = 0;
        do {
            digits[k++] = "0123456789abcdef"[v % base];
            v /= base;
        } while (v != 0 || k < min_digits);
        while (k > 0) *this << std::string_view(&digits[--k], 1);
        return *this;
    }
    std::string_view view() const noexcept { return {buf, n}; }
};

/// What a dump wrote: records, and DumpFlags found while writing.
struct DumpResult {
    std::uint64_t records = 0;
    std::uint32_t flags = 0;
};

std::uint64_t os_thread_id() noexcept;

/// "<prefix>.crash-<pid>-<YYYYMMDDTHHMMSSZ>.bin"
void dump_name(Text& name, std::string_view prefix, std::int64_t unix_ns) noexcept;

/// Writes a whole dump to `out`. `note`, if not empty, becomes a critical
/// entry of the logger's own (what happened). `result.flags` may hold flags
/// already (how the backend was stopped); the crash entry carries them all.
void write_dump(DumpScratch& scratch, const DumpIdentity& identity, FileKind kind, int signal, std::string_view note,
                DumpResult& result, FdSink& out) noexcept;

}  // namespace agora::log::detail
