// Logger::audit(): the audit layer writes the line; what could not be
// written goes to the regular log, through the queue like any entry.

#include "audit/audit_entry.hpp"
#include "backend/metrics.hpp"

#include <agora/log/logger.hpp>

namespace agora::log {

bool Logger::audit(AuditMessage message, const Context& fields) const noexcept {
    Context merged;
    std::vector<std::string> warnings;
    const std::string reason = detail::write_audit(name(), bound_, message, fields, merged, warnings);
    detail::count_audit_entry(reason.empty());
    try {
        const Logger internal = get_logger("agora.log.audit");
        for (const std::string& w : warnings) internal.warning("Audit log: {}", w);
        if (reason.empty()) return true;
        merged.insert_or_assign("audit_error", reason);
        merged.insert_or_assign("audit_message", std::string(message.text));
        merged.insert_or_assign("audit_logger", name());
        merged.insert_or_assign("audit_source",
                                std::string(message.location.file_name()) + ":" + std::to_string(message.location.line()));
        internal.error("Audit entry not written", merged);
    } catch (...) {
    }
    return false;
}

}  // namespace agora::log
