#pragma once
// Runtime levels: resolving a logger's level from the configured levels and
// the set_level() overrides, by dotted-name hierarchy, and timed reverts.
// Everything here runs under Registry::mutex (the _locked functions) or takes
// it; the result is one byte per logger (LoggerState::level) that calling
// threads load relaxed, so a level change costs them nothing.

#include "frontend/registry.hpp"

#include <cstdint>
#include <string_view>

namespace agora::log::detail {

/// The level `name` gets: the closest runtime override among the name and
/// its ancestors at dot boundaries ("a.b.c", "a.b", "a"), else the root
/// override (""), else the closest Config::logger_levels entry, else
/// Config::level. Caller holds reg.mutex.
std::uint8_t resolve_level_locked(const Registry& reg, std::string_view name) noexcept;

/// Stores state's effective level and the level callers compare with: the
/// effective level while a backend runs and before the first initialize(),
/// kLevelOff otherwise (after shutdown()). Caller holds reg.mutex.
void store_logger_level_locked(const Registry& reg, LoggerState& state) noexcept;

/// store_logger_level_locked() for every logger. Caller holds reg.mutex.
void apply_levels_locked(Registry& reg) noexcept;

/// Sets the override of `name` ("" = root). With a deadline (not
/// kNoLevelDeadline) it reverts then to the permanent override it replaced,
/// or to none. Applies the levels of `name` and the loggers below it (all
/// for the root), the only ones an override of `name` resolves for. Caller
/// holds reg.mutex. May throw bad_alloc.
void set_override_locked(Registry& reg, std::string_view name, std::uint8_t level, std::int64_t deadline_ns);

/// Drops every override and pending revert; applies the levels. Caller holds reg.mutex.
void clear_overrides_locked(Registry& reg) noexcept;

/// Reverts the overrides whose deadline is <= now_ns; applies the levels if
/// any changed. Caller holds reg.mutex.
void apply_due_level_reverts_locked(Registry& reg, std::int64_t now_ns) noexcept;

/// The same, taking reg.mutex. Called by the backend each pass once
/// Registry::next_level_deadline has passed, by the level functions and by
/// tests (with a time of their choosing). Any thread.
void apply_due_level_reverts(std::int64_t now_ns) noexcept;

/// The clock of revert deadlines, in ns: steady_clock, or the test clock.
std::int64_t level_clock_now_ns() noexcept;

/// Test hook: replaces the deadline clock (null: steady_clock again). With a
/// clock that only the test advances, a revert happens exactly when the test
/// moves the clock past it and calls apply_due_level_reverts() (or the
/// backend's next pass does).
using LevelClock = std::int64_t (*)() noexcept;
void set_level_clock_for_tests(LevelClock clock) noexcept;

}  // namespace agora::log::detail
