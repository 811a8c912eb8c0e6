#pragma once
// The crash path: fatal-signal and std::terminate handlers (signals.cpp),
// the dump writer they share with dump_now() (dump_writer.cpp, dump_now.cpp).
// See docs/crash-recovery.md.

#include <agora/log/config.hpp>
#include <agora/log/error.hpp>

#include <string>

namespace agora::log::detail {

class Backend;
struct EntryIdentity;

/// Installs the handlers for `config` (replacing an earlier install's
/// settings; the handlers chain to what was installed before the first
/// install). `backend` is the running backend the crash path drains first.
/// Lifecycle lock held. Returns an error if a sigaction fails.
Expected<void> install_crash_handler(const Config& config, const EntryIdentity& identity, Backend* backend);
/// Restores the handlers found by install_crash_handler() (if ours are still
/// the installed ones) and forgets the backend. If a crash handler on another
/// thread is still using the backend, waits for it (that crash ends the
/// process). Lifecycle lock held.
void uninstall_crash_handler() noexcept;

/// In a forked child: forgets a crash in progress on a parent's thread, so
/// the child's own crash is handled instead of waiting for it.
void reset_crash_state_after_fork() noexcept;

/// dump_now() with the lifecycle lock held: `backend` (may be null) is
/// paused while the rings are read.
Expected<void> write_dump_now(const std::string& path, const Config& config, const EntryIdentity& identity,
                              Backend* backend);

/// Test hooks: hold the running backend between two records (nothing more
/// is consumed until release; a crash finds it stopped but not drained), and
/// let it go. hold returns false if no backend is running.
bool hold_backend_for_tests() noexcept;
void release_backend_for_tests() noexcept;

/// Test hooks: `hook` runs in the crash handler once it has the settings,
/// before it touches the backend (set it before any crash; async-signal-safe
/// code only). The count says how often uninstall_crash_handler() has had to
/// wait for a handler in use.
void set_crash_dump_hook_for_tests(void (*hook)()) noexcept;
unsigned crash_uninstall_waits_for_tests() noexcept;

}  // namespace agora::log::detail
