#include "clock.hpp"

#include <agora/log/detail/frontend.hpp>

#include <ctime>

namespace agora::log::detail {

namespace {
std::int64_t now_ns(clockid_t id) noexcept {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// A (tsc, clock) pair taken as close together as we can: the tsc is the
/// midpoint of two reads around the clock read.
void sample(clockid_t id, std::uint64_t& tsc, std::int64_t& ns) noexcept {
    std::uint64_t a = read_tsc();
    ns = now_ns(id);
    std::uint64_t b = read_tsc();
    tsc = a + (b - a) / 2;
}
}  // namespace

TscClock::TscClock(unsigned calibration_ms) noexcept {
    sample(CLOCK_MONOTONIC, base_tsc_, base_mono_ns_);
#if defined(__x86_64__) || defined(__i386__)
    std::uint64_t t = 0;
    std::int64_t m = 0;
    do {
        sample(CLOCK_MONOTONIC, t, m);
    } while (m - base_mono_ns_ < static_cast<std::int64_t>(calibration_ms) * 1'000'000);
    ns_per_tick_ = (t > base_tsc_) ? static_cast<double>(m - base_mono_ns_) / static_cast<double>(t - base_tsc_) : 1.0;
#else
    ns_per_tick_ = 1.0;  // read_tsc() is the steady clock in ns
#endif
    sample(CLOCK_REALTIME, anchor_tsc_, anchor_unix_ns_);
}

void TscClock::recalibrate() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    std::uint64_t t = 0;
    std::int64_t m = 0;
    sample(CLOCK_MONOTONIC, t, m);
    if (t > base_tsc_ && m > base_mono_ns_)
        ns_per_tick_ = static_cast<double>(m - base_mono_ns_) / static_cast<double>(t - base_tsc_);
#endif
    sample(CLOCK_REALTIME, anchor_tsc_, anchor_unix_ns_);
}

}  // namespace agora::log::detail
