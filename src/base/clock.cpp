#include "base/clock.hpp"

#include <agora/log/detail/frontend.hpp>

namespace agora::log::detail {

namespace {
/// A (tsc, clock) pair taken as close together as we can: the tsc is the
/// midpoint of two reads around the clock read.
void sample(clockid_t id, std::uint64_t& tsc, std::int64_t& ns) noexcept {
    std::uint64_t a = read_tsc();
    ns = clock_now_ns(id);
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
    anchor_.ns_per_tick =
        (t > base_tsc_) ? static_cast<double>(m - base_mono_ns_) / static_cast<double>(t - base_tsc_) : 1.0;
#else
    anchor_.ns_per_tick = 1.0;  // read_tsc() is the steady clock in ns
#endif
    sample(CLOCK_REALTIME, anchor_.tsc, anchor_.unix_ns);
}

void TscClock::recalibrate() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    std::uint64_t t = 0;
    std::int64_t m = 0;
    sample(CLOCK_MONOTONIC, t, m);
    if (t > base_tsc_ && m > base_mono_ns_)
        anchor_.ns_per_tick = static_cast<double>(m - base_mono_ns_) / static_cast<double>(t - base_tsc_);
#endif
    sample(CLOCK_REALTIME, anchor_.tsc, anchor_.unix_ns);
}

}  // namespace agora::log::detail
