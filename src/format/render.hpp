#pragma once
// Turns records into JSON entries (one line each). Caches the parts of an
// entry that never change per config, per logger, per call site and per
// context snapshot pair, so a plain record costs one message format, one
// timestamp and a few appends. Backend thread (or a tool's thread) only.

#include "format/context_snapshot.hpp"
#include "format/exception_render.hpp"
#include "format/format.hpp"
#include "format/call_site.hpp"
#include "format/redaction.hpp"

#include <agora/log/config.hpp>
#include <agora/log/handlers/handler.hpp>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace agora::log::detail {

/// Static fields of every entry: service, environment, version, host.
struct EntryIdentity {
    std::string service;
    std::string environment;
    std::string version;
    std::string host;
};

/// Per-backend rendering settings.
struct RenderOptions {
    std::size_t max_message_length = kDefaultMaxMessageLength;
    Context default_context;
    /// Applied while rendering: fields by key, messages and string values by
    /// pattern (format/redaction.hpp). The patterns are expected to compile
    /// (Config::validate()); one that does not is left out (redactor().errors()).
    SensitiveDataConfig sensitive_data;
    /// Per level (debug .. critical): the sample_rate written into the
    /// context of a record kept by sampling (kSampledFlag).
    std::array<double, 5> sample_rates{1.0, 1.0, 1.0, 1.0, 1.0};
};

/// SamplingConfig::rates as RenderOptions::sample_rates.
std::array<double, 5> sample_rates_of(const SamplingConfig& sampling) noexcept;

/// What an identity entry carries after the sensitive-data rules
/// (docs/binary-format.md): u8 count, then that many f64 sample rates, debug first.
std::string encode_sample_rates(const SamplingConfig& sampling);

/// The rules of the identity entry's trailing section:
/// encode_sensitive_data(), then encode_sample_rates().
std::string encode_identity_rules(const Config& config);

/// A record's context snapshots (null if it has none).
struct RecordContext {
    const ContextSnapshot* bound = nullptr;
    const ContextSnapshot* scope = nullptr;
};

class EntryRenderer {
public:
    explicit EntryRenderer(const EntryIdentity& identity, const RenderOptions& options = {});
    ~EntryRenderer();
    EntryRenderer(const EntryRenderer&) = delete;
    EntryRenderer& operator=(const EntryRenderer&) = delete;

    /// Site-derived text, computed once per call site.
    struct SiteInfo {
        std::string_view file;      // base name
        std::string_view function;  // cleaned
        std::uint32_t line = 0;
        std::string json_tail;      // ,"file":..,"line":..,"function":..
    };
    const SiteInfo& site_info(const CallSite& site);
    /// The same for any source location (the logger's own entries). `file`
    /// and `function` must outlive the SiteInfo (it keeps views of them).
    static SiteInfo make_site_info(std::string_view file, std::uint32_t line, std::string_view function);
    const std::string& logger_json(std::uint32_t logger_id, std::string_view name);

    /// Renders an entry whose message is already formatted, with the default
    /// context only. Fills `view` (its views point into this renderer's
    /// buffers, valid until the next render).
    void render(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                std::uint32_t logger_id, std::string_view logger_name, LogRecordView& view);

    /// Formats a record read from a ring or a file: message, fields, entry.
    /// `args` are the bytes after the header and context addresses;
    /// `ns_per_tick` converts a Timer's duration. Returns false if the bytes
    /// did not match the call site (the entry says so).
    bool render_record(const RecordHeader& header, const std::byte* args, std::size_t args_size,
                       const CallSite& site, std::string_view logger_name, std::int64_t unix_ns,
                       LogRecordView& view, RecordContext context = {}, double ns_per_tick = 1.0);

    /// Where exception stack frames get their text (a decoder sets table mode).
    StackSymbolizer& symbolizer() noexcept { return symbols_; }
    /// This renderer's redaction rules and per-key decision cache.
    const Redactor& redactor() const noexcept { return redactor_; }

private:
    /// Named placeholders whose key is redacted or masked show the replaced
    /// value in the message too: the message is formatted again, those
    /// arguments as strings (named_plan()). Before the patterns run.
    void redact_named_in_message(const CallSite& site);
    /// Per call site: whether a named placeholder is redacted or masked, and
    /// the positional template with those placeholders' format specs
    /// removed (a string takes no numeric spec). `usable` is false if the
    /// template could not be rewritten (a nested replacement field): the
    /// message is then the template as written, without any value.
    struct NamedPlan {
        bool known = false;
        bool affected = false;
        bool usable = true;
        std::string format;
    };
    const NamedPlan& named_plan(const CallSite& site);
    /// Fields of the call itself (named placeholders, a Context argument).
    void collect_call_fields(const CallSite& site);
    void append_sample_rate(Level level);
    /// A snapshot's fields rendered with this renderer's limit, from
    /// snapshot_fields_ (rendered on first use). The reference stays valid
    /// until snapshot_fields_ is cleared (merged_context only).
    const std::vector<RenderedField>& fields_of(const ContextSnapshot* snapshot);
    /// scope > bound > default, merged once per (scope, bound) pair.
    const std::vector<const RenderedField*>& merged_context(RecordContext context);
    /// Appends top-level fields, duration, context and exception to json_
    /// (each preceded by a comma).
    void append_fields(const std::vector<const RenderedField*>& inherited, double duration_ms, bool has_duration);
    void finish_entry(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                      std::string_view logger_name, LogRecordView& view);
    void begin_entry(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                     std::uint32_t logger_id, std::string_view logger_name);

    RenderOptions options_;
    Redactor redactor_;  // of options_.sensitive_data
    std::vector<NamedPlan> named_plans_;          // by call-site id
    std::vector<PlainTemplate> plain_templates_;  // by call-site id
    std::vector<std::string> named_replacements_;  // scratch: one per argument
    std::string identity_json_;  // ,"service":..,"environment":..,"version":..,"host":..
    std::vector<SiteInfo> sites_;                 // by call-site id
    std::vector<std::string> logger_json_;        // by logger id: ,"logger_name":".."
    std::string json_;
    std::size_t extra_start_ = 0;  // where the fields after "function" start in json_
    std::string message_;
    std::string timestamp_;
    std::int64_t cached_second_ = -1;  // timestamp_ prefix is valid for this second
    ArgStore store_;
    RecordExtras extras_;
    StackSymbolizer symbols_;

    std::unique_ptr<ContextSnapshot> default_context_;  // Config::default_context
    std::vector<RenderedField> default_fields_;         // default_context_ rendered, for this renderer's life
    /// Snapshots' rendered fields by ContextSnapshot::id (unique in the
    /// process, and within a decoder's input: an id never names two
    /// snapshots for one renderer). Node-based: a reference to a vector stays
    /// valid across insertions, so merged_.fields may point into it; cleared
    /// whole, together with merged_, once it holds kMaxCachedSnapshots (the
    /// live backend's retired snapshots are never looked up again).
    std::unordered_map<std::uint64_t, std::vector<RenderedField>> snapshot_fields_;
    static constexpr std::size_t kMaxCachedSnapshots = 4096;
    std::vector<RenderedField> call_fields_;  // reused; the first call_field_count_ are this record's
    std::size_t call_field_count_ = 0;
    std::vector<const RenderedField*> call_ptrs_;
    std::vector<std::string_view> call_keys_;  // sorted, when needed for collisions
    struct MergedCache {
        std::uint64_t scope_id = ~std::uint64_t{0};
        std::uint64_t bound_id = ~std::uint64_t{0};
        std::vector<const RenderedField*> fields;  // sorted by key, unique; into snapshot_fields_ and default_fields_
    } merged_;
    std::vector<const RenderedField*> default_only_;
};

}  // namespace agora::log::detail
