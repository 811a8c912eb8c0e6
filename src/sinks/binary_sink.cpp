#include "sinks/binary_sink.hpp"

#include "format/record_codec.hpp"

#include <unistd.h>

#include <cstring>

namespace agora::log::detail {

// ---- AddressTable ------------------------------------------------------------

namespace {
std::size_t hash_address(std::uint64_t a) noexcept {
    a ^= a >> 33;
    a *= 0xff51afd7ed558ccdull;
    a ^= a >> 33;
    return static_cast<std::size_t>(a);
}
}  // namespace

AddressTable::Slot* AddressTable::find_or_insert(std::uint64_t address) noexcept {
    // At most half full, so a probe always ends at the address or an empty slot.
    if ((used_ + 1) * 2 > slots_.size() && !grow()) return nullptr;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash_address(address) & mask;; i = (i + 1) & mask) {
        Slot& s = slots_[i];
        if (s.address == address) return &s;
        if (s.address == 0) {
            s.address = address;
            s.value = 0;
            ++used_;
            return &s;
        }
    }
}

bool AddressTable::grow() noexcept {
    try {
        std::vector<Slot> old(slots_.empty() ? 64 : slots_.size() * 2);
        old.swap(slots_);
        const std::size_t mask = slots_.size() - 1;
        for (const Slot& s : old) {
            if (s.address == 0) continue;
            std::size_t i = hash_address(s.address) & mask;
            while (slots_[i].address != 0) i = (i + 1) & mask;
            slots_[i] = s;
        }
        return true;
    } catch (...) {
        return false;
    }
}

void AddressTable::clear() noexcept {
    if (used_ == 0) return;
    std::memset(static_cast<void*>(slots_.data()), 0, slots_.size() * sizeof(Slot));
    used_ = 0;
}

// ---- BinaryLogSink -----------------------------------------------------------

void BinaryLogSink::ChunkOut::bytes(const void* p, std::size_t n) noexcept {
    try {
        chunk->append(static_cast<const char*>(p), n);
    } catch (...) {
        *failed = true;
    }
}

BinaryLogSink::BinaryLogSink(std::unique_ptr<RotatingFileSink> file, const EntryIdentity& identity,
                             const Config& config)
    : file_(std::move(file)), identity_(identity), default_context_(config.default_context),
      max_message_length_(static_cast<std::uint32_t>(config.max_message_length)),
      sensitive_data_(encode_identity_rules(config)) {
    file_->rotate_if_not_empty();
    generation_ = file_->generation();
    header_needed_ = file_->current_size() == 0;
    chunk_.reserve(4096);
}

BinaryLogSink::~BinaryLogSink() { file_->close(); }

void BinaryLogSink::flush() noexcept { file_->flush(); }

void BinaryLogSink::forget_written() noexcept {
    ++stamp_;
    snapshots_.clear();
    symbols_.clear();
    clock_tsc_ = 0;
    clock_ns_per_tick_ = 0;
}

bool BinaryLogSink::mark(std::vector<std::uint32_t>& stamps, std::uint32_t id) noexcept {
    if (id >= stamps.size()) {
        try {
            stamps.resize(std::size_t{id} + 1 + id / 2, 0);
        } catch (...) {
            return true;  // cannot remember it: write it every time
        }
    }
    if (stamps[id] == stamp_) return false;
    stamps[id] = stamp_;
    return true;
}

template <class Compose>
void BinaryLogSink::write_chunk(const TscClock& clock, const Compose& compose) noexcept {
    auto build = [&] {
        chunk_.clear();
        chunk_failed_ = false;
        ChunkOut out{&chunk_, &chunk_failed_};
        if (preamble_pending_) put_preamble(out, clock);
        compose(out);
    };
    build();
    file_->prepare_write(chunk_.size());
    if (file_->generation() != generation_) {
        // A new file: it holds nothing yet; compose again, header first.
        generation_ = file_->generation();
        forget_written();
        preamble_pending_ = true;
        header_needed_ = true;
        build();
    }
    if (!chunk_failed_ && file_->append(chunk_)) {
        preamble_pending_ = false;
        header_needed_ = false;
    } else {
        forget_written();
    }
}

void BinaryLogSink::put_preamble(ChunkOut& out, const TscClock& clock) noexcept {
    if (header_needed_) {
        const FileHeader h = make_file_header(FileKind::binary_log, static_cast<std::uint32_t>(::getpid()),
                                              clock.anchor_tsc(), clock.ns_per_tick(), clock.anchor_unix_ns());
        out.bytes(&h, sizeof h);
    }
    write_identity(out, IdentityFields{identity_.service, identity_.environment, identity_.version, identity_.host,
                                       max_message_length_, &default_context_, sensitive_data_});
    clock_tsc_ = 0;  // the preamble always carries the clock
    put_clock_if_changed(out, clock);
}

void BinaryLogSink::put_clock_if_changed(ChunkOut& out, const TscClock& clock) noexcept {
    if (clock.anchor_tsc() == clock_tsc_ && clock.ns_per_tick() == clock_ns_per_tick_) return;
    write_clock(out, clock.anchor_tsc(), clock.ns_per_tick(), clock.anchor_unix_ns());
    clock_tsc_ = clock.anchor_tsc();
    clock_ns_per_tick_ = clock.ns_per_tick();
}

void BinaryLogSink::put_snapshot_if_new(ChunkOut& out, std::uint64_t address) noexcept {
    if (address == 0) return;
    const auto* snapshot = reinterpret_cast<const ContextSnapshot*>(static_cast<std::uintptr_t>(address));
    AddressTable::Slot* slot = snapshots_.find_or_insert(address);
    // Ids start at 1, so a new slot (value 0) never matches.
    if (slot != nullptr && slot->value == snapshot->id) return;
    write_snapshot(out, snapshot);
    if (slot != nullptr) slot->value = snapshot->id;
}

void BinaryLogSink::put_symbols(ChunkOut& out, const std::byte* blob, std::size_t size) noexcept {
    const ExceptionBlobReader exception(blob, size);  // damaged: the renderer says so
    for (std::uint32_t i = 0; i < exception.frames_shown(); ++i) {
        const std::uint64_t address = exception.frame(i);
        if (address == 0) continue;
        AddressTable::Slot* slot = symbols_.find_or_insert(address);
        if (slot != nullptr && slot->value != 0) continue;
        try {
            write_symbol(out, address, symbolizer_.frame(address));
        } catch (...) {
            continue;  // no memory for the text: the decoder shows the address
        }
        if (slot != nullptr) slot->value = 1;
    }
}

void BinaryLogSink::put_metadata(ChunkOut& out, const std::byte* record, const CallSite& site,
                                 std::string_view logger_name) noexcept {
    RecordView view;
    std::uint32_t size;
    std::memcpy(&size, record, sizeof size);  // RecordHeader::size: the backend read it from a whole record
    if (!RecordView::read(record, size, view)) return;
    const std::uint32_t logger_id = view.logger_id();
    if (mark(logger_stamps_, logger_id)) write_logger(out, logger_id, logger_name);
    if (mark(site_stamps_, site.id)) write_site(out, site);
    put_snapshot_if_new(out, view.bound);
    put_snapshot_if_new(out, view.scoped);

    // Exception arguments carry return addresses: their text, once per file.
    std::uint8_t has_exception = site.id < site_has_exception_.size() ? site_has_exception_[site.id] : 0;
    if (has_exception == 0) {
        has_exception = 1;
        for (const TypeCode* t = site.types; *t != TypeCode::end; ++t)
            if (*t == TypeCode::exception) has_exception = 2;
        try {
            if (site.id >= site_has_exception_.size()) site_has_exception_.resize(std::size_t{site.id} + 1 + site.id / 2, 0);
            site_has_exception_[site.id] = has_exception;
        } catch (...) {
        }
    }
    if (has_exception != 2) return;
    ArgIterator args(site.types, view.args, view.end);
    ArgRef arg;
    while (args.next(arg))
        if (arg.type == TypeCode::exception) put_symbols(out, arg.data, arg.size);
}

namespace {
/// Writes into memory known to be large enough.
struct SpanOut {
    char* p;
    void bytes(const void* data, std::size_t n) noexcept {
        std::memcpy(p, data, n);
        p += n;
    }
};
}  // namespace

bool BinaryLogSink::write_record_only(const std::byte* record, const CallSite& site, std::int64_t unix_ns,
                                      const TscClock& clock) noexcept {
    RecordHeader h;
    std::memcpy(&h, record, sizeof h);
    const std::uint32_t logger_id = h.logger_id & kLoggerIdMask;
    // Nothing but the record to write: the file holds its logger, its site
    // and the clock, and it has no snapshot or exception to describe.
    if (preamble_pending_ || (h.logger_id & (kBoundContextFlag | kScopedContextFlag)) != 0 ||
        clock.anchor_tsc() != clock_tsc_ || clock.ns_per_tick() != clock_ns_per_tick_ ||
        logger_id >= logger_stamps_.size() || logger_stamps_[logger_id] != stamp_ || site.id >= site_stamps_.size() ||
        site_stamps_[site.id] != stamp_ || site.id >= site_has_exception_.size() || site_has_exception_[site.id] != 1)
        return false;
    const std::size_t total = sizeof(EntryHeader) + sizeof unix_ns + h.size;
    if (total > chunk_.capacity()) return false;  // resize() below must not allocate
    file_->prepare_write(total);
    if (file_->generation() != generation_) return false;  // a new file: write_chunk() starts it
    chunk_.resize(total);
    SpanOut out{chunk_.data()};
    write_timed_record(out, unix_ns, record, h.size);
    if (!file_->append(chunk_)) forget_written();  // as write_chunk() does with a lost chunk
    return true;
}

void BinaryLogSink::write_record(const std::byte* record, const CallSite& site, std::string_view logger_name,
                                 std::int64_t unix_ns, const TscClock& clock) noexcept {
    if (write_record_only(record, site, unix_ns, clock)) return;
    write_chunk(clock, [&](ChunkOut& out) {
        put_clock_if_changed(out, clock);
        put_metadata(out, record, site, logger_name);
        std::uint32_t size;
        std::memcpy(&size, record, sizeof size);  // RecordHeader::size
        write_timed_record(out, unix_ns, record, size);
    });
}

void BinaryLogSink::write_internal(Level level, std::int64_t unix_ns, std::uint32_t line, std::string_view file,
                                   std::string_view function, std::string_view message,
                                   const TscClock& clock) noexcept {
    write_chunk(clock, [&](ChunkOut& out) {
        detail::write_internal(out, unix_ns, level, line, file, function, message);
    });
}

}  // namespace agora::log::detail
