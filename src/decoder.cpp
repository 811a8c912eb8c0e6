#include "decoder.hpp"

#include "blob_encoding.hpp"
#include "render.hpp"

#include <agora/log/handlers/handler.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <unordered_map>

namespace agora::log::detail {

#ifdef AGORA_FUZZING
bool g_fuzz_ignore_checksums = false;
#endif

namespace {

constexpr std::uint32_t kInternalLoggerId = 0;
constexpr std::string_view kInternalLoggerName = "agora.log";
/// Widest field (width or precision) a decoded template may ask fmt for: the
/// template and its dynamic widths come from the file, and fmt would
/// allocate whatever they say.
constexpr std::uint64_t kMaxFieldWidth = 4096;

bool checksum_matches(const EntryHeader& h, const std::byte* payload) noexcept {
#ifdef AGORA_FUZZING
    if (g_fuzz_ignore_checksums) return true;
#endif
    return entry_checksum(h.type, payload, h.size) == h.checksum;
}

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
    const auto count = r.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < count && r.ok; ++i) {
        const std::string_view key = r.string();
        const auto tag = static_cast<ContextTag>(r.get<std::uint8_t>());
        ContextValue value;
        switch (tag) {
            case ContextTag::string: value = ContextValue(r.string()); break;
            case ContextTag::integer: value = ContextValue(r.get<std::int64_t>()); break;
            case ContextTag::floating: value = ContextValue(r.get<double>()); break;
            case ContextTag::boolean: value = ContextValue(r.get<std::uint8_t>() != 0); break;
            default: r.ok = false;
        }
        if (r.ok) out.insert_or_assign(std::string(key), std::move(value));
    }
    return r.ok;
}

/// What the fmt template of a decoded call site asks for besides its text.
struct SpecScan {
    bool too_wide = false;                      // a static width or precision above kMaxFieldWidth
    std::vector<std::uint32_t> dynamic_args;    // argument indexes of nested {} / {N} fields
};

/// fmt numbers fields and nested fields in order of their opening brace
/// (automatic indexing), or by the digits they carry.
SpecScan scan_specs(std::string_view s) {
    SpecScan scan;
    std::uint32_t next_auto = 0;
    auto index_of = [&next_auto](std::string_view id) -> std::uint32_t {
        if (id.empty()) return next_auto++;
        std::uint32_t n = 0;
        for (char c : id) {
            if (c < '0' || c > '9') return std::numeric_limits<std::uint32_t>::max();
            n = std::min<std::uint32_t>(n * 10 + static_cast<std::uint32_t>(c - '0'), 1u << 20);
        }
        return n;
    };
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] != '{') { ++i; continue; }
        if (i + 1 < s.size() && s[i + 1] == '{') { i += 2; continue; }
        std::size_t j = i + 1;
        while (j < s.size() && s[j] != ':' && s[j] != '}') ++j;
        const std::string_view id = s.substr(i + 1, j - i - 1);
        if (id.empty()) ++next_auto;
        if (j < s.size() && s[j] == ':') {
            std::uint64_t digits = 0;
            for (++j; j < s.size() && s[j] != '}'; ++j) {
                const char c = s[j];
                if (c == '{') {
                    std::size_t e = j + 1;
                    while (e < s.size() && s[e] != '}') ++e;
                    scan.dynamic_args.push_back(index_of(s.substr(j + 1, e - j - 1)));
                    j = e;
                    digits = 0;
                    if (j >= s.size()) break;
                    continue;
                }
                if (c >= '0' && c <= '9') {
                    digits = std::min<std::uint64_t>(digits * 10 + static_cast<std::uint64_t>(c - '0'), 1u << 30);
                    if (digits > kMaxFieldWidth) scan.too_wide = true;
                } else {
                    digits = 0;
                }
            }
        }
        i = j + 1;
    }
    return scan;
}

/// The value of format argument `index` if it is an integer; nullopt if the
/// arguments end first or it is another type (fmt then refuses it itself).
std::optional<std::int64_t> integer_arg(const TypeCode* types, const std::byte* p, const std::byte* end,
                                        std::uint32_t index) {
    std::uint32_t arg = 0;
    for (const TypeCode* t = types; *t != TypeCode::end; ++t) {
        std::size_t n = fixed_size(*t);
        if (n == 0) {
            std::uint32_t len = 0;
            if (end - p < 4) return std::nullopt;
            std::memcpy(&len, p, 4);
            n = std::size_t{4} + len;
        }
        if (static_cast<std::size_t>(end - p) < n) return std::nullopt;
        if (is_format_arg(*t) && arg++ == index) {
            switch (*t) {
                case TypeCode::i8: return static_cast<std::int64_t>(static_cast<std::int8_t>(p[0]));
                case TypeCode::u8: return static_cast<std::int64_t>(static_cast<std::uint8_t>(p[0]));
                case TypeCode::i16: { std::int16_t v; std::memcpy(&v, p, 2); return v; }
                case TypeCode::u16: { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
                case TypeCode::i32: { std::int32_t v; std::memcpy(&v, p, 4); return v; }
                case TypeCode::u32: { std::uint32_t v; std::memcpy(&v, p, 4); return v; }
                case TypeCode::i64: { std::int64_t v; std::memcpy(&v, p, 8); return v; }
                case TypeCode::u64: {
                    std::uint64_t v;
                    std::memcpy(&v, p, 8);
                    return v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                               ? std::numeric_limits<std::int64_t>::max()
                               : static_cast<std::int64_t>(v);
                }
                default: return std::nullopt;
            }
        }
        if (*t > TypeCode::exception) return std::nullopt;  // unknown code: cannot be framed
        p += n;
    }
    return std::nullopt;
}

struct Clock {
    std::uint64_t tsc = 0;
    double ns_per_tick = 1.0;
    std::int64_t unix_ns = 0;
};

bool valid_ns_per_tick(double v) noexcept { return std::isfinite(v) && v > 0 && v < 1e12; }

/// TscClock::to_unix_ns with the same arithmetic, saturating instead of
/// overflowing on a damaged anchor. Never negative: the renderer's timestamp
/// arithmetic assumes times after 1970.
std::int64_t to_unix_ns(const Clock& c, std::uint64_t tsc) noexcept {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    const auto delta = static_cast<std::int64_t>(tsc - c.tsc);
    const double offset = static_cast<double>(delta) * c.ns_per_tick;
    if (!(offset > -9.0e18 && offset < 9.0e18)) return offset > 0 ? kMax : 0;
    std::int64_t r = 0;
    if (__builtin_add_overflow(c.unix_ns, static_cast<std::int64_t>(offset), &r)) return offset > 0 ? kMax : 0;
    return std::max<std::int64_t>(r, 0);
}

struct DecodedSite {
    CallSite site{};
    std::vector<TypeCode> types;  // terminated by TypeCode::end
    SpecScan specs;
};

struct InternalEntry {
    Level level;
    std::string_view message;
    EntryRenderer::SiteInfo site;
};

struct DecodedLogger {
    std::uint32_t id;  // the id the renderer sees (see Input::next_logger_id)
    std::string_view name;
};

}  // namespace

/// One added input. The tables map the writer's ids and addresses to what
/// this decoder made of them; views point into `bytes`, which never changes
/// after add() copied it.
struct Decoder::Input {
    std::vector<std::byte> bytes;
    std::unique_ptr<EntryRenderer> renderer;  // created at the first record
    EntryIdentity identity;
    RenderOptions options;
    bool has_identity = false;
    Clock clock;

    // The renderer caches per call-site id and logger id and sizes its
    // tables by them: it sees dense ids assigned here (from 1), never the
    // file's, and a redefined id gets a new one so no cache goes stale.
    std::vector<std::unique_ptr<DecodedSite>> sites;  // every site ever defined (records point at them)
    std::unordered_map<std::uint32_t, DecodedSite*> site_by_id;
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
    std::unordered_map<std::uint64_t, std::string> symbols;
    std::deque<InternalEntry> internals;
    std::vector<std::uint8_t> noted_types;  // unknown entry types already noted
    std::vector<std::uint8_t> noted_codes;  // unknown type codes already noted

    EntryRenderer& get_renderer() {
        if (!renderer) {
            renderer = std::make_unique<EntryRenderer>(identity, options);
            renderer->symbolizer().use_table(&symbols);
        }
        return *renderer;
    }
};

struct Decoder::Item {
    std::int64_t unix_ns;
    std::uint64_t offset;  // of the entry in its input, for problems
    Input* input;
    std::size_t info;      // index in infos_
    const std::byte* record = nullptr;  // RecordHeader; null for an internal entry
    const InternalEntry* internal = nullptr;
    const DecodedSite* site = nullptr;
    std::string_view logger_name;
    RecordContext context;
    double ns_per_tick = 1.0;
    std::uint32_t size = 0;         // record bytes
    std::uint32_t args_offset = 0;  // header and context addresses
    std::uint32_t logger_id = 0;    // the renderer's logger id, with the record's context flags
    bool reported = false;          // render() already added a problem for it
};

namespace {

/// Parses one input's entries into a Decoder's items. Short-lived: add() only.
class Parser {
public:
    Parser(Decoder::Input& in, InputInfo& info, std::vector<Decoder::Item>& items, std::size_t info_index)
        : in_(in), info_(info), items_(items), info_index_(info_index), data_(in.bytes.data()), size_(in.bytes.size()) {}

    void run();
    /// Where run() is (for a problem when it throws).
    std::size_t position() const noexcept { return pos_; }

private:
    void problem(std::uint64_t offset, std::string_view what, std::uint64_t skipped = 0) {
        if (skipped != 0) info_.problems.push_back(fmt::format("{}: offset {}: {}; skipped {} bytes", info_.name, offset, what, skipped));
        else info_.problems.push_back(fmt::format("{}: offset {}: {}", info_.name, offset, what));
    }
    bool header_checks_out(std::size_t pos, EntryHeader& h) const noexcept;
    std::size_t resync(std::size_t from) const noexcept;
    bool read_file_header();
    void entry(const EntryHeader& h, std::size_t pos);
    void identity(BlobReader r, std::size_t pos, std::uint32_t size);
    void site(BlobReader r, std::size_t pos, std::uint32_t size);
    void record(const std::byte* p, std::size_t n, std::size_t pos, const std::int64_t* timed);
    void internal(BlobReader r, std::size_t pos, std::uint32_t size);

    Decoder::Input& in_;
    InputInfo& info_;
    std::vector<Decoder::Item>& items_;
    std::size_t info_index_;
    const std::byte* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

bool Parser::header_checks_out(std::size_t pos, EntryHeader& h) const noexcept {
    if (size_ - pos < sizeof h) return false;
    std::memcpy(&h, data_ + pos, sizeof h);
    return h.sync == kEntrySync && h.size <= kMaxEntrySize && h.size <= size_ - pos - sizeof h &&
           checksum_matches(h, data_ + pos + sizeof h);
}

std::size_t Parser::resync(std::size_t from) const noexcept {
    constexpr auto kFirst = static_cast<unsigned char>(kEntrySync & 0xff);
    std::size_t pos = from;
    while (size_ - pos >= sizeof(EntryHeader)) {
        const void* hit = std::memchr(data_ + pos, kFirst, size_ - pos - sizeof(EntryHeader) + 1);
        if (hit == nullptr) break;
        pos = static_cast<std::size_t>(static_cast<const std::byte*>(hit) - data_);
        EntryHeader h;
        if (header_checks_out(pos, h)) return pos;
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
        } else if (!checksum_matches(h, data_ + pos + sizeof h)) {
            what = fmt::format("checksum mismatch in an entry of type {} and {} bytes", static_cast<unsigned>(h.type),
                               h.size);
        }
        if (!what.empty()) {
            const std::size_t next = resync(pos + 1);
            problem(pos, what, next - pos);
            pos = next;
            continue;
        }
        ++info_.entries;
        entry(h, pos);
        pos += sizeof h + h.size;
    }
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
            in_.logger_by_id.insert_or_assign(id, DecodedLogger{in_.next_logger_id++, name});
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
            in_.symbols.insert_or_assign(address, std::string(text));
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
    if (in_.has_identity) {
        info_.notes.push_back(fmt::format("{}: offset {}: a second identity entry; the first one applies", info_.name, pos));
        return;
    }
    in_.has_identity = true;
    in_.identity = EntryIdentity{std::string(service), std::string(environment), std::string(version), std::string(host)};
    info_.service = in_.identity.service;
    info_.environment = in_.identity.environment;
    info_.version = in_.identity.version;
    info_.host = in_.identity.host;
    // The range Config::validate() accepts; outside it the writer is damaged.
    if (max_message_length >= 64 && max_message_length <= (1u << 24)) {
        in_.options.max_message_length = max_message_length;
    } else {
        problem(pos, fmt::format("identity entry has max_message_length {}; using {}", max_message_length,
                                 in_.options.max_message_length));
    }
    in_.options.default_context = std::move(default_context);
    if (in_.renderer)
        problem(pos, "identity entry after the first record; this input renders without it");
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
    s->specs = scan_specs(s->site.fmt_template());
    in_.site_by_id.insert_or_assign(id, s.get());
    in_.sites.push_back(std::move(s));
}

void Parser::record(const std::byte* p, std::size_t n, std::size_t pos, const std::int64_t* timed) {
    const std::uint64_t skipped = sizeof(EntryHeader) + n + (timed != nullptr ? 8 : 0);
    RecordHeader h;
    if (n < sizeof h) return problem(pos, fmt::format("record of {} bytes is shorter than a record header", n), skipped);
    std::memcpy(&h, p, sizeof h);
    if (h.site_id == kPaddingSiteId) return;  // ring padding: nothing to render
    if (h.size < sizeof h || h.size > n)
        return problem(pos, fmt::format("record size {} does not fit its entry ({} bytes)", h.size, n), skipped);
    const auto site = in_.site_by_id.find(h.site_id);
    if (site == in_.site_by_id.end())
        return problem(pos, fmt::format("record refers to unknown call site {}", h.site_id), skipped);
    const auto logger = in_.logger_by_id.find(h.logger_id & kLoggerIdMask);
    if (logger == in_.logger_by_id.end())
        return problem(pos, fmt::format("record refers to unknown logger {}", h.logger_id & kLoggerIdMask), skipped);

    Decoder::Item item{};
    std::uint32_t offset = sizeof h;
    auto snapshot = [&](const char* which) -> const ContextSnapshot* {
        if (h.size - offset < 8) {
            offset = h.size;
            problem(pos, fmt::format("record too short for its {} context address", which));
            return nullptr;
        }
        std::uint64_t address;
        std::memcpy(&address, p + offset, 8);
        offset += 8;
        const auto it = in_.snapshot_by_address.find(address);
        if (it != in_.snapshot_by_address.end()) return it->second;
        problem(pos, fmt::format("record refers to unknown context snapshot 0x{:x}; rendered without it", address));
        return nullptr;
    };
    if (h.logger_id & kBoundContextFlag) item.context.bound = snapshot("bound");
    if (h.logger_id & kScopedContextFlag) item.context.scope = snapshot("scoped");

    const DecodedSite& s = *site->second;
    for (std::uint32_t index : s.specs.dynamic_args) {
        const auto width = integer_arg(s.site.types, p + offset, p + h.size, index);
        if (width && *width > static_cast<std::int64_t>(kMaxFieldWidth))
            return problem(pos, fmt::format("record asks for a field {} characters wide; not rendered", *width), skipped);
    }
    if (s.specs.too_wide)
        return problem(pos, fmt::format("call site template asks for a field wider than {} characters; not rendered",
                                        kMaxFieldWidth), skipped);

    item.unix_ns = timed != nullptr ? std::max<std::int64_t>(*timed, 0) : to_unix_ns(in_.clock, h.timestamp);
    item.offset = pos;
    item.input = &in_;
    item.info = info_index_;
    item.record = p;
    item.site = &s;
    item.logger_name = logger->second.name;
    item.ns_per_tick = in_.clock.ns_per_tick;
    item.size = h.size;
    item.args_offset = offset;
    item.logger_id = logger->second.id | (h.logger_id & ~kLoggerIdMask);
    in_.get_renderer();
    items_.push_back(item);
    ++info_.records;
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
    item.offset = pos;
    item.input = &in_;
    item.info = info_index_;
    item.internal = &in_.internals.back();
    in_.get_renderer();
    items_.push_back(item);
    ++info_.records;
}

}  // namespace

Decoder::Decoder(DecodeOptions options) : options_(options) {}
Decoder::~Decoder() = default;

void Decoder::add(std::string_view name, std::span<const std::byte> bytes) {
    infos_.emplace_back();
    InputInfo& info = infos_.back();
    std::size_t reached = 0;
    try {
        info.name = std::string(name);
        // Stored before it is parsed: items point into it, and those made
        // before an exception (std::bad_alloc) must stay valid.
        inputs_.push_back(std::make_unique<Input>());
        Input& in = *inputs_.back();
        in.bytes.assign(bytes.begin(), bytes.end());
        // Room for this input's records (a record entry is 56 bytes or more
        // for most call sites), grown geometrically: an exact reserve per
        // input would copy the items of all earlier inputs every time.
        const std::size_t wanted = items_.size() + bytes.size() / 64;
        if (wanted > items_.capacity()) items_.reserve(std::max(wanted, 2 * items_.capacity()));
        Parser parser(in, info, items_, infos_.size() - 1);
        try {
            parser.run();
        } catch (...) {
            reached = parser.position();
            throw;
        }
    } catch (...) {
        info.out_of_memory = true;
        try {
            info.problems.push_back(
                fmt::format("{}: offset {}: out of memory; the rest of this input is not decoded", info.name, reached));
        } catch (...) {
            // Out of memory for the note too: the caller still gets the exception.
        }
        throw;
    }
}

bool Decoder::damaged() const noexcept {
    return std::any_of(infos_.begin(), infos_.end(),
                       [](const InputInfo& i) { return !i.problems.empty() || i.out_of_memory; });
}

void Decoder::render(const std::function<void(std::string_view)>& line) {
    // Most inputs (one thread, a binary log) are in order already; otherwise
    // sort small keys, not the items.
    const auto earlier = [](const Item& a, const Item& b) { return a.unix_ns < b.unix_ns; };
    if (options_.sort && !std::is_sorted(items_.begin(), items_.end(), earlier)) {
        std::vector<std::pair<std::int64_t, std::size_t>> keys;
        keys.reserve(items_.size());
        for (std::size_t i = 0; i < items_.size(); ++i) keys.emplace_back(items_[i].unix_ns, i);
        std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<Item> sorted;
        sorted.reserve(items_.size());
        for (const auto& k : keys) sorted.push_back(items_[k.second]);
        items_ = std::move(sorted);
    }
    std::int64_t last = 0;
    LogRecordView view{};
    std::string text;
    for (Item& item : items_) {
        const std::int64_t unix_ns = std::max(item.unix_ns, last);
        last = unix_ns;
        EntryRenderer& renderer = item.input->get_renderer();
        if (item.internal != nullptr) {
            renderer.render(item.internal->level, unix_ns, item.internal->message, item.internal->site, kInternalLoggerId,
                            kInternalLoggerName, view);
        } else {
            RecordHeader h;
            std::memcpy(&h, item.record, sizeof h);
            h.logger_id = item.logger_id;
            const bool ok = renderer.render_record(h, item.record + item.args_offset, item.size - item.args_offset,
                                                   item.site->site, item.logger_name, unix_ns, view, item.context,
                                                   item.ns_per_tick);
            if (!ok && !item.reported) {
                item.reported = true;
                InputInfo& info = infos_[item.info];
                info.problems.push_back(fmt::format("{}: offset {}: record does not match its call site ({}:{}): {}",
                                                    info.name, item.offset, item.site->site.file, item.site->site.line,
                                                    view.message));
            }
        }
        if (options_.text) {
            text.clear();
            format_text(view, text, false);
            line(text);
        } else {
            line(view.json);
        }
    }
}

std::string kind_name(FileKind kind) {
    switch (kind) {
        case FileKind::crash_dump: return "crash dump";
        case FileKind::on_demand_dump: return "on-demand dump";
        case FileKind::binary_log: return "binary log";
    }
    return fmt::format("unknown kind {}", static_cast<unsigned>(kind));
}

std::string dump_flags_text(std::uint32_t flags) {
    static constexpr std::pair<std::uint32_t, std::string_view> kNames[] = {
        {kDumpBackendDrained, "backend drained"},
        {kDumpBackendTimedOut, "backend timed out"},
        {kDumpBackendNotStopped, "backend not stopped (records may also be in the log)"},
        {kDumpOnBackendThread, "on the backend thread"},
        {kDumpNoBackend, "no backend"},
        {kDumpTruncated, "truncated (a ring held bytes that were not a record)"},
        {kDumpTerminate, "std::terminate"},
    };
    std::string out;
    for (const auto& [bit, name] : kNames) {
        if ((flags & bit) == 0) continue;
        if (!out.empty()) out += ", ";
        out += name;
        flags &= ~bit;
    }
    if (flags != 0) out += fmt::format("{}unknown 0x{:x}", out.empty() ? "" : ", ", flags);
    return out.empty() ? "none" : out;
}

}  // namespace agora::log::detail
