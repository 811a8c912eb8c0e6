#pragma once
// Sampling and rate limiting (Config::sampling), decided on the calling
// thread before anything is encoded, without locks.
//
// Zero cost when off: a call site is cached in its thread's SiteCache (the
// hot path's only lookup) unless a control applies to it. A site under
// sampling or rate limiting is kept out of that cache, so each of its calls
// misses and reaches register_call_site() (src/frontend/frontend.cpp), which
// finds it in the thread's ThreadControls::sites and decides here. When no
// control is configured nothing is kept out, and a call costs what it costs
// without this file. initialize() installs a new plan and invalidates every
// thread's SiteCache (invalidate_site_caches_locked()), so each site is decided again
// under the plan it runs with.

#include "frontend/registry.hpp"

#include <agora/log/config.hpp>

#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace agora::log::detail {

/// Index of a level in per-level arrays: debug 0 .. critical 4.
constexpr std::size_t level_index(Level l) noexcept { return static_cast<std::size_t>(l) / 10 - 1; }
inline constexpr std::size_t kLevelCount = 5;

/// Config::sampling compiled for the calling threads. Immutable once
/// published; never freed (a calling thread may still read the previous one
/// after initialize() installed the next; one small object per initialize()
/// that configures a rule, kept in a list in sampling.cpp).
struct SamplingPlan {
    /// Per level: the rate, and the draw bound (a 53-bit draw below it keeps
    /// the record); sampled[i] is rate < 1.
    std::array<double, kLevelCount> rates{};
    std::array<std::uint64_t, kLevelCount> keep_below{};
    std::array<bool, kLevelCount> sampled{};
    std::vector<std::unique_ptr<RE2>> always_log;
    bool rate_limited = false;
    /// Rate limit in clock ticks (sampling_clock_now()): one token per
    /// interval, at most burst tokens (burst * interval ticks of credit).
    std::uint64_t interval_ticks = 0;
    std::uint64_t burst_ticks = 0;
    std::uint64_t seed = 0;

    /// Whether records of `level` are decided per call at all.
    bool controls(Level level) const noexcept { return rate_limited || sampled[level_index(level)]; }
};

/// A site under control, as one thread knows it.
struct ControlledSite {
    std::uint32_t id;
    Level level;
};

struct SiteKeyHash {
    std::size_t operator()(const SiteKey& k) const noexcept { return SiteCache::hash(k); }
};
struct SiteKeyEqual {
    bool operator()(const SiteKey& a, const SiteKey& b) const noexcept {
        return a.location == b.location && a.format == b.format && a.types == b.types;
    }
};

/// A calling thread's sampling state (ThreadContext::controls). Owner only.
struct ThreadControls {
    std::uint64_t rng_state = 0;
    std::uint64_t ordinal = 0;  // this thread's place in the order of first records
    /// Sites this thread decides on every call, under `plan`.
    std::unordered_map<SiteKey, ControlledSite, SiteKeyHash, SiteKeyEqual> sites;
    const SamplingPlan* plan = nullptr;
};

/// The plan in force, or null when no control is configured (release store
/// by initialize(), acquire loads on the slow path).
const SamplingPlan* current_sampling_plan() noexcept;

/// Compiles and installs `config`'s plan (null when it controls nothing),
/// resets every logger's bucket to full, and invalidates every thread's site
/// cache. initialize() only, before the backend starts. May throw bad_alloc.
void install_sampling_plan(const SamplingConfig& config, double ns_per_tick);

/// The plan's decision for one call of a controlled site: SiteDecision of
/// register_call_site() (kept, kept with kSampledFlag, or suppressed and
/// counted on the logger). Calling thread.
SiteDecision decide_record(ThreadControls& controls, const SamplingPlan& plan, const ControlledSite& site,
                           std::uint32_t logger_id) noexcept;

/// Whether `format` matches an always_log pattern (RE2, linear time).
bool always_logged(const SamplingPlan& plan, std::string_view format) noexcept;

/// Seeds a thread's generator (thread_ordinal: 0, 1, ... in order of first record).
void seed_thread_controls(ThreadControls& controls, std::uint64_t seed, std::uint64_t thread_ordinal) noexcept;

/// The rate limit's clock: TSC ticks, or the test clock's ns.
std::uint64_t sampling_clock_now() noexcept;

/// Test hook: replaces the rate limit's clock (null: the TSC again) with one
/// in nanoseconds that only the test advances. Set it before initialize(),
/// which converts the rate to that clock's ticks.
using SamplingClock = std::uint64_t (*)() noexcept;
void set_sampling_clock_for_tests(SamplingClock clock) noexcept;

}  // namespace agora::log::detail
