#pragma once
// Public API: runtime log levels (docs/levels.md). Any thread, at any time
// (before initialize(), while running, after shutdown(), concurrently with
// logging); none of it costs a logging thread anything: a level change is
// resolved here, under the registry lock, into each logger's level byte,
// which a log call loads as before.
//
// Precedence, for a logger "a.b.c" (first that applies):
//   1. a runtime level set for "a.b.c", else for "a.b", else for "a"
//      (set_level(level, name), Logger::set_level; prefixes end at a dot:
//      "agora.market" is not an ancestor of "agora.market_data");
//   2. the runtime root level (set_level(level));
//   3. the configured level of "a.b.c", "a.b" or "a" (Config::logger_levels);
//   4. Config::level.
// A level set for a name also applies to loggers created later under it.

#include <agora/log/detail/export.hpp>
#include <agora/log/error.hpp>
#include <agora/log/level.hpp>

#include <chrono>
#include <map>
#include <string>
#include <string_view>

AGORA_LOG_API_BEGIN

namespace agora::log {

/// Sets the runtime root level: every logger without a runtime level of its
/// own or on an ancestor now uses `level` (before any named set_level(), all
/// loggers do). Error (invalid_argument) if `level` is not a Level value.
Expected<void> set_level(Level level) noexcept;
/// The same for `revert_after`, then the root level is what it was before
/// (the previous permanent runtime root level, or none: the configured
/// levels). Error if revert_after <= 0.
Expected<void> set_level(Level level, std::chrono::milliseconds revert_after) noexcept;

/// Sets the runtime level of `logger_name` and of every logger below it
/// ("name.*") that has no closer runtime level. The logger need not exist
/// yet. Error (invalid_argument) for an empty name or a bad level.
Expected<void> set_level(Level level, std::string_view logger_name) noexcept;
/// The same for `revert_after`, then that name's level is what it was
/// before. A later set_level() for the same name replaces a timed one
/// (its revert is cancelled; a timed one still reverts to the last permanent
/// value). Reverts are applied by the backend thread within one pass of the
/// deadline, and by any level function called after it; when no backend
/// runs, at the next initialize() or level function. Error if revert_after <= 0.
Expected<void> set_level(Level level, std::string_view logger_name, std::chrono::milliseconds revert_after) noexcept;

/// The root level: the runtime root level if set, else Config::level.
Level get_level() noexcept;
/// The level `logger_name` has (or would have, if it does not exist yet).
Level get_level(std::string_view logger_name) noexcept;

/// Name -> level, for every logger created so far, every name with a
/// runtime or configured level, and the root under the empty name "".
/// Throws std::bad_alloc without memory.
std::map<std::string, Level> get_all_levels();

/// Drops every runtime level (named, root, Logger::set_level) and pending
/// revert: the configured levels apply again.
void reset_level() noexcept;

}  // namespace agora::log

AGORA_LOG_API_END
