#include "decode/parser.hpp"

#include "format/record_codec.hpp"
#include "format/redaction.hpp"

#include <agora/log/detail/frontend.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace agora::log::detail {

#ifdef AGORA_FUZZING
bool g_fuzz_ignore_checksums = false;
#endif

namespace decode {

namespace {

bool checksum_matches(const EntryHeader& h, const std::byte* payload) noexcept {
#ifdef AGORA_FUZZING
    if (g_fuzz_ignore_checksums) return true;
#endif
    return entry_checksum(h.type, payload, h.size) == h.checksum;
}

bool known_entry_type(EntryType t) noexcept { return t >= EntryType::identity && t <= EntryType::crash; }

bool valid_level(std::uint8_t v) noexcept {
    switch (static_cast<Level>(v)) {
        case Level::debug:
        case Level::info:
        case Level::warning:
        case Level::error:
        case Level::critical: return true;
    }
    return false;
}

/// Reads a context blob (record.hpp) into a Context; false if it is damaged.
bool read_context(BlobReader& r, Context& out) {
    ContextBlobReader reader(r);
    std::string_view key;
    RawValue v;
    while (reader.next(key, v)) {
        ContextValue value;
        switch (v.kind) {
            case RawValue::Kind::integer: value = ContextValue(v.i); break;
            case RawValue::Kind::floating: value = ContextValue(v.d); break;
            case RawValue::Kind::boolean: value = ContextValue(v.b); break;
            default: value = ContextValue(v.s); break;
        }
        out.insert_or_assign(std::string(key), std::move(value));
    }
    r = reader.in;
    return r.ok;
}

/// The fields of a context blob that read back before any damage (the
/// renderer shows those and stops), and how many it claims.
struct ContextBlobCheck {
    std::uint32_t claimed = 0;
    std::uint32_t intact = 0;
    bool ok = false;
};
ContextBlobCheck check_context_blob(const std::byte* p, std::size_t n) noexcept {
    ContextBlobReader reader(p, n);
    ContextBlobCheck c;
    c.claimed = reader.remaining;
    std::string_view key;
    RawValue v;
    while (reader.next(key, v)) ++c.intact;
    c.ok = reader.in.ok;
    return c;
}
bool valid_ns_per_tick(double v) noexcept { return std::isfinite(v) && v > 0 && v < 1e12; }


}  // namespace

/// What can be checked without reading the payload: a resynchronisation
/// candidate that fails here costs nothing. Unknown entry types (a newer
/// writer's) are not candidates: after damage they are skipped with it.
bool Parser::plausible_header(std::size_t pos, EntryHeader& h) const noexcept {
    if (size_ - pos < sizeof h) return false;
    std::memcpy(&h, data_ + pos, sizeof h);
    return h.sync == kEntrySync && known_entry_type(h.type) && h.reserved[0] == std::uint8_t{0} &&
           h.reserved[1] == std::uint8_t{0} && h.reserved[2] == std::uint8_t{0} && h.size <= kMaxEntrySize &&
           h.size <= size_ - pos - sizeof h;
}

/// The checksum test, charging a failure to the resynchronisation budget
/// (an entry that checks out is read once more, then consumed: linear).
bool Parser::payload_checks_out(const EntryHeader& h, std::size_t pos) noexcept {
    if (checksum_matches(h, data_ + pos + sizeof h)) return true;
    resync_spent_ = add_sat(resync_spent_, h.size);
    return false;
}

/// The next offset at or after `from` whose entry checks out; size_ if none.
/// Sets gave_up_ and returns the offset it reached when the budget is spent.
std::size_t Parser::resync(std::size_t from) noexcept {
    constexpr auto kFirst = static_cast<unsigned char>(kEntrySync & 0xff);
    std::size_t pos = from;
    while (size_ - pos >= sizeof(EntryHeader)) {
        const void* hit = std::memchr(data_ + pos, kFirst, size_ - pos - sizeof(EntryHeader) + 1);
        if (hit == nullptr) break;
        pos = static_cast<std::size_t>(static_cast<const std::byte*>(hit) - data_);
        EntryHeader h;
        if (plausible_header(pos, h)) {
            if (resync_spent_ > resync_budget_) {
                gave_up_ = true;
                return pos;
            }
            if (payload_checks_out(h, pos)) {
                verified_ = pos;
                return pos;
            }
        }
        ++pos;
    }
    return size_;
}

bool Parser::read_file_header() {
    if (size_ == 0) {
        info_.problems.push_back(fmt::format("{}: empty file", info_.name));
        return false;
    }
    if (size_ < sizeof kFileMagic || std::memcmp(data_, kFileMagic, sizeof kFileMagic) != 0) {
        std::size_t first = 0;
        while (first < size_ && std::isspace(static_cast<unsigned char>(data_[first]))) ++first;
        const char c = first < size_ ? static_cast<char>(data_[first]) : ' ';
        if (c == '{' || c == '[')
            info_.problems.push_back(
                fmt::format("{}: not an agora-log binary file (it starts with '{}', a JSON log?)", info_.name, c));
        else
            info_.problems.push_back(fmt::format("{}: not an agora-log binary file (no AGORALOG magic)", info_.name));
        return false;
    }
    if (size_ < sizeof(FileHeader)) {
        problem(0, fmt::format("truncated file header ({} of {} bytes)", size_, sizeof(FileHeader)), size_);
        return false;
    }
    FileHeader& h = info_.header;
    std::memcpy(&h, data_, sizeof h);
    if (h.byte_order != kLittleEndian) {
        problem(8, fmt::format("unsupported byte order {}", h.byte_order), size_);
        return false;
    }
    if (h.format_version != kFormatVersion) {
        problem(8, fmt::format("unsupported format version {} (this decoder reads version {})", h.format_version,
                               kFormatVersion), size_);
        return false;
    }
    if (h.header_size < sizeof(FileHeader) || h.header_size > size_) {
        problem(10, fmt::format("file header size {} is impossible", h.header_size), size_);
        return false;
    }
    info_.header_ok = true;
    info_.pid = h.pid;
    info_.kind = h.kind;
    if (valid_ns_per_tick(h.ns_per_tick)) {
        in_.clock = Clock{h.tsc, h.ns_per_tick, h.unix_ns};
    } else {
        problem(32, fmt::format("file header clock anchor has ns_per_tick {}; record times are not meaningful",
                                h.ns_per_tick));
        in_.clock = Clock{h.tsc, 1.0, h.unix_ns};
    }
    in_.ticks.push_back(in_.clock.ns_per_tick);
    info_.anchor_tsc = in_.clock.tsc;
    info_.ns_per_tick = in_.clock.ns_per_tick;
    info_.anchor_unix_ns = in_.clock.unix_ns;
    return true;
}

void Parser::run() {
    if (!read_file_header()) return;
    std::size_t& pos = pos_;
    pos = info_.header.header_size;
    while (pos < size_) {
        if (size_ - pos < sizeof(EntryHeader)) {
            problem(pos, fmt::format("truncated entry header ({} bytes)", size_ - pos), size_ - pos);
            break;
        }
        EntryHeader h;
        std::memcpy(&h, data_ + pos, sizeof h);
        std::string what;
        if (h.sync != kEntrySync) {
            what = fmt::format("bad sync word 0x{:08x}", h.sync);
        } else if (h.size > kMaxEntrySize) {
            what = fmt::format("entry size {} is above the maximum {}", h.size, kMaxEntrySize);
        } else if (h.size > size_ - pos - sizeof h) {
            what = fmt::format("entry of {} bytes runs past the end of the input ({} bytes left; truncated?)", h.size,
                               size_ - pos - sizeof h);
        } else if (pos != verified_ && !payload_checks_out(h, pos)) {
            what = fmt::format("checksum mismatch in an entry of type {} and {} bytes", static_cast<unsigned>(h.type),
                               h.size);
        }
        if (!what.empty()) {
            const std::size_t next = resync(pos + 1);
            problem(pos, what, next - pos);
            pos = next;
            if (gave_up_) {
                problem(pos, fmt::format("gave up resynchronising: candidate entries that did not check out cost "
                                         "{} bytes of checksums, more than the {} allowed for this input; the last "
                                         "{} bytes are not decoded",
                                         resync_spent_, resync_budget_, size_ - pos));
                pos = size_;
            }
            continue;
        }
        ++info_.entries;
        entry(h, pos);
        pos += sizeof h + h.size;
    }
    finish();
}

/// What the input as a whole lacks.
void Parser::finish() {
    if (budget_refusals_ != 0)
        problem(size_, fmt::format("{} more records were not formatted: the decoder's formatting budget was spent",
                                   budget_refusals_));
    if (!in_.has_identity)
        problem(info_.header.header_size,
                "no identity entry (every writer starts with one): service, environment, version, host, "
                "max_message_length and the default context are unknown; records render with defaults");
    // The crash entry is a dump's last: without it the dump was cut short.
    const bool dump = info_.kind == FileKind::crash_dump || info_.kind == FileKind::on_demand_dump;
    if (dump && !info_.crash)
        problem(size_, "dump ends before its crash entry (the writer's last): it was cut short, and records it "
                       "had not written yet are lost");
}

void Parser::entry(const EntryHeader& h, std::size_t pos) {
    const std::byte* p = data_ + pos + sizeof h;
    const BlobReader r{p, p + h.size};
    switch (h.type) {
        case EntryType::identity: identity(r, pos, h.size); return;
        case EntryType::clock: {
            BlobReader c = r;
            Clock clock{c.get<std::uint64_t>(), c.get<double>(), c.get<std::int64_t>()};
            if (!c.ok) return problem(pos, "clock entry too short", sizeof h + h.size);
            if (!valid_ns_per_tick(clock.ns_per_tick))
                return problem(pos, fmt::format("clock entry with ns_per_tick {}", clock.ns_per_tick), sizeof h + h.size);
            if (clock.ns_per_tick != in_.clock.ns_per_tick) in_.ticks.push_back(clock.ns_per_tick);
            in_.clock = clock;
            info_.anchor_tsc = clock.tsc;
            info_.ns_per_tick = clock.ns_per_tick;
            info_.anchor_unix_ns = clock.unix_ns;
            return;
        }
        case EntryType::logger: {
            BlobReader c = r;
            const auto id = c.get<std::uint32_t>();
            const std::string_view name = c.string();
            if (!c.ok) return problem(pos, "logger entry too short", sizeof h + h.size);
            const DecodedLogger logger{in_.next_logger_id, name};
            in_.loggers.push_back(logger);
            in_.define_logger(id, logger);
            ++in_.next_logger_id;
            return;
        }
        case EntryType::site: site(r, pos, h.size); return;
        case EntryType::snapshot: {
            BlobReader c = r;
            const auto address = c.get<std::uint64_t>();
            c.get<std::uint64_t>();  // the writer's id: the renderer sees this input's own (Input::snapshot_ids)
            auto snapshot = std::make_unique<ContextSnapshot>();
            if (!read_context(c, snapshot->values)) return problem(pos, "snapshot entry is malformed", sizeof h + h.size);
            snapshot->id = ++in_.snapshot_ids;
            in_.snapshot_by_address.insert_or_assign(address, snapshot.get());
            in_.snapshots.push_back(std::move(snapshot));
            return;
        }
        case EntryType::symbol: {
            BlobReader c = r;
            const auto address = c.get<std::uint64_t>();
            const std::string_view text = c.string();
            if (!c.ok) return problem(pos, "symbol entry too short", sizeof h + h.size);
            // A trace repeats symbols (every record of an exception, every
            // frame): each is cut like a field so a trace stays bounded.
            std::string cut(cut_utf8(text, in_.options.max_message_length));
            if (cut.size() < text.size()) cut += kTruncatedMarker;
            if (in_.shown_as_address.contains(address)) {
                // A writer that had no memory for a symbol's text writes it
                // at a later use: not damage, but the address stays.
                if (!in_.noted_late_symbol)
                    info_.notes.push_back(fmt::format("{}: offset {}: a symbol entry for 0x{:x} after records that "
                                                      "show its address; such entries are ignored",
                                                      info_.name, pos, address));
                in_.noted_late_symbol = true;
                return;
            }
            if (const auto known = in_.symbols.find(address); known != in_.symbols.end()) {
                if (known->second != cut)  // a writer repeats a symbol only as it was
                    problem(pos, fmt::format("symbol entry for 0x{:x} differs from an earlier one; the earlier one "
                                             "applies", address));
                return;
            }
            in_.symbols.emplace(address, std::move(cut));
            return;
        }
        case EntryType::thread:
            if (h.size < kThreadPayloadSize) return problem(pos, "thread entry too short", sizeof h + h.size);
            ++info_.threads;
            return;
        case EntryType::record: record(p, h.size, pos, nullptr); return;
        case EntryType::timed_record: {
            if (h.size < 8) return problem(pos, "timed record entry too short", sizeof h + h.size);
            std::int64_t unix_ns;
            std::memcpy(&unix_ns, p, 8);
            record(p + 8, h.size - 8, pos, &unix_ns);
            return;
        }
        case EntryType::internal: internal(r, pos, h.size); return;
        case EntryType::crash: {
            BlobReader c = r;
            InputInfo::Crash crash;
            crash.signal = c.get<std::int32_t>();
            crash.thread = c.get<std::uint64_t>();
            crash.flags = c.get<std::uint32_t>();
            crash.records = c.get<std::uint64_t>();
            if (!c.ok) return problem(pos, "crash entry too short", sizeof h + h.size);
            info_.crash = crash;
            return;
        }
    }
    const auto type = static_cast<std::uint8_t>(h.type);
    if (std::find(in_.noted_types.begin(), in_.noted_types.end(), type) == in_.noted_types.end()) {
        in_.noted_types.push_back(type);
        info_.notes.push_back(fmt::format("{}: offset {}: entry type {} is unknown to this decoder (a newer writer?); "
                                          "entries of this type are skipped",
                                          info_.name, pos, type));
    }
}

void Parser::identity(BlobReader r, std::size_t pos, std::uint32_t size) {
    const std::string_view service = r.string(), environment = r.string(), version = r.string(), host = r.string();
    const auto max_message_length = r.get<std::uint32_t>();
    Context default_context;
    if (!read_context(r, default_context))
        return problem(pos, "identity entry is malformed", sizeof(EntryHeader) + size);
    // The writer's sensitive-data rules follow (writers since redaction);
    // without them the defaults apply (Config{}.sensitive_data).
    std::optional<SensitiveDataConfig> sensitive_data;
    if (r.p != r.end) {
        SensitiveDataConfig s;
        if (!decode_sensitive_data(r, s))
            return problem(pos, "identity entry is malformed (sensitive data rules)", sizeof(EntryHeader) + size);
        sensitive_data = std::move(s);
    }
    // Then the sample rates (writers since sampling): the sample_rate of a
    // record kept by sampling. Without them such a record shows 1.
    std::array<double, 5> sample_rates{1.0, 1.0, 1.0, 1.0, 1.0};
    if (r.p != r.end) {
        const auto n = r.get<std::uint8_t>();
        for (std::size_t i = 0; r.ok && i < n; ++i) {
            const auto rate = r.get<double>();
            if (r.ok && i < sample_rates.size()) sample_rates[i] = (rate >= 0.0 && rate <= 1.0) ? rate : 1.0;
        }
        if (!r.ok) return problem(pos, "identity entry is malformed (sample rates)", sizeof(EntryHeader) + size);
    }
    if (in_.has_identity) {
        info_.notes.push_back(fmt::format("{}: offset {}: a second identity entry; the first one applies", info_.name, pos));
        return;
    }
    in_.has_identity = true;
    info_.service = service;
    info_.environment = environment;
    info_.version = version;
    info_.host = host;
    // Records before it were bounded, and render, with the defaults.
    if (in_.renderer) return problem(pos, "identity entry after the first record; this input renders without it");
    in_.identity = EntryIdentity{info_.service, info_.environment, info_.version, info_.host};
    // The range Config::validate() accepts; outside it the writer is damaged.
    if (max_message_length >= 64 && max_message_length <= (1u << 24)) {
        in_.options.max_message_length = max_message_length;
        in_.bound_cap = message_bound_cap(max_message_length);
    } else {
        problem(pos, fmt::format("identity entry has max_message_length {}; using {}", max_message_length,
                                 in_.options.max_message_length));
    }
    in_.options.default_context = std::move(default_context);
    in_.options.sample_rates = sample_rates;
    if (sensitive_data && !in_.sensitive_override) in_.options.sensitive_data = std::move(*sensitive_data);
    // Config::validate() refuses a pattern that does not compile: one here
    // comes from a damaged or foreign writer. It is left out, and said.
    Redactor check(in_.options.sensitive_data);
    for (const auto& error : check.errors())
        problem(pos, fmt::format("identity entry has a redaction pattern that does not compile, left out: {}", error));
}

void Parser::site(BlobReader r, std::size_t pos, std::uint32_t size) {
    const std::uint64_t skipped = sizeof(EntryHeader) + size;
    auto s = std::make_unique<DecodedSite>();
    const auto id = r.get<std::uint32_t>();
    const auto level = r.get<std::uint8_t>();
    const auto line = r.get<std::uint32_t>();
    const std::string_view format = r.string(), file = r.string(), function = r.string();
    const auto ntypes = r.get<std::uint32_t>();
    if (!r.ok || static_cast<std::size_t>(r.end - r.p) < ntypes) return problem(pos, "site entry is malformed", skipped);
    s->types.resize(std::size_t{ntypes} + 1);
    std::memcpy(s->types.data(), r.p, ntypes);
    s->types[ntypes] = TypeCode::end;
    r.p += ntypes;
    const auto nnames = r.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < nnames && r.ok; ++i) r.string();  // describe_template derives them again
    if (!r.ok) return problem(pos, "site entry is malformed", skipped);
    if (!valid_level(level)) return problem(pos, fmt::format("site {} has level {}", id, level), skipped);
    for (TypeCode c : s->types) {
        if (c <= TypeCode::exception) continue;
        const auto code = static_cast<std::uint8_t>(c);
        if (std::find(in_.noted_codes.begin(), in_.noted_codes.end(), code) == in_.noted_codes.end()) {
            in_.noted_codes.push_back(code);
            info_.notes.push_back(fmt::format("{}: offset {}: argument type code {} is unknown to this decoder "
                                              "(a newer writer?); records using it show as damaged",
                                              info_.name, pos, code));
        }
    }
    s->site.id = static_cast<std::uint32_t>(in_.sites.size() + 1);
    s->site.level = static_cast<Level>(level);
    s->site.format = format;
    s->site.file = file;
    s->site.function = function;
    s->site.line = line;
    s->site.types = s->types.data();
    describe_template(s->site);
    s->shape = scan_template(s->site.fmt_template(), s->types.data());
    s->static_only = s->shape.parses && !s->shape.too_wide && !s->shape.per_record;
    in_.sites.push_back(std::move(s));
    in_.define_site(id, in_.sites.back().get());
}

void Parser::record(const std::byte* p, std::size_t n, std::size_t pos, const std::int64_t* timed) {
    const std::uint64_t skipped = sizeof(EntryHeader) + n + (timed != nullptr ? 8 : 0);
    RecordHeader h;
    if (n < sizeof h) return problem(pos, fmt::format("record of {} bytes is shorter than a record header", n), skipped);
    std::memcpy(&h, p, sizeof h);
    if (h.site_id == kPaddingSiteId) return;  // ring padding: nothing to render
    if (h.size < sizeof h || h.size > n)
        return problem(pos, fmt::format("record size {} does not fit its entry ({} bytes)", h.size, n), skipped);
    const DecodedSite* site = in_.find_site(h.site_id);
    if (site == nullptr) return problem(pos, fmt::format("record refers to unknown call site {}", h.site_id), skipped);
    const DecodedLogger* logger = in_.find_logger(h.logger_id & kLoggerIdMask);
    if (logger == nullptr)
        return problem(pos, fmt::format("record refers to unknown logger {}", h.logger_id & kLoggerIdMask), skipped);

    Decoder::Item item{};
    std::uint32_t offset = sizeof h;
    if ((h.logger_id & (kBoundContextFlag | kScopedContextFlag)) != 0) {
        RecordView view;
        RecordContext context;
        if (!RecordView::read(p, h.size, view)) {
            offset = h.size;  // rendered without arguments: the renderer says they are damaged
            problem(pos, "record too short for its context addresses");
        } else {
            offset = view.args_offset(p);
            auto snapshot = [&](std::uint64_t address) -> const ContextSnapshot* {
                if (address == 0) return nullptr;
                const auto it = in_.snapshot_by_address.find(address);
                if (it != in_.snapshot_by_address.end()) return it->second;
                problem(pos, fmt::format("record refers to unknown context snapshot 0x{:x}; rendered without it", address));
                return nullptr;
            };
            if (h.logger_id & kBoundContextFlag) context.bound = snapshot(view.bound);
            if (h.logger_id & kScopedContextFlag) context.scope = snapshot(view.scoped);
        }
        if (context.bound != nullptr || context.scope != nullptr) {
            in_.contexts.push_back(context);
            item.context = static_cast<std::uint32_t>(in_.contexts.size());
        }
    }

    const DecodedSite& s = *site;
    std::uint64_t bound = s.shape.static_bound;
    if (s.static_only) {
        // The common case: nothing about the record itself to check.
    } else if (!s.shape.parses) {
        item.refusal = refuse(pos, Refusal::bad_template,
                              fmt::format("its call site's template is outside the fmt syntax the decoder formats "
                                          "({} at byte {})", s.shape.why, s.shape.where));
    } else if (s.shape.too_wide) {
        item.refusal = refuse(pos, Refusal::too_wide,
                              fmt::format("its call site's template asks for a field wider than {} characters", kMaxFieldWidth));
    } else {
        item.refusal = check_args(s, p + offset, p + h.size, pos, bound);
    }
    if (item.refusal == Refusal::none) {
        if (bound > in_.bound_cap) {
            item.refusal = refuse(pos, Refusal::too_large,
                                  fmt::format("formatting it could take {} bytes, above the {} allowed with "
                                              "max_message_length {}", bound, in_.bound_cap, in_.options.max_message_length));
        } else if (bound > format_budget_) {
            if (budget_reported_) ++budget_refusals_;
            else refuse(pos, Refusal::budget, "the decoder's formatting budget is spent (the inputs ask for far more "
                                              "formatting than any writer does)");
            budget_reported_ = true;
            item.refusal = Refusal::budget;
        } else {
            format_budget_ -= bound;
        }
    }

    item.unix_ns = timed != nullptr ? std::max<std::int64_t>(*timed, 0) : in_.clock.to_unix_ns(h.timestamp);
    item.record = p;
    item.input = input_index_;
    item.site = s.site.id - 1;
    item.logger_id = logger->id | (h.logger_id & ~kLoggerIdMask);
    item.clock = static_cast<std::uint32_t>(in_.ticks.size() - 1);
    item.args_offset = static_cast<std::uint8_t>(offset);
    item.flags = timed != nullptr ? Decoder::Item::kTimed : 0;
    in_.get_renderer();
    items_.push_back(item);
    ++info_.records;
}

Refusal Parser::refuse(std::size_t pos, Refusal why, std::string_view what) {
    problem(pos, fmt::format("record not formatted: {}", what));
    return why;
}

/// The record's share of its message bound (string bytes, widths and
/// precisions from arguments, the stack trace of an exception) and what its
/// arguments say that no writer writes. Arguments that do not frame are left
/// to the renderer, which shows the record as damaged without formatting it.
Refusal Parser::check_args(const DecodedSite& s, const std::byte* p, const std::byte* end, std::size_t pos,
                           std::uint64_t& bound) {
    const std::uint64_t string_limit =
        std::max<std::uint64_t>(string_arg_limit(in_.options.max_message_length), kDefaultStringArgLimit);
    std::uint32_t arg = 0;
    ArgIterator args(s.types.data(), p, end);
    ArgRef a;
    while (args.next(a)) {
        if (is_format_arg(a.type)) {
            if (arg >= s.shape.uses.size()) return Refusal::none;
            const ArgUse& u = s.shape.uses[arg];
            if (a.type == TypeCode::string) {
                if (a.size > string_limit)
                    return refuse(pos, Refusal::long_string,
                                  fmt::format("string argument {} is {} bytes; the writer cuts strings to {}", arg,
                                              a.size, string_limit));
                bound = add_sat(bound, mul_sat(a.size, std::uint64_t{u.refs} + 6 * std::uint64_t{u.debug_refs}));
            }
            if (u.width_refs != 0 || u.precision_refs != 0) {
                const auto v = integer_value(a.type, a.data);
                if (v && *v > static_cast<std::int64_t>(kMaxFieldWidth))
                    return refuse(pos, Refusal::too_wide, fmt::format("it asks for a field {} characters wide", *v));
                if (v && *v > 0)
                    bound = add_sat(bound, static_cast<std::uint64_t>(*v) * (u.width_refs + u.precision_refs));
            }
            ++arg;
        } else if (a.type == TypeCode::context) {
            const ContextBlobCheck c = check_context_blob(a.data, a.size);
            if (!c.ok)
                problem(pos, fmt::format("context argument is damaged after {} of its {} fields; rendered with those {}",
                                         c.intact, c.claimed, c.intact));
        } else if (a.type == TypeCode::exception) {
            // As append_exception_json reads it (the same reader, the same frame cap).
            const ExceptionBlobReader exception(a.data, a.size);
            if (!exception.ok()) {
                problem(pos, "exception argument is damaged; rendered without it");
                continue;
            }
            if (exception.depth() > kMaxExceptionDepth || exception.frames_claimed() > kMaxExceptionFrames)
                problem(pos, fmt::format("exception argument has {} levels and {} stack frames; a writer records "
                                         "at most {} and {}: rendered with the first {} frames",
                                         exception.depth(), exception.frames_claimed(), kMaxExceptionDepth,
                                         kMaxExceptionFrames, exception.frames_shown()));
            // The trace: "#N ", then the frame's symbol or its 0x... address.
            for (std::uint32_t i = 0; i < exception.frames_shown(); ++i) {
                const std::uint64_t address = exception.frame(i);
                const auto known = in_.symbols.find(address);
                if (known == in_.symbols.end()) in_.shown_as_address.insert(address);
                bound = add_sat(bound, 8 + (known != in_.symbols.end() ? known->second.size() : 18));
            }
        }
    }
    return Refusal::none;
}

void Parser::internal(BlobReader r, std::size_t pos, std::uint32_t size) {
    const auto unix_ns = r.get<std::int64_t>();
    const auto level = r.get<std::uint8_t>();
    const auto line = r.get<std::uint32_t>();
    const std::string_view file = r.string(), function = r.string(), message = r.string();
    if (!r.ok) return problem(pos, "internal entry is malformed", sizeof(EntryHeader) + size);
    if (!valid_level(level)) return problem(pos, fmt::format("internal entry has level {}", level), sizeof(EntryHeader) + size);
    in_.internals.push_back(InternalEntry{static_cast<Level>(level), message, EntryRenderer::make_site_info(file, line, function)});
    Decoder::Item item{};
    item.unix_ns = std::max<std::int64_t>(unix_ns, 0);
    item.record = nullptr;
    item.input = input_index_;
    item.site = static_cast<std::uint32_t>(in_.internals.size() - 1);
    in_.get_renderer();
    items_.push_back(item);
    ++info_.records;
}

}  // namespace decode
}  // namespace agora::log::detail
