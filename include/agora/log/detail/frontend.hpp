#pragma once
// The hot path: everything a calling thread runs for one log call is in this
// file (plus SpscRing::try_reserve/commit_to). No locks, no allocation, no
// formatting, no system calls, except on the [[unlikely]] slow paths, which
// live in src/frontend/frontend.cpp:
//   - the thread's first record (creates its ring and call-site cache),
//   - the first use of a call site on this thread (registers it),
//   - every call of a site under sampling or rate limiting (such sites are
//     never cached: src/frontend/sampling.hpp),
//   - a full ring (queue-full policy).

#include <agora/log/detail/export.hpp>
#include <agora/log/context.hpp>
#include <agora/log/detail/limits.hpp>
#include <agora/log/detail/record.hpp>
#include <agora/log/detail/spsc_ring.hpp>
#include <agora/log/level.hpp>

#include <fmt/core.h>

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>

// On x86 the TSC is read with the compiler builtin (GCC and clang), not
// <x86intrin.h>, which alone would more than double what every includer of
// this header preprocesses.
#if !(defined(__x86_64__) || defined(__i386__))
#include <chrono>
#endif

AGORA_LOG_API_BEGIN

namespace agora::log::detail {

static_assert(sizeof(void*) == 8, "records store context addresses in 8 bytes");

/// Timestamp source of the hot path: the TSC where there is one (constant and
/// synchronised across cores on the x86 machines we target), else the steady
/// clock in ns. The backend calibrates ticks to wall-clock time (src/base/clock.cpp).
inline std::uint64_t read_tsc() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// ---------------------------------------------------------------------------
// Argument types: what a C++ argument is stored as, and how fmt sees it.

/// A Timer's elapsed time, in TSC ticks (the backend converts with its clock).
struct DurationArg {
    std::uint64_t ticks;
};
/// A Context passed to a log call: encoded field by field into the record.
struct ContextArg {
    const Context* fields;
};
/// An exception passed to error()/critical(), captured on the calling thread
/// (capture_exception, src/frontend/exception_capture.cpp): names, messages and the stack.
struct ExceptionArg {
    static constexpr std::size_t kMaxDepth = kMaxExceptionDepth;    // outermost + nested levels kept
    static constexpr std::size_t kMaxFrames = kMaxExceptionFrames;
    const char* types[kMaxDepth];                   // typeid(...).name(): static storage
    std::string_view messages[kMaxDepth];           // what(): owned by the exceptions
    std::exception_ptr keep_alive[kMaxDepth];       // nested exceptions outlive the call
    std::uint32_t depth = 0;
    std::uint32_t frame_count = 0;
    void* frames[kMaxFrames];
};
/// Fills `out` from `ex` (nested_exception chain included) and the calling
/// thread's stack. No allocation except by rethrowing a nested exception.
void capture_exception(ExceptionArg& out, const std::exception& ex) noexcept;

template <class T>
struct ArgType {
    using U = std::remove_cvref_t<T>;
    static constexpr bool is_string =
        std::is_same_v<std::decay_t<U>, char*> || std::is_same_v<std::decay_t<U>, const char*> ||
        std::is_same_v<U, std::string> || std::is_same_v<U, std::string_view>;

    static constexpr TypeCode code() noexcept {
        if constexpr (std::is_same_v<U, DurationArg>) return TypeCode::duration;
        else if constexpr (std::is_same_v<U, ContextArg>) return TypeCode::context;
        else if constexpr (std::is_same_v<U, ExceptionArg>) return TypeCode::exception;
        else if constexpr (std::is_same_v<U, bool>) return TypeCode::boolean;
        else if constexpr (std::is_same_v<U, char>) return TypeCode::character;
        else if constexpr (std::is_enum_v<U>) return ArgType<std::underlying_type_t<U>>::code();
        else if constexpr (std::is_integral_v<U>) {
            if constexpr (sizeof(U) == 1) return std::is_signed_v<U> ? TypeCode::i8 : TypeCode::u8;
            else if constexpr (sizeof(U) == 2) return std::is_signed_v<U> ? TypeCode::i16 : TypeCode::u16;
            else if constexpr (sizeof(U) == 4) return std::is_signed_v<U> ? TypeCode::i32 : TypeCode::u32;
            else return std::is_signed_v<U> ? TypeCode::i64 : TypeCode::u64;
        } else if constexpr (std::is_same_v<U, float>) return TypeCode::f32;
        else if constexpr (std::is_floating_point_v<U>) return TypeCode::f64;
        else if constexpr (is_string) return TypeCode::string;
        else if constexpr (std::is_pointer_v<std::decay_t<U>> || std::is_null_pointer_v<U>) return TypeCode::pointer;
        else {
            static_assert(sizeof(U) == 0,
                          "agora-log: unsupported argument type; log integers, floating point, bool, "
                          "char, enums, pointers, const char*, std::string or std::string_view");
            return TypeCode::end;
        }
    }
};

/// The type fmt checks the format spec against (what the backend formats).
template <class T, TypeCode C = ArgType<T>::code()>
struct Formatted {
    using type = std::conditional_t<std::is_enum_v<std::remove_cvref_t<T>>,
                                    std::underlying_type<std::remove_cvref_t<T>>,
                                    std::type_identity<std::remove_cvref_t<T>>>::type;
};
template <class T>
struct Formatted<T, TypeCode::string> { using type = fmt::string_view; };
template <class T>
struct Formatted<T, TypeCode::pointer> { using type = const void*; };
template <class T>
struct Formatted<T, TypeCode::f64> { using type = double; };
template <class T>
using formatted_t = typename Formatted<T>::type;

/// Longest string argument encoded, in bytes: Config::max_message_length +
/// kStringArgSlack (detail/limits.hpp),
/// so that a cut string still makes the message longer than the limit and
/// the backend marks it "...[truncated]". Written by initialize(), read
/// relaxed by calling threads (a stale value only moves the cut).
inline std::atomic<std::uint32_t> g_string_arg_limit{string_arg_limit(kDefaultMaxMessageLength)};

/// `s` cut to at most `limit` bytes without splitting a UTF-8 sequence.
inline std::string_view cut_utf8(std::string_view s, std::size_t limit) noexcept {
    if (s.size() <= limit) return s;
    std::size_t n = limit;
    for (int back = 0; back < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80; ++back) --n;
    return s.substr(0, n);
}

/// The string an argument is encoded from (one strlen for const char*), cut
/// to g_string_arg_limit so a huge string cannot flood the ring.
inline std::string_view as_string_view(std::string_view s) noexcept {
    const std::size_t limit = g_string_arg_limit.load(std::memory_order_relaxed);
    if (s.size() > limit) [[unlikely]] return cut_utf8(s, limit);
    return s;
}
inline std::string_view as_string_view(const char* s) noexcept {
    return as_string_view(s ? std::string_view(s) : std::string_view("(null)"));
}

// Encoded sizes of the non-format arguments (the blobs of detail/record.hpp).
std::size_t encoded_size(const ContextArg& c) noexcept;
std::size_t encoded_size(const ExceptionArg& e) noexcept;
std::byte* encode(std::byte* out, const ContextArg& c) noexcept;
std::byte* encode(std::byte* out, const ExceptionArg& e) noexcept;

template <class T>
inline std::size_t encoded_size(const T& v) noexcept {
    constexpr TypeCode c = ArgType<T>::code();
    if constexpr (c == TypeCode::string) return sizeof(std::uint32_t) + v.size();
    else return fixed_size(c);
}

/// Wire form: strings become string_view (computed once), others pass through.
/// An empty std::string_view may have no data pointer (memcpy in encode must
/// never get one): it becomes "". A std::string's data and a const char*'s
/// view (null is "(null)") are never null, so they pay nothing for it.
template <class T>
inline decltype(auto) to_wire(const T& v) noexcept {
    if constexpr (std::is_same_v<std::remove_cvref_t<T>, std::string_view>)
        return as_string_view(v.data() != nullptr ? v : std::string_view(""));
    else if constexpr (ArgType<T>::code() == TypeCode::string) return as_string_view(v);
    else return (v);
}

template <class T>
inline std::byte* encode(std::byte* out, const T& v) noexcept {
    constexpr TypeCode c = ArgType<T>::code();
    using U = std::remove_cvref_t<T>;
    if constexpr (c == TypeCode::string) {
        auto n = static_cast<std::uint32_t>(v.size());
        std::memcpy(out, &n, sizeof n);
        std::memcpy(out + sizeof n, v.data(), n);  // never null: see to_wire
        return out + sizeof n + n;
    } else if constexpr (c == TypeCode::pointer) {
        auto p = reinterpret_cast<std::uintptr_t>(static_cast<const void*>(v));
        std::uint64_t w = p;
        std::memcpy(out, &w, 8);
        return out + 8;
    } else if constexpr (c == TypeCode::f64 && !std::is_same_v<U, double>) {
        double d = static_cast<double>(v);
        std::memcpy(out, &d, 8);
        return out + 8;
    } else {
        std::memcpy(out, &v, sizeof(U));
        return out + sizeof(U);
    }
}

/// One static type list per (level, argument types): its address is part of a
/// call site's identity, its contents describe the record's arguments.
template <Level L, class... Args>
struct SiteTypes {
    static constexpr TypeCode codes[sizeof...(Args) + 1] = {ArgType<Args>::code()..., TypeCode::end};
};

// ---------------------------------------------------------------------------
// Call-site identity.
//
// A call site is identified on the calling thread by three static addresses:
// its std::source_location data, its format string literal and its type list.
// Each thread maps them to the process-wide call-site id through a private
// open-addressing table (no sharing, no atomics); a miss registers the site
// (src/frontend/frontend.cpp) and is the only slow path of a steady-state call.

/// The key of a call site from its function name's address and its position,
/// for a standard library whose source_location is not one pointer. Integer
/// arithmetic: defined (wrapping) for any address, line and column. The key
/// is only compared and hashed, never dereferenced.
inline const void* location_key_of(const char* function_name, std::uint_least32_t line,
                                   std::uint_least32_t column) noexcept {
    const std::uintptr_t key =
        reinterpret_cast<std::uintptr_t>(function_name) + std::uintptr_t{line} * 4099u + std::uintptr_t{column};
    return reinterpret_cast<const void*>(key);
}

inline const void* location_key(const std::source_location& loc) noexcept {
    if constexpr (sizeof(std::source_location) == sizeof(const void*) &&
                  std::is_trivially_copyable_v<std::source_location>) {
        // libstdc++ and libc++: one pointer to per-call-site static data.
        return std::bit_cast<const void*>(loc);
    } else {
        return location_key_of(loc.function_name(), loc.line(), loc.column());
    }
}

struct SiteKey {
    const void* location;
    const char* format;
    const TypeCode* types;
};

/// A thread's map from call site to process-wide site id, in two levels:
///   - front: kFrontSlots entries, direct-mapped by front_slot() (the
///     location's address only, a multiply and a shift), the one probe of
///     the hot path: three compares against one entry;
///   - behind it, open addressing with linear probing over `mask + 1`
///     entries, load factor at most 1/2, so a probe always ends at an empty
///     slot (id 0). It holds every cached site; a front slot holds the last
///     of them found for it (find_behind_front() refills it). Two hot sites
///     on one front slot take turns there and the other pays that probe.
/// An entry whose id is 0 is empty; its key is all null and matches no site
/// (a site's type list pointer is never null).
///
/// Thread contract: only the owning thread reads the table and writes its
/// entries. Another thread may only replace `table_` by the shared empty
/// table (invalidate_site_caches_locked(), src/frontend/frontend.cpp, under
/// the registry mutex: initialize() does it so that every site is decided
/// again under the new sampling rules). The owner then misses on its next lookup
/// and, on the slow path, frees the table it owns (`owned_`) and starts a new
/// one. A find() that loaded the old pointer before the swap completes on
/// the old table, which stays allocated until its owner frees it.
class SiteCache {
public:
    struct Entry {
        SiteKey key;
        std::uint32_t id;  // 0 = empty slot
    };
    static constexpr std::size_t kFrontSlots = 256;
    /// Header of a table; `mask + 1` probed entries follow it.
    struct Table {
        Entry front[kFrontSlots];
        std::size_t mask;  // capacity - 1 of the probed entries
        std::size_t used;  // owner only
        Entry* entries() noexcept { return reinterpret_cast<Entry*>(this + 1); }
        const Entry* entries() const noexcept { return reinterpret_cast<const Entry*>(this + 1); }
    };
    static_assert(sizeof(Table) % alignof(Entry) == 0);

    /// The id in `key`'s front slot, or 0 (then register_call_site() looks
    /// behind the front first). Owning thread only.
    std::uint32_t find(const SiteKey& key) const noexcept {
        // relaxed: the owner wrote every entry it can reach; an invalidation
        // only needs to be seen eventually (see the class comment).
        const Table* t = table_.load(std::memory_order_relaxed);
        const Entry& e = t->front[front_slot(key)];
        if (e.key.location == key.location && e.key.format == key.format && e.key.types == key.types) [[likely]] {
            // A matching entry is not an empty one (key.types, a static type
            // list, is never null), and entries are written whole with their id.
            if (e.id == 0) __builtin_unreachable();
            return e.id;
        }
        return 0;
    }

    /// Probes the entries behind the front; a hit refills the front slot
    /// (never in the shared empty table, which holds no site). Owning thread only.
    std::uint32_t find_behind_front(const SiteKey& key) noexcept;

    static std::size_t front_slot(const SiteKey& k) noexcept {
        return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(k.location) * 0x9E3779B97F4A7C15ull) >> 56);
    }
    static_assert(kFrontSlots == 256, "front_slot() keeps the top 8 bits");

    static std::size_t hash(const SiteKey& k) noexcept {
        auto a = reinterpret_cast<std::uintptr_t>(k.location);
        auto b = reinterpret_cast<std::uintptr_t>(k.format);
        return static_cast<std::size_t>(((a ^ (b << 1)) * 0x9E3779B97F4A7C15ull) >> 32);
    }

    std::atomic<Table*> table_{nullptr};
    Table* owned_ = nullptr;  // owner only: the table it allocated (table_ unless invalidated)
};

// ---------------------------------------------------------------------------
// Per-thread state.

struct ThreadQueue;      // shared with the backend (src/frontend/registry.hpp)
struct ContextSnapshot;  // immutable rendered context (src/format/context_snapshot.hpp)

/// How far ahead of the record being written the producer prefetches.
#ifndef AGORA_LOG_RING_PREFETCH_AHEAD
#define AGORA_LOG_RING_PREFETCH_AHEAD 256
#endif
inline constexpr std::size_t kRingPrefetchAhead = AGORA_LOG_RING_PREFETCH_AHEAD;

struct ThreadContext {
    SpscRing* ring;           // the ring this thread writes now (grow may replace it)
    ThreadQueue* queue;       // registration with the backend; outlives this context
    std::uint32_t sequence;   // next record's sequence number
    /// Copy of t_scope (kept equal by ScopedContext and create_thread_context):
    /// every record written while it is set carries its address.
    const ContextSnapshot* scope;
    SiteCache sites;
    /// Sampling and rate-limit state of this thread (src/frontend/sampling.hpp):
    /// its generator and the sites decided on every call. Owner only, slow path.
    struct ThreadControls* controls;
};

/// This thread's context; null until its first record or preallocate().
/// A plain pointer (trivial type) so access is a single TLS load; initial-exec
/// so that code built into a shared library does not call __tls_get_addr.
[[gnu::tls_model("initial-exec")]] inline thread_local ThreadContext* t_context = nullptr;

/// This thread's innermost ScopedContext snapshot, or null. Written only by
/// ScopedContext on this thread. The hot path reads the copy in
/// ThreadContext::scope (one load from a line it touches anyway).
[[gnu::tls_model("initial-exec")]] inline thread_local const ContextSnapshot* t_scope = nullptr;

// Slow paths, out of line in src/frontend/frontend.cpp. All are noexcept and report
// failure by returning null / 0 (the record is then dropped and counted).
ThreadContext* create_thread_context() noexcept;

/// What the slow path decided for one record (returned in one register).
struct SiteDecision {
    /// The site's id; 0: write nothing (lost, or suppressed when `flags` is kSuppressed).
    std::uint32_t site_id;
    /// Ored into the record's logger_id (kSampledFlag), or kSuppressed.
    std::uint32_t flags;
    static constexpr std::uint32_t kSuppressed = 1;
};
/// A site not in this thread's front cache: its id from behind the front if
/// cached there, else registers it, and decides the
/// record when sampling or rate limiting applies to it (such sites are never
/// cached, so every call of theirs comes here; src/frontend/sampling.hpp).
/// Arguments by value, in registers: the fast path stores nothing for them.
SiteDecision register_call_site(ThreadContext& ctx, const TypeCode* types, Level level, std::source_location loc,
                                std::string_view format, std::uint32_t logger_id) noexcept;
std::byte* reserve_slow(ThreadContext& ctx, std::size_t size) noexcept;
void count_lost_record() noexcept;

/// Asks for the ring's cache line `ahead` bytes past `p` in exclusive state,
/// so a later record does not wait for it to come back from the backend's
/// core (where it was last read). A hint: never faults, a no-op without PREFETCHW.
inline void prefetch_for_write(const std::byte* p) noexcept {
    // Through an integer: the address may lie past the ring's storage.
    const auto* ahead = reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + kRingPrefetchAhead);
#if defined(__x86_64__) || defined(__i386__)
    asm volatile("prefetchw %0" : : "m"(*ahead));
#else
    __builtin_prefetch(ahead, 1, 3);
#endif
}

/// Writes the header straight into the ring, field by field (building it on
/// the stack and copying would stall on store forwarding), and takes the
/// timestamp. On x86 the stores are one asm block: rdtsc's two halves are
/// stored as they come, with no shift and or to join them, and the compiler
/// cannot pack the 4-byte fields into a vector register first (which GCC's
/// SLP vectorizer does to C++ stores: eight instructions for four fields).
inline void store_header(std::byte* p, std::uint32_t size, std::uint32_t site_id, std::uint32_t sequence,
                         std::uint32_t logger_id) noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    static_assert(std::endian::native == std::endian::little);
    auto field = [p](std::size_t offset) -> std::uint32_t& { return *reinterpret_cast<std::uint32_t*>(p + offset); };
    asm volatile(
        "movl %[size], %[size_field]\n\t"
        "movl %[site_id], %[site_field]\n\t"
        "rdtsc\n\t"
        "movl %%eax, %[tsc_low]\n\t"
        "movl %%edx, %[tsc_high]\n\t"
        "movl %[sequence], %[sequence_field]\n\t"
        "movl %[logger_id], %[logger_field]"
        : [size_field] "=m"(field(offsetof(RecordHeader, size))),
          [site_field] "=m"(field(offsetof(RecordHeader, site_id))),
          [tsc_low] "=m"(field(offsetof(RecordHeader, timestamp))),
          [tsc_high] "=m"(field(offsetof(RecordHeader, timestamp) + 4)),
          [sequence_field] "=m"(field(offsetof(RecordHeader, sequence))),
          [logger_field] "=m"(field(offsetof(RecordHeader, logger_id)))
        : [size] "ri"(size), [site_id] "ri"(site_id), [sequence] "ri"(sequence), [logger_id] "ri"(logger_id)
        : "eax", "edx");
#else
    const RecordHeader h{size, site_id, read_tsc(), sequence, logger_id};
    std::memcpy(p, &h, sizeof h);
#endif
}

/// Reserves, fills and commits one record. With WithContext, the context
/// addresses (bound first, then scope, each only if set) follow the header.
template <bool WithContext, class... Args>
inline void put_record(ThreadContext* ctx, std::uint32_t site_id, std::uint32_t logger_id,
                                              [[maybe_unused]] const ContextSnapshot* bound,
                                              [[maybe_unused]] const ContextSnapshot* scope,
                                              const Args&... wire) noexcept {
    std::size_t context_bytes = 0;
    if constexpr (WithContext) {
        context_bytes = (bound ? 8 : 0) + (scope ? 8 : 0);
        logger_id |= (bound ? kBoundContextFlag : 0) | (scope ? kScopedContextFlag : 0);
    }
    const std::size_t size =
        align_record(sizeof(RecordHeader) + context_bytes + (std::size_t{0} + ... + encoded_size(wire)));
    SpscRing* ring = ctx->ring;
    std::uint64_t end;
    std::byte* p = ring->try_reserve(size, end);
    if (p == nullptr) [[unlikely]] {
        p = reserve_slow(*ctx, size);
        if (p == nullptr) return;  // dropped and counted by reserve_slow
        ring = ctx->ring;          // grow may have moved this thread to a larger ring
        end = ring->write_index() + size;
    }
    prefetch_for_write(p);
    // Timestamp after the reservation: keeps the window between taking it and
    // publishing the record (what the backend's ordering grace covers) short.
    store_header(p, static_cast<std::uint32_t>(size), site_id, ctx->sequence++, logger_id);
    [[maybe_unused]] std::byte* out = p + sizeof(RecordHeader);  // unused for a record without arguments
    if constexpr (WithContext) {
        if (bound != nullptr) {
            std::memcpy(out, &bound, 8);
            out += 8;
        }
        if (scope != nullptr) {
            std::memcpy(out, &scope, 8);
            out += 8;
        }
    }
    ((out = encode(out, wire)), ...);
    ring->commit_to(end);
}

/// Small trivially copyable arguments travel by value (in registers, so the
/// caller need not keep them in memory), the rest by reference.
template <class T>
using pass_t = std::conditional_t<std::is_trivially_copyable_v<T> && sizeof(T) <= 16, T, const T&>;

/// The with-context variant, out of line: keeps the plain path's code small
/// and its record size a constant.
template <class... Args>
[[gnu::noinline]] void put_record_with_context(ThreadContext* ctx, std::uint32_t site_id, std::uint32_t logger_id,
                                               const ContextSnapshot* bound, const ContextSnapshot* scope,
                                               pass_t<Args>... wire) noexcept {
    put_record<true>(ctx, site_id, logger_id, bound, scope, wire...);
}

/// Writes one record. Called after the level check passed. `bound` is the
/// logger's bound context (null for most loggers); its owner keeps it alive
/// until the backend has written every record that refers to it.
/// Always inlined: the call site's constants (types, format, sizes) fold into it.
template <Level L, class... Args>
[[gnu::always_inline]] inline void write_record(std::uint32_t logger_id, const ContextSnapshot* bound,
                                                std::source_location loc, std::string_view format,
                                                const Args&... wire) noexcept {
    ThreadContext* ctx = t_context;
    if (ctx == nullptr) [[unlikely]] {
        ctx = create_thread_context();
        if (ctx == nullptr) return count_lost_record();
    }
    constexpr const TypeCode* types = SiteTypes<L, Args...>::codes;
    std::uint32_t site_id = ctx->sites.find(SiteKey{location_key(loc), format.data(), types});
    if (site_id == 0) [[unlikely]] {
        const SiteDecision d = register_call_site(*ctx, types, L, loc, format, logger_id);
        if (d.site_id == 0) {
            if (d.flags == SiteDecision::kSuppressed) return;  // counted per logger
            return count_lost_record();
        }
        site_id = d.site_id;
        logger_id |= d.flags;
    }
    const ContextSnapshot* scope = ctx->scope;
    if ((reinterpret_cast<std::uintptr_t>(bound) | reinterpret_cast<std::uintptr_t>(scope)) != 0) [[unlikely]]
        return put_record_with_context<Args...>(ctx, site_id, logger_id, bound, scope, wire...);
    put_record<false>(ctx, site_id, logger_id, nullptr, nullptr, wire...);
}

template <Level L, class... Args>
inline void log_call(std::uint32_t logger_id, const ContextSnapshot* bound, std::source_location loc,
                     std::string_view format, const Args&... args) noexcept {
    write_record<L>(logger_id, bound, loc, format, to_wire(args)...);
}

}  // namespace agora::log::detail

AGORA_LOG_API_END
