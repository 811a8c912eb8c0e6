// Runtime levels: set_level / get_level / get_all_levels / reset_level and
// Logger::set_level (docs/levels.md). The resolution is in
// src/frontend/levels.cpp; these take the registry mutex around it.

#include "frontend/levels.hpp"
#include "frontend/registry.hpp"

#include <agora/log/levels.hpp>
#include <agora/log/logger.hpp>

#include <mutex>
#include <string>

namespace agora::log {

namespace {

using detail::Registry;

bool valid_level(Level level) noexcept {
    switch (level) {
        case Level::debug: case Level::info: case Level::warning: case Level::error: case Level::critical: return true;
    }
    return false;
}

/// An invalid_argument Error with `build()`'s message, or without a message
/// if there is no memory for it (never throws).
template <class Build>
Expected<void> argument_error(Build&& build) noexcept {
    try {
        return Error{ErrorCode::invalid_argument, "set_level(): " + build()};
    } catch (...) {
        return Error{ErrorCode::invalid_argument, {}};
    }
}

/// Checks everything but the level (set_override() checks that).
Expected<void> check_arguments(bool named, std::string_view name, bool timed, std::chrono::milliseconds after) noexcept {
    if (named && name.empty())
        return argument_error([] {
            return std::string("logger name '' is not accepted: expected a non-empty name (set_level(level) sets the root)");
        });
    if (timed && after.count() <= 0)
        return argument_error([&] {
            return "revert_after " + std::to_string(after.count()) + "ms is not accepted: expected a positive duration";
        });
    return {};
}

/// Deadline `after` from now on the level clock, saturating (never kNoLevelDeadline).
std::int64_t deadline_after(std::chrono::milliseconds after) noexcept {
    const std::int64_t now = detail::level_clock_now_ns();
    const std::int64_t limit = detail::kNoLevelDeadline - 1;
    const std::int64_t ms = after.count();
    if (now >= limit || ms > (limit - now) / 1'000'000) return limit;
    return now + ms * 1'000'000;
}

/// `name` "" is the root. Reverts already due are applied first, so a timed
/// override that has expired is not taken for the current one.
Expected<void> set_override(Level level, std::string_view name, bool timed, std::chrono::milliseconds after) noexcept {
    if (!valid_level(level))
        return argument_error([level] {
            return "level " + std::to_string(static_cast<int>(level)) +
                   " is not accepted: expected DEBUG, INFO, WARNING, ERROR or CRITICAL";
        });
    try {
        Registry& reg = Registry::instance();
        std::lock_guard lock(reg.mutex);
        detail::apply_due_level_reverts_locked(reg, detail::level_clock_now_ns());
        detail::set_override_locked(reg, name, static_cast<std::uint8_t>(level),
                                    timed ? deadline_after(after) : detail::kNoLevelDeadline);
    } catch (...) {
        // No memory for the entry, or the mutex could not be taken.
        return argument_error([] { return std::string("out of memory; the level is unchanged"); });
    }
    return {};
}

}  // namespace

Expected<void> set_level(Level level) noexcept { return set_override(level, {}, false, {}); }

Expected<void> set_level(Level level, std::chrono::milliseconds revert_after) noexcept {
    if (auto ok = check_arguments(false, {}, true, revert_after); !ok) return ok;
    return set_override(level, {}, true, revert_after);
}

Expected<void> set_level(Level level, std::string_view logger_name) noexcept {
    if (auto ok = check_arguments(true, logger_name, false, {}); !ok) return ok;
    return set_override(level, logger_name, false, {});
}

Expected<void> set_level(Level level, std::string_view logger_name, std::chrono::milliseconds revert_after) noexcept {
    if (auto ok = check_arguments(true, logger_name, true, revert_after); !ok) return ok;
    return set_override(level, logger_name, true, revert_after);
}

Level get_level() noexcept { return get_level(std::string_view()); }

Level get_level(std::string_view logger_name) noexcept {
    Registry& reg = Registry::instance();
    try {
        std::lock_guard lock(reg.mutex);
        detail::apply_due_level_reverts_locked(reg, detail::level_clock_now_ns());
        return static_cast<Level>(detail::resolve_level_locked(reg, logger_name));
    } catch (...) {
        return static_cast<Level>(reg.default_level.load(std::memory_order_relaxed));
    }
}

std::map<std::string, Level> get_all_levels() {
    Registry& reg = Registry::instance();
    std::map<std::string, Level> out;
    std::lock_guard lock(reg.mutex);
    detail::apply_due_level_reverts_locked(reg, detail::level_clock_now_ns());
    auto add = [&](std::string_view name) {
        out.emplace(std::string(name), static_cast<Level>(detail::resolve_level_locked(reg, name)));
    };
    add({});
    for (const auto& [name, state] : reg.logger_by_name) add(name);
    for (const auto& [name, o] : reg.level_overrides) add(name);
    for (const auto& [name, level] : reg.configured_levels) add(name);
    return out;
}

void reset_level() noexcept {
    Registry& reg = Registry::instance();
    try {
        std::lock_guard lock(reg.mutex);
        detail::clear_overrides_locked(reg);
    } catch (...) {
        // The mutex could not be taken: the levels stay as they were.
    }
}

// A runtime level for this logger's exact name, as set_level(level, name())
// (so it applies to the loggers below it too, and reset_level() drops it).
// The registry mutex makes the running check and the store one step, so a
// shutdown() cannot come between them and a logger is never turned back on
// after shutdown() turned it off.
void Logger::set_level(Level level) noexcept {
    if (state_->id == 0) return;  // the discarding logger is not in the registry
    (void)set_override(level, state_->name, false, {});
}

Level Logger::level() const noexcept {
    if (state_->id == 0) return static_cast<Level>(Registry::instance().default_level.load(std::memory_order_relaxed));
    // Through the resolver, so a revert already due shows here too.
    return get_level(state_->name);
}

}  // namespace agora::log
