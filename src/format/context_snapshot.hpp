#pragma once
// Immutable context: what a with_context() logger or a
// ScopedContext refers to from its records.
//
// Lifetime. A snapshot is created with one reference (its Logger or
// ScopedContext); Logger copies add references. Records carry its address,
// not a reference: when the last reference goes, release() hands the
// snapshot to the backend (Registry::retired), which frees it only after it
// has consumed every record committed before the hand-over (the queue marks
// in Backend::collect_retired). Every record that refers to the snapshot
// was committed before its last reference was dropped (program order on the
// writing thread, then the reference count's release/acquire), so none can
// be read after the free.
//
// Threads. `values` and `id` are written once, before the snapshot is
// published; any thread may read them (the crash dump does, from a signal
// handler: iterating the map allocates nothing). After that a snapshot is
// never written (but for `refs`): each renderer keeps the snapshot's
// rendered fields in a cache of its own, keyed by `id` (EntryRenderer), so
// renderers on several threads (the decoder's workers) may read one
// snapshot at once.

#include "format/record_codec.hpp"

#include <agora/log/context.hpp>
#include <agora/log/detail/record.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log::detail {

class Redactor;

/// One field, rendered by the backend: `json` is "key":value, ready to append.
struct RenderedField {
    std::string key;
    std::string json;
    /// Index in kTopLevelKeys when written as a top-level entry field, else -1
    /// (a member of the entry's "context" object).
    int slot = -1;
};

/// The keys written as top-level fields of an entry (the schema's), in output order.
inline constexpr std::string_view kTopLevelKeys[] = {"correlation_id", "user_id", "trace_id", "span_id"};
inline constexpr int kTopLevelKeyCount = 4;

struct ContextSnapshot {
    // Counted (live_context_snapshots()); not copyable.
    ContextSnapshot() noexcept;
    ~ContextSnapshot();
    ContextSnapshot(const ContextSnapshot&) = delete;
    ContextSnapshot& operator=(const ContextSnapshot&) = delete;

    /// Owners: Logger copies or one ScopedContext. Calling threads only.
    std::atomic<std::uint32_t> refs{1};
    /// Unique for the life of the process (addresses are reused; ids are not).
    std::uint64_t id = 0;
    /// Every field, this snapshot's merged over the one it extends.
    /// Immutable after make_snapshot(). Renderers render it on first use
    /// (EntryRenderer::fields_of), so binding a context costs the caller
    /// only the map copy.
    Context values;
};

/// Snapshots constructed and not yet destroyed, in the whole process (a test
/// hook: after shutdown() every retired snapshot must have been freed). A
/// caller that sees a destruction counted also sees everything the
/// destroying thread did before it.
std::size_t live_context_snapshots() noexcept;

/// A new snapshot with `fields` over `base`'s values (base may be null).
/// Throws std::bad_alloc.
ContextSnapshot* make_snapshot(const Context& fields, const ContextSnapshot* base);

/// Renders one field as RenderedField: slot, key and value JSON. A
/// correlation_id that is not a UUID stays in the context object; the other
/// top-level keys take any value, written as a string.
/// With a redactor, the value is first redacted or masked as its key says,
/// or its string passed through the redaction patterns (format/redaction.hpp).
void render_raw_field(RenderedField& out, std::string_view key, const RawValue& value, std::size_t max_value_length,
                      Redactor* redactor = nullptr);
void render_field(RenderedField& out, std::string_view key, const ContextValue& value, std::size_t max_value_length,
                  Redactor* redactor = nullptr);

}  // namespace agora::log::detail
