// Context: builder, UUIDs, snapshots (with_context, ScopedContext) and the
// encoding of a Context passed to a log call.

#include "context_snapshot.hpp"
#include "blob_encoding.hpp"
#include "format.hpp"
#include "registry.hpp"

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

bool is_uuid(std::string_view s) noexcept {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < 36; ++i) {
        const char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

namespace detail {

// ---- snapshots ------------------------------------------------------------

namespace {
void append_value_json(std::string& out, const RawValue& v, std::size_t limit) {
    switch (v.kind) {
        case RawValue::Kind::string: append_json_string_limited(out, v.s, limit); break;
        case RawValue::Kind::integer: fmt::format_to(std::back_inserter(out), "{}", v.i); break;
        case RawValue::Kind::unsigned_integer: fmt::format_to(std::back_inserter(out), "{}", v.u); break;
        case RawValue::Kind::floating: append_json_double(out, v.d); break;
        case RawValue::Kind::boolean: out.append(v.b ? "true" : "false"); break;
    }
}

void append_value_text(std::string& out, const RawValue& v) {
    switch (v.kind) {
        case RawValue::Kind::string: out.append(v.s); break;
        case RawValue::Kind::integer: fmt::format_to(std::back_inserter(out), "{}", v.i); break;
        case RawValue::Kind::unsigned_integer: fmt::format_to(std::back_inserter(out), "{}", v.u); break;
        case RawValue::Kind::floating: fmt::format_to(std::back_inserter(out), "{}", v.d); break;
        case RawValue::Kind::boolean: out.append(v.b ? "true" : "false"); break;
    }
}
}  // namespace

void render_raw_field(RenderedField& out, std::string_view key, const RawValue& value, std::size_t limit) {
    out.key.assign(key);
    out.slot = -1;
    for (int i = 0; i < kTopLevelKeyCount; ++i)
        if (key == kTopLevelKeys[i]) out.slot = i;
    out.json.clear();
    append_json_string_limited(out.json, key, limit);
    out.json.push_back(':');
    if (out.slot >= 0) {
        thread_local std::string text;  // scratch, reused
        text.clear();
        append_value_text(text, value);
        if (out.slot == 0 && !is_uuid(text)) out.slot = -1;  // the schema wants a UUID there
        if (out.slot >= 0) {
            append_json_string_limited(out.json, text, limit);
            return;
        }
    }
    append_value_json(out.json, value, limit);
}

void render_field(RenderedField& out, std::string_view key, const ContextValue& value, std::size_t limit) {
    RawValue raw;
    switch (value.index()) {
        case 0: raw.s = std::get<0>(value); break;
        case 1: raw.kind = RawValue::Kind::integer; raw.i = std::get<1>(value); break;
        case 2: raw.kind = RawValue::Kind::floating; raw.d = std::get<2>(value); break;
        default: raw.kind = RawValue::Kind::boolean; raw.b = std::get<3>(value); break;
    }
    render_raw_field(out, key, raw, limit);
}

namespace {
std::atomic<std::size_t> g_live_snapshots{0};
}  // namespace

// release/acquire: a thread that sees a snapshot's destruction in the count
// also sees what its destroyer did before (the records the backend wrote).
ContextSnapshot::ContextSnapshot() noexcept { g_live_snapshots.fetch_add(1, std::memory_order_relaxed); }
ContextSnapshot::~ContextSnapshot() { g_live_snapshots.fetch_sub(1, std::memory_order_release); }

std::size_t live_context_snapshots() noexcept { return g_live_snapshots.load(std::memory_order_acquire); }

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
std::size_t value_size(const ContextValue& v) noexcept {
    switch (v.index()) {
        case 0: return 4 + as_string_view(std::get<0>(v)).size();
        case 1:
        case 2: return 8;
        default: return 1;
    }
}
}  // namespace

std::size_t encoded_size(const ContextArg& c) noexcept {
    std::size_t n = 4 + 4;  // blob length, field count
    for (const auto& [key, value] : *c.fields) n += 4 + as_string_view(key).size() + 1 + value_size(value);
    return n;
}

std::byte* encode(std::byte* out, const ContextArg& c) noexcept {
    out = put_u32(out, static_cast<std::uint32_t>(encoded_size(c) - 4));
    out = put_u32(out, static_cast<std::uint32_t>(c.fields->size()));
    for (const auto& [key, value] : *c.fields) {
        out = put_string(out, as_string_view(key));
        const auto tag = static_cast<std::uint8_t>(value.index());  // ContextTag order = variant order
        std::memcpy(out, &tag, 1);
        out += 1;
        switch (value.index()) {
            case 0: out = put_string(out, as_string_view(std::get<0>(value))); break;
            case 1: std::memcpy(out, &std::get<1>(value), 8); out += 8; break;
            case 2: std::memcpy(out, &std::get<2>(value), 8); out += 8; break;
            default: {
                const std::uint8_t b = std::get<3>(value) ? 1 : 0;
                std::memcpy(out, &b, 1);
                out += 1;
            }
        }
    }
    return out;
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
