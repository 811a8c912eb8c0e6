#pragma once
// Post-mortem decoder of the binary files of detail/binary_format.hpp (crash
// dumps, dump_now() files, binary log files). Renders their records with the
// live backend's EntryRenderer, so a decoded entry is byte for byte the JSON
// the backend would have written for it. agora-log-decode (tools/) is a thin
// command line around it.
//
// Untrusted input. Nothing read from a file sizes an allocation: every
// length is checked against the bytes that remain before it is used, so the
// memory a Decoder holds is proportional to the bytes added. Damage never
// throws; it becomes a problem of its input and the decoder resynchronises
// on the next entry whose sync word, size and checksum check out.
//
// Threads. A Decoder is used by one thread at a time. render() may render on
// worker threads of its own (DecodeOptions::threads), each with its own
// renderers; it calls `line` on the calling thread only, in order, and has
// joined every worker when it returns or throws.

#include <agora/log/config.hpp>
#include <agora/log/detail/binary_format.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace agora::log::detail {

struct DecodeOptions {
    /// Render in timestamp order across threads and inputs (a stable sort:
    /// equal timestamps keep input order); false: in input order.
    bool sort = true;
    /// One text line per record (format_text, no colours) instead of JSON.
    bool text = false;
    /// Threads that render (the lines are the same for any number): 0 picks
    /// std::thread::hardware_concurrency(), at most kMaxDefaultThreads; 1
    /// renders on the calling thread. Inputs of at most one chunk render on
    /// the calling thread whatever this says.
    unsigned threads = 0;
    /// With threads > 1 the records are rendered in chunks of at most this
    /// many records, each buffered until its turn to be written (threads - 1
    /// workers and the calling thread render). A chunk whose lines pass
    /// chunk_bytes is cut there; the calling thread renders the rest. At
    /// most 2 chunks per rendering thread are buffered at a time.
    std::size_t chunk_records = 4096;
    std::size_t chunk_bytes = std::size_t{4} << 20;
    /// Redaction rules for every input, instead of the ones each input's
    /// identity entry records (its writer's Config::sensitive_data; the
    /// defaults for a file written before redaction existed).
    std::optional<SensitiveDataConfig> sensitive_data;

    static constexpr unsigned kMaxDefaultThreads = 4;
};

/// The threads DecodeOptions::threads `requested` stands for (at least 1).
unsigned resolve_decode_threads(unsigned requested) noexcept;

/// A callable `void(std::string_view)` passed by reference: render() calls it
/// once per line without std::function's allocation and type erasure
/// through a copy. It must outlive the call it is passed to.
class LineSink {
public:
    template <class F, class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, LineSink>>>
    LineSink(F&& f) noexcept  // NOLINT: implicit, like a function parameter
        : object_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, std::string_view line) { (*static_cast<std::remove_reference_t<F>*>(o))(line); }) {}
    void operator()(std::string_view line) const { call_(object_, line); }

private:
    void* object_;
    void (*call_)(void*, std::string_view);
};

/// What one input said about itself, and what was wrong with it.
struct InputInfo {
    std::string name;
    FileHeader header{};
    bool header_ok = false;  // magic, version and byte order were readable
    // From the identity entry (empty without one).
    std::string service, environment, version, host;
    std::uint32_t pid = 0;
    FileKind kind{};
    // The clock anchor the records after the last clock entry (or the file
    // header) use: tick t is at anchor_unix_ns + (t - anchor_tsc) * ns_per_tick.
    std::uint64_t anchor_tsc = 0;
    double ns_per_tick = 0;
    std::int64_t anchor_unix_ns = 0;
    std::uint64_t threads = 0;  // thread entries
    std::uint64_t records = 0;  // records and internal entries queued for rendering
    std::uint64_t entries = 0;  // entries that checked out (any type)
    struct Crash {
        std::int32_t signal = 0;  // 0: dump_now()
        std::uint64_t thread = 0;
        std::uint32_t flags = 0;  // DumpFlags
        std::uint64_t records = 0;
    };
    std::optional<Crash> crash;
    /// Damage, each "name: offset N: what[; skipped M bytes]". Problems found
    /// while rendering (a record that does not match its call site) are
    /// added by render().
    std::vector<std::string> problems;
    /// Not damage: entry types this decoder does not know (a newer writer), once per type.
    std::vector<std::string> notes;
    /// add() ran out of memory on this input (and threw): the records parsed
    /// before stay; a problem says where, if there was memory left to say it.
    bool out_of_memory = false;
};

class Decoder {
public:
    explicit Decoder(DecodeOptions options = {});
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    /// Parses one whole input (a crash dump, a dump_now file or a binary log
    /// file); keeps a copy of `bytes`. `name` prefixes its problems. Never
    /// throws on bad bytes; allocation is bounded by the input size (never by
    /// a length field). May throw std::bad_alloc: the records parsed before
    /// stay and render, and the input is marked out_of_memory.
    void add(std::string_view name, std::span<const std::byte> bytes);
    /// The same, taking `bytes` over instead of copying them (a file read
    /// into memory for the purpose).
    void add(std::string_view name, std::vector<std::byte>&& bytes);

    /// Renders every record added so far, one line per call of `line` (no
    /// newline; the view is valid during the call): in timestamp order across
    /// threads and inputs when options.sort (stable), else in input order.
    /// Timestamps never go backwards within one call (a later entry with an
    /// earlier time shows the time before it, as the live backend does).
    /// Problems found while rendering are added to inputs() in the order of
    /// the lines, whatever the number of threads. If rendering or `line`
    /// throws (std::bad_alloc), the lines before it were passed to `line`,
    /// the workers are joined and the exception propagates.
    void render(LineSink line);

    const std::vector<InputInfo>& inputs() const noexcept { return infos_; }
    /// Any problem in any input.
    bool damaged() const noexcept;

    struct Input;  // decode_internal.hpp
    struct Item;

private:
    void add_input(std::string_view name, std::span<const std::byte> copy, std::vector<std::byte>* take);
    /// The items in rendering order: items_ itself, or through order_.
    void sort_items();
    /// Renders positions [begin, end) of the rendering order on the calling
    /// thread, times floored at `last`; returns the floor after them.
    std::int64_t render_range(std::size_t begin, std::size_t end, std::int64_t last, LineSink line);
    void render_parallel(LineSink line, unsigned threads);

    DecodeOptions options_;
    std::vector<InputInfo> infos_;
    std::vector<std::unique_ptr<Input>> inputs_;
    std::vector<Item> items_;  // in input order
    /// Rendering order when options_.sort and items_ is not in timestamp
    /// order already: indices into items_ with their times. Made by the
    /// first render() after an add().
    std::vector<std::pair<std::int64_t, std::size_t>> order_;
    bool ordered_ = false;  // order_ (or its absence) is up to date
    /// Bytes of message bounds the records still to be parsed may ask for
    /// (grows with each input; see Parser::record).
    std::uint64_t format_budget_;
};

#ifdef AGORA_FUZZING
/// Fuzz builds only (meson option fuzz): accept every checksum, so mutated
/// payloads reach the entry parsers instead of stopping at the frame check.
extern bool g_fuzz_ignore_checksums;
#endif

/// "crash dump", "on-demand dump", "binary log" (or "unknown kind N").
std::string kind_name(FileKind kind);
/// The DumpFlags set in `flags`, spelled out and comma-separated ("none" if none).
std::string dump_flags_text(std::uint32_t flags);

}  // namespace agora::log::detail
