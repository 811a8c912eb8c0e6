#pragma once
// Rendering of the decoder's queued items: render_item renders one on the
// calling thread or a worker; RenderPool renders chunks of them on worker
// threads ahead of the calling thread (Decoder::render_parallel). Internal
// to src/decode/.

#include "decode/decode_internal.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace agora::log::detail::decode {

/// Scratch space for rendering items on one thread.
struct RenderScratch {
    LogRecordView view{};
    std::string text, refused;
};

/// A callable `void(std::uint32_t info, std::string problem)` passed by
/// reference (as LineSink); it must outlive the call it is passed to.
class ProblemSink {
public:
    template <class F, class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, ProblemSink>>>
    ProblemSink(F&& f) noexcept  // NOLINT: implicit, like a function parameter
        : object_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, std::uint32_t info, std::string problem) {
              (*static_cast<std::remove_reference_t<F>*>(o))(info, std::move(problem));
          }) {}
    void operator()(std::uint32_t info, std::string problem) const { call_(object_, info, std::move(problem)); }

private:
    void* object_;
    void (*call_)(void*, std::uint32_t, std::string);
};

/// Renders `item` at `unix_ns` with `renderer` (one of its input's) and
/// returns its line (valid until the next call with `scratch`). A record that
/// does not match its call site is passed to `add_problem(info index,
/// problem)` the first time it renders (Item::kReported).
std::string_view render_item(Decoder::Item& item, std::int64_t unix_ns, const Decoder::Input& in,
                             EntryRenderer& renderer, const InputInfo& info, bool text, RenderScratch& scratch,
                             ProblemSink add_problem);

/// The items in rendering order.
struct ItemOrder {
    std::vector<Decoder::Item>& items;
    const std::vector<std::pair<std::int64_t, std::size_t>>& order;  // empty: items' own order
    Decoder::Item& operator[](std::size_t i) const noexcept { return order.empty() ? items[i] : items[order[i].second]; }
};

/// One chunk of the items rendered into a RenderPool slot (by a worker, or
/// by the calling thread in help()): its lines, and the problems found
/// rendering them, in order.
struct Chunk {
    std::size_t begin = 0, end = 0;  // positions in rendering order
    std::size_t rendered_end = 0;    // [begin, rendered_end) are in `text`
    std::int64_t last = 0;           // time floor: before `begin` when claimed, at rendered_end when ready
    std::string text;                // the lines, back to back
    std::vector<std::size_t> ends;   // where each line ends in `text`
    std::vector<std::pair<std::uint32_t, std::string>> problems;  // (InputInfo index, problem)
    std::exception_ptr error;        // rendering item rendered_end threw this
    bool ready = false;              // RenderPool::mutex_
};

/// Worker threads rendering chunks of consecutive items ahead of the
/// calling thread, which writes them strictly in order (wait, then
/// release). Chunks are claimed in increasing order, by a worker or by the
/// calling thread, which never waits while there is work: when the chunk it
/// is to write next is not claimed yet, it renders that chunk straight to
/// the output (claim_next); when a worker has it, it renders the next
/// unclaimed chunk into its buffer meanwhile (help), as a worker would.
/// Chunk c goes to slot c % slots: chunk c is claimed into its slot only
/// once chunk c - slots was released, so at most `slots` chunks are buffered.
///
/// Threads: each worker has its own renderers (EntryRenderer caches are
/// not shared) and writes only the chunk it claimed and the items in it
/// (Item::flags); everything else it reads is not written while workers
/// run. Chunk hand-over (ready, claims, releases) is under mutex_.
class RenderPool {
public:
    RenderPool(ItemOrder items, const std::vector<std::unique_ptr<Decoder::Input>>& inputs,
               const std::vector<InputInfo>& infos, const DecodeOptions& options, std::vector<std::int64_t> floors,
               std::size_t chunk_records, std::size_t slots);
    /// Joins the workers (after the chunks they are rendering).
    ~RenderPool();
    RenderPool(const RenderPool&) = delete;
    RenderPool& operator=(const RenderPool&) = delete;

    /// Starts up to `threads` workers; returns how many started. A thread
    /// the system refuses ends the start (std::bad_alloc propagates).
    unsigned start(unsigned threads);

    std::size_t chunks() const noexcept { return floors_.size(); }
    /// Chunk c's positions in rendering order, and its time floor.
    std::size_t begin(std::size_t c) const noexcept { return c * chunk_records_; }
    std::size_t end(std::size_t c) const noexcept { return std::min(count_, begin(c) + chunk_records_); }
    std::int64_t floor(std::size_t c) const noexcept { return floors_[c]; }

    /// Claims chunk c for the calling thread if no worker has: c must be the
    /// next chunk not released. The caller renders it, then releases it.
    bool claim_next(std::size_t c);
    /// Whether chunk c is rendered; c must be the next chunk not released.
    bool ready(std::size_t c);
    /// Renders the next unclaimed chunk into its slot on the calling thread,
    /// as a worker would; false if there is none to claim (all claimed, or
    /// no slot free, or a chunk failed).
    bool help();
    /// Chunk c, once rendered; c must be the next chunk not released.
    Chunk& wait(std::size_t c);
    /// Chunk c is written: its slot may take the chunk `slots` later.
    void release(std::size_t c);

private:
    void work();
    /// The next chunk may be claimed into its slot (mutex_ held). After a
    /// chunk failed, the calling thread writes up to it and throws: later
    /// chunks would not be written.
    bool claimable() const noexcept { return !failed_ && next_ < chunks() && next_ < released_ + slots_.size(); }
    void finish(std::size_t c, bool ok);
    /// Renders chunk c into its slot; false if rendering threw (Chunk::error).
    bool render_chunk(std::size_t c, std::vector<std::unique_ptr<EntryRenderer>>& renderers,
                      RenderScratch& scratch) noexcept;

    const ItemOrder items_;
    const std::vector<std::unique_ptr<Decoder::Input>>& inputs_;
    const std::vector<InputInfo>& infos_;  // workers read names only
    const bool text_;
    const std::size_t chunk_bytes_;
    const std::size_t chunk_records_;
    const std::size_t count_;
    const std::vector<std::int64_t> floors_;  // by chunk: the latest time before it

    std::mutex mutex_;
    std::condition_variable claim_cv_;  // workers: a slot was released, or stop_
    std::condition_variable ready_cv_;  // the calling thread: a chunk is ready
    std::size_t next_ = 0;              // the next chunk to claim
    std::size_t released_ = 0;          // chunks written
    bool stop_ = false;
    bool failed_ = false;               // a chunk's rendering threw
    std::vector<Chunk> slots_;
    // help()'s: the calling thread's renderers for buffered chunks.
    std::vector<std::unique_ptr<EntryRenderer>> caller_renderers_;
    RenderScratch caller_scratch_;
    std::vector<std::thread> threads_;  // joined by the destructor's body, before any member goes
};

}  // namespace agora::log::detail::decode
