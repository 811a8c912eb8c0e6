// Sampling and rate limiting on the calling thread's slow path (see sampling.hpp).

#include "frontend/sampling.hpp"

#include "base/redaction_regex.hpp"

#include <agora/log/lifecycle.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace agora::log::detail {

namespace {

std::atomic<const SamplingPlan*> g_plan{nullptr};
/// Every plan installed so far, the current one included: a calling thread
/// may still decide with an earlier one until its next slow path, so none is
/// freed. Guarded by Registry::mutex; never destroyed.
std::vector<std::unique_ptr<SamplingPlan>>* const g_all_plans = new std::vector<std::unique_ptr<SamplingPlan>>();
std::atomic<SamplingClock> g_test_clock{nullptr};

/// splitmix64: a full-period 64-bit generator, one add and a few mixes per draw.
std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

LoggerState* logger_state(std::uint32_t logger_id) noexcept {
    LoggerState* const* s = Registry::instance().loggers.get(logger_id & kLoggerIdMask);
    return s != nullptr ? *s : nullptr;
}

/// GCRA form of the token bucket: admits a record if, after adding one
/// interval to max(tat, now), no more than burst intervals of credit are in
/// use. Lock-free: a failed compare-exchange means another thread took a
/// token meanwhile; it retries with the value that thread stored.
bool take_token(std::atomic<std::uint64_t>& tat, const SamplingPlan& plan) noexcept {
    const std::uint64_t now = sampling_clock_now();
    std::uint64_t seen = tat.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint64_t next = std::max(seen, now) + plan.interval_ticks;
        if (next - now > plan.burst_ticks) return false;
        // relaxed: the bucket orders nothing else; only its own value matters.
        if (tat.compare_exchange_weak(seen, next, std::memory_order_relaxed)) return true;
    }
}

}  // namespace

const SamplingPlan* current_sampling_plan() noexcept { return g_plan.load(std::memory_order_acquire); }

std::uint64_t sampling_clock_now() noexcept {
    if (SamplingClock c = g_test_clock.load(std::memory_order_relaxed)) [[unlikely]] return c();
    return read_tsc();
}

void set_sampling_clock_for_tests(SamplingClock clock) noexcept { g_test_clock.store(clock, std::memory_order_relaxed); }

void install_sampling_plan(const SamplingConfig& config, double ns_per_tick) {
    std::unique_ptr<SamplingPlan> plan;
    if (config.enabled) {
        plan = std::make_unique<SamplingPlan>();
        bool any = false;
        plan->rates.fill(1.0);
        plan->keep_below.fill(std::numeric_limits<std::uint64_t>::max());
        for (const auto& [level, rate] : config.rates) {
            const std::size_t i = level_index(level);
            if (i >= kLevelCount || !(rate < 1.0)) continue;
            plan->rates[i] = rate;
            // A 53-bit draw d keeps the record if d < rate * 2^53: exactly rate
            // of all draws (to 2^-53), 0 for rate 0.
            plan->keep_below[i] = static_cast<std::uint64_t>(std::ldexp(std::max(rate, 0.0), 53));
            plan->sampled[i] = true;
            any = true;
        }
        if (config.rate_limit) {
            const bool test_clock = g_test_clock.load(std::memory_order_relaxed) != nullptr;
            const double ticks_per_second = test_clock ? 1e9 : 1e9 / (ns_per_tick > 0 ? ns_per_tick : 1.0);
            // Bounded so that tat + burst never overflows: 2^50 ticks per token
            // (days at any TSC rate) and 2^61 ticks of credit are beyond any
            // useful limit; the TSC itself stays far below 2^62 for decades.
            const double interval =
                std::clamp(ticks_per_second / config.rate_limit->messages_per_second, 1.0, std::ldexp(1.0, 50));
            plan->interval_ticks = static_cast<std::uint64_t>(interval);
            plan->burst_ticks = static_cast<std::uint64_t>(
                std::min(interval * static_cast<double>(config.rate_limit->burst_size), std::ldexp(1.0, 61)));
            plan->rate_limited = true;
            any = true;
        }
        if (any) {
            for (const std::string& p : config.always_log_patterns) {
                std::string why;
                // validate() accepted it: it compiles.
                if (auto re = compile_redaction_pattern(p, why)) plan->always_log.push_back(std::move(re));
            }
            plan->seed = config.seed;
        } else {
            plan.reset();
        }
    }
    Registry& reg = Registry::instance();
    std::lock_guard lock(reg.mutex);
    for (std::uint32_t id = 1, n = reg.loggers.size(); id <= n; ++id)
        if (LoggerState* s = logger_state(id)) s->bucket_tat.store(0, std::memory_order_relaxed);
    const SamplingPlan* installed = plan.get();
    if (plan) g_all_plans->push_back(std::move(plan));
    g_plan.store(installed, std::memory_order_release);
    invalidate_site_caches_locked(reg);
}

bool always_logged(const SamplingPlan& plan, std::string_view format) noexcept {
    const re2::StringPiece text(format.data(), format.size());
    for (const auto& re : plan.always_log)
        if (RE2::PartialMatch(text, *re)) return true;
    return false;
}

void seed_thread_controls(ThreadControls& controls, std::uint64_t seed, std::uint64_t thread_ordinal) noexcept {
    if (seed != 0) {
        std::uint64_t s = seed;
        controls.rng_state = splitmix64(s) ^ (thread_ordinal * 0xD1B54A32D192ED03ull);
    } else {
        std::uint64_t s = read_tsc() ^ (static_cast<std::uint64_t>(::syscall(SYS_gettid)) << 32) ^
                          reinterpret_cast<std::uintptr_t>(&controls);
        controls.rng_state = splitmix64(s);
    }
}

SiteDecision decide_record(ThreadControls& controls, const SamplingPlan& plan, const ControlledSite& site,
                           std::uint32_t logger_id) noexcept {
    LoggerState* logger = logger_state(logger_id);
    if (plan.rate_limited && logger != nullptr && !take_token(logger->bucket_tat, plan)) {
        logger->rate_limited.fetch_add(1, std::memory_order_relaxed);
        return SiteDecision{0, SiteDecision::kSuppressed};
    }
    const std::size_t i = level_index(site.level);
    if (!plan.sampled[i]) return SiteDecision{site.id, 0};
    if ((splitmix64(controls.rng_state) >> 11) < plan.keep_below[i]) return SiteDecision{site.id, kSampledFlag};
    if (logger != nullptr) logger->sampled_out.fetch_add(1, std::memory_order_relaxed);
    return SiteDecision{0, SiteDecision::kSuppressed};
}

}  // namespace agora::log::detail

namespace agora::log {

std::map<std::string, SuppressedCounts> sampling_stats() {
    detail::Registry& reg = detail::Registry::instance();
    std::map<std::string, SuppressedCounts> out;
    for (std::uint32_t id = 1, n = reg.loggers.size(); id <= n; ++id) {
        detail::LoggerState* s = detail::logger_state(id);
        if (s == nullptr) continue;
        const SuppressedCounts c{s->sampled_out.load(std::memory_order_relaxed),
                                 s->rate_limited.load(std::memory_order_relaxed)};
        if (c.sampled_out != 0 || c.rate_limited != 0) out.emplace(s->name, c);
    }
    return out;
}

}  // namespace agora::log
