#include "crash/dump_writer.hpp"

#include "base/clock.hpp"
#include "base/write_all.hpp"
#include "format/record_codec.hpp"
#include "frontend/registry.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace agora::log::detail {

DumpIdentity make_dump_identity(const Config& config, const EntryIdentity& identity) {
    DumpIdentity d;
    d.service = identity.service;
    d.environment = identity.environment;
    d.version = identity.version;
    d.host = identity.host;
    d.default_context = config.default_context;
    d.max_message_length = static_cast<std::uint32_t>(config.max_message_length);
    d.sensitive_data = encode_identity_rules(config);
    return d;
}

std::uint64_t os_thread_id() noexcept { return static_cast<std::uint64_t>(::syscall(SYS_gettid)); }

/// "<prefix>.crash-<pid>-<YYYYMMDDTHHMMSSZ>.bin"
void dump_name(Text& name, std::string_view prefix, std::int64_t unix_ns) noexcept {
    // Civil date from days since the epoch (H. Hinnant's algorithm).
    const std::int64_t secs = unix_ns / 1'000'000'000;
    std::int64_t z = secs / 86400 + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t year = yoe + era * 400 + (month <= 2);
    const std::int64_t sod = secs % 86400;
    name << prefix << ".crash-";
    name.number(static_cast<std::uint64_t>(getpid())) << "-";
    name.number(static_cast<std::uint64_t>(year), 10, 4).number(static_cast<std::uint64_t>(month), 10, 2);
    name.number(static_cast<std::uint64_t>(day), 10, 2) << "T";
    name.number(static_cast<std::uint64_t>(sod / 3600), 10, 2).number(static_cast<std::uint64_t>(sod / 60 % 60), 10, 2);
    name.number(static_cast<std::uint64_t>(sod % 60), 10, 2) << "Z.bin";
}


namespace {

/// Test-and-set of bit `id`; ids past the set always read as new.
bool first_time(std::uint64_t* bits, std::uint32_t id) noexcept {
    if (id / 64 >= DumpScratch::kIdWords) return true;
    const std::uint64_t mask = std::uint64_t{1} << (id % 64);
    if (bits[id / 64] & mask) return false;
    bits[id / 64] |= mask;
    return true;
}

/// The same for a snapshot address (open addressing). After kMaxProbes
/// occupied slots it reads as new: the snapshot is written again (harmless: a
/// later snapshot entry with the same address replaces the earlier one), and
/// a nearly full set costs no more than kMaxProbes per record.
bool first_time(std::uint64_t* slots, std::uint64_t address) noexcept {
    constexpr std::size_t kMaxProbes = 64;
    std::size_t i = static_cast<std::size_t>((address >> 4) * 0x9e3779b97f4a7c15ull) & (DumpScratch::kSnapshotSlots - 1);
    for (std::size_t probes = 0; probes < kMaxProbes; ++probes, i = (i + 1) & (DumpScratch::kSnapshotSlots - 1)) {
        if (slots[i] == address) return false;
        if (slots[i] == 0) {
            slots[i] = address;
            return true;
        }
    }
    return true;
}


/// One ring's records not yet released by the backend [read index, write
/// index), each after the metadata it needs. The producer writes only past
/// the write index read here. Normally the backend is stopped or paused, so
/// the bytes are stable; if it is not (kDumpBackendNotStopped), it may
/// release records meanwhile and their producer may overwrite them. Hence a
/// record's context addresses are used only once the read index, loaded
/// after the record's header and slots, shows it still unreleased: its
/// snapshots are then alive, and DumpReadGuard keeps them so.
void dump_ring(FdSink& out, const DumpScratch& scratch, const ThreadQueue& q, const SpscRing& ring,
               DumpResult& result) noexcept {
    Registry& reg = Registry::instance();
    const std::uint64_t read = ring.read_index();
    const std::uint64_t write = ring.write_index();
    if (read >= write) return;
    const std::size_t cap = ring.capacity();
    write_thread(out, q.os_thread_id.load(std::memory_order_relaxed), read, write, cap);
    for (std::uint64_t i = read; i < write;) {
        const std::size_t off = static_cast<std::size_t>(i) & (cap - 1);
        const std::byte* p = ring.data() + off;
        std::uint32_t marker[2];
        std::memcpy(marker, p, sizeof marker);
        const std::uint32_t size = marker[0];
        if (size < kRecordAlign || size % kRecordAlign != 0 || size > write - i || off + size > cap ||
            (marker[1] != kPaddingSiteId && size < sizeof(RecordHeader))) {
            result.flags |= kDumpTruncated;  // not a record: the rest of this ring cannot be framed
            return;
        }
        const std::uint64_t start = i;
        i += size;
        if (marker[1] == kPaddingSiteId) continue;
        RecordView view;
        if (!RecordView::read(p, size, view)) {
            result.flags |= kDumpTruncated;  // its context addresses do not fit: not a record
            return;
        }
        const RecordHeader& h = view.header;
        const std::uint64_t addresses[2] = {view.bound, view.scoped};
        // acquire: the loads above happen before the read index is read.
        std::atomic_thread_fence(std::memory_order_acquire);
        if (ring.read_index() > start) return;  // released meanwhile: this and the rest are the backend's
        if (first_time(scratch.sites(), h.site_id))
            if (const CallSite* site = reg.sites.get(h.site_id)) write_site(out, *site);
        const std::uint32_t logger_id = h.logger_id & kLoggerIdMask;
        if (first_time(scratch.loggers(), logger_id))
            if (LoggerState* const* logger = reg.loggers.get(logger_id)) write_logger(out, logger_id, (*logger)->name);
        // Context snapshots stay alive until the backend has released every
        // record that refers to them, so the addresses here are valid.
        for (std::uint64_t address : addresses)
            if (address != 0 && first_time(scratch.snapshots(), address))
                write_snapshot(out, reinterpret_cast<const ContextSnapshot*>(address));
        write_record(out, p, size);
        ++result.records;
    }
}

}  // namespace

void write_dump(DumpScratch& scratch, const DumpIdentity& s, FileKind kind, int signal, std::string_view note,
                DumpResult& result, FdSink& out) noexcept {
    Registry& reg = Registry::instance();
    const std::uint64_t tsc = read_tsc();
    const std::int64_t unix_ns = clock_now_ns(CLOCK_REALTIME);
    const double ns_per_tick = reg.ns_per_tick.load(std::memory_order_relaxed);
    const FileHeader header = make_file_header(kind, static_cast<std::uint32_t>(getpid()), tsc, ns_per_tick, unix_ns);
    out.bytes(&header, sizeof header);
    write_identity(out, IdentityFields{s.service, s.environment, s.version, s.host, s.max_message_length,
                                       &s.default_context, s.sensitive_data});
    scratch.clear_sets();
    {
        const DumpReadGuard reading;  // before the first live_ring load
        for (ThreadQueue* q = reg.all_queues.load(std::memory_order_acquire); q != nullptr; q = q->next_all)
            for (SpscRing* ring = q->live_ring.load(std::memory_order_acquire); ring != nullptr; ring = ring->next())
                dump_ring(out, scratch, *q, *ring, result);
    }
    if (!note.empty())
        write_internal(out, unix_ns, Level::critical, __LINE__, __FILE__, "agora::log::detail::write_dump", note);
    write_crash(out, signal, os_thread_id(), result.flags, result.records);
    out.flush();
}


}  // namespace agora::log::detail
