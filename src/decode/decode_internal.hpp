#pragma once
// What the decoder's parser (parser.hpp) makes of an input, and what its
// renderers (render_pool.hpp, decoder.cpp) read: an added input's tables
// (Decoder::Input) and the records queued for rendering (Decoder::Item).
// Internal to src/decode/.

#include "decode/decoder.hpp"
#include "decode/template_bounds.hpp"

#include "base/clock.hpp"
#include "format/constants.hpp"
#include "format/render.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace agora::log::detail {
namespace decode {

/// A clock anchor of the input (its file header or last clock entry).
using Clock = ClockAnchor;

struct DecodedSite {
    CallSite site{};
    std::vector<TypeCode> types;  // terminated by TypeCode::end
    TemplateShape shape;
    /// The template parses, has no field too wide and no argument whose
    /// bytes change its bound: a record's bound is shape.static_bound.
    bool static_only = false;
};

/// Why a record that frames and matches its site is not formatted
/// (Decoder::Item::refusal): it renders as its template with a note instead.
enum class Refusal : std::uint8_t { none, bad_template, too_wide, too_large, long_string, budget };

struct InternalEntry {
    Level level;
    std::string_view message;
    EntryRenderer::SiteInfo site;
};

struct DecodedLogger {
    std::uint32_t id = 0;  // the id the renderer sees (see Input::next_logger_id); 0: none
    std::string_view name;
};

/// Writers number sites and loggers densely from 1 (registry.hpp): ids below
/// this are looked up in a table, the others in a hash map.
inline constexpr std::uint32_t kDirectIds = 1024;

}  // namespace decode

/// One added input. The tables map the writer's ids and addresses to what
/// this decoder made of them; views point into `bytes`, which never changes
/// after add() stored it.
///
/// Threads: add() builds it on the caller's thread. While render() runs
/// workers, they only read it, snapshots included (each worker's renderers
/// keep their own rendered fields); `renderer` is the calling thread's.
struct Decoder::Input {
    using Clock = decode::Clock;
    using DecodedSite = decode::DecodedSite;
    using DecodedLogger = decode::DecodedLogger;
    using InternalEntry = decode::InternalEntry;
    static constexpr std::uint32_t kDirectIds = decode::kDirectIds;

    std::vector<std::byte> bytes;
    std::uint32_t info = 0;  // index in Decoder::infos_
    std::unique_ptr<EntryRenderer> renderer;  // created at the first record: exists if any item is of this input
    // Fixed once `renderer` exists (an identity entry after the first record is ignored).
    EntryIdentity identity;
    RenderOptions options;
    /// options.sensitive_data is DecodeOptions::sensitive_data, whatever the identity entry says.
    bool sensitive_override = false;
    bool has_identity = false;
    Clock clock;
    /// The largest message bound a record may have (message_bound_cap of options).
    std::uint64_t bound_cap = decode::message_bound_cap(RenderOptions{}.max_message_length);

    // The renderer caches per call-site id and logger id and sizes its
    // tables by them: it sees dense ids assigned here (from 1), never the
    // file's, and a redefined id gets a new one so no cache goes stale.
    std::vector<std::unique_ptr<DecodedSite>> sites;  // every site ever defined; site.id is index + 1
    std::vector<DecodedSite*> site_table;             // by the writer's id, below kDirectIds
    std::unordered_map<std::uint32_t, DecodedSite*> site_by_id;  // the writer's other ids
    std::vector<DecodedLogger> loggers;                // every logger ever defined; id is index + 1
    std::vector<DecodedLogger> logger_table;           // by the writer's id, below kDirectIds
    std::unordered_map<std::uint32_t, DecodedLogger> logger_by_id;
    std::uint32_t next_logger_id = 1;
    // Every snapshot ever defined stays alive: records resolved to an
    // address before a later snapshot entry replaced its mapping keep
    // pointing at the old one.
    std::vector<std::unique_ptr<ContextSnapshot>> snapshots;
    std::unordered_map<std::uint64_t, ContextSnapshot*> snapshot_by_address;
    // The renderer caches merged contexts by snapshot id: ids assigned here
    // are unique within the input whatever the file says.
    std::uint64_t snapshot_ids = 0;
    std::vector<RecordContext> contexts;  // of the records that have any (Item::context)
    std::vector<double> ticks;            // each clock's ns_per_tick (Item::clock)
    // Each cut to max_message_length. An address is defined once, before
    // any record shows it: a record's bound counted its frames with the
    // symbols known then, and it renders with the same ones.
    std::unordered_map<std::uint64_t, std::string> symbols;
    std::unordered_set<std::uint64_t> shown_as_address;  // frames counted with no symbol
    bool noted_late_symbol = false;
    std::deque<InternalEntry> internals;
    std::vector<std::uint8_t> noted_types;  // unknown entry types already noted
    std::vector<std::uint8_t> noted_codes;  // unknown type codes already noted

    const DecodedSite* find_site(std::uint32_t id) const {
        if (id < site_table.size()) return site_table[id];
        if (id < kDirectIds) return nullptr;
        const auto it = site_by_id.find(id);
        return it != site_by_id.end() ? it->second : nullptr;
    }
    void define_site(std::uint32_t id, DecodedSite* s) {
        if (id < kDirectIds) {
            if (id >= site_table.size()) site_table.resize(std::size_t{id} + 1);
            site_table[id] = s;
        } else {
            site_by_id.insert_or_assign(id, s);
        }
    }
    const DecodedLogger* find_logger(std::uint32_t id) const {
        if (id < logger_table.size()) return logger_table[id].id != 0 ? &logger_table[id] : nullptr;
        if (id < kDirectIds) return nullptr;
        const auto it = logger_by_id.find(id);
        return it != logger_by_id.end() ? &it->second : nullptr;
    }
    void define_logger(std::uint32_t id, DecodedLogger logger) {
        if (id < kDirectIds) {
            if (id >= logger_table.size()) logger_table.resize(std::size_t{id} + 1);
            logger_table[id] = logger;
        } else {
            logger_by_id.insert_or_assign(id, logger);
        }
    }

    EntryRenderer& get_renderer() {
        if (!renderer) renderer = make_renderer();
        return *renderer;
    }
    /// A renderer like `renderer` (which must exist), for another thread.
    std::unique_ptr<EntryRenderer> make_renderer() const {
        auto r = std::make_unique<EntryRenderer>(identity, options);
        r->symbolizer().use_table(&symbols);
        return r;
    }
};

/// A record or internal entry queued for rendering. Small (40 bytes): a
/// dump holds millions, and sorting and rendering walk them all.
struct Decoder::Item {
    std::int64_t unix_ns;
    const std::byte* record;  // its RecordHeader in the input's bytes; null for an internal entry
    std::uint32_t input;      // index in Decoder::inputs_
    std::uint32_t site;       // record: Input::sites index; internal entry: Input::internals index
    std::uint32_t logger_id;  // the renderer's logger id, with the record's context flags
    std::uint32_t context;    // Input::contexts index + 1; 0: none
    std::uint32_t clock;      // Input::ticks index: the clock the record's duration converts with
    decode::Refusal refusal;          // the parser's problem says why
    std::uint8_t args_offset; // header and context addresses (at most 40 bytes)
    std::uint8_t flags;       // kTimed, kReported

    static constexpr std::uint8_t kTimed = 1;     // a timed_record entry (8 bytes of time before the record)
    static constexpr std::uint8_t kReported = 2;  // render() already added a problem for it

    /// The offset of its entry in its input (a record's).
    std::uint64_t offset(const Input& in) const noexcept {
        return static_cast<std::uint64_t>(record - in.bytes.data()) - sizeof(EntryHeader) - ((flags & kTimed) ? 8 : 0);
    }
};
static_assert(sizeof(Decoder::Item) == 40);

}  // namespace agora::log::detail
