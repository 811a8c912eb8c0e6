#pragma once
// The logger's own metrics (<agora/log/metrics.hpp>): one process-wide
// prometheus-cpp registry whose families are made once and never destroyed,
// so counters stay monotonic across initialize(). Each backend holds a
// BackendMetrics with the metrics of its labels, looked up once and cached.
// The per-entry counts and handler durations are added up on the backend
// thread and handed to prometheus-cpp by flush_pending() (the backend calls
// it whenever it flushes its handlers: at least every 1024 records and at the
// end of each pass), so a scrape sees them up to one batch late. Scrapes read
// them from any thread through prometheus-cpp's atomics.

#include <agora/log/level.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log::detail {

struct MetricFamilies {
    std::shared_ptr<prometheus::Registry> registry;
    prometheus::Family<prometheus::Counter>* entries;          // {service, level, logger}
    prometheus::Family<prometheus::Histogram>* entry_duration;  // {handler}
    prometheus::Family<prometheus::Gauge>* queue_size;         // {service}
    prometheus::Family<prometheus::Counter>* queue_dropped;    // {service}
    prometheus::Family<prometheus::Counter>* file_rotations;   // {service, file_path}
    prometheus::Family<prometheus::Gauge>* file_size;          // {service, file_path}
    prometheus::Family<prometheus::Counter>* sampled_out;      // {service, logger}
    prometheus::Family<prometheus::Counter>* rate_limited;     // {service, logger}
    prometheus::Family<prometheus::Counter>* redactions;       // {service}
    prometheus::Family<prometheus::Counter>* crash_dumps;      // {service}
    prometheus::Family<prometheus::Counter>* handler_errors;   // {service, handler}
    prometheus::Family<prometheus::Counter>* file_write_failures;  // {service, file_path}
    prometheus::Family<prometheus::Counter>* audit_entries;        // {service, result}
};

/// The families, made on first use. Never destroyed.
MetricFamilies& metric_families();

/// The seed's buckets of agora_log_entry_duration_seconds.
const prometheus::Histogram::BucketBoundaries& entry_duration_buckets();

/// Crash dumps and dump_now() files written (any thread, async-signal-safe
/// increments); the backend adds them to agora_log_crash_dumps_total.
void count_crash_dump() noexcept;

/// One Logger::audit() call: its line written or not (any thread); the
/// backend adds them to agora_log_audit_entries_total{result}.
void count_audit_entry(bool written) noexcept;

/// Observations of one histogram kept on the backend thread and handed to
/// prometheus-cpp in one ObserveMultiple() by flush(): the buckets and count
/// an Observe() per value gives (same bucket rule: the first upper bound >=
/// the value), without its mutex and two atomic adds per value. Until
/// flush() a scrape does not see them. Backend thread only.
class BatchedHistogram {
public:
    BatchedHistogram() = default;
    /// `h` null: observe() and flush() do nothing.
    BatchedHistogram(prometheus::Histogram* h, const prometheus::Histogram::BucketBoundaries& bounds);
    void observe(double value) noexcept {
        if (histogram_ == nullptr) return;
        std::size_t i = 0;
        while (i < bounds_.size() && bounds_[i] < value) ++i;
        counts_[i] += 1.0;
        sum_ += value;
        pending_ = true;
    }
    void flush() noexcept;

private:
    prometheus::Histogram* histogram_ = nullptr;
    std::vector<double> bounds_;
    std::vector<double> counts_;  // bounds_.size() + 1 (the last: +Inf)
    double sum_ = 0;
    bool pending_ = false;
};

/// One backend's metrics. Backend thread only (the constructor: initialize()).
class BackendMetrics {
public:
    explicit BackendMetrics(std::string service);

    ~BackendMetrics();
    BackendMetrics(const BackendMetrics&) = delete;
    BackendMetrics& operator=(const BackendMetrics&) = delete;

    /// agora_log_entries_total{service, level, logger} += 1, at the next flush_pending().
    void count_entry(std::uint32_t logger_id, std::string_view logger_name, Level level) noexcept;
    /// Hands the entries counted since the last call to their counters.
    void flush_pending() noexcept;
    /// The histogram of one handler (label: its type), or null without memory.
    prometheus::Histogram* handler_histogram(const std::string& handler_type) noexcept;
    void set_queue_bytes(std::uint64_t bytes) noexcept;
    void add_dropped(std::uint64_t n) noexcept;
    /// A log file's rotations, size and lines lost so far (counts since this
    /// backend started). Files are told apart by path.
    void set_file_state(const std::string& path, std::uint64_t rotations, std::uint64_t size,
                        std::uint64_t lost_lines) noexcept;
    /// agora_log_handler_errors_total{service, handler} += 1.
    void count_handler_error(const std::string& handler_type) noexcept;
    /// Brings the counters kept elsewhere up to date: sampled out and rate
    /// limited per logger (LoggerState), redactions (`redactions`: the
    /// renderer's running total), crash dumps, audit entries.
    void sync(std::uint64_t redactions) noexcept;

private:
    std::string service_;
    /// Per logger id and level: the entries counter (null until used) and
    /// the entries counted since the last flush_pending().
    struct EntryCount {
        prometheus::Counter* counter = nullptr;
        std::uint64_t pending = 0;
    };
    std::vector<std::array<EntryCount, 5>> entries_;
    /// The counts with pending != 0 (each once), for flush_pending().
    std::vector<EntryCount*> dirty_;
    prometheus::Gauge* queue_size_ = nullptr;
    prometheus::Counter* queue_dropped_ = nullptr;
    prometheus::Counter* redactions_ = nullptr;
    prometheus::Counter* crash_dumps_ = nullptr;
    prometheus::Counter* audit_written_ = nullptr;
    prometheus::Counter* audit_failed_ = nullptr;
    std::uint64_t redactions_seen_ = 0;  // of this backend's renderer
    struct FileMetrics {
        std::string path;
        prometheus::Counter* rotations = nullptr;
        prometheus::Gauge* size = nullptr;
        prometheus::Counter* failures = nullptr;
        std::uint64_t rotations_seen = 0;
        std::uint64_t lost_seen = 0;
    };
    std::vector<FileMetrics> files_;
};

}  // namespace agora::log::detail
