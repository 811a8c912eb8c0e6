// The crash path. A fatal signal (or std::terminate) on any thread:
//   1. the first crashing thread owns the crash; any other waits for the end;
//   2. a watchdog (alarm, SIGALRM's default action) ends the process if the
//      rest hangs;
//   3. a live backend gets crash_drain_timeout to write and flush what is
//      queued, then is told to stop reading;
//   4. whatever is still in the rings is written as a dump next to the log
//      file (write_dump: header, identity, then per ring its records, each
//      after the call-site, logger and snapshot entries it needs);
//   5. the handler found at install is called, the default action restored
//      and the signal raised again, so core dumps and the application's own
//      handlers still work.
// Everything after the signal arrives is async-signal-safe: no malloc, no
// locks, no stdio. Memory (scratch, alternate stacks) is mapped beforehand.

#include "crash.hpp"

#include "backend.hpp"
#include "binary_writer.hpp"
#include "exception.hpp"
#include "registry.hpp"

#include <agora/log/crash.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>
#include <typeinfo>

namespace agora::log::detail {

namespace {

// ---- settings ---------------------------------------------------------------

/// What the handlers need, copied from the Config at install. Published
/// through g_settings; never freed (a handler may still read an older one):
/// replaced ones stay reachable through g_retired_settings.
struct CrashSettings {
    std::string service, environment, version, host;
    Context default_context;
    std::uint32_t max_message_length = 0;
    std::string prefix;  // dump names start with it
    std::int64_t drain_timeout_ns = 0;
    unsigned watchdog_s = 10;
    Backend* backend = nullptr;
    CrashSettings* retired_next = nullptr;  // g_retired_settings list
};
std::atomic<CrashSettings*> g_settings{nullptr};
CrashSettings* g_retired_settings = nullptr;  // lifecycle lock

/// Handlers between their entry and the end of their use of the settings,
/// the Backend they name and g_saved: uninstall_crash_handler() waits for
/// zero before shutdown() deletes that Backend. A handler increments before
/// it loads g_settings, uninstall exchanges g_settings before it loads this,
/// all seq_cst: either the handler sees the null settings, or uninstall sees
/// the handler (the store-buffer case, which acq_rel alone would allow).
std::atomic<int> g_handlers_in_use{0};
std::atomic<unsigned> g_uninstall_waits{0};  // times uninstall found one; for tests

struct HandlerInUse {
    HandlerInUse() noexcept { g_handlers_in_use.fetch_add(1, std::memory_order_seq_cst); }
    ~HandlerInUse() { leave(); }
    HandlerInUse(const HandlerInUse&) = delete;
    HandlerInUse& operator=(const HandlerInUse&) = delete;
    void leave() noexcept {
        if (in_use_) g_handlers_in_use.fetch_sub(1, std::memory_order_release);
        in_use_ = false;
    }

private:
    bool in_use_ = true;
};

void (*g_crash_dump_hook)() = nullptr;  // test hook, set before any crash

/// Publishes `next` (may be null) and keeps the one it replaces. Lifecycle lock held.
void publish_settings(CrashSettings* next) noexcept {
    if (CrashSettings* old = g_settings.exchange(next, std::memory_order_seq_cst)) {
        old->retired_next = g_retired_settings;
        g_retired_settings = old;
    }
}

CrashSettings make_settings(const Config& config, const EntryIdentity& identity, Backend* backend) {
    CrashSettings s;
    s.service = identity.service;
    s.environment = identity.environment;
    s.version = identity.version;
    s.host = identity.host;
    s.default_context = config.default_context;
    s.max_message_length = static_cast<std::uint32_t>(config.max_message_length);
    s.prefix = !config.crash_dump_prefix.empty() ? config.crash_dump_prefix
               : !config.file_path.empty()      ? config.file_path
                                                : std::string("agora-log");
    s.drain_timeout_ns = std::chrono::nanoseconds(config.crash_drain_timeout).count();
    s.watchdog_s = static_cast<unsigned>(config.crash_watchdog.count());
    s.backend = backend;
    return s;
}

// ---- scratch ----------------------------------------------------------------

/// Memory a dump works in, mapped before it is needed: the output buffer and
/// the "already written" sets for call sites, loggers and snapshots.
struct DumpScratch {
    static constexpr std::size_t kOutBytes = 256u << 10;
    static constexpr std::size_t kIdWords = (ChunkedTable<CallSite>::kMaxChunks * ChunkedTable<CallSite>::kChunkSize) / 64;
    static constexpr std::size_t kSnapshotSlots = 16384;  // power of two
    static constexpr std::size_t kBytes = kOutBytes + 2 * kIdWords * 8 + kSnapshotSlots * 8;

    std::byte* base = nullptr;
    std::byte* out() const noexcept { return base; }
    std::uint64_t* sites() const noexcept { return reinterpret_cast<std::uint64_t*>(base + kOutBytes); }
    std::uint64_t* loggers() const noexcept { return sites() + kIdWords; }
    std::uint64_t* snapshots() const noexcept { return loggers() + kIdWords; }

    bool map() noexcept {
        void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return false;
        base = static_cast<std::byte*>(p);
        return true;
    }
    void unmap() noexcept {
        if (base != nullptr) munmap(base, kBytes);
        base = nullptr;
    }
    void clear_sets() noexcept { std::memset(base + kOutBytes, 0, kBytes - kOutBytes); }
};
DumpScratch g_crash_scratch;  // mapped at the first install, never unmapped

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

// ---- output -----------------------------------------------------------------

/// A buffered fd: write(2) only, EINTR and short writes retried. After a
/// failure it drops the rest (`failed`, `error` say why).
struct FdSink {
    int fd;
    std::byte* buf;
    std::size_t cap;
    std::size_t used = 0;
    bool failed = false;
    int error = 0;

    void bytes(const void* data, std::size_t n) noexcept {
        auto* p = static_cast<const std::byte*>(data);
        while (n > 0) {
            if (used == cap) flush();
            const std::size_t k = n < cap - used ? n : cap - used;
            std::memcpy(buf + used, p, k);
            used += k;
            p += k;
            n -= k;
        }
    }
    void flush() noexcept {
        std::size_t done = 0;
        while (!failed && done < used) {
            const ssize_t w = ::write(fd, buf + done, used - done);
            if (w > 0) done += static_cast<std::size_t>(w);
            else if (w < 0 && errno == EINTR) continue;
            else {
                failed = true;
                error = w < 0 ? errno : EIO;
            }
        }
        used = 0;
    }
};

/// Fixed-size text builder for file names and notes (no allocation).
struct Text {
    char buf[4352];
    std::size_t n = 0;
    Text& operator<<(std::string_view s) noexcept {
        for (char c : s)
            if (n + 1 < sizeof buf) buf[n++] = c;
        buf[n] = '\0';
        return *this;
    }
    Text& number(std::uint64_t v, unsigned base = 10, unsigned min_digits = 1) noexcept {
        char digits[24];
        unsigned k = 0;
        do {
            digits[k++] = "0123456789abcdef"[v % base];
            v /= base;
        } while (v != 0 || k < min_digits);
        while (k > 0) *this << std::string_view(&digits[--k], 1);
        return *this;
    }
    std::string_view view() const noexcept { return {buf, n}; }
};

/// Text for the first crashing thread (only it writes them): kept off the
/// signal stack, which may be an application's small one.
struct CrashTexts {
    Text note, name, line;
};
CrashTexts g_crash_texts;

std::uint64_t os_thread_id() noexcept { return static_cast<std::uint64_t>(::syscall(SYS_gettid)); }

std::int64_t clock_ns(clockid_t id) noexcept {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

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

// ---- the dump ---------------------------------------------------------------

struct DumpResult {
    std::uint64_t records = 0;
    std::uint32_t flags = 0;
};

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
        RecordHeader h;
        std::memcpy(&h, p, sizeof h);
        std::uint64_t addresses[2] = {0, 0};  // bound, scoped (the order of their slots)
        std::size_t slots_end = sizeof h;
        for (int k = 0; k < 2; ++k) {
            if (!(h.logger_id & (k == 0 ? kBoundContextFlag : kScopedContextFlag))) continue;
            if (slots_end + 8 > size) {
                result.flags |= kDumpTruncated;
                return;
            }
            std::memcpy(&addresses[k], p + slots_end, 8);
            slots_end += 8;
        }
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

/// Writes a whole dump to `fd`. `note`, if not empty, becomes a critical
/// entry of the logger's own (what happened). Async-signal-safe.
void write_dump(DumpScratch& scratch, const CrashSettings& s, FileKind kind, int signal, std::string_view note,
                DumpResult& result, FdSink& out) noexcept {
    Registry& reg = Registry::instance();
    const std::uint64_t tsc = read_tsc();
    const std::int64_t unix_ns = clock_ns(CLOCK_REALTIME);
    const double ns_per_tick = reg.ns_per_tick.load(std::memory_order_relaxed);
    const FileHeader header = make_file_header(kind, static_cast<std::uint32_t>(getpid()), tsc, ns_per_tick, unix_ns);
    out.bytes(&header, sizeof header);
    write_identity(out, IdentityFields{s.service, s.environment, s.version, s.host, s.max_message_length,
                                       &s.default_context});
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

/// Lets the backend write what it can, then stops it reading. Returns DumpFlags.
std::uint32_t stop_backend(Backend* backend, std::int64_t drain_timeout_ns) noexcept {
    if (backend == nullptr) return kDumpNoBackend;
    if (Backend::on_a_backend_thread()) return kDumpOnBackendThread;
    auto wait = [backend](std::int64_t timeout_ns) {
        const std::int64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
        for (;;) {
            if (int stopped = backend->crash_stopped(); stopped != Backend::kCrashNone) return stopped;
            if (backend->finished()) return Backend::kCrashDrain;  // shut down meanwhile: wrote everything it took
            if (clock_ns(CLOCK_MONOTONIC) >= deadline) return Backend::kCrashNone;
            timespec ts{0, 100'000};
            nanosleep(&ts, nullptr);
        }
    };
    backend->request_crash_drain();
    if (drain_timeout_ns > 0 && wait(drain_timeout_ns) == Backend::kCrashDrain) return kDumpBackendDrained;
    backend->request_crash_halt();
    // Between records it stops at once; inside a write(2) to a slow disk it may not.
    if (wait(1'000'000'000) == Backend::kCrashNone) return kDumpBackendTimedOut | kDumpBackendNotStopped;
    return kDumpBackendTimedOut;
}

/// The crash dump: file next to the log (or in /tmp if that fails), and a
/// line on stderr saying where it is.
/// The caller holds a HandlerInUse.
void crash_dump(int signal, std::string_view note, std::uint32_t extra_flags) noexcept {
    const CrashSettings* s = g_settings.load(std::memory_order_seq_cst);
    if (s == nullptr || g_crash_scratch.base == nullptr) return;
    if (g_crash_dump_hook != nullptr) g_crash_dump_hook();
    DumpResult result;
    result.flags = extra_flags | stop_backend(s->backend, s->drain_timeout_ns);
    const std::int64_t now = clock_ns(CLOCK_REALTIME);
    Text& name = g_crash_texts.name;
    name.n = 0;
    dump_name(name, s->prefix, now);
    int fd = ::open(name.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        name.n = 0;
        dump_name(name, "/tmp/agora-log", now);
        fd = ::open(name.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    }
    Text& line = g_crash_texts.line;
    line.n = 0;
    if (fd < 0) {
        line << "agora-log: cannot create a crash dump (" << s->prefix << " and /tmp): errno ";
        line.number(static_cast<std::uint64_t>(errno)) << "\n";
    } else {
        FdSink out{fd, g_crash_scratch.out(), DumpScratch::kOutBytes};
        write_dump(g_crash_scratch, *s, FileKind::crash_dump, signal, note, result, out);
        ::fsync(fd);
        ::close(fd);
        line << "agora-log: ";
        line.number(result.records) << " records not yet in the log saved to " << name.view();
        if (out.failed) {
            line << " (incomplete: write failed, errno ";
            line.number(static_cast<std::uint64_t>(out.error)) << ")";
        }
        line << "; decode with agora-log-decode\n";
    }
    (void)!::write(STDERR_FILENO, line.buf, line.n);
}

// ---- signal handling --------------------------------------------------------

constexpr int kHandledSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT};
constexpr int kTerminationSignalCount = 2;  // the last two: only when configured

struct SavedAction {
    struct sigaction previous;
    bool installed = false;
};
SavedAction g_saved[sizeof kHandledSignals / sizeof kHandledSignals[0]];
std::terminate_handler g_previous_terminate = nullptr;
bool g_terminate_installed = false;

std::atomic<std::uint64_t> g_crash_owner{0};  // os thread id of the crashing thread

enum class Entry { first, again, other_thread };
Entry enter_crash() noexcept {
    const std::uint64_t self = os_thread_id();
    std::uint64_t expected = 0;
    if (g_crash_owner.compare_exchange_strong(expected, self, std::memory_order_acq_rel)) return Entry::first;
    return expected == self ? Entry::again : Entry::other_thread;
}

[[noreturn]] void wait_for_the_end() noexcept {
    for (;;) ::pause();  // the crashing thread ends the process
}

void arm_watchdog() noexcept {
    const CrashSettings* s = g_settings.load(std::memory_order_acquire);
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGALRM, &dfl, nullptr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    // The watchdog counts from the end of the backend handshake: the drain
    // timeout and the halt's 1 s are added, so a long drain is not cut short.
    unsigned seconds = 10;
    if (s != nullptr)
        seconds = s->watchdog_s + static_cast<unsigned>((s->drain_timeout_ns + 999'999'999) / 1'000'000'000) + 1;
    alarm(seconds);
}

const char* signal_name(int sig) noexcept {
    switch (sig) {
        case SIGSEGV: return "SIGSEGV";
        case SIGBUS: return "SIGBUS";
        case SIGFPE: return "SIGFPE";
        case SIGILL: return "SIGILL";
        case SIGABRT: return "SIGABRT";
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        default: return "signal";
    }
}

SavedAction* saved_for(int sig) noexcept {
    for (std::size_t i = 0; i < std::size(kHandledSignals); ++i)
        if (kHandledSignals[i] == sig) return &g_saved[i];
    return nullptr;
}

/// True while on_fatal_signal runs the handler found at install: if that
/// handler leads back here (an application handler that chains to the
/// handler it replaced, which was ours), we must not call it again.
std::atomic<bool> g_chaining{false};

void on_fatal_signal(int sig, siginfo_t* info, void* ucontext) {
    const int saved_errno = errno;
    HandlerInUse in_use;
    const Entry entry = enter_crash();
    if (entry == Entry::other_thread) {
        in_use.leave();
        wait_for_the_end();
    }
    if (entry == Entry::first) {
        arm_watchdog();
        Text& note = g_crash_texts.note;
        note.n = 0;
        note << "Fatal signal " << signal_name(sig) << " (";
        note.number(static_cast<std::uint64_t>(sig)) << ")";
        if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL) {
            note << " at address 0x";
            note.number(reinterpret_cast<std::uintptr_t>(info != nullptr ? info->si_addr : nullptr), 16);
        }
        note << " on thread ";
        note.number(os_thread_id());
        crash_dump(sig, note.view(), 0);
    }
    // The handler that was there before ours, then the default action.
    // sa_handler and sa_sigaction share storage: SIG_DFL and SIG_IGN are
    // checked whatever SA_SIGINFO says.
    // A copy, taken before leaving: the previous handler may call exit(),
    // whose shutdown() then uninstalls (and waits for handlers in use).
    SavedAction* saved = saved_for(sig);
    const bool chain = saved != nullptr && saved->installed;
    struct sigaction prev{};
    if (chain) prev = saved->previous;
    in_use.leave();
    if (chain && !g_chaining.exchange(true, std::memory_order_acq_rel)) {
        if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
            if (prev.sa_flags & SA_SIGINFO) prev.sa_sigaction(sig, info, ucontext);
            else prev.sa_handler(sig);
        }
    }
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    errno = saved_errno;
    // Blocked while this handler runs: delivered, with the default action,
    // when it returns (a fault would also simply recur).
    raise(sig);
}

void on_terminate() noexcept {
    const Entry entry = enter_crash();
    if (entry == Entry::other_thread) wait_for_the_end();
    if (entry == Entry::first) {
        arm_watchdog();
        // Not a signal handler: describing the exception may allocate.
        Text& note = g_crash_texts.note;
        note.n = 0;
        note << "std::terminate";
        try {
            if (std::exception_ptr ep = std::current_exception()) {
                try {
                    std::rethrow_exception(ep);
                } catch (const std::exception& e) {
                    note << ": uncaught exception " << demangle(typeid(e).name()) << ": " << e.what();
                } catch (...) {
                    note << ": uncaught exception of a type not derived from std::exception";
                }
            }
        } catch (...) {
        }
        note << " on thread ";
        note.number(os_thread_id());
        const HandlerInUse in_use;
        crash_dump(SIGABRT, note.view(), kDumpTerminate);
    }
    // The previous terminate handler (by default it prints the exception and
    // calls abort(); our SIGABRT handler then only chains).
    if (g_previous_terminate != nullptr) g_previous_terminate();
    std::abort();
}

// ---- alternate signal stacks ------------------------------------------------

constexpr std::size_t kAltStackBytes = 64u << 10;
thread_local void* t_alt_stack = nullptr;  // our mapping (guard page + stack), if we made one

}  // namespace

void ensure_alt_signal_stack() noexcept {
    if (t_alt_stack != nullptr) return;
    stack_t current{};
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;  // the application's
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::size_t size = kAltStackBytes;
    if (static_cast<std::size_t>(SIGSTKSZ) > size) size = static_cast<std::size_t>(SIGSTKSZ);
    void* mem = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return;
    mprotect(mem, page, PROT_NONE);  // guard: overflowing the alternate stack faults instead of corrupting
    stack_t ss{};
    ss.ss_sp = static_cast<char*>(mem) + page;
    ss.ss_size = size;
    if (sigaltstack(&ss, nullptr) != 0) {
        munmap(mem, size + page);
        return;
    }
    t_alt_stack = mem;
}

void release_alt_signal_stack() noexcept {
    if (t_alt_stack == nullptr) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::size_t size = kAltStackBytes;
    if (static_cast<std::size_t>(SIGSTKSZ) > size) size = static_cast<std::size_t>(SIGSTKSZ);
    munmap(t_alt_stack, size + page);
    t_alt_stack = nullptr;
}

Expected<void> install_crash_handler(const Config& config, const EntryIdentity& identity, Backend* backend) {
    if (g_crash_scratch.base == nullptr && !g_crash_scratch.map())
        return Error{ErrorCode::io_error, std::string("crash handler: cannot map its scratch memory: ") + std::strerror(errno)};
    publish_settings(new CrashSettings(make_settings(config, identity, backend)));
    ensure_alt_signal_stack();
    const std::size_t count = std::size(kHandledSignals) - (config.crash_on_termination_signals ? 0 : kTerminationSignalCount);
    for (std::size_t i = 0; i < count; ++i) {
        if (g_saved[i].installed) continue;
        // A signal the process ignores (nohup, a background job's SIGINT) stays ignored.
        struct sigaction current{};
        if (sigaction(kHandledSignals[i], nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
            current.sa_handler == SIG_IGN)
            continue;
        struct sigaction action{};
        action.sa_sigaction = on_fatal_signal;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        if (sigaction(kHandledSignals[i], &action, &g_saved[i].previous) != 0) {
            const int err = errno;
            uninstall_crash_handler();
            return Error{ErrorCode::io_error, std::string("crash handler: sigaction(") + signal_name(kHandledSignals[i]) +
                                                  "): " + std::strerror(err)};
        }
        g_saved[i].installed = true;
    }
    if (!g_terminate_installed) {
        g_previous_terminate = std::set_terminate(on_terminate);
        g_terminate_installed = true;
    }
    return {};
}

void uninstall_crash_handler() noexcept {
    // First no settings (a handler entering from now on finds none), then
    // the previous actions back, then wait for the handlers that still use
    // the old settings: their Backend is deleted after this returns, and
    // they read g_saved. A crash in progress ends the process; this wait is
    // bounded by its watchdog.
    publish_settings(nullptr);
    for (std::size_t i = 0; i < std::size(kHandledSignals); ++i) {
        if (!g_saved[i].installed) continue;
        // Only if ours is still the installed one: a handler installed after
        // ours (which may chain to ours) is the application's to manage.
        struct sigaction current{};
        if (sigaction(kHandledSignals[i], nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
            current.sa_sigaction == on_fatal_signal)
            sigaction(kHandledSignals[i], &g_saved[i].previous, nullptr);
    }
    if (g_terminate_installed && std::get_terminate() == on_terminate) std::set_terminate(g_previous_terminate);
    if (g_handlers_in_use.load(std::memory_order_seq_cst) != 0) {
        g_uninstall_waits.fetch_add(1, std::memory_order_release);
        while (g_handlers_in_use.load(std::memory_order_acquire) != 0) {
            timespec ts{0, 1'000'000};
            nanosleep(&ts, nullptr);
        }
    }
    for (SavedAction& saved : g_saved) saved.installed = false;
    g_terminate_installed = false;
}

void reset_crash_state_after_fork() noexcept {
    // A crash in progress on a thread of the parent (which does not exist
    // here) must not make this process's own crashes wait for it forever.
    g_crash_owner.store(0, std::memory_order_relaxed);
    g_chaining.store(false, std::memory_order_relaxed);
    g_handlers_in_use.store(0, std::memory_order_relaxed);
}

void set_crash_dump_hook_for_tests(void (*hook)()) noexcept { g_crash_dump_hook = hook; }
unsigned crash_uninstall_waits_for_tests() noexcept { return g_uninstall_waits.load(std::memory_order_acquire); }

Expected<void> write_dump_now(const std::string& path, const Config& config, const EntryIdentity& identity,
                              Backend* backend) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return Error{ErrorCode::io_error, "dump_now(): cannot create " + path + ": " + std::strerror(errno)};
    DumpScratch scratch;
    if (!scratch.map()) {
        const int err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return Error{ErrorCode::io_error, std::string("dump_now(): no memory for the dump: ") + std::strerror(err)};
    }
    const CrashSettings settings = make_settings(config, identity, backend);
    DumpResult result;
    bool paused = false;
    if (Backend::on_a_backend_thread()) result.flags |= kDumpOnBackendThread;
    else if (backend == nullptr) result.flags |= kDumpNoBackend;
    else {
        const Backend::PauseResult pause = backend->pause_for(std::chrono::seconds(1));
        paused = pause == Backend::PauseResult::paused;
        if (pause == Backend::PauseResult::failed) result.flags |= kDumpBackendNotStopped;
    }
    FdSink out{fd, scratch.out(), DumpScratch::kOutBytes};
    write_dump(scratch, settings, FileKind::on_demand_dump, 0, {}, result, out);
    if (paused) backend->resume();
    scratch.unmap();
    const bool synced = ::fsync(fd) == 0;
    const int sync_error = errno;
    ::close(fd);
    if (out.failed || !synced)
        return Error{ErrorCode::io_error, "dump_now(): writing " + path + " failed: " +
                                              std::strerror(out.failed ? out.error : sync_error)};
    return {};
}

}  // namespace agora::log::detail
