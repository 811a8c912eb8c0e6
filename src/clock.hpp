#pragma once
// Converts record timestamps (TSC ticks, detail::read_tsc()) to wall-clock
// time. Backend thread only.

#include <cstdint>

namespace agora::log::detail {

class TscClock {
public:
    /// Calibrates for about `calibration_ms` (spinning) before returning.
    explicit TscClock(unsigned calibration_ms = 5) noexcept;

    /// Unix time in ns for a tick count (any tick, before or after the anchor).
    std::int64_t to_unix_ns(std::uint64_t tsc) const noexcept {
        auto delta = static_cast<std::int64_t>(tsc - anchor_tsc_);
        return anchor_unix_ns_ + static_cast<std::int64_t>(static_cast<double>(delta) * ns_per_tick_);
    }

    /// Re-measures the tick rate over the whole time since construction and
    /// re-anchors to the current wall-clock time. Cheap; call about once a second.
    void recalibrate() noexcept;

    double ns_per_tick() const noexcept { return ns_per_tick_; }
    std::uint64_t anchor_tsc() const noexcept { return anchor_tsc_; }
    std::int64_t anchor_unix_ns() const noexcept { return anchor_unix_ns_; }

private:
    std::uint64_t base_tsc_;
    std::int64_t base_mono_ns_;
    std::uint64_t anchor_tsc_;
    std::int64_t anchor_unix_ns_;
    double ns_per_tick_;
};

}  // namespace agora::log::detail
