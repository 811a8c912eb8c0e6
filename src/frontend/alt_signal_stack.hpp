#pragma once
// Alternate signal stacks: a thread gets one on its first record (and the
// initialize() thread at install), so a fatal signal caused by a stack
// overflow can still be handled. Released when the thread ends.
//
// Mappings (a guard page and the stack) are kept in a small lock-free pool,
// so a thread's first record makes one system call (sigaltstack) instead of
// four (sigaltstack twice, mmap, mprotect): initialize() fills it, the
// backend refills it, and a thread's end puts its mapping back when there is
// room. Pool slots are emptied (exchange) and filled (compare-exchange from
// null) by any thread; a mapping belongs to exactly one slot or one thread.
// Its pages are touched only by a signal, so a spare costs address space,
// not memory.

#include <cstddef>

namespace agora::log::detail {

/// Gives the calling thread an alternate signal stack (if it has none, ours
/// or the application's). Cheap when already done.
void ensure_alt_signal_stack() noexcept;
/// Takes back the stack ensure_alt_signal_stack() gave this thread, if any
/// (into the pool, or unmapped).
void release_alt_signal_stack() noexcept;

/// initialize(): keep `count` spare mappings (at most 64); fills the pool now.
void configure_alt_signal_stacks(std::size_t count) noexcept;
/// Backend: maps one spare if the pool is short. Returns true if it did.
bool refill_alt_signal_stacks() noexcept;
/// Spare mappings in the pool now (tests).
std::size_t spare_alt_signal_stacks() noexcept;

}  // namespace agora::log::detail
