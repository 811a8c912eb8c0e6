#include "decode/decoder.hpp"

#include "decode/decode_internal.hpp"
#include "decode/parser.hpp"
#include "decode/render_pool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace agora::log::detail {

using decode::add_sat;
using decode::ItemOrder;
using decode::mul_sat;
using decode::RenderPool;
using decode::RenderScratch;

namespace {

/// The formatting all inputs of one Decoder may ask for, in bytes of message
/// bounds: a base and so much per input byte. What a writer produces stays far
/// below (a record's bound is its template twice plus a few hundred bytes per
/// field); without it, records of a few dozen bytes each asking for a
/// message of many MB could keep the decoder busy for hours.
constexpr std::uint64_t kFormatBudgetBase = std::uint64_t{1} << 30;
constexpr std::uint64_t kFormatBudgetPerInputByte = 256;

}  // namespace

unsigned resolve_decode_threads(unsigned requested) noexcept {
    if (requested != 0) return requested;
    const unsigned cores = std::thread::hardware_concurrency();
    return std::clamp<unsigned>(cores, 1, DecodeOptions::kMaxDefaultThreads);
}

Decoder::Decoder(DecodeOptions options) : options_(options), format_budget_(kFormatBudgetBase) {}
Decoder::~Decoder() = default;

void Decoder::add(std::string_view name, std::span<const std::byte> bytes) { add_input(name, bytes, nullptr); }

void Decoder::add(std::string_view name, std::vector<std::byte>&& bytes) { add_input(name, {}, &bytes); }

void Decoder::add_input(std::string_view name, std::span<const std::byte> copy, std::vector<std::byte>* take) {
    ordered_ = false;
    infos_.emplace_back();
    InputInfo& info = infos_.back();
    std::size_t reached = 0;
    try {
        info.name = std::string(name);
        // Stored before it is parsed: items point into it, and those made
        // before an exception (std::bad_alloc) must stay valid.
        inputs_.push_back(std::make_unique<Input>());
        Input& in = *inputs_.back();
        in.info = static_cast<std::uint32_t>(infos_.size() - 1);
        if (options_.sensitive_data) {
            in.options.sensitive_data = *options_.sensitive_data;
            in.sensitive_override = true;
        }
        if (take != nullptr) in.bytes = std::move(*take);
        else in.bytes.assign(copy.begin(), copy.end());
        const std::size_t size = in.bytes.size();
        format_budget_ = add_sat(format_budget_, mul_sat(kFormatBudgetPerInputByte, size));
        // Room for this input's records (a record entry is 56 bytes or more
        // for most call sites), grown geometrically: an exact reserve per
        // input would copy the items of all earlier inputs every time.
        const std::size_t wanted = items_.size() + size / 64;
        if (wanted > items_.capacity()) items_.reserve(std::max(wanted, 2 * items_.capacity()));
        decode::Parser parser(in, info, items_, static_cast<std::uint32_t>(inputs_.size() - 1), format_budget_);
        try {
            parser.run();
        } catch (...) {
            reached = parser.position();
            throw;
        }
    } catch (...) {
        info.out_of_memory = true;
        try {
            info.problems.push_back(
                fmt::format("{}: offset {}: out of memory; the rest of this input is not decoded", info.name, reached));
        } catch (...) {
            // Out of memory for the note too: the caller still gets the exception.
        }
        throw;
    }
}

bool Decoder::damaged() const noexcept {
    return std::any_of(infos_.begin(), infos_.end(),
                       [](const InputInfo& i) { return !i.problems.empty() || i.out_of_memory; });
}

void Decoder::sort_items() {
    if (ordered_) return;
    // Most inputs (one thread, a binary log) are in order already; otherwise
    // sort small keys and render through them: the items stay where they are.
    order_.clear();
    const auto earlier = [](const Item& a, const Item& b) { return a.unix_ns < b.unix_ns; };
    if (options_.sort && !std::is_sorted(items_.begin(), items_.end(), earlier)) {
        order_.reserve(items_.size());
        for (std::size_t i = 0; i < items_.size(); ++i) order_.emplace_back(items_[i].unix_ns, i);
        // (time, index): equal times keep input order, as a stable sort would.
        std::sort(order_.begin(), order_.end());
    }
    ordered_ = true;
}

void Decoder::render(LineSink line) {
    sort_items();
    const unsigned threads = resolve_decode_threads(options_.threads);
    const std::size_t chunk = std::max<std::size_t>(options_.chunk_records, 1);
    if (threads <= 1 || items_.size() <= chunk) render_range(0, items_.size(), 0, line);
    else render_parallel(line, threads);
}

std::int64_t Decoder::render_range(std::size_t begin, std::size_t end, std::int64_t last, LineSink line) {
    const ItemOrder items{items_, order_};
    RenderScratch scratch;
    const auto add_problem = [this](std::uint32_t info, std::string problem) {
        infos_[info].problems.push_back(std::move(problem));
    };
    for (std::size_t i = begin; i < end; ++i) {
        Item& item = items[i];
        const std::int64_t unix_ns = std::max(item.unix_ns, last);
        last = unix_ns;
        Input& in = *inputs_[item.input];
        line(decode::render_item(item, unix_ns, in, in.get_renderer(), infos_[in.info], options_.text, scratch, add_problem));
    }
    return last;
}

void Decoder::render_parallel(LineSink line, unsigned threads) {
    const ItemOrder items{items_, order_};
    const std::size_t count = items_.size();
    const std::size_t chunk_records = std::max<std::size_t>(options_.chunk_records, 1);
    const std::size_t chunks = (count + chunk_records - 1) / chunk_records;
    // Each chunk's time floor: the latest time before it, as the sequential
    // pass would have it on reaching the chunk.
    std::vector<std::int64_t> floors(chunks);
    std::int64_t last = 0;
    for (std::size_t c = 0, i = 0; c < chunks; ++c) {
        floors[c] = last;
        for (const std::size_t end = std::min(count, i + chunk_records); i < end; ++i) last = std::max(last, items[i].unix_ns);
    }
    // The calling thread renders too (RenderPool::claim_next and help):
    // threads - 1 workers, and two buffered chunks per rendering thread.
    const unsigned workers = static_cast<unsigned>(std::min<std::size_t>(threads - 1, chunks));
    RenderPool pool(items, inputs_, infos_, options_, std::move(floors), chunk_records,
                    std::min<std::size_t>(chunks, std::size_t{2} * (workers + 1)));
    if (pool.start(workers) == 0) {
        render_range(0, count, 0, line);
        return;
    }
    for (std::size_t c = 0; c < pool.chunks(); ++c) {
        if (pool.claim_next(c)) {
            render_range(pool.begin(c), pool.end(c), pool.floor(c), line);
            pool.release(c);
            continue;
        }
        while (!pool.ready(c) && pool.help()) {
        }
        decode::Chunk& chunk = pool.wait(c);
        std::size_t from = 0;
        for (const std::size_t to : chunk.ends) {
            line(std::string_view(chunk.text).substr(from, to - from));
            from = to;
        }
        for (auto& [info, problem] : chunk.problems) infos_[info].problems.push_back(std::move(problem));
        chunk.problems.clear();
        if (chunk.error) std::rethrow_exception(chunk.error);
        if (chunk.rendered_end < chunk.end) render_range(chunk.rendered_end, chunk.end, chunk.last, line);
        pool.release(c);
    }
}

std::string kind_name(FileKind kind) {
    switch (kind) {
        case FileKind::crash_dump: return "crash dump";
        case FileKind::on_demand_dump: return "on-demand dump";
        case FileKind::binary_log: return "binary log";
    }
    return fmt::format("unknown kind {}", static_cast<unsigned>(kind));
}

std::string dump_flags_text(std::uint32_t flags) {
    static constexpr std::pair<std::uint32_t, std::string_view> kNames[] = {
        {kDumpBackendDrained, "backend drained"},
        {kDumpBackendTimedOut, "backend timed out"},
        {kDumpBackendNotStopped, "backend not stopped (records may also be in the log)"},
        {kDumpOnBackendThread, "on the backend thread"},
        {kDumpNoBackend, "no backend"},
        {kDumpTruncated, "truncated (a ring held bytes that were not a record)"},
        {kDumpTerminate, "std::terminate"},
    };
    std::string out;
    for (const auto& [bit, name] : kNames) {
        if ((flags & bit) == 0) continue;
        if (!out.empty()) out += ", ";
        out += name;
        flags &= ~bit;
    }
    if (flags != 0) out += fmt::format("{}unknown 0x{:x}", out.empty() ? "" : ", ", flags);
    return out.empty() ? "none" : out;
}

}  // namespace agora::log::detail
