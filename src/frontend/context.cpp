// Context on the calling thread: builder, UUIDs, snapshots (with_context,
// ScopedContext) and the encoding of a Context passed to a log call. Their
// rendering is format/context_render.cpp.

#include "format/context_snapshot.hpp"
#include "format/record_codec.hpp"
#include "frontend/registry.hpp"

#include <agora/log/context.hpp>
#include <agora/log/logger.hpp>

#include <sys/random.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>

namespace agora::log {

// ---- ContextBuilder -------------------------------------------------------

ContextBuilder& ContextBuilder::correlation_id(std::string id) { return add("correlation_id", std::move(id)); }
ContextBuilder& ContextBuilder::correlation_id() { return add("correlation_id", generate_correlation_id()); }
ContextBuilder& ContextBuilder::user_id(std::string id) { return add("user_id", std::move(id)); }
ContextBuilder& ContextBuilder::trace_id(std::string id) { return add("trace_id", std::move(id)); }
ContextBuilder& ContextBuilder::span_id(std::string id) { return add("span_id", std::move(id)); }
ContextBuilder& ContextBuilder::add(std::string key, ContextValue value) {
    values_.insert_or_assign(std::move(key), std::move(value));
    return *this;
}

// ---- UUIDs ----------------------------------------------------------------

namespace {
/// xoshiro256** seeded per thread from getrandom() (falls back to the clock
/// and the thread's address if the kernel has no entropy to give).
struct UuidRandom {
    std::uint64_t s[4];
    UuidRandom() noexcept {
        if (getrandom(s, sizeof s, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof s)) {
            std::uint64_t x = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                              reinterpret_cast<std::uintptr_t>(this);
            for (auto& w : s) {  // splitmix64
                x += 0x9E3779B97F4A7C15ull;
                std::uint64_t z = x;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
                w = z ^ (z >> 31);
            }
        }
    }
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
};
}  // namespace

std::string generate_correlation_id() {
    thread_local UuidRandom random;
    std::uint8_t b[16];
    const std::uint64_t hi = random.next(), lo = random.next();
    std::memcpy(b, &hi, 8);
    std::memcpy(b + 8, &lo, 8);
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(kHex[b[i] >> 4]);
        out.push_back(kHex[b[i] & 0xf]);
    }
    return out;
}

namespace detail {

// ---- snapshots ------------------------------------------------------------

ContextSnapshot* make_snapshot(const Context& fields, const ContextSnapshot* base) {
    static std::atomic<std::uint64_t> next_id{1};
    auto owned = std::make_unique<ContextSnapshot>();
    if (base != nullptr) owned->values = base->values;
    for (const auto& [key, value] : fields) owned->values.insert_or_assign(key, value);
    owned->id = next_id.fetch_add(1, std::memory_order_relaxed);
    return owned.release();
}

void retain(ContextSnapshot* snapshot) noexcept { snapshot->refs.fetch_add(1, std::memory_order_relaxed); }

void release(ContextSnapshot* snapshot) noexcept {
    // acq_rel: every owner's records (committed before its release) happen
    // before the retirement below.
    if (snapshot->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) retire_snapshot(snapshot, nullptr);
}

void retire_snapshot(ContextSnapshot* snapshot, ThreadQueue* only_queue) noexcept {
    Registry& reg = Registry::instance();
    // No memory for the hand-over: keep the snapshot (a leak, never a use after free).
    (void)reg.retired.load(std::memory_order_acquire)->enqueue(RetiredSnapshot{snapshot, only_queue});
}

// ---- Context passed to a call ----------------------------------------------

namespace {
/// Appends to a buffer the record has room for (sized by encoded_size()).
struct PointerOut {
    std::byte* p;
    void bytes(const void* data, std::size_t n) noexcept {
        std::memcpy(p, data, n);
        p += n;
    }
};
struct SizeOut {
    std::size_t n = 0;
    void bytes(const void*, std::size_t count) noexcept { n += count; }
};
/// Strings cut as the calling thread cuts string arguments.
constexpr auto kCutToArgLimit = [](std::string_view s) noexcept { return as_string_view(s); };
}  // namespace

std::size_t encoded_size(const ContextArg& c) noexcept {
    SizeOut size;
    put_context_blob(size, *c.fields, kCutToArgLimit);
    return 4 + size.n;  // the blob's length, then the blob
}

std::byte* encode(std::byte* out, const ContextArg& c) noexcept {
    out = put_u32(out, static_cast<std::uint32_t>(encoded_size(c) - 4));
    PointerOut writer{out};
    put_context_blob(writer, *c.fields, kCutToArgLimit);
    return writer.p;
}
static_assert(static_cast<int>(ContextTag::string) == 0 && static_cast<int>(ContextTag::integer) == 1 &&
              static_cast<int>(ContextTag::floating) == 2 && static_cast<int>(ContextTag::boolean) == 3,
              "ContextTag follows ContextValue's alternatives");

}  // namespace detail

// ---- with_context, ScopedContext -------------------------------------------

Logger Logger::with_context(const Context& fields) const noexcept {
    try {
        return Logger(state_, detail::make_snapshot(fields, bound_));
    } catch (...) {
        return *this;  // no memory: the parent's context, not a failure of the caller
    }
}

ScopedContext::ScopedContext(const Context& fields) noexcept : snapshot_(nullptr), outer_(detail::t_scope) {
    try {
        snapshot_ = detail::make_snapshot(fields, detail::t_scope);
    } catch (...) {
        return;  // no memory: entries keep the outer scope's fields
    }
    detail::t_scope = snapshot_;
    if (detail::ThreadContext* ctx = detail::t_context) ctx->scope = snapshot_;
}

ScopedContext::~ScopedContext() {
    if (snapshot_ == nullptr) return;
    detail::t_scope = outer_;
    detail::ThreadContext* ctx = detail::t_context;
    if (ctx != nullptr) ctx->scope = outer_;
    if (detail::t_context_retired) {
        // Closed at the thread's end, after its context was retired (by a
        // destructor that runs after the logger's end-of-thread mark): the
        // retired context's queue, and any context made since, may hold
        // records that refer to the snapshot. Every queue is passed.
        detail::retire_snapshot(snapshot_, nullptr);
        return;
    }
    if (ctx == nullptr) {
        // No record was ever written by this thread: nothing refers to the snapshot.
        delete snapshot_;
        return;
    }
    // Only this thread's records refer to a scope: only its queue need be passed.
    detail::retire_snapshot(snapshot_, ctx->queue);
}

}  // namespace agora::log
