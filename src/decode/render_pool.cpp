#include "decode/render_pool.hpp"

#include <agora/log/detail/frontend.hpp>

#include <agora/log/handlers/handler.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace agora::log::detail::decode {

namespace {

std::string_view refusal_note(Refusal r) noexcept {
    switch (r) {
        case Refusal::none: break;
        case Refusal::bad_template: return " [agora-log: not formatted: the template is outside the fmt syntax the decoder formats]";
        case Refusal::too_wide: return " [agora-log: not formatted: a field wider than 4096 characters]";
        case Refusal::too_large: return " [agora-log: not formatted: the message would be too large]";
        case Refusal::long_string: return " [agora-log: not formatted: a string argument longer than the writer writes]";
        case Refusal::budget: return " [agora-log: not formatted: the decoder's formatting budget is spent]";
    }
    return {};
}

}  // namespace

std::string_view render_item(Decoder::Item& item, std::int64_t unix_ns, const Decoder::Input& in,
                             EntryRenderer& renderer, const InputInfo& info, bool text, RenderScratch& scratch,
                             ProblemSink add_problem) {
    LogRecordView& view = scratch.view;
    if (item.record == nullptr) {
        const InternalEntry& e = in.internals[item.site];
        renderer.render(e.level, unix_ns, e.message, e.site, kInternalLoggerId, kInternalLoggerName, view);
    } else {
        const CallSite& site = in.sites[item.site]->site;
        const std::uint32_t logger_id = item.logger_id & kLoggerIdMask;
        const std::string_view logger_name = in.loggers[logger_id - 1].name;
        if (item.refusal != Refusal::none) {
            // The template, cut, and why it was not formatted (the parser
            // reported the details as a problem).
            scratch.refused.assign(cut_utf8(site.fmt_template(), in.options.max_message_length));
            scratch.refused += refusal_note(item.refusal);
            renderer.render(site.level, unix_ns, scratch.refused, renderer.site_info(site), logger_id, logger_name, view);
        } else {
            RecordHeader h;
            std::memcpy(&h, item.record, sizeof h);
            h.logger_id = item.logger_id;
            const RecordContext context = item.context != 0 ? in.contexts[item.context - 1] : RecordContext{};
            const bool ok = renderer.render_record(h, item.record + item.args_offset, h.size - item.args_offset, site,
                                                   logger_name, unix_ns, view, context, in.ticks[item.clock]);
            if (!ok && (item.flags & Decoder::Item::kReported) == 0) {
                add_problem(in.info, fmt::format("{}: offset {}: record does not match its call site ({}:{}): {}",
                                                 info.name, item.offset(in), site.file, site.line, view.message));
                item.flags |= Decoder::Item::kReported;  // once the problem is kept (add_problem may throw)
            }
        }
    }
    if (!text) return view.json;
    scratch.text.clear();
    format_text(view, scratch.text, false);
    return scratch.text;
}

RenderPool::RenderPool(ItemOrder items, const std::vector<std::unique_ptr<Decoder::Input>>& inputs,
                       const std::vector<InputInfo>& infos, const DecodeOptions& options,
                       std::vector<std::int64_t> floors, std::size_t chunk_records, std::size_t slots)
    : items_(items), inputs_(inputs), infos_(infos), text_(options.text),
      chunk_bytes_(std::max<std::size_t>(options.chunk_bytes, 1)), chunk_records_(chunk_records),
      count_(items.order.empty() ? items.items.size() : items.order.size()), floors_(std::move(floors)),
      slots_(slots) {}

RenderPool::~RenderPool() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    claim_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
}

unsigned RenderPool::start(unsigned threads) {
    threads_.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) {
        try {
            threads_.emplace_back([this] { work(); });
        } catch (const std::system_error&) {
            break;
        }
    }
    return static_cast<unsigned>(threads_.size());
}

bool RenderPool::claim_next(std::size_t c) {
    std::lock_guard lock(mutex_);
    if (next_ != c) return false;
    ++next_;
    return true;
}

bool RenderPool::ready(std::size_t c) {
    std::lock_guard lock(mutex_);
    return slots_[c % slots_.size()].ready;
}

bool RenderPool::help() {
    std::size_t c = 0;
    {
        std::lock_guard lock(mutex_);
        if (!claimable()) return false;
        c = next_++;
    }
    finish(c, render_chunk(c, caller_renderers_, caller_scratch_));
    return true;
}

Chunk& RenderPool::wait(std::size_t c) {
    Chunk& chunk = slots_[c % slots_.size()];
    std::unique_lock lock(mutex_);
    ready_cv_.wait(lock, [&] { return chunk.ready; });
    return chunk;
}

void RenderPool::release(std::size_t c) {
    {
        std::lock_guard lock(mutex_);
        slots_[c % slots_.size()].ready = false;
        released_ = c + 1;
    }
    claim_cv_.notify_all();
}

void RenderPool::work() {
    std::vector<std::unique_ptr<EntryRenderer>> renderers;  // by input index, made on first use
    RenderScratch scratch;
    for (;;) {
        std::size_t c = 0;
        {
            std::unique_lock lock(mutex_);
            claim_cv_.wait(lock, [&] { return stop_ || failed_ || next_ >= chunks() || claimable(); });
            if (stop_ || !claimable()) return;
            c = next_++;
        }
        finish(c, render_chunk(c, renderers, scratch));
    }
}

void RenderPool::finish(std::size_t c, bool ok) {
    {
        std::lock_guard lock(mutex_);
        slots_[c % slots_.size()].ready = true;
        if (!ok) failed_ = true;
    }
    ready_cv_.notify_all();
}

bool RenderPool::render_chunk(std::size_t c, std::vector<std::unique_ptr<EntryRenderer>>& renderers,
                              RenderScratch& scratch) noexcept {
    Chunk& chunk = slots_[c % slots_.size()];
    chunk.begin = begin(c);
    chunk.end = end(c);
    chunk.rendered_end = chunk.begin;
    chunk.last = floors_[c];
    chunk.text.clear();
    chunk.ends.clear();
    chunk.problems.clear();
    chunk.error = nullptr;
    try {
        if (renderers.size() < inputs_.size()) renderers.resize(inputs_.size());
        for (std::size_t i = chunk.begin; i < chunk.end; ++i) {
            Decoder::Item& item = items_[i];
            const std::int64_t unix_ns = std::max(item.unix_ns, chunk.last);
            const Decoder::Input& in = *inputs_[item.input];
            std::unique_ptr<EntryRenderer>& renderer = renderers[item.input];
            if (!renderer) renderer = in.make_renderer();
            const std::string_view line =
                render_item(item, unix_ns, in, *renderer, infos_[in.info], text_, scratch,
                            [&chunk](std::uint32_t info, std::string problem) {
                                chunk.problems.emplace_back(info, std::move(problem));
                            });
            chunk.text.append(line);
            chunk.ends.push_back(chunk.text.size());
            chunk.last = unix_ns;
            chunk.rendered_end = i + 1;
            // The calling thread renders the rest: a chunk's buffer
            // stays near chunk_bytes whatever its records hold.
            if (chunk.text.size() >= chunk_bytes_) break;
        }
    } catch (...) {
        chunk.error = std::current_exception();
    }
    return !chunk.error;
}

}  // namespace agora::log::detail::decode
