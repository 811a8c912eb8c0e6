#pragma once
// Logger::audit() and the process's one audit log, opened by initialize()
// and closed by shutdown() (src/lifecycle/).

#include "format/render.hpp"

#include <agora/log/config.hpp>
#include <agora/log/logger.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace agora::log::detail {

/// Opens the audit log `config.audit` describes (nothing when it is off;
/// `config.file_path` resolved, as initialize() passes it),
/// replacing any open one. A file that cannot be opened does not fail
/// initialize(): it adds to `warnings`, and each audit() tries it again.
void open_audit_log(const Config& config, const EntryIdentity& identity, std::vector<std::string>& warnings);
/// fdatasyncs and closes it; audit() then returns false.
void close_audit_log() noexcept;
/// In a forked child: the parent's file and lock are the parent's; the
/// child writes no audit line (each audit() returns false) until it calls
/// initialize() itself, which fails to lock the parent's file while the
/// parent has it open.
void forget_audit_log_after_fork() noexcept;

/// Logger::audit(): merges `fields` over the calling thread's scope,
/// `bound` and the default context into `merged`, renders the entry and
/// appends it to the audit file. Returns "" once written, else why not.
/// `warnings`: problems that did not stop the write, for the regular log.
std::string write_audit(std::string_view logger_name, const ContextSnapshot* bound, const AuditMessage& message,
                        const Context& fields, Context& merged, std::vector<std::string>& warnings) noexcept;

/// The audit file in use ("" when audit logging is off).
std::string audit_file_path();
/// Audit lines written / audit() calls that returned false, since the start.
std::uint64_t audit_entries_written() noexcept;
std::uint64_t audit_entries_failed() noexcept;

}  // namespace agora::log::detail
