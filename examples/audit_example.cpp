// docs/audit.md: audit entries in their own hash-chained file.
#include <agora/log.hpp>

#include <cstdio>

int main() {
    agora::log::Config base;
    base.service_name = "auth-service";
    base.file_path = "logs/auth-service.log";
    base.console_enabled = false;
    base.audit.enabled = true;  // the file: logs/audit/auth-service-audit.log
    base.audit.retention_days = 365;
    auto config = agora::log::Config::from_env(base);  // LOG_AUDIT_FILE_PATH may move it
    if (!config || !agora::log::initialize(*config)) {
        std::fprintf(stderr, "cannot start the logger\n");
        return 1;
    }
    auto audit_log = agora::log::get_logger("audit");
    // Returns once the line is written and fdatasync'ed (AuditConfig::sync).
    const bool written = audit_log.audit("User login", {{"user_id", "123"}, {"ip_address", "10.0.0.1"}});
    agora::log::shutdown();
    if (!written) {
        std::fprintf(stderr, "the audit entry was not written (see the regular log)\n");
        return 1;
    }
    return 0;
}
