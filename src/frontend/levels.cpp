// Runtime level resolution (see levels.hpp).

#include "frontend/levels.hpp"

#include <chrono>

namespace agora::log::detail {

namespace {

std::atomic<LevelClock> g_level_clock{nullptr};

/// The entry of `map` for `name` or its closest ancestor at a dot boundary
/// (never the root "" unless `name` is ""), or null.
template <class Map>
const typename Map::mapped_type* closest(const Map& map, std::string_view name) noexcept {
    if (map.empty()) return nullptr;
    std::string_view candidate = name;
    for (;;) {
        if (auto it = map.find(candidate); it != map.end()) return &it->second;
        const auto dot = candidate.rfind('.');
        if (dot == std::string_view::npos) return nullptr;
        candidate = candidate.substr(0, dot);
    }
}

void refresh_next_deadline_locked(Registry& reg) noexcept {
    std::int64_t next = kNoLevelDeadline;
    for (const auto& [name, o] : reg.level_overrides) next = std::min(next, o.deadline_ns);
    reg.next_level_deadline.store(next, std::memory_order_relaxed);
}

}  // namespace

std::uint8_t resolve_level_locked(const Registry& reg, std::string_view name) noexcept {
    if (const LevelOverride* o = closest(reg.level_overrides, name)) return o->level;
    if (auto root = reg.level_overrides.find(std::string_view()); root != reg.level_overrides.end())
        return root->second.level;
    if (const std::uint8_t* c = closest(reg.configured_levels, name)) return *c;
    return reg.default_level.load(std::memory_order_relaxed);
}

void store_logger_level_locked(const Registry& reg, LoggerState& state) noexcept {
    const std::uint8_t effective = resolve_level_locked(reg, state.name);
    state.effective_level.store(effective, std::memory_order_relaxed);
    // Relaxed suffices: a calling thread that sees the old byte a little
    // longer writes or skips a record it could equally have logged just
    // before the change. The running check and this store are one step
    // under the mutex, so shutdown() (set_running(false)) is never undone.
    const bool live = reg.backend_running.load(std::memory_order_relaxed) ||
                      !reg.initialized_once.load(std::memory_order_relaxed);
    state.level.store(live ? effective : kLevelOff, std::memory_order_relaxed);
}

void apply_levels_locked(Registry& reg) noexcept {
    for (auto& [name, state] : reg.logger_by_name) store_logger_level_locked(reg, *state);
}

namespace {

/// store_logger_level_locked() for `name` and the loggers below it at a dot
/// boundary; every logger for the root "". Those names sort in one run
/// starting at `name` (among others that merely start with it, "a-b" or "ab").
void apply_levels_below_locked(Registry& reg, std::string_view name) noexcept {
    if (name.empty()) return apply_levels_locked(reg);
    for (auto it = reg.logger_by_name.lower_bound(name);
         it != reg.logger_by_name.end() && std::string_view(it->first).starts_with(name); ++it) {
        const std::string_view other = it->first;
        if (other.size() == name.size() || other[name.size()] == '.') store_logger_level_locked(reg, *it->second);
    }
}

}  // namespace

void set_override_locked(Registry& reg, std::string_view name, std::uint8_t level, std::int64_t deadline_ns) {
    LevelOverride next{level};
    auto it = reg.level_overrides.find(name);
    if (deadline_ns != kNoLevelDeadline) {
        next.deadline_ns = deadline_ns;
        if (it != reg.level_overrides.end()) {
            // A timed override replacing another timed one reverts to what
            // the first would have reverted to: the last permanent value.
            const LevelOverride& prev = it->second;
            next.has_base = prev.deadline_ns == kNoLevelDeadline ? true : prev.has_base;
            next.base = prev.deadline_ns == kNoLevelDeadline ? prev.level : prev.base;
        }
    }
    if (it != reg.level_overrides.end())
        it->second = next;
    else
        reg.level_overrides.emplace(std::string(name), next);
    refresh_next_deadline_locked(reg);
    apply_levels_below_locked(reg, name);
}

void clear_overrides_locked(Registry& reg) noexcept {
    reg.level_overrides.clear();
    reg.next_level_deadline.store(kNoLevelDeadline, std::memory_order_relaxed);
    apply_levels_locked(reg);
}

void apply_due_level_reverts_locked(Registry& reg, std::int64_t now_ns) noexcept {
    if (reg.next_level_deadline.load(std::memory_order_relaxed) > now_ns) return;
    for (auto it = reg.level_overrides.begin(); it != reg.level_overrides.end();) {
        LevelOverride& o = it->second;
        if (o.deadline_ns > now_ns) {
            ++it;
        } else if (o.has_base) {
            o = LevelOverride{o.base};
            ++it;
        } else {
            it = reg.level_overrides.erase(it);
        }
    }
    refresh_next_deadline_locked(reg);
    apply_levels_locked(reg);
}

void apply_due_level_reverts(std::int64_t now_ns) noexcept {
    Registry& reg = Registry::instance();
    try {
        std::lock_guard lock(reg.mutex);
        apply_due_level_reverts_locked(reg, now_ns);
    } catch (...) {
        // The mutex could not be taken: the next pass or call tries again.
    }
}

std::int64_t level_clock_now_ns() noexcept {
    if (LevelClock clock = g_level_clock.load(std::memory_order_acquire)) return clock();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void set_level_clock_for_tests(LevelClock clock) noexcept { g_level_clock.store(clock, std::memory_order_release); }

}  // namespace agora::log::detail
