#include "decode/decoder.hpp"

#include "blob_encoding.hpp"
#include "render.hpp"

#include <agora/log/detail/frontend.hpp>

#include <agora/log/handlers/handler.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

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
/// The longest string argument a writer encodes before initialize() set
/// g_string_arg_limit (detail/frontend.hpp) from the config: its default.
constexpr std::uint64_t kDefaultStringArgLimit = 10000 + 4;
/// Bytes a record's message may take before it is cut to
/// max_message_length: a bound above it is not formatted. Generous (a real
/// message is at most its template plus each field once), because fmt
/// builds the whole message first and only then is it cut.
std::uint64_t message_bound_cap(std::size_t max_message_length) noexcept {
    return std::min<std::uint64_t>(std::uint64_t{64} << 20, (std::uint64_t{1} << 20) + 64 * std::uint64_t{max_message_length});
}
/// The formatting all inputs of one Decoder may ask for, in bytes of message
/// bounds: a base and so much per input byte. What a writer produces stays far
/// below (a record's bound is its template twice plus a few hundred bytes per
/// field); without it, records of a few dozen bytes each asking for a
/// message of many MB could keep the decoder busy for hours.
constexpr std::uint64_t kFormatBudgetBase = std::uint64_t{1} << 30;
constexpr std::uint64_t kFormatBudgetPerInputByte = 256;
/// Bytes that resynchronisation may checksum in candidate entries that do not
/// check out, per input: a base and so much per input byte. Each candidate
/// costs its claimed size; a file of headers claiming the rest of the file
/// would otherwise cost the square of its size.
constexpr std::uint64_t kResyncBudgetBase = std::uint64_t{16} << 20;
constexpr std::uint64_t kResyncBudgetPerInputByte = 4;

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

std::uint64_t add_sat(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
}
std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::uint64_t>::max() : r;
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

/// How a call site's template uses format argument i (TemplateShape::uses).
struct ArgUse {
    std::uint32_t refs = 0;          // fields showing it
    std::uint32_t debug_refs = 0;    // ... with '?' (escaped: up to 6 bytes per byte)
    std::uint64_t width_weight = 0;  // fields taking their width from it, times their fill's bytes
    std::uint32_t precision_refs = 0;
};

/// What fmt can make of a call site's template at most, computed once per
/// site so that a record costs a few additions (TemplateScanner).
struct TemplateShape {
    /// fmt 9.1's grammar accepts the template. If not, fmt throws part way,
    /// after formatting the fields before the error: such a template is
    /// not formatted at all (no writer produces one: templates are checked
    /// against fmt at compile time).
    bool parses = true;
    bool too_wide = false;  // a static width or precision above kMaxFieldWidth
    /// Upper bound of the message in bytes without what depends on the
    /// record: the template twice (text, and the template again in a format
    /// error note), 256 bytes of note, and per field the longest text of its
    /// argument's type, its static precision and its static width times its
    /// fill's bytes.
    std::uint64_t static_bound = 0;
    /// The record's bytes matter (string, context or exception arguments, or
    /// widths and precisions taken from arguments): Parser::check_args.
    bool per_record = false;
    std::vector<ArgUse> uses;  // by format argument index
};

/// The longest text fmt 9.1 makes of one argument of type `t` without width
/// or precision, whatever the presentation type and locale (digit grouping
/// may put a separator after every digit). Strings: only the quotes of '?';
/// their bytes count per record.
std::uint64_t longest_text(TypeCode t) noexcept {
    switch (t) {
        case TypeCode::boolean: return 8;
        case TypeCode::character: return 16;  // '?': quoted escape
        case TypeCode::i8:
        case TypeCode::u8:
        case TypeCode::i16:
        case TypeCode::u16:
        case TypeCode::i32:
        case TypeCode::u32:
        case TypeCode::i64:
        case TypeCode::u64: return 160;  // 64 binary digits, separators, "0b", sign
        case TypeCode::f32:
        case TypeCode::f64: return 1024;  // DBL_MAX in fixed notation (309 digits), separators, 6 decimals
        case TypeCode::pointer: return 24;
        case TypeCode::string: return 8;
        default: return 0;
    }
}

/// Walks a template exactly as fmt 9.1's parse_format_string and
/// parse_format_specs (fmt/core.h) do at run time, for what decides the
/// size of the output: which argument each field shows, its fill, width,
/// precision and presentation type. Step for step, because a scanner that
/// frames a field differently from fmt can be fooled: fmt takes any one code
/// point but '{' as fill, '}' included ("{:}<2000000000}"), and reads the
/// spec to the end of the template, not to the next '}'. Where fmt would
/// throw, the scan stops and the template does not parse.
class TemplateScanner {
public:
    TemplateScanner(std::string_view s, const TypeCode* types) : s_(s) {
        for (const TypeCode* t = types; *t != TypeCode::end; ++t) {
            // format_message refuses a record with more format arguments
            // than RecordExtras holds: no use to track more.
            if (is_format_arg(*t) && arg_types_.size() < RecordExtras::kMaxArgs) arg_types_.push_back(*t);
            if (*t == TypeCode::string || *t == TypeCode::context || *t == TypeCode::exception)
                shape_.per_record = true;
        }
        shape_.uses.resize(arg_types_.size());
        shape_.static_bound = add_sat(mul_sat(2, s.size()), 256);
    }

    TemplateShape run() && {
        while (ok_ && i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '}') {
                // fmt: "unmatched '}' in format string" unless doubled.
                if (i_ + 1 < s_.size() && s_[i_ + 1] == '}') i_ += 2;
                else fail();
            } else if (c == '{') {
                replacement_field();
            } else {
                ++i_;
            }
        }
        shape_.parses = ok_;
        for (const ArgUse& u : shape_.uses)
            if (u.width_weight != 0 || u.precision_refs != 0) shape_.per_record = true;
        return std::move(shape_);
    }

private:
    static constexpr std::uint32_t kNoArg = std::numeric_limits<std::uint32_t>::max();
    struct Field {
        std::uint32_t arg = kNoArg;
        std::uint32_t width_arg = kNoArg, precision_arg = kNoArg;
        std::uint64_t width = 0, precision = 0;
        std::uint32_t fill_bytes = 1;
        bool debug = false;
    };

    void fail() noexcept { ok_ = false; }
    bool at_end() const noexcept { return i_ >= s_.size(); }
    static bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
    static bool is_name_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

    // basic_format_parse_context::next_arg_id and check_arg_id: automatic
    // and manual indexing do not mix.
    std::uint32_t automatic_id() noexcept {
        if (next_arg_id_ < 0) {
            fail();
            return kNoArg;
        }
        return static_cast<std::uint32_t>(next_arg_id_++);
    }
    std::uint32_t manual_id(std::uint32_t id) noexcept {
        if (next_arg_id_ > 0) {
            fail();
            return kNoArg;
        }
        next_arg_id_ = -1;
        return id;
    }

    // parse_nonnegative_int: s_[i_] is a digit. error_value if above INT_MAX.
    std::int64_t nonnegative_int(std::int64_t error_value) noexcept {
        const std::size_t start = i_;
        unsigned value = 0, prev = 0;
        do {
            prev = value;
            value = value * 10 + static_cast<unsigned>(s_[i_] - '0');
            ++i_;
        } while (i_ < s_.size() && is_digit(s_[i_]));
        const std::size_t digits = i_ - start;
        if (digits <= static_cast<std::size_t>(std::numeric_limits<int>::digits10)) return value;
        const auto max = static_cast<unsigned long long>(std::numeric_limits<int>::max());
        return digits == static_cast<std::size_t>(std::numeric_limits<int>::digits10) + 1 &&
                       prev * 10ull + static_cast<unsigned>(s_[i_ - 1] - '0') <= max
                   ? static_cast<std::int64_t>(value)
                   : error_value;
    }

    // parse_arg_id and do_parse_arg_id; i_ < size. A name never resolves:
    // the decoder's argument store has no named arguments.
    std::uint32_t arg_id() noexcept {
        const char c = s_[i_];
        if (c == '}' || c == ':') return automatic_id();
        if (is_digit(c)) {
            std::int64_t index = 0;
            if (c != '0') index = nonnegative_int(std::numeric_limits<int>::max());
            else ++i_;
            if (at_end() || (s_[i_] != '}' && s_[i_] != ':')) {
                fail();
                return kNoArg;
            }
            return manual_id(static_cast<std::uint32_t>(index));
        }
        fail();  // a name ("argument not found") or not an id ("invalid format string")
        return kNoArg;
    }

    // parse_replacement_field; s_[i_] == '{'.
    void replacement_field() {
        ++i_;
        if (at_end()) return fail();
        if (s_[i_] == '}') {
            Field f;
            f.arg = automatic_id();
            if (ok_) add(f);
            ++i_;
            return;
        }
        if (s_[i_] == '{') {  // "{{"
            ++i_;
            return;
        }
        Field f;
        f.arg = arg_id();
        if (!ok_) return;
        const char c = at_end() ? '\0' : s_[i_];
        if (c == ':') {
            ++i_;
            specs(f);
            if (!ok_) return;
            if (at_end() || s_[i_] != '}') return fail();
        } else if (c != '}') {
            return fail();
        }
        add(f);
        ++i_;
    }

    // parse_format_specs; the spec may run to the end of the template.
    void specs(Field& f) {
        const std::size_t n = s_.size();
        auto is_ascii_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
        if (n - i_ > 1 && s_[i_ + 1] == '}' && is_ascii_letter(s_[i_]) && s_[i_] != 'L') {
            presentation_type(f);
            return;
        }
        if (at_end()) return;
        align(f);
        if (!ok_ || at_end()) return;
        if (s_[i_] == '+' || s_[i_] == '-' || s_[i_] == ' ') ++i_;
        if (at_end()) return;
        if (s_[i_] == '#' && ++i_ == n) return;
        if (s_[i_] == '0' && ++i_ == n) return;
        // parse_width
        if (is_digit(s_[i_])) {
            const std::int64_t w = nonnegative_int(-1);
            if (w < 0) return fail();  // "number is too big"
            f.width = static_cast<std::uint64_t>(w);
        } else if (s_[i_] == '{') {
            ++i_;
            if (!at_end()) f.width_arg = arg_id();
            if (!ok_) return;
            if (at_end() || s_[i_] != '}') return fail();
            ++i_;
        }
        if (at_end()) return;
        // parse_precision
        if (s_[i_] == '.') {
            ++i_;
            const char c = at_end() ? '\0' : s_[i_];
            if (is_digit(c)) {
                const std::int64_t p = nonnegative_int(-1);
                if (p < 0) return fail();
                f.precision = static_cast<std::uint64_t>(p);
            } else if (c == '{') {
                ++i_;
                if (!at_end()) f.precision_arg = arg_id();
                if (!ok_) return;
                if (at_end() || s_[i_++] != '}') return fail();
            } else {
                return fail();  // "missing precision specifier"
            }
            if (at_end()) return;
        }
        if (s_[i_] == 'L') ++i_;
        if (!at_end() && s_[i_] != '}') presentation_type(f);
    }

    // parse_align: a fill is one code point, framed by its lead byte alone
    // (code_point_length), then '<', '>' or '^'; '{' is the only fill refused.
    void align(Field& f) noexcept {
        static constexpr char kLength[] = "\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\0\0\0\0\0\0\0\0\2\2\2\2\3\3\4";
        const int len = kLength[static_cast<unsigned char>(s_[i_]) >> 3];
        std::size_t p = i_ + static_cast<std::size_t>(len + !len);
        if (p >= s_.size()) p = i_;
        for (;;) {
            const char c = s_[p];
            if (c == '<' || c == '>' || c == '^') {
                if (p != i_) {
                    if (s_[i_] == '{') return fail();  // "invalid fill character '{'"
                    f.fill_bytes = static_cast<std::uint32_t>(p - i_);
                    i_ = p + 1;
                } else {
                    ++i_;
                }
                return;
            }
            if (p == i_) return;
            p = i_;
        }
    }

    // parse_presentation_type: s_[i_] is the type; anything else is an error.
    void presentation_type(Field& f) noexcept {
        const char c = s_[i_++];
        if (std::string_view("doxXbBaAeEfFgGcsp?").find(c) == std::string_view::npos) return fail();
        f.debug = c == '?';
    }

    void add(const Field& f) {
        if (f.width > kMaxFieldWidth || f.precision > kMaxFieldWidth) shape_.too_wide = true;
        const TypeCode type = f.arg < arg_types_.size() ? arg_types_[f.arg] : TypeCode::end;
        std::uint64_t bound = add_sat(longest_text(type), f.precision);
        bound = add_sat(bound, mul_sat(f.width, f.fill_bytes));
        shape_.static_bound = add_sat(shape_.static_bound, bound);
        // An argument index past the arguments: fmt throws "argument not found" there.
        if (f.arg < shape_.uses.size()) {
            ArgUse& u = shape_.uses[f.arg];
            ++(f.debug ? u.debug_refs : u.refs);
        }
        if (f.width_arg < shape_.uses.size()) shape_.uses[f.width_arg].width_weight += f.fill_bytes;
        if (f.precision_arg < shape_.uses.size()) ++shape_.uses[f.precision_arg].precision_refs;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    int next_arg_id_ = 0;  // fmt's: > 0 automatic indexing used, -1 manual
    bool ok_ = true;
    std::vector<TypeCode> arg_types_;
    TemplateShape shape_;
};

/// The integer value of a format argument at `p` (its bytes are there), for
/// a width or precision; nullopt for other types (fmt then throws "width is
/// not integer").
std::optional<std::int64_t> integer_value(TypeCode t, const std::byte* p) noexcept {
    switch (t) {
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
    TemplateShape shape;
    /// The template parses, has no field too wide and no argument whose
    /// bytes change its bound: a record's bound is shape.static_bound.
    bool static_only = false;
};

/// Why a record that frames and matches its site is not formatted
/// (Decoder::Item::refusal): it renders as its template with a note instead.
enum class Refusal : std::uint8_t { none, bad_template, too_wide, too_large, long_string, budget };

std::string_view refusal_note(Refusal r) noexcept {
    switch (r) {
        case Refusal::none: break;
        case Refusal::bad_template: return " [agora-log: not formatted: the template is not valid fmt syntax]";
        case Refusal::too_wide: return " [agora-log: not formatted: a field wider than 4096 characters]";
        case Refusal::too_large: return " [agora-log: not formatted: the message would be too large]";
        case Refusal::long_string: return " [agora-log: not formatted: a string argument longer than the writer writes]";
        case Refusal::budget: return " [agora-log: not formatted: the decoder's formatting budget is spent]";
    }
    return {};
}

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
constexpr std::uint32_t kDirectIds = 1024;

}  // namespace

/// One added input. The tables map the writer's ids and addresses to what
/// this decoder made of them; views point into `bytes`, which never changes
/// after add() stored it.
///
/// Threads: add() builds it on the caller's thread. While render() runs
/// workers, they only read it (render_parallel renders every snapshot's
/// `fields` before they start); `renderer` is the calling thread's.
struct Decoder::Input {
    std::vector<std::byte> bytes;
    std::uint32_t info = 0;  // index in Decoder::infos_
    std::unique_ptr<EntryRenderer> renderer;  // created at the first record: exists if any item is of this input
    // Fixed once `renderer` exists (an identity entry after the first record is ignored).
    EntryIdentity identity;
    RenderOptions options;
    bool has_identity = false;
    Clock clock;
    /// The largest message bound a record may have (message_bound_cap of options).
    std::uint64_t bound_cap = message_bound_cap(RenderOptions{}.max_message_length);

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
    Refusal refusal;          // the parser's problem says why
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

namespace {

/// Parses one input's entries into a Decoder's items. Short-lived: add() only.
class Parser {
public:
    Parser(Decoder::Input& in, InputInfo& info, std::vector<Decoder::Item>& items, std::uint32_t input_index,
           std::uint64_t& format_budget)
        : in_(in), info_(info), items_(items), input_index_(input_index), data_(in.bytes.data()), size_(in.bytes.size()),
          format_budget_(format_budget),
          resync_budget_(add_sat(kResyncBudgetBase, mul_sat(kResyncBudgetPerInputByte, in.bytes.size()))) {}

    void run();
    /// Where run() is (for a problem when it throws).
    std::size_t position() const noexcept { return pos_; }

private:
    void problem(std::uint64_t offset, std::string_view what, std::uint64_t skipped = 0) {
        if (skipped != 0) info_.problems.push_back(fmt::format("{}: offset {}: {}; skipped {} bytes", info_.name, offset, what, skipped));
        else info_.problems.push_back(fmt::format("{}: offset {}: {}", info_.name, offset, what));
    }
    bool plausible_header(std::size_t pos, EntryHeader& h) const noexcept;
    bool payload_checks_out(const EntryHeader& h, std::size_t pos) noexcept;
    std::size_t resync(std::size_t from) noexcept;
    bool read_file_header();
    void entry(const EntryHeader& h, std::size_t pos);
    void identity(BlobReader r, std::size_t pos, std::uint32_t size);
    void site(BlobReader r, std::size_t pos, std::uint32_t size);
    void record(const std::byte* p, std::size_t n, std::size_t pos, const std::int64_t* timed);
    Refusal check_args(const DecodedSite& s, const std::byte* p, const std::byte* end, std::size_t pos,
                       std::uint64_t& bound);
    Refusal refuse(std::size_t pos, Refusal why, std::string_view what);
    void internal(BlobReader r, std::size_t pos, std::uint32_t size);
    void finish();

    Decoder::Input& in_;
    InputInfo& info_;
    std::vector<Decoder::Item>& items_;
    std::uint32_t input_index_;
    const std::byte* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    std::uint64_t& format_budget_;       // the Decoder's, shared by its inputs
    bool budget_reported_ = false;       // one problem for the first record refused for it,
    std::uint64_t budget_refusals_ = 0;  // one for the count of the others
    const std::uint64_t resync_budget_;
    std::uint64_t resync_spent_ = 0;     // bytes checksummed in entries that did not check out
    bool gave_up_ = false;
    /// The entry resync() found checks out: run() does not checksum it again.
    std::size_t verified_ = std::numeric_limits<std::size_t>::max();
};

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
    s->shape = TemplateScanner(s->site.fmt_template(), s->types.data()).run();
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
        RecordContext context;
        if (h.logger_id & kBoundContextFlag) context.bound = snapshot("bound");
        if (h.logger_id & kScopedContextFlag) context.scope = snapshot("scoped");
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
        item.refusal = refuse(pos, Refusal::bad_template, "its call site's template is not valid fmt syntax");
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

    item.unix_ns = timed != nullptr ? std::max<std::int64_t>(*timed, 0) : to_unix_ns(in_.clock, h.timestamp);
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
        std::max<std::uint64_t>(in_.options.max_message_length + 4, kDefaultStringArgLimit);
    std::uint32_t arg = 0;
    for (const TypeCode* t = s.types.data(); *t != TypeCode::end; ++t) {
        if (*t > TypeCode::exception) return Refusal::none;
        std::size_t n = fixed_size(*t);
        std::uint32_t len = 0;
        if (n == 0) {
            if (end - p < 4) return Refusal::none;
            std::memcpy(&len, p, 4);
            n = std::size_t{4} + len;
        }
        if (static_cast<std::size_t>(end - p) < n) return Refusal::none;
        if (is_format_arg(*t)) {
            if (arg >= s.shape.uses.size()) return Refusal::none;
            const ArgUse& u = s.shape.uses[arg];
            if (*t == TypeCode::string) {
                if (len > string_limit)
                    return refuse(pos, Refusal::long_string,
                                  fmt::format("string argument {} is {} bytes; the writer cuts strings to {}", arg, len,
                                              string_limit));
                bound = add_sat(bound, mul_sat(len, std::uint64_t{u.refs} + 6 * std::uint64_t{u.debug_refs}));
            }
            if (u.width_weight != 0 || u.precision_refs != 0) {
                const auto v = integer_value(*t, p);
                if (v && *v > static_cast<std::int64_t>(kMaxFieldWidth))
                    return refuse(pos, Refusal::too_wide, fmt::format("it asks for a field {} characters wide", *v));
                if (v && *v > 0)
                    bound = add_sat(bound, static_cast<std::uint64_t>(*v) * (u.width_weight + u.precision_refs));
            }
            ++arg;
        } else if (*t == TypeCode::context) {
            const ContextBlobCheck c = check_context_blob(p + 4, len);
            if (!c.ok)
                problem(pos, fmt::format("context argument is damaged after {} of its {} fields; rendered with those {}",
                                         c.intact, c.claimed, c.intact));
        } else if (*t == TypeCode::exception) {
            BlobReader r{p + 4, p + 4 + len};
            const auto depth = r.get<std::uint8_t>();
            for (unsigned i = 0; i < depth && r.ok; ++i) {
                r.string();
                r.string();
            }
            // As append_exception_json reads it: at most kMaxFrames frames.
            const auto frames = r.get<std::uint32_t>();
            const std::uint64_t shown = std::min<std::uint64_t>(frames, ExceptionArg::kMaxFrames);
            if (!r.ok || depth == 0 || static_cast<std::size_t>(r.end - r.p) / 8 < shown) {
                problem(pos, "exception argument is damaged; rendered without it");
            } else {
                if (depth > ExceptionArg::kMaxDepth || frames > ExceptionArg::kMaxFrames)
                    problem(pos, fmt::format("exception argument has {} levels and {} stack frames; a writer records "
                                             "at most {} and {}: rendered with the first {} frames",
                                             depth, frames, ExceptionArg::kMaxDepth, ExceptionArg::kMaxFrames, shown));
                // The trace: "#N ", then the frame's symbol or its 0x... address.
                for (std::uint64_t i = 0; i < shown; ++i) {
                    const auto address = r.get<std::uint64_t>();
                    const auto known = in_.symbols.find(address);
                    if (known == in_.symbols.end()) in_.shown_as_address.insert(address);
                    bound = add_sat(bound, 8 + (known != in_.symbols.end() ? known->second.size() : 18));
                }
            }
        }
        p += n;
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

/// Scratch space for rendering items on one thread.
struct RenderScratch {
    LogRecordView view{};
    std::string text, refused;
};

/// Renders `item` at `unix_ns` with `renderer` (one of its input's) and
/// returns its line (valid until the next call with `scratch`). A record that
/// does not match its call site is passed to `add_problem(info index,
/// problem)` the first time it renders (Item::kReported).
template <class AddProblem>
std::string_view render_item(Decoder::Item& item, std::int64_t unix_ns, const Decoder::Input& in,
                             EntryRenderer& renderer, const InputInfo& info, bool text, RenderScratch& scratch,
                             AddProblem&& add_problem) {
    LogRecordView& view = scratch.view;
    if (item.record == nullptr) {
        const InternalEntry& e = in.internals[item.site];
        renderer.render(e.level, unix_ns, e.message, e.site, kInternalLoggerId, kInternalLoggerName, view);
    } else {
        const CallSite& site = in.sites[item.site]->site;
        const std::uint32_t logger_id = item.logger_id & kLoggerIdMask;
        const std::string_view logger_name = in.loggers[logger_id - 1].name;
        if (item.refusal != Refusal::none) {
            // The template, cut, and why it was not formatted (the parser
            // reported the details as a problem).
            scratch.refused.assign(cut_utf8(site.fmt_template(), in.options.max_message_length));
            scratch.refused += refusal_note(item.refusal);
            renderer.render(site.level, unix_ns, scratch.refused, renderer.site_info(site), logger_id, logger_name, view);
        } else {
            RecordHeader h;
            std::memcpy(&h, item.record, sizeof h);
            h.logger_id = item.logger_id;
            const RecordContext context = item.context != 0 ? in.contexts[item.context - 1] : RecordContext{};
            const bool ok = renderer.render_record(h, item.record + item.args_offset, h.size - item.args_offset, site,
                                                   logger_name, unix_ns, view, context, in.ticks[item.clock]);
            if (!ok && (item.flags & Decoder::Item::kReported) == 0) {
                add_problem(in.info, fmt::format("{}: offset {}: record does not match its call site ({}:{}): {}",
                                                 info.name, item.offset(in), site.file, site.line, view.message));
                item.flags |= Decoder::Item::kReported;  // once the problem is kept (add_problem may throw)
            }
        }
    }
    if (!text) return view.json;
    scratch.text.clear();
    format_text(view, scratch.text, false);
    return scratch.text;
}

/// The items in rendering order.
struct ItemOrder {
    std::vector<Decoder::Item>& items;
    const std::vector<std::pair<std::int64_t, std::size_t>>& order;  // empty: items' own order
    Decoder::Item& operator[](std::size_t i) const noexcept { return order.empty() ? items[i] : items[order[i].second]; }
};

/// One chunk of the items rendered into a RenderPool slot (by a worker, or
/// by the calling thread in help()): its lines, and the problems found
/// rendering them, in order.
struct Chunk {
    std::size_t begin = 0, end = 0;  // positions in rendering order
    std::size_t rendered_end = 0;    // [begin, rendered_end) are in `text`
    std::int64_t last = 0;           // time floor: before `begin` when claimed, at rendered_end when ready
    std::string text;                // the lines, back to back
    std::vector<std::size_t> ends;   // where each line ends in `text`
    std::vector<std::pair<std::uint32_t, std::string>> problems;  // (InputInfo index, problem)
    std::exception_ptr error;        // rendering item rendered_end threw this
    bool ready = false;              // RenderPool::mutex_
};

/// Worker threads rendering chunks of consecutive items ahead of the
/// calling thread, which writes them strictly in order (wait, then
/// release). Chunks are claimed in increasing order, by a worker or by the
/// calling thread, which never waits while there is work: when the chunk it
/// is to write next is not claimed yet, it renders that chunk straight to
/// the output (claim_next); when a worker has it, it renders the next
/// unclaimed chunk into its buffer meanwhile (help), as a worker would.
/// Chunk c goes to slot c % slots: chunk c is claimed into its slot only
/// once chunk c - slots was released, so at most `slots` chunks are buffered.
///
/// Threads: each worker has its own renderers (EntryRenderer caches are
/// not shared) and writes only the chunk it claimed and the items in it
/// (Item::flags); everything else it reads is not written while workers
/// run. Chunk hand-over (ready, claims, releases) is under mutex_.
class RenderPool {
public:
    RenderPool(ItemOrder items, const std::vector<std::unique_ptr<Decoder::Input>>& inputs,
               const std::vector<InputInfo>& infos, const DecodeOptions& options, std::vector<std::int64_t> floors,
               std::size_t chunk_records, std::size_t slots)
        : items_(items), inputs_(inputs), infos_(infos), text_(options.text),
          chunk_bytes_(std::max<std::size_t>(options.chunk_bytes, 1)), chunk_records_(chunk_records),
          count_(items.order.empty() ? items.items.size() : items.order.size()), floors_(std::move(floors)),
          slots_(slots) {}

    /// Joins the workers (after the chunks they are rendering).
    ~RenderPool() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        claim_cv_.notify_all();
        for (std::thread& t : threads_) t.join();
    }
    RenderPool(const RenderPool&) = delete;
    RenderPool& operator=(const RenderPool&) = delete;

    /// Starts up to `threads` workers; returns how many started. A thread
    /// the system refuses ends the start (std::bad_alloc propagates).
    unsigned start(unsigned threads) {
        threads_.reserve(threads);
        for (unsigned t = 0; t < threads; ++t) {
            try {
                threads_.emplace_back([this] { work(); });
            } catch (const std::system_error&) {
                break;
            }
        }
        return static_cast<unsigned>(threads_.size());
    }

    std::size_t chunks() const noexcept { return floors_.size(); }
    /// Chunk c's positions in rendering order, and its time floor.
    std::size_t begin(std::size_t c) const noexcept { return c * chunk_records_; }
    std::size_t end(std::size_t c) const noexcept { return std::min(count_, begin(c) + chunk_records_); }
    std::int64_t floor(std::size_t c) const noexcept { return floors_[c]; }

    /// Claims chunk c for the calling thread if no worker has: c must be the
    /// next chunk not released. The caller renders it, then releases it.
    bool claim_next(std::size_t c) {
        std::lock_guard lock(mutex_);
        if (next_ != c) return false;
        ++next_;
        return true;
    }

    /// Whether chunk c is rendered; c must be the next chunk not released.
    bool ready(std::size_t c) {
        std::lock_guard lock(mutex_);
        return slots_[c % slots_.size()].ready;
    }

    /// Renders the next unclaimed chunk into its slot on the calling thread,
    /// as a worker would; false if there is none to claim (all claimed, or
    /// no slot free, or a chunk failed).
    bool help() {
        std::size_t c = 0;
        {
            std::lock_guard lock(mutex_);
            if (!claimable()) return false;
            c = next_++;
        }
        finish(c, render_chunk(c, caller_renderers_, caller_scratch_));
        return true;
    }

    /// Chunk c, once rendered; c must be the next chunk not released.
    Chunk& wait(std::size_t c) {
        Chunk& chunk = slots_[c % slots_.size()];
        std::unique_lock lock(mutex_);
        ready_cv_.wait(lock, [&] { return chunk.ready; });
        return chunk;
    }

    /// Chunk c is written: its slot may take the chunk `slots` later.
    void release(std::size_t c) {
        {
            std::lock_guard lock(mutex_);
            slots_[c % slots_.size()].ready = false;
            released_ = c + 1;
        }
        claim_cv_.notify_all();
    }

private:
    void work() {
        std::vector<std::unique_ptr<EntryRenderer>> renderers;  // by input index, made on first use
        RenderScratch scratch;
        for (;;) {
            std::size_t c = 0;
            {
                std::unique_lock lock(mutex_);
                claim_cv_.wait(lock, [&] { return stop_ || failed_ || next_ >= chunks() || claimable(); });
                if (stop_ || !claimable()) return;
                c = next_++;
            }
            finish(c, render_chunk(c, renderers, scratch));
        }
    }

    /// The next chunk may be claimed into its slot (mutex_ held). After a
    /// chunk failed, the calling thread writes up to it and throws: later
    /// chunks would not be written.
    bool claimable() const noexcept { return !failed_ && next_ < chunks() && next_ < released_ + slots_.size(); }

    void finish(std::size_t c, bool ok) {
        {
            std::lock_guard lock(mutex_);
            slots_[c % slots_.size()].ready = true;
            if (!ok) failed_ = true;
        }
        ready_cv_.notify_all();
    }

    /// Renders chunk c into its slot; false if rendering threw (Chunk::error).
    bool render_chunk(std::size_t c, std::vector<std::unique_ptr<EntryRenderer>>& renderers,
                      RenderScratch& scratch) noexcept {
        Chunk& chunk = slots_[c % slots_.size()];
        chunk.begin = begin(c);
        chunk.end = end(c);
        chunk.rendered_end = chunk.begin;
        chunk.last = floors_[c];
        chunk.text.clear();
        chunk.ends.clear();
        chunk.problems.clear();
        chunk.error = nullptr;
        try {
            if (renderers.size() < inputs_.size()) renderers.resize(inputs_.size());
            for (std::size_t i = chunk.begin; i < chunk.end; ++i) {
                Decoder::Item& item = items_[i];
                const std::int64_t unix_ns = std::max(item.unix_ns, chunk.last);
                const Decoder::Input& in = *inputs_[item.input];
                std::unique_ptr<EntryRenderer>& renderer = renderers[item.input];
                if (!renderer) renderer = in.make_renderer();
                const std::string_view line =
                    render_item(item, unix_ns, in, *renderer, infos_[in.info], text_, scratch,
                                [&chunk](std::uint32_t info, std::string problem) {
                                    chunk.problems.emplace_back(info, std::move(problem));
                                });
                chunk.text.append(line);
                chunk.ends.push_back(chunk.text.size());
                chunk.last = unix_ns;
                chunk.rendered_end = i + 1;
                // The calling thread renders the rest: a chunk's buffer
                // stays near chunk_bytes whatever its records hold.
                if (chunk.text.size() >= chunk_bytes_) break;
            }
        } catch (...) {
            chunk.error = std::current_exception();
        }
        return !chunk.error;
    }

    const ItemOrder items_;
    const std::vector<std::unique_ptr<Decoder::Input>>& inputs_;
    const std::vector<InputInfo>& infos_;  // workers read names only
    const bool text_;
    const std::size_t chunk_bytes_;
    const std::size_t chunk_records_;
    const std::size_t count_;
    const std::vector<std::int64_t> floors_;  // by chunk: the latest time before it

    std::mutex mutex_;
    std::condition_variable claim_cv_;  // workers: a slot was released, or stop_
    std::condition_variable ready_cv_;  // the calling thread: a chunk is ready
    std::size_t next_ = 0;              // the next chunk to claim
    std::size_t released_ = 0;          // chunks written
    bool stop_ = false;
    bool failed_ = false;               // a chunk's rendering threw
    std::vector<Chunk> slots_;
    // help()'s: the calling thread's renderers for buffered chunks.
    std::vector<std::unique_ptr<EntryRenderer>> caller_renderers_;
    RenderScratch caller_scratch_;
    std::vector<std::thread> threads_;  // joined by the destructor's body, before any member goes
};

}  // namespace

unsigned resolve_decode_threads(unsigned requested) noexcept {
    if (requested != 0) return requested;
    const unsigned cores = std::thread::hardware_concurrency();
    return std::clamp<unsigned>(cores, 1, DecodeOptions::kMaxDefaultThreads);
}

Decoder::Decoder(DecodeOptions options) : options_(options), format_budget_(kFormatBudgetBase) {}
Decoder::~Decoder() = default;

void Decoder::add(std::string_view name, std::span<const std::byte> bytes) { add_input(name, bytes, nullptr); }

void Decoder::add(std::string_view name, std::vector<std::byte>&& bytes) { add_input(name, {}, &bytes); }

void Decoder::add_input(std::string_view name, std::span<const std::byte> copy, std::vector<std::byte>* take) {
    ordered_ = false;
    infos_.emplace_back();
    InputInfo& info = infos_.back();
    std::size_t reached = 0;
    try {
        info.name = std::string(name);
        // Stored before it is parsed: items point into it, and those made
        // before an exception (std::bad_alloc) must stay valid.
        inputs_.push_back(std::make_unique<Input>());
        Input& in = *inputs_.back();
        in.info = static_cast<std::uint32_t>(infos_.size() - 1);
        if (take != nullptr) in.bytes = std::move(*take);
        else in.bytes.assign(copy.begin(), copy.end());
        const std::size_t size = in.bytes.size();
        format_budget_ = add_sat(format_budget_, mul_sat(kFormatBudgetPerInputByte, size));
        // Room for this input's records (a record entry is 56 bytes or more
        // for most call sites), grown geometrically: an exact reserve per
        // input would copy the items of all earlier inputs every time.
        const std::size_t wanted = items_.size() + size / 64;
        if (wanted > items_.capacity()) items_.reserve(std::max(wanted, 2 * items_.capacity()));
        Parser parser(in, info, items_, static_cast<std::uint32_t>(inputs_.size() - 1), format_budget_);
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

void Decoder::sort_items() {
    if (ordered_) return;
    // Most inputs (one thread, a binary log) are in order already; otherwise
    // sort small keys and render through them: the items stay where they are.
    order_.clear();
    const auto earlier = [](const Item& a, const Item& b) { return a.unix_ns < b.unix_ns; };
    if (options_.sort && !std::is_sorted(items_.begin(), items_.end(), earlier)) {
        order_.reserve(items_.size());
        for (std::size_t i = 0; i < items_.size(); ++i) order_.emplace_back(items_[i].unix_ns, i);
        // (time, index): equal times keep input order, as a stable sort would.
        std::sort(order_.begin(), order_.end());
    }
    ordered_ = true;
}

void Decoder::render(LineSink line) {
    sort_items();
    const unsigned threads = resolve_decode_threads(options_.threads);
    const std::size_t chunk = std::max<std::size_t>(options_.chunk_records, 1);
    if (threads <= 1 || items_.size() <= chunk) render_range(0, items_.size(), 0, line);
    else render_parallel(line, threads);
}

std::int64_t Decoder::render_range(std::size_t begin, std::size_t end, std::int64_t last, LineSink line) {
    const ItemOrder items{items_, order_};
    RenderScratch scratch;
    const auto add_problem = [this](std::uint32_t info, std::string problem) {
        infos_[info].problems.push_back(std::move(problem));
    };
    for (std::size_t i = begin; i < end; ++i) {
        Item& item = items[i];
        const std::int64_t unix_ns = std::max(item.unix_ns, last);
        last = unix_ns;
        Input& in = *inputs_[item.input];
        line(render_item(item, unix_ns, in, in.get_renderer(), infos_[in.info], options_.text, scratch, add_problem));
    }
    return last;
}

void Decoder::render_parallel(LineSink line, unsigned threads) {
    const ItemOrder items{items_, order_};
    const std::size_t count = items_.size();
    const std::size_t chunk_records = std::max<std::size_t>(options_.chunk_records, 1);
    const std::size_t chunks = (count + chunk_records - 1) / chunk_records;
    // Each chunk's time floor: the latest time before it, as the sequential
    // pass would have it on reaching the chunk.
    std::vector<std::int64_t> floors(chunks);
    std::int64_t last = 0;
    for (std::size_t c = 0, i = 0; c < chunks; ++c) {
        floors[c] = last;
        for (const std::size_t end = std::min(count, i + chunk_records); i < end; ++i) last = std::max(last, items[i].unix_ns);
    }
    // Workers only read snapshots: their rendered fields are made here, by
    // the calling thread's renderer of the input (the workers' have the same
    // limit, so EntryRenderer::fields_of finds them done).
    for (const auto& in : inputs_)
        if (in->renderer)
            for (const auto& snapshot : in->snapshots) in->renderer->prepare_context(snapshot.get());

    // The calling thread renders too (RenderPool::claim_next and help):
    // threads - 1 workers, and two buffered chunks per rendering thread.
    const unsigned workers = static_cast<unsigned>(std::min<std::size_t>(threads - 1, chunks));
    RenderPool pool(items, inputs_, infos_, options_, std::move(floors), chunk_records,
                    std::min<std::size_t>(chunks, std::size_t{2} * (workers + 1)));
    if (pool.start(workers) == 0) {
        render_range(0, count, 0, line);
        return;
    }
    for (std::size_t c = 0; c < pool.chunks(); ++c) {
        if (pool.claim_next(c)) {
            render_range(pool.begin(c), pool.end(c), pool.floor(c), line);
            pool.release(c);
            continue;
        }
        while (!pool.ready(c) && pool.help()) {
        }
        Chunk& chunk = pool.wait(c);
        std::size_t from = 0;
        for (const std::size_t to : chunk.ends) {
            line(std::string_view(chunk.text).substr(from, to - from));
            from = to;
        }
        for (auto& [info, problem] : chunk.problems) infos_[info].problems.push_back(std::move(problem));
        chunk.problems.clear();
        if (chunk.error) std::rethrow_exception(chunk.error);
        if (chunk.rendered_end < chunk.end) render_range(chunk.rendered_end, chunk.end, chunk.last, line);
        pool.release(c);
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
