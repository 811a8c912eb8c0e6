#pragma once
// Crash dumps (docs/crash-recovery.md). initialize() installs a handler for
// fatal signals and std::terminate that saves every record not yet written
// to the log to a dump file; agora-log-decode turns a dump back into the
// JSON lines the backend would have written. dump_now() writes the same dump
// on demand.

#include <agora/log/detail/export.hpp>
#include <agora/log/error.hpp>

#include <string>

AGORA_LOG_API_BEGIN

namespace agora::log {

/// Writes the records that are queued and not yet written to the log (every
/// thread's unconsumed ring bytes, with the call-site, logger and context
/// metadata they need) to a new file at `path`, without stopping the process
/// or consuming the records: the backend still writes them to the log.
/// The backend is held between two records while the rings are copied (for
/// at most a second; if it does not stop in time, the dump is written anyway
/// and says so). Any thread; not async-signal-safe (use it from a watchdog
/// thread, not from a signal handler). Errors: io_error (with strerror) if
/// the file cannot be created or written; an existing file is not replaced.
Expected<void> dump_now(const std::string& path);

}  // namespace agora::log

AGORA_LOG_API_END
