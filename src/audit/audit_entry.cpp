#include "audit/audit_entry.hpp"

#include "audit/audit_log.hpp"
#include "format/context_snapshot.hpp"
#include "format/format.hpp"
#include "format/redaction.hpp"

#include <agora/log/logger.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>

namespace agora::log::detail {

namespace {

/// What audit() needs, all guarded by `mutex` (which also serialises the
/// writes, so sequence numbers follow the file order).
struct AuditState {
    std::mutex mutex;
    std::unique_ptr<AuditLog> log;  // null: audit logging is off
    AuditConfig config;
    std::unique_ptr<Redactor> redactor;  // its decision cache is unsynchronised: under `mutex`
    std::size_t max_length = kDefaultMaxMessageLength;
    Context default_context;
    std::string identity_json;  // ,"service":..,"environment":..,"version":..,"host":..
    std::atomic<std::uint64_t> written{0};
    std::atomic<std::uint64_t> failed{0};
};

AuditState& state() noexcept {
    static AuditState* s = new AuditState;  // never destroyed: audit() may run during exit
    return *s;
}

std::string default_path(const Config& config) {
    // initialize() has resolved file_path (Config::effective_file_path()).
    const std::filesystem::path dir = std::filesystem::path(config.file_path).parent_path();
    return (dir / "audit" / (config.service_name + "-audit.log")).string();
}

bool left_out(const AuditConfig& c, std::string_view key) noexcept {
    if (key == "user_id") return !c.include_user_id;
    if (key == "ip_address") return !c.include_ip_address;
    if (key == "request_id" || key == "correlation_id") return !c.include_request_id;
    return false;
}

/// The entry without its closing brace, as the renderer writes one:
/// fixed fields, top-level keys, then "context".
std::string render_audit_entry(AuditState& s, std::string_view logger_name, const AuditMessage& message,
                               const Context& fields) {
    std::string text(message.text);
    truncate_message(text, s.max_length);
    if (s.redactor->has_patterns()) s.redactor->redact_text(text);
    const auto unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    std::string json = "{\"timestamp\":\"";
    append_timestamp(json, unix_ns);
    json += "\",\"level\":\"INFO\",\"message\":";
    append_json_string(json, text);
    json += s.identity_json;
    json += ",\"logger_name\":";
    append_json_string(json, logger_name);
    json += EntryRenderer::make_site_info(message.location.file_name(), message.location.line(),
                                          message.location.function_name())
                .json_tail;

    std::vector<RenderedField> rendered;
    rendered.reserve(fields.size());
    for (const auto& [key, value] : fields) {
        if (left_out(s.config, key)) continue;
        render_field(rendered.emplace_back(), key, value, s.max_length, s.redactor.get());
    }
    for (int slot = 0; slot < kTopLevelKeyCount; ++slot)
        for (const RenderedField& f : rendered)
            if (f.slot == slot) (json += ',') += f.json;
    bool first = true;
    for (const RenderedField& f : rendered) {
        if (f.slot >= 0) continue;
        json += first ? ",\"context\":{" : ",";
        json += f.json;
        first = false;
    }
    if (!first) json += '}';
    return json;
}

}  // namespace

void open_audit_log(const Config& config, const EntryIdentity& identity, std::vector<std::string>& warnings) {
    AuditState& s = state();
    std::lock_guard lock(s.mutex);
    s.log.reset();
    if (!config.audit.enabled) return;
    AuditSettings settings;
    settings.path = config.audit.file_path.empty() ? default_path(config) : config.audit.file_path;
    settings.max_file_bytes = config.audit.max_file_size_mb << 20;
    settings.retention_days = config.audit.retention_days;
    settings.sync = config.audit.sync;
    s.config = config.audit;
    s.redactor = std::make_unique<Redactor>(config.sensitive_data);
    s.max_length = config.max_message_length;
    s.default_context = config.default_context;
    s.identity_json.clear();
    for (auto [key, value] : {std::pair<std::string_view, const std::string*>{"service", &identity.service},
                              {"environment", &identity.environment},
                              {"version", &identity.version},
                              {"host", &identity.host}}) {
        s.identity_json += ",\"";
        s.identity_json += key;
        s.identity_json += "\":";
        append_json_string(s.identity_json, *value);
    }
    s.log = std::make_unique<AuditLog>(std::move(settings));
    if (auto why = s.log->open()) warnings.push_back("Audit log unavailable: " + *why);
    for (auto& w : s.log->take_warnings()) warnings.push_back("Audit log: " + w);
}

void close_audit_log() noexcept {
    AuditState& s = state();
    std::lock_guard lock(s.mutex);
    s.log.reset();
}

void forget_audit_log_after_fork() noexcept {
    // The only thread of the child: no other holds the mutex, unless the
    // fork happened while one did (then it is rebuilt unlocked).
    AuditState& s = state();
    new (&s.mutex) std::mutex();
    (void)s.log.release();  // the parent's descriptor and lock stay the parent's
}

std::string audit_file_path() {
    AuditState& s = state();
    std::lock_guard lock(s.mutex);
    return s.log ? s.log->path() : std::string();
}

std::uint64_t audit_entries_written() noexcept { return state().written.load(std::memory_order_relaxed); }
std::uint64_t audit_entries_failed() noexcept { return state().failed.load(std::memory_order_relaxed); }

std::string write_audit(std::string_view logger_name, const ContextSnapshot* bound, const AuditMessage& message,
                        const Context& fields, Context& merged, std::vector<std::string>& warnings) noexcept {
    AuditState& s = state();
    std::string reason;
    try {
        std::lock_guard lock(s.mutex);
        // Highest precedence last: default, bound, scope, the call.
        merged = s.default_context;
        for (const ContextSnapshot* snapshot : {bound, t_scope})
            if (snapshot != nullptr)
                for (const auto& [key, value] : snapshot->values) merged.insert_or_assign(key, value);
        for (const auto& [key, value] : fields) merged.insert_or_assign(key, value);
        if (!s.log) {
            reason = "audit logging is not enabled (Config::audit)";
        } else {
            std::string entry = render_audit_entry(s, logger_name, message, merged);
            if (auto why = s.log->append(entry)) reason = std::move(*why);
            warnings = s.log->take_warnings();
        }
    } catch (const std::exception& e) {
        reason = std::string("audit entry not rendered: ") + e.what();
    } catch (...) {
        reason = "audit entry not rendered";
    }
    (reason.empty() ? s.written : s.failed).fetch_add(1, std::memory_order_relaxed);
    return reason;
}

}  // namespace agora::log::detail
