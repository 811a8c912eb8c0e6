// The logger's own metrics and health status (see metrics.hpp and
// <agora/log/metrics.hpp>).

#include "backend/metrics.hpp"

#include "frontend/registry.hpp"

#include <agora/log/metrics.hpp>

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>

namespace agora::log::detail {

namespace {

std::atomic<std::uint64_t> g_crash_dumps{0};
std::atomic<std::uint64_t> g_audit_written{0};
std::atomic<std::uint64_t> g_audit_failed{0};

/// What the counters kept outside prometheus have been given so far. These
/// counts are process-wide, so this is too: one backend runs at a time, and
/// only it touches this.
struct ForwardedCounts {
    struct PerLogger {
        prometheus::Counter* sampled_out = nullptr;
        prometheus::Counter* rate_limited = nullptr;
        std::string service;  // the label the counters were made with
        std::uint64_t sampled_out_seen = 0;
        std::uint64_t rate_limited_seen = 0;
    };
    std::vector<PerLogger> loggers;  // by logger id
    std::uint64_t crash_dumps_seen = 0;
    std::uint64_t audit_written_seen = 0;
    std::uint64_t audit_failed_seen = 0;
};
ForwardedCounts& forwarded() {
    static auto* f = new ForwardedCounts();  // never destroyed
    return *f;
}

std::size_t level_slot(Level level) noexcept { return static_cast<std::size_t>(level) / 10 - 1; }

}  // namespace

MetricFamilies& metric_families() {
    static MetricFamilies* families = [] {
        auto* f = new MetricFamilies();
        f->registry = std::make_shared<prometheus::Registry>();
        prometheus::Registry& r = *f->registry;
        f->entries = &prometheus::BuildCounter()
                          .Name("agora_log_entries_total")
                          .Help("Log entries written, by service, level and logger")
                          .Register(r);
        f->entry_duration = &prometheus::BuildHistogram()
                                 .Name("agora_log_entry_duration_seconds")
                                 .Help("Time a handler took to write one log entry")
                                 .Register(r);
        f->queue_size = &prometheus::BuildGauge()
                             .Name("agora_log_queue_size")
                             .Help("Bytes of records waiting in the calling threads' rings")
                             .Register(r);
        f->queue_dropped = &prometheus::BuildCounter()
                                .Name("agora_log_queue_dropped_total")
                                .Help("Records dropped: full rings under the drop policy, no memory, failed writes")
                                .Register(r);
        f->file_rotations = &prometheus::BuildCounter()
                                 .Name("agora_log_file_rotations_total")
                                 .Help("Log file rotations")
                                 .Register(r);
        f->file_size = &prometheus::BuildGauge()
                            .Name("agora_log_file_size_bytes")
                            .Help("Current log file size")
                            .Register(r);
        f->sampled_out = &prometheus::BuildCounter()
                              .Name("agora_log_sampled_out_total")
                              .Help("Records left out by sampling, by logger")
                              .Register(r);
        f->rate_limited = &prometheus::BuildCounter()
                               .Name("agora_log_rate_limited_total")
                               .Help("Records suppressed by a logger's rate limit")
                               .Register(r);
        f->redactions = &prometheus::BuildCounter()
                             .Name("agora_log_redactions_total")
                             .Help("Values redacted or masked, and pattern matches replaced")
                             .Register(r);
        f->crash_dumps = &prometheus::BuildCounter()
                              .Name("agora_log_crash_dumps_total")
                              .Help("Crash dumps and dump_now() files written")
                              .Register(r);
        f->handler_errors = &prometheus::BuildCounter()
                                 .Name("agora_log_handler_errors_total")
                                 .Help("Exceptions thrown by a handler (failed log file writes: agora_log_file_write_failures_total)")
                                 .Register(r);
        f->file_write_failures = &prometheus::BuildCounter()
                                      .Name("agora_log_file_write_failures_total")
                                      .Help("Lines a log file could not take (full disk, failed rotation, removed file)")
                                      .Register(r);
        f->audit_entries = &prometheus::BuildCounter()
                                .Name("agora_log_audit_entries_total")
                                .Help("Logger::audit() calls, by result: written to the audit file, or failed (sent "
                                      "to the regular log)")
                                .Register(r);
        return f;
    }();
    return *families;
}

const prometheus::Histogram::BucketBoundaries& entry_duration_buckets() {
    static const prometheus::Histogram::BucketBoundaries buckets{.00001, .00005, .0001, .0005, .001, .005, .01, .05};
    return buckets;
}

void count_crash_dump() noexcept { g_crash_dumps.fetch_add(1, std::memory_order_relaxed); }

void count_audit_entry(bool written) noexcept {
    (written ? g_audit_written : g_audit_failed).fetch_add(1, std::memory_order_relaxed);
}

BackendMetrics::BackendMetrics(std::string service) : service_(std::move(service)) {
    MetricFamilies& f = metric_families();
    queue_size_ = &f.queue_size->Add({{"service", service_}});
    queue_dropped_ = &f.queue_dropped->Add({{"service", service_}});
    redactions_ = &f.redactions->Add({{"service", service_}});
    crash_dumps_ = &f.crash_dumps->Add({{"service", service_}});
    audit_written_ = &f.audit_entries->Add({{"service", service_}, {"result", "written"}});
    audit_failed_ = &f.audit_entries->Add({{"service", service_}, {"result", "failed"}});
}

BatchedHistogram::BatchedHistogram(prometheus::Histogram* h, const prometheus::Histogram::BucketBoundaries& bounds) {
    if (h == nullptr) return;
    try {
        bounds_ = bounds;
        counts_.assign(bounds.size() + 1, 0.0);
        histogram_ = h;
    } catch (...) {
        // No memory: not observed.
    }
}

void BatchedHistogram::flush() noexcept {
    if (!pending_) return;
    try {
        histogram_->ObserveMultiple(counts_, sum_);
    } catch (...) {
        // Cannot happen (counts_ has the histogram's size); the batch is dropped.
    }
    std::fill(counts_.begin(), counts_.end(), 0.0);
    sum_ = 0;
    pending_ = false;
}

BackendMetrics::~BackendMetrics() { flush_pending(); }

void BackendMetrics::count_entry(std::uint32_t logger_id, std::string_view logger_name, Level level) noexcept {
    const std::size_t slot = level_slot(level);
    if (slot >= 5) return;
    try {
        if (logger_id >= entries_.size()) {
            // entries_ moves: flush first, dirty_ points into it.
            flush_pending();
            entries_.resize(logger_id + 1, {});
        }
        EntryCount& c = entries_[logger_id][slot];
        if (c.counter == nullptr)
            c.counter = &metric_families().entries->Add(
                {{"service", service_}, {"level", std::string(to_string(level))}, {"logger", std::string(logger_name)}});
        if (c.pending == 0) {
            if (dirty_.size() == dirty_.capacity()) dirty_.reserve(dirty_.size() * 2 + 8);
            dirty_.push_back(&c);  // cannot throw: reserved
        }
        ++c.pending;
    } catch (...) {
        // No memory for the label set: this entry goes uncounted.
    }
}

void BackendMetrics::flush_pending() noexcept {
    for (EntryCount* c : dirty_) {
        c->counter->Increment(static_cast<double>(c->pending));
        c->pending = 0;
    }
    dirty_.clear();
}

prometheus::Histogram* BackendMetrics::handler_histogram(const std::string& handler_type) noexcept {
    try {
        return &metric_families().entry_duration->Add({{"handler", handler_type}}, entry_duration_buckets());
    } catch (...) {
        return nullptr;
    }
}

void BackendMetrics::set_queue_bytes(std::uint64_t bytes) noexcept { queue_size_->Set(static_cast<double>(bytes)); }

void BackendMetrics::add_dropped(std::uint64_t n) noexcept {
    if (n != 0) queue_dropped_->Increment(static_cast<double>(n));
}

void BackendMetrics::set_file_state(const std::string& path, std::uint64_t rotations, std::uint64_t size,
                                    std::uint64_t lost_lines) noexcept {
    try {
        FileMetrics* file = nullptr;
        for (auto& f : files_)
            if (f.path == path) file = &f;
        if (file == nullptr) {
            MetricFamilies& f = metric_families();
            FileMetrics m;
            m.path = path;
            m.rotations = &f.file_rotations->Add({{"service", service_}, {"file_path", path}});
            m.size = &f.file_size->Add({{"service", service_}, {"file_path", path}});
            m.failures = &f.file_write_failures->Add({{"service", service_}, {"file_path", path}});
            files_.push_back(std::move(m));
            file = &files_.back();
        }
        if (rotations > file->rotations_seen) file->rotations->Increment(static_cast<double>(rotations - file->rotations_seen));
        file->rotations_seen = rotations;
        if (lost_lines > file->lost_seen) file->failures->Increment(static_cast<double>(lost_lines - file->lost_seen));
        file->lost_seen = lost_lines;
        file->size->Set(static_cast<double>(size));
    } catch (...) {
    }
}

void BackendMetrics::count_handler_error(const std::string& handler_type) noexcept {
    try {
        metric_families().handler_errors->Add({{"service", service_}, {"handler", handler_type}}).Increment();
    } catch (...) {
    }
}

void BackendMetrics::sync(std::uint64_t redactions) noexcept {
    if (redactions > redactions_seen_) redactions_->Increment(static_cast<double>(redactions - redactions_seen_));
    redactions_seen_ = redactions;
    ForwardedCounts& fw = forwarded();
    const std::uint64_t dumps = g_crash_dumps.load(std::memory_order_relaxed);
    if (dumps > fw.crash_dumps_seen) crash_dumps_->Increment(static_cast<double>(dumps - fw.crash_dumps_seen));
    fw.crash_dumps_seen = dumps;
    const std::uint64_t written = g_audit_written.load(std::memory_order_relaxed);
    const std::uint64_t failed = g_audit_failed.load(std::memory_order_relaxed);
    if (written > fw.audit_written_seen) audit_written_->Increment(static_cast<double>(written - fw.audit_written_seen));
    if (failed > fw.audit_failed_seen) audit_failed_->Increment(static_cast<double>(failed - fw.audit_failed_seen));
    fw.audit_written_seen = written;
    fw.audit_failed_seen = failed;
    try {
        Registry& reg = Registry::instance();
        MetricFamilies& f = metric_families();
        const std::uint32_t n = reg.loggers.size();
        if (fw.loggers.size() < std::size_t{n} + 1) fw.loggers.resize(std::size_t{n} + 1);
        for (std::uint32_t id = 1; id <= n; ++id) {
            LoggerState* const* slot = reg.loggers.get(id);
            if (slot == nullptr) continue;
            const LoggerState& logger = **slot;
            auto& c = fw.loggers[id];
            const std::uint64_t out = logger.sampled_out.load(std::memory_order_relaxed);
            const std::uint64_t limited = logger.rate_limited.load(std::memory_order_relaxed);
            if (out == c.sampled_out_seen && limited == c.rate_limited_seen) continue;
            if (c.sampled_out == nullptr || c.service != service_) {
                c.service = service_;
                c.sampled_out = &f.sampled_out->Add({{"service", service_}, {"logger", logger.name}});
                c.rate_limited = &f.rate_limited->Add({{"service", service_}, {"logger", logger.name}});
            }
            if (out > c.sampled_out_seen) c.sampled_out->Increment(static_cast<double>(out - c.sampled_out_seen));
            if (limited > c.rate_limited_seen) c.rate_limited->Increment(static_cast<double>(limited - c.rate_limited_seen));
            c.sampled_out_seen = out;
            c.rate_limited_seen = limited;
        }
    } catch (...) {
        // No memory: the next sync catches up (the seen counts did not move).
    }
}

}  // namespace agora::log::detail

namespace agora::log {

std::shared_ptr<prometheus::Registry> metrics_registry() { return detail::metric_families().registry; }

std::string metrics_text() {
    const prometheus::TextSerializer serializer;
    return serializer.Serialize(detail::metric_families().registry->Collect());
}

}  // namespace agora::log
