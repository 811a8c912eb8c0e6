// Rendering of context fields (the backend's and the decoder's), the
// snapshot type's bookkeeping, and is_uuid().

#include "format/context_snapshot.hpp"
#include "format/format.hpp"
#include "format/redaction.hpp"

#include <agora/log/context.hpp>

#include <fmt/format.h>

#include <atomic>

namespace agora::log {

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

// ---- rendering ------------------------------------------------------------

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

void append_value_text(std::string& out, const RawValue& v) { append_raw_value_text(out, v); }
}  // namespace

void render_raw_field(RenderedField& out, std::string_view key, const RawValue& in, std::size_t limit,
                      Redactor* redactor) {
    thread_local std::string redacted;  // scratch, reused: holds the replaced value's text
    RawValue replaced;
    const RawValue& value = (redactor != nullptr && redactor->apply(key, in, replaced, redacted)) ? replaced : in;
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

void render_field(RenderedField& out, std::string_view key, const ContextValue& value, std::size_t limit,
                  Redactor* redactor) {
    RawValue raw;
    switch (value.index()) {
        case 0: raw.s = std::get<0>(value); break;
        case 1: raw.kind = RawValue::Kind::integer; raw.i = std::get<1>(value); break;
        case 2: raw.kind = RawValue::Kind::floating; raw.d = std::get<2>(value); break;
        default: raw.kind = RawValue::Kind::boolean; raw.b = std::get<3>(value); break;
    }
    render_raw_field(out, key, raw, limit, redactor);
}

namespace {
std::atomic<std::size_t> g_live_snapshots{0};
}  // namespace

// release/acquire: a thread that sees a snapshot's destruction in the count
// also sees what its destroyer did before (the records the backend wrote).
ContextSnapshot::ContextSnapshot() noexcept { g_live_snapshots.fetch_add(1, std::memory_order_relaxed); }
ContextSnapshot::~ContextSnapshot() { g_live_snapshots.fetch_sub(1, std::memory_order_release); }

std::size_t live_context_snapshots() noexcept { return g_live_snapshots.load(std::memory_order_acquire); }

}  // namespace detail

}  // namespace agora::log
