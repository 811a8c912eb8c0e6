#pragma once
// Alternate signal stacks: a thread gets one on its first record (and the
// initialize() thread at install), so a fatal signal caused by a stack
// overflow can still be handled. Released when the thread ends.

namespace agora::log::detail {

/// Gives the calling thread an alternate signal stack (if it has none, ours
/// or the application's). Cheap when already done.
void ensure_alt_signal_stack() noexcept;
/// Unmaps the stack ensure_alt_signal_stack() made on this thread, if any.
void release_alt_signal_stack() noexcept;

}  // namespace agora::log::detail
