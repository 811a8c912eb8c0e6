#include "format/render.hpp"

#include "format/record_codec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace agora::log::detail {

EntryRenderer::EntryRenderer(const EntryIdentity& id, const RenderOptions& options)
    : options_(options), redactor_(options_.sensitive_data) {
    auto field = [this](std::string_view key, const std::string& value) {
        identity_json_ += ",\"";
        identity_json_ += key;
        identity_json_ += "\":";
        append_json_string(identity_json_, value);
    };
    field("service", id.service);
    field("environment", id.environment);
    field("version", id.version);
    field("host", id.host);
    json_.reserve(1024);
    message_.reserve(512);
    // Never a record's bound or scoped context: its id (0) never meets theirs (from 1).
    default_context_ = std::make_unique<ContextSnapshot>();
    default_context_->values = options_.default_context;
    default_fields_.resize(default_context_->values.size());
    std::size_t i = 0;
    for (const auto& [key, value] : default_context_->values)
        render_field(default_fields_[i++], key, value, options_.max_message_length, &redactor_);
    for (const auto& f : default_fields_) default_only_.push_back(&f);
}

EntryRenderer::~EntryRenderer() = default;

EntryRenderer::SiteInfo EntryRenderer::make_site_info(std::string_view file, std::uint32_t line,
                                                      std::string_view function) {
    SiteInfo info;
    info.file = file_base_name(file);
    info.function = clean_function_name(function);
    info.line = line;
    info.json_tail = ",\"file\":";
    append_json_string(info.json_tail, info.file);
    info.json_tail += ",\"line\":";
    info.json_tail += std::to_string(info.line);
    info.json_tail += ",\"function\":";
    append_json_string(info.json_tail, info.function);
    return info;
}

const EntryRenderer::SiteInfo& EntryRenderer::site_info(const CallSite& site) {
    if (site.id >= sites_.size()) sites_.resize(site.id + 1);
    SiteInfo& info = sites_[site.id];
    if (info.json_tail.empty()) info = make_site_info(site.file, site.line, site.function);
    return info;
}

const std::string& EntryRenderer::logger_json(std::uint32_t logger_id, std::string_view name) {
    if (logger_id >= logger_json_.size()) logger_json_.resize(logger_id + 1);
    std::string& s = logger_json_[logger_id];
    if (s.empty()) {
        s = ",\"logger_name\":";
        append_json_string(s, name);
    }
    return s;
}

void EntryRenderer::begin_entry(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                                std::uint32_t logger_id, std::string_view logger_name) {
    // The date and time to the second change once a second: reuse them.
    std::int64_t second = unix_ns >= 0 ? unix_ns / 1'000'000'000 : (unix_ns - 999'999'999) / 1'000'000'000;
    if (second != cached_second_) {
        timestamp_.clear();
        append_timestamp(timestamp_, unix_ns);
        cached_second_ = second;
    } else {
        auto micros = static_cast<unsigned>((unix_ns - second * 1'000'000'000) / 1000);
        char* digits = timestamp_.data() + 20;  // "YYYY-MM-DDTHH:MM:SS." is 20 chars
        for (int i = 5; i >= 0; --i, micros /= 10) digits[i] = static_cast<char>('0' + micros % 10);
    }

    json_.clear();
    json_ += "{\"timestamp\":\"";
    json_ += timestamp_;
    json_ += "\",\"level\":\"";
    json_ += to_string(level);
    json_ += "\",\"message\":";
    append_json_string(json_, message);
    json_ += identity_json_;
    json_ += logger_json(logger_id, logger_name);
    json_ += site.json_tail;
    extra_start_ = json_.size();
}

void EntryRenderer::finish_entry(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                                 std::string_view logger_name, LogRecordView& view) {
    const std::size_t extra = json_.size() - extra_start_;
    json_ += '}';
    // After the last append (a view taken before it could dangle): the members
    // after "function", without their leading comma (text output shows them).
    view.fields_json = extra == 0 ? std::string_view() : std::string_view(json_).substr(extra_start_ + 1, extra - 1);
    view.level = level;
    view.unix_time_ns = unix_ns;
    view.timestamp = timestamp_;
    view.message = message;
    view.logger_name = logger_name;
    view.file = site.file;
    view.line = site.line;
    view.function = site.function;
    view.json = json_;
}

void EntryRenderer::render(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                           std::uint32_t logger_id, std::string_view logger_name, LogRecordView& view) {
    if (redactor_.has_patterns()) {
        message_.assign(message);
        redactor_.redact_text(message_);
        message = message_;
    }
    begin_entry(level, unix_ns, message, site, logger_id, logger_name);
    call_field_count_ = 0;
    append_fields(default_only_, 0, false);
    finish_entry(level, unix_ns, message, site, logger_name, view);
}

namespace {
/// The JSON value of a format argument at `ref` (bytes checked by format_message).
RawValue raw_value(const FormatArgRef& ref) noexcept {
    RawValue v;
    switch (ref.type) {
        case TypeCode::boolean: v.kind = RawValue::Kind::boolean; v.b = load<std::uint8_t>(ref.data) != 0; break;
        case TypeCode::character: v.s = std::string_view(reinterpret_cast<const char*>(ref.data), 1); break;
        case TypeCode::i8: v.kind = RawValue::Kind::integer; v.i = load<std::int8_t>(ref.data); break;
        case TypeCode::i16: v.kind = RawValue::Kind::integer; v.i = load<std::int16_t>(ref.data); break;
        case TypeCode::i32: v.kind = RawValue::Kind::integer; v.i = load<std::int32_t>(ref.data); break;
        case TypeCode::i64: v.kind = RawValue::Kind::integer; v.i = load<std::int64_t>(ref.data); break;
        case TypeCode::u8: v.kind = RawValue::Kind::unsigned_integer; v.u = load<std::uint8_t>(ref.data); break;
        case TypeCode::u16: v.kind = RawValue::Kind::unsigned_integer; v.u = load<std::uint16_t>(ref.data); break;
        case TypeCode::u32: v.kind = RawValue::Kind::unsigned_integer; v.u = load<std::uint32_t>(ref.data); break;
        case TypeCode::u64: v.kind = RawValue::Kind::unsigned_integer; v.u = load<std::uint64_t>(ref.data); break;
        case TypeCode::f32: v.kind = RawValue::Kind::floating; v.d = load<float>(ref.data); break;
        case TypeCode::f64: v.kind = RawValue::Kind::floating; v.d = load<double>(ref.data); break;
        case TypeCode::string:
            v.s = std::string_view(reinterpret_cast<const char*>(ref.data) + 4, load<std::uint32_t>(ref.data));
            break;
        case TypeCode::pointer: {
            // A string: JSON numbers cannot hold every 64-bit address exactly.
            thread_local char buf[24];
            auto r = fmt::format_to_n(buf, sizeof buf, "0x{:x}", load<std::uint64_t>(ref.data));
            v.s = std::string_view(buf, r.size);
            break;
        }
        default: break;
    }
    return v;
}

}  // namespace

const EntryRenderer::NamedPlan& EntryRenderer::named_plan(const CallSite& site) {
    if (site.id >= named_plans_.size()) named_plans_.resize(site.id + 1);
    NamedPlan& plan = named_plans_[site.id];
    if (plan.known) return plan;
    std::vector<bool> replaced(site.names.size());
    for (std::size_t i = 0; i < site.names.size(); ++i) {
        replaced[i] = redactor_.decide(site.names[i]).action != Redactor::Decision::Action::pass;
        plan.affected = plan.affected || replaced[i];
    }
    if (plan.affected) {
        // The positional template: "{{" and "}}" are literal braces, every
        // other "{...}" is the next argument's field ("{}" or "{:spec}").
        const std::string_view t = site.fmt_template();
        std::size_t arg = 0;
        for (std::size_t i = 0; i < t.size(); ++i) {
            const char c = t[i];
            if ((c == '{' || c == '}') && i + 1 < t.size() && t[i + 1] == c) {
                plan.format.append(2, c);
                ++i;
                continue;
            }
            if (c != '{') {
                plan.format.push_back(c);
                continue;
            }
            const std::size_t close = t.find('}', i);
            const std::size_t nested = t.find('{', i + 1);
            if (close == std::string_view::npos || (nested != std::string_view::npos && nested < close)) {
                plan.usable = false;
                break;
            }
            if (arg < replaced.size() && replaced[arg]) plan.format.append("{}");
            else plan.format.append(t.substr(i, close - i + 1));
            ++arg;
            i = close;
        }
    }
    plan.known = true;
    return plan;
}

void EntryRenderer::redact_named_in_message(const CallSite& site) {
    const NamedPlan& plan = named_plan(site);
    if (!plan.affected) return;
    message_.clear();
    if (!plan.usable) {
        message_.assign(site.format);
        return;
    }
    const std::size_t n = std::min(site.names.size(), extras_.arg_count);
    if (named_replacements_.size() < extras_.arg_count) named_replacements_.resize(extras_.arg_count);
    const std::string* replacement[RecordExtras::kMaxArgs] = {};
    for (std::size_t i = 0; i < n; ++i) {
        const Redactor::Decision d = redactor_.decide(site.names[i]);
        if (d.action == Redactor::Decision::Action::pass) continue;
        std::string& text = named_replacements_[i];
        text.clear();
        if (d.action == Redactor::Decision::Action::redact) {
            text = redactor_.config().redaction_text;
        } else {
            std::string value;
            append_raw_value_text(value, raw_value(extras_.args[i]));
            Redactor::mask(value, *d.rule, text);
        }
        replacement[i] = &text;
    }
    if (!format_with_replacements(plan.format, extras_, replacement, store_, message_)) {
        message_.assign(site.format);  // nothing of a value if it does not format
    }
}

void EntryRenderer::collect_call_fields(const CallSite& site) {
    call_field_count_ = 0;
    auto next_slot = [this]() -> RenderedField& {
        if (call_field_count_ == call_fields_.size()) call_fields_.emplace_back();
        return call_fields_[call_field_count_++];
    };
    const std::size_t limit = options_.max_message_length;
    const std::size_t named = std::min(site.names.size(), extras_.arg_count);
    Redactor* const redactor = redactor_.enabled() ? &redactor_ : nullptr;
    for (std::size_t i = 0; i < named; ++i)
        render_raw_field(next_slot(), site.names[i], raw_value(extras_.args[i]), limit, redactor);
    if (extras_.context != nullptr) {
        ContextBlobReader reader(extras_.context, extras_.context_size);
        std::string_view key;
        RawValue value;
        while (reader.next(key, value)) render_raw_field(next_slot(), key, value, limit, redactor);
    }
}

void EntryRenderer::append_sample_rate(Level level) {
    const std::size_t i = static_cast<std::size_t>(level) / 10 - 1;
    const double rate = i < options_.sample_rates.size() ? options_.sample_rates[i] : 1.0;
    if (call_field_count_ == call_fields_.size()) call_fields_.emplace_back();
    RenderedField& f = call_fields_[call_field_count_++];
    f.key = "sample_rate";
    f.slot = -1;
    f.json.clear();
    fmt::format_to(std::back_inserter(f.json), "\"sample_rate\":{}", rate);
}

std::array<double, 5> sample_rates_of(const SamplingConfig& sampling) noexcept {
    std::array<double, 5> rates{1.0, 1.0, 1.0, 1.0, 1.0};
    for (const auto& [level, rate] : sampling.rates) {
        const std::size_t i = static_cast<std::size_t>(level) / 10 - 1;
        if (i < rates.size()) rates[i] = rate;
    }
    return rates;
}

std::string encode_sample_rates(const SamplingConfig& sampling) {
    const std::array<double, 5> rates = sample_rates_of(sampling);
    std::string out;
    out.push_back(static_cast<char>(rates.size()));
    for (double r : rates) out.append(reinterpret_cast<const char*>(&r), sizeof r);
    return out;
}

std::string encode_identity_rules(const Config& config) {
    return encode_sensitive_data(config.sensitive_data) + encode_sample_rates(config.sampling);
}

const std::vector<RenderedField>& EntryRenderer::fields_of(const ContextSnapshot* s) {
    const auto [it, inserted] = snapshot_fields_.try_emplace(s->id);
    if (inserted) {
        std::vector<RenderedField>& fields = it->second;
        try {
            fields.resize(s->values.size());
            std::size_t i = 0;
            for (const auto& [key, value] : s->values)
                render_field(fields[i++], key, value, options_.max_message_length, &redactor_);
        } catch (...) {
            snapshot_fields_.erase(it);  // not left half rendered for the next record
            throw;
        }
    }
    return it->second;
}

const std::vector<const RenderedField*>& EntryRenderer::merged_context(RecordContext context) {
    if (context.scope == nullptr && context.bound == nullptr) return default_only_;
    const std::uint64_t scope_id = context.scope ? context.scope->id : 0;
    const std::uint64_t bound_id = context.bound ? context.bound->id : 0;
    if (merged_.scope_id == scope_id && merged_.bound_id == bound_id) return merged_.fields;
    // Cleared before this merge takes pointers, never during it: merged_ is
    // rebuilt below, and nothing else keeps pointers into the cache.
    if (snapshot_fields_.size() + 2 > kMaxCachedSnapshots) {
        merged_ = MergedCache{};
        snapshot_fields_.clear();
    }
    // (key, precedence) order; the first of each key wins.
    std::vector<std::pair<const RenderedField*, int>> all;
    if (context.scope != nullptr)
        for (const auto& f : fields_of(context.scope)) all.emplace_back(&f, 0);
    if (context.bound != nullptr)
        for (const auto& f : fields_of(context.bound)) all.emplace_back(&f, 1);
    for (const auto& f : default_fields_) all.emplace_back(&f, 2);
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        if (a.first->key != b.first->key) return a.first->key < b.first->key;
        return a.second < b.second;
    });
    // Matches no pair while it is rebuilt (push_back may throw).
    merged_.scope_id = merged_.bound_id = ~std::uint64_t{0};
    merged_.fields.clear();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (i == 0 || all[i].first->key != all[i - 1].first->key) merged_.fields.push_back(all[i].first);
    merged_.scope_id = scope_id;
    merged_.bound_id = bound_id;
    return merged_.fields;
}

void EntryRenderer::append_fields(const std::vector<const RenderedField*>& inherited, double duration_ms,
                                  bool has_duration) {
    call_ptrs_.clear();
    for (std::size_t i = 0; i < call_field_count_; ++i) call_ptrs_.push_back(&call_fields_[i]);
    const RenderedField* const* call = call_ptrs_.data();
    const std::size_t ncall = call_ptrs_.size();

    // Inherited fields whose key the call also has are hidden by it.
    bool collisions_possible = ncall > 0 && !inherited.empty();
    if (collisions_possible) {
        call_keys_.clear();
        for (std::size_t i = 0; i < ncall; ++i) call_keys_.push_back(call[i]->key);
        std::sort(call_keys_.begin(), call_keys_.end());
    }
    auto hidden = [&](const RenderedField* f) {
        return collisions_possible && std::binary_search(call_keys_.begin(), call_keys_.end(), std::string_view(f->key));
    };

    // Top-level fields, in the schema's order.
    bool any_context = false;
    for (int slot = 0; slot < kTopLevelKeyCount; ++slot) {
        const RenderedField* chosen = nullptr;
        for (std::size_t i = 0; i < ncall && chosen == nullptr; ++i)
            if (call[i]->slot == slot) chosen = call[i];
        for (const RenderedField* f : inherited) {
            if (chosen != nullptr) break;
            if (f->slot == slot && !hidden(f)) chosen = f;
        }
        if (chosen != nullptr) {
            json_ += ',';
            json_ += chosen->json;
        }
    }
    if (has_duration) fmt::format_to(std::back_inserter(json_), ",\"duration_ms\":{:.3f}", duration_ms);

    for (std::size_t i = 0; i < ncall && !any_context; ++i) any_context = call[i]->slot < 0;
    for (const RenderedField* f : inherited) {
        if (any_context) break;
        any_context = f->slot < 0 && !hidden(f);
    }
    if (any_context) {
        json_ += ",\"context\":{";
        bool first = true;
        auto put = [&](const RenderedField* f) {
            if (!first) json_ += ',';
            first = false;
            json_ += f->json;
        };
        for (std::size_t i = 0; i < ncall; ++i)
            if (call[i]->slot < 0) put(call[i]);
        for (const RenderedField* f : inherited)
            if (f->slot < 0 && !hidden(f)) put(f);
        json_ += '}';
    }
}

bool EntryRenderer::render_record(const RecordHeader& header, const std::byte* args, std::size_t args_size,
                                  const CallSite& site, std::string_view logger_name, std::int64_t unix_ns,
                                  LogRecordView& view, RecordContext context, double ns_per_tick) {
    message_.clear();
    if (site.id >= plain_templates_.size()) plain_templates_.resize(site.id + 1);
    PlainTemplate& plain = plain_templates_[site.id];
    if (!plain.known) plain = plan_plain_template(site.fmt_template(), site.types);
    const bool ok = plain.usable ? format_message_plain(plain, site.fmt_template(), site.types, args, args_size, store_,
                                                        message_, extras_)
                                 : format_message(site.fmt_template(), site.types, args, args_size, store_, message_,
                                                  extras_);
    if (ok && redactor_.enabled() && !site.names.empty()) redact_named_in_message(site);
    redactor_.redact_text(message_);  // before the cut: a match across it is still found
    truncate_message(message_, options_.max_message_length);
    const std::uint32_t logger_id = header.logger_id & kLoggerIdMask;
    const SiteInfo& info = site_info(site);
    begin_entry(site.level, unix_ns, message_, info, logger_id, logger_name);
    call_field_count_ = 0;
    if (ok && (!site.names.empty() || extras_.context != nullptr)) collect_call_fields(site);
    if ((header.logger_id & kSampledFlag) != 0) append_sample_rate(site.level);
    const auto& inherited = merged_context(context);
    const bool has_duration = ok && extras_.has_duration;
    if (call_field_count_ != 0 || !inherited.empty() || has_duration) {
        const double duration_ms = static_cast<double>(extras_.duration_ticks) * ns_per_tick / 1e6;
        append_fields(inherited, duration_ms, has_duration);
    }
    if (ok && extras_.exception != nullptr) {
        json_ += ',';
        if (!append_exception_json(json_, extras_.exception, extras_.exception_size, symbols_,
                                   options_.max_message_length, redactor_.has_patterns() ? &redactor_ : nullptr))
            json_.pop_back();
    }
    finish_entry(site.level, unix_ns, message_, info, logger_name, view);
    return ok;
}

}  // namespace agora::log::detail
