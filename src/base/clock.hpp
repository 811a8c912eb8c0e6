#pragma once
// Time: the one conversion from record timestamps (TSC ticks,
// detail::read_tsc()) to wall-clock time, the live clock that calibrates it
// (the backend's), and clock_gettime in nanoseconds.

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace agora::log::detail {

/// clock_gettime(id) in ns. Async-signal-safe.
inline std::int64_t clock_now_ns(clockid_t id) noexcept {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// Tick `t` is at unix_ns + (t - tsc) * ns_per_tick. What the backend's clock
/// says now, and what a binary file's clock entries say (the decoder).
struct ClockAnchor {
    std::uint64_t tsc = 0;
    double ns_per_tick = 1.0;
    std::int64_t unix_ns = 0;

    /// Unix time in ns of tick `t` (before or after the anchor), saturating
    /// instead of overflowing on a damaged anchor, never negative: the
    /// renderer's timestamp arithmetic assumes times after 1970.
    std::int64_t to_unix_ns(std::uint64_t t) const noexcept {
        constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
        const auto delta = static_cast<std::int64_t>(t - tsc);
        const double offset = static_cast<double>(delta) * ns_per_tick;
        if (!(offset > -9.0e18 && offset < 9.0e18)) return offset > 0 ? kMax : 0;
        std::int64_t r = 0;
        if (__builtin_add_overflow(unix_ns, static_cast<std::int64_t>(offset), &r)) return offset > 0 ? kMax : 0;
        return std::max<std::int64_t>(r, 0);
    }
};

/// The live clock: calibrates the TSC against CLOCK_MONOTONIC and anchors
/// it to CLOCK_REALTIME. Backend thread only.
class TscClock {
public:
    /// Calibrates for about `calibration_ms` (spinning) before returning.
    explicit TscClock(unsigned calibration_ms = 5) noexcept;

    /// Unix time in ns for a tick count (any tick, before or after the anchor).
    std::int64_t to_unix_ns(std::uint64_t tsc) const noexcept { return anchor_.to_unix_ns(tsc); }

    /// Re-measures the tick rate over the whole time since construction and
    /// re-anchors to the current wall-clock time. Cheap; call about once a second.
    void recalibrate() noexcept;

    double ns_per_tick() const noexcept { return anchor_.ns_per_tick; }
    std::uint64_t anchor_tsc() const noexcept { return anchor_.tsc; }
    std::int64_t anchor_unix_ns() const noexcept { return anchor_.unix_ns; }
    const ClockAnchor& anchor() const noexcept { return anchor_; }

private:
    std::uint64_t base_tsc_;
    std::int64_t base_mono_ns_;
    ClockAnchor anchor_;
};

}  // namespace agora::log::detail
