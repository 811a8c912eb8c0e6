// Calling-thread slow paths: a thread's first record, a call site's first use
// on a thread, and a full ring. Everything here runs rarely; the steady-state
// path is detail/frontend.hpp.

#include "frontend/alt_signal_stack.hpp"
#include "frontend/registry.hpp"
#include "frontend/ring_pool.hpp"
#include "frontend/sampling.hpp"

#include <agora/log/config.hpp>
#include <agora/log/detail/message_template.hpp>
#include <agora/log/lifecycle.hpp>

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <new>

namespace agora::log::detail {

static_assert(sizeof(SpscRing) <= SpscRing::kStorageOffset, "ring header must fit before its storage");

Registry& Registry::instance() noexcept {
    static Registry* r = new Registry();  // never destroyed
    return *r;
}

std::size_t ring_capacity_for(std::size_t bytes, std::size_t min) noexcept {
    std::size_t c = min;
    while (c < bytes && c < (std::size_t{1} << 40)) c <<= 1;
    return c;
}

SpscRing* SpscRing::create(std::size_t capacity) noexcept {
    void* mem = nullptr;
    if (posix_memalign(&mem, kCacheLine, kStorageOffset + capacity) != 0) return nullptr;
    // Touch every page now: a first touch later would cost a page fault on the hot path.
    std::memset(mem, 0, kStorageOffset + capacity);
    return new (mem) SpscRing(capacity);
}

SpscRing* SpscRing::recreate(SpscRing* ring) noexcept {
    const std::size_t capacity = ring->capacity();
    ring->~SpscRing();
    return new (ring) SpscRing(capacity);
}

void SpscRing::destroy(SpscRing* ring) noexcept {
    if (ring == nullptr) return;
    ring->~SpscRing();
    std::free(ring);
}

namespace {

constexpr std::size_t kInitialSiteCache = 256;

/// What an invalidated SiteCache points to: an empty front and one empty
/// slot, so every lookup misses. Never written (find() only reads it,
/// find_behind_front() does not refill it; the owner replaces it on its next
/// slow path before inserting anything).
struct EmptySiteTable {
    SiteCache::Table header{{}, 0, 0};
    SiteCache::Entry slot{};
};
EmptySiteTable g_empty_site_table;

SiteCache::Table* new_site_table(std::size_t capacity) noexcept {
    const std::size_t bytes = sizeof(SiteCache::Table) + capacity * sizeof(SiteCache::Entry);
    void* mem = std::calloc(1, bytes);
    if (mem == nullptr) return nullptr;
    std::memset(mem, 0, bytes);  // touch the pages
    auto* table = static_cast<SiteCache::Table*>(mem);
    table->mask = capacity - 1;
    table->used = 0;
    return table;
}

void put_site(SiteCache::Table& table, const SiteKey& key, std::uint32_t id) noexcept {
    SiteCache::Entry* entries = table.entries();
    std::size_t i = SiteCache::hash(key) & table.mask;
    while (entries[i].id != 0) i = (i + 1) & table.mask;
    entries[i] = SiteCache::Entry{key, id};
    ++table.used;
}

/// Owner thread: caches `key` behind the front and in its front slot. A
/// table at half load is replaced by one twice as large (front copied),
/// published only if the cache was not invalidated meanwhile.
void insert_site(SiteCache& cache, const SiteKey& key, std::uint32_t id) noexcept {
    SiteCache::Table* table = cache.owned_;
    if (table == nullptr) return;  // no memory for a table: stay uncached (correct, slower)
    if ((table->used + 1) * 2 > table->mask + 1) {
        SiteCache::Table* bigger = new_site_table((table->mask + 1) * 2);
        if (bigger == nullptr) return;
        std::memcpy(bigger->front, table->front, sizeof table->front);
        for (std::size_t i = 0; i <= table->mask; ++i)
            if (table->entries()[i].id != 0) put_site(*bigger, table->entries()[i].key, table->entries()[i].id);
        SiteCache::Table* expected = table;
        if (!cache.table_.compare_exchange_strong(expected, bigger, std::memory_order_acq_rel)) {
            std::free(bigger);  // invalidated: the next miss starts a new table
            return;
        }
        std::free(table);
        cache.owned_ = table = bigger;
    }
    put_site(*table, key, id);
    table->front[SiteCache::front_slot(key)] = SiteCache::Entry{key, id};
}

/// Owner thread, on a miss: if invalidate_site_caches_locked() replaced the
/// table, frees the old one, starts a new one and takes the plan in force
/// (forgetting the sites decided under the previous one).
void refresh_site_cache(ThreadContext& ctx) noexcept {
    SiteCache& cache = ctx.sites;
    SiteCache::Table* current = cache.table_.load(std::memory_order_acquire);
    if (current == cache.owned_) return;
    std::free(cache.owned_);
    cache.owned_ = new_site_table(kInitialSiteCache);
    // The read-modify-write reads the latest invalidation (acq_rel), so the
    // plan loaded below is the one installed before it, or a later one. With
    // no memory for a table the cache stays empty: correct, slower.
    if (cache.owned_ != nullptr) cache.table_.exchange(cache.owned_, std::memory_order_acq_rel);
    ThreadControls& controls = *ctx.controls;
    const SamplingPlan* plan = current_sampling_plan();
    controls.sites.clear();
    if (plan != controls.plan && plan != nullptr) seed_thread_controls(controls, plan->seed, controls.ordinal);
    controls.plan = plan;
}

/// Frees what make_thread_context() allocated for `ctx` (not its queue or ring).
void free_thread_context(ThreadContext* ctx) noexcept {
    if (ctx == nullptr) return;
    std::free(ctx->sites.owned_);
    delete ctx->controls;
    delete ctx;
}

/// Retires this thread's context: the backend drains the ring and frees it.
/// Runs at the thread's end (below), or never for a thread that ends
/// with the process. Keeps the alternate signal stack until then: a thread
/// can crash in any destructor that runs before.
void retire_thread_context() noexcept {
    ThreadContext* ctx = t_context;
    if (ctx == nullptr) return;  // none, or (in a forked child) the parent's, which stays leaked
    t_context = nullptr;
    t_context_retired = true;
    {
        // No invalidation reaches the context once it is unlisted.
        Registry& reg = Registry::instance();
        std::lock_guard lock(reg.mutex);
        ctx->queue->context = nullptr;
    }
    // release: every record this thread committed is visible before "done".
    ctx->queue->producer_done.store(true, std::memory_order_release);
    free_thread_context(ctx);
    release_alt_signal_stack();
}

// The thread's end. A pthread key destructor, not a thread_local object: glibc
// runs key destructors after every C++ thread_local destructor of the thread,
// so records those write (and the ScopedContexts they close) still find the
// thread's context. A key destructor of another library that runs after ours
// and logs creates a new context, which sets the key again: glibc then runs
// ours once more (up to PTHREAD_DESTRUCTOR_ITERATIONS rounds), so that
// context is retired too. The key's value is only a "set" flag.
void on_thread_end(void*) noexcept { retire_thread_context(); }

/// Fallback when no key can be had (the process used up PTHREAD_KEYS_MAX, or
/// pthread_setspecific had no memory): a thread_local hook, which retires the
/// context when the thread's thread_local objects are destroyed (those
/// constructed before the thread's first record are destroyed after it).
struct ThreadExitHook {
    bool armed = false;
    ~ThreadExitHook() {
        if (armed) retire_thread_context();
    }
};
thread_local ThreadExitHook t_exit_hook;

struct ThreadEndKey {
    pthread_key_t key{};
    bool valid = false;
    ThreadEndKey() noexcept { valid = pthread_key_create(&key, on_thread_end) == 0; }
};

/// Arranges for retire_thread_context() at this thread's end. Slow path only
/// (the thread's first record): the key is created on the first call in the
/// process, never deleted.
void mark_thread_end() noexcept {
    static const ThreadEndKey end_key;
    static int flag = 0;  // any non-null value: pthread only calls destructors for those
    if (end_key.valid && pthread_setspecific(end_key.key, &flag) == 0) return;
    t_exit_hook.armed = true;  // odr-use: constructs the hook, so its destructor runs at thread exit
}

void pause_cpu() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// A parked queue of an exited thread, or a new one on Registry::all_queues.
ThreadQueue* acquire_thread_queue() noexcept {
    Registry& reg = Registry::instance();
    try {
        std::lock_guard lock(reg.mutex);
        if (!reg.free_queues.empty()) {
            ThreadQueue* q = reg.free_queues.back();
            reg.free_queues.pop_back();
            return q;
        }
        auto* q = new ThreadQueue{};
        q->next_all = reg.all_queues.load(std::memory_order_relaxed);
        reg.all_queues.store(q, std::memory_order_release);
        return q;
    } catch (...) {
        return nullptr;
    }
}

}  // namespace

std::size_t active_thread_queues() noexcept {
    Registry& reg = Registry::instance();
    try {
        std::lock_guard lock(reg.mutex);
        std::size_t n = 0;
        for (ThreadQueue* q = reg.all_queues.load(std::memory_order_acquire); q != nullptr; q = q->next_all) ++n;
        return n - reg.free_queues.size();
    } catch (...) {
        return 0;
    }
}

SpscRing* recycle_thread_queue(ThreadQueue* q) noexcept {
    Registry& reg = Registry::instance();
    // The crash path stops seeing the ring before it is freed.
    q->live_ring.store(nullptr, std::memory_order_release);
    SpscRing* ring = q->ring;
    q->ring = nullptr;
    q->producer_done.store(false, std::memory_order_relaxed);
    q->dropped.store(0, std::memory_order_relaxed);
    q->dropped_reported = 0;
    try {
        std::lock_guard lock(reg.mutex);
        reg.free_queues.push_back(q);
    } catch (...) {
        // No memory for the free list: the queue stays on all_queues, unused.
    }
    return ring;
}

namespace {
/// Order of threads' first records (the seed of a fixed-seed generator).
std::atomic<std::uint64_t> g_thread_ordinal{0};

ThreadContext* make_thread_context() noexcept {
    Registry& reg = Registry::instance();
    auto* ctx = new (std::nothrow) ThreadContext{};
    if (ctx != nullptr) {
        ctx->controls = new (std::nothrow) ThreadControls{};
        ctx->sites.owned_ = new_site_table(kInitialSiteCache);
        ctx->sites.table_.store(ctx->sites.owned_, std::memory_order_relaxed);
    }
    // A spare ring (ring_pool.hpp) has its pages written already; a new one
    // costs a page fault per page on this call.
    const std::size_t capacity = reg.queue_capacity.load(std::memory_order_relaxed);
    SpscRing* ring = take_spare_ring(capacity);
    if (ring == nullptr) ring = SpscRing::create(capacity);
    if (ctx == nullptr || ring == nullptr || ctx->controls == nullptr || ctx->sites.owned_ == nullptr) {
        free_thread_context(ctx);
        SpscRing::destroy(ring);
        return nullptr;
    }
    ThreadQueue* queue = acquire_thread_queue();
    if (queue == nullptr) {
        free_thread_context(ctx);
        SpscRing::destroy(ring);
        return nullptr;
    }
    ctx->ring = ring;
    ctx->queue = queue;
    ctx->sequence = 0;
    ctx->scope = t_scope;  // a ScopedContext may be open already
    ctx->controls->ordinal = g_thread_ordinal.fetch_add(1, std::memory_order_relaxed);
    {
        // Listed and given the plan under the mutex that install_sampling_plan()
        // holds: either it sees this context and invalidates it, or this
        // context starts with the plan it installed.
        std::lock_guard lock(reg.mutex);
        queue->context = ctx;
        ctx->controls->plan = current_sampling_plan();
    }
    if (ctx->controls->plan != nullptr)
        seed_thread_controls(*ctx->controls, ctx->controls->plan->seed, ctx->controls->ordinal);
    queue->ring = ring;
    queue->os_thread_id.store(static_cast<std::uint64_t>(::syscall(SYS_gettid)), std::memory_order_relaxed);
    queue->live_ring.store(ring, std::memory_order_release);
    ensure_alt_signal_stack();
    mark_thread_end();
    t_context = ctx;
    reg.new_queues.load(std::memory_order_acquire)->enqueue(queue);
    return ctx;
}
}  // namespace

ThreadContext* create_thread_context() noexcept {
    // Before the first initialize() loggers are not off (Registry::initialized_once):
    // a record reaches here and is refused, and write_record() hands it to
    // count_lost_record(), which counts it. No ring is created for it.
    if (!Registry::instance().initialized_once.load(std::memory_order_acquire)) [[unlikely]]
        return nullptr;
    return make_thread_context();
}

std::uint32_t SiteCache::find_behind_front(const SiteKey& key) noexcept {
    Table* t = table_.load(std::memory_order_relaxed);
    const Entry* entries = t->entries();
    for (std::size_t i = hash(key) & t->mask;; i = (i + 1) & t->mask) {
        const Entry& e = entries[i];
        if (e.key.location == key.location && e.key.format == key.format && e.key.types == key.types) {
            t->front[front_slot(key)] = e;
            return e.id;
        }
        if (e.id == 0) return 0;
    }
}

void invalidate_site_caches_locked(Registry& reg) noexcept {
    for (ThreadQueue* q = reg.all_queues.load(std::memory_order_acquire); q != nullptr; q = q->next_all)
        if (q->context != nullptr)
            // release: the owner that sees it (acquire, refresh_site_cache) sees the plan stored before.
            q->context->sites.table_.store(&g_empty_site_table.header, std::memory_order_release);
}

SiteDecision register_call_site(ThreadContext& ctx, const TypeCode* types, Level level, std::source_location loc,
                                std::string_view format, std::uint32_t logger_id) noexcept {
    Registry& reg = Registry::instance();
    const SiteKey key{location_key(loc), format.data(), types};
    refresh_site_cache(ctx);
    ThreadControls& controls = *ctx.controls;
    const SamplingPlan* plan = controls.plan;
    if (plan != nullptr) {
        // A site under control misses the cache on every call: this is its path.
        if (auto it = controls.sites.find(key); it != controls.sites.end())
            return decide_record(controls, *plan, it->second, logger_id);
    }
    // A cached site whose front slot another site holds now.
    if (const std::uint32_t id = ctx.sites.find_behind_front(key); id != 0) return SiteDecision{id, 0};
    std::uint32_t id = 0;
    try {
        std::lock_guard lock(reg.mutex);
        auto it = reg.site_ids.find(key);
        if (it != reg.site_ids.end()) {
            id = it->second;
        } else {
            CallSite site{0, level, format, loc.file_name(), loc.function_name(), loc.line(), key.types, {}, {}};
            describe_template(site);
            id = reg.sites.append_locked([&site](std::uint32_t new_id) {
                site.id = new_id;
                return std::move(site);
            });
            if (id != 0) reg.site_ids.emplace(key, id);
        }
    } catch (...) {
        return SiteDecision{0, 0};
    }
    if (id == 0) return SiteDecision{0, 0};
    if (plan != nullptr && plan->controls(level) && !always_logged(*plan, format)) {
        const ControlledSite site{id, level};
        try {
            controls.sites.emplace(key, site);
        } catch (...) {
            // Not remembered: the next call registers and matches it again.
        }
        return decide_record(controls, *plan, site, logger_id);
    }
    insert_site(ctx.sites, key, id);
    return SiteDecision{id, 0};
}

void count_lost_record() noexcept {
    Registry& reg = Registry::instance();
    // A thread without a ring before the first initialize() got here because
    // create_thread_context() refused: the record is counted as such. If
    // initialize() started meanwhile, it is counted as lost instead (the
    // backend reports those as dropped): counted either way.
    if (t_context == nullptr && !reg.initialized_once.load(std::memory_order_acquire))
        reg.dropped_before_initialize.fetch_add(1, std::memory_order_relaxed);
    else
        reg.lost_records.fetch_add(1, std::memory_order_relaxed);
}

namespace {
void count_drop(ThreadContext& ctx) noexcept {
    // Only this thread writes the counter: load+store is enough, relaxed
    // because the backend only needs an eventually-seen total.
    auto& d = ctx.queue->dropped;
    d.store(d.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

std::byte* reserve_blocking(ThreadContext& ctx, std::size_t size) noexcept {
    Registry& reg = Registry::instance();
    for (unsigned spin = 0;; ++spin) {
        if (std::byte* p = ctx.ring->try_reserve(size)) return p;
        if (!reg.backend_running.load(std::memory_order_acquire)) break;  // nobody will make room
        if (spin < 64) {
            pause_cpu();
        } else if (spin < 128) {
            sched_yield();
        } else {
            timespec ts{0, spin < 1024 ? 1000 : 50000};
            nanosleep(&ts, nullptr);
        }
    }
    count_drop(ctx);
    return nullptr;
}

std::byte* grow(ThreadContext& ctx, std::size_t size) noexcept {
    Registry& reg = Registry::instance();
    std::size_t max_cap = reg.queue_max_capacity.load(std::memory_order_relaxed);
    std::size_t cap = ctx.ring->capacity() * 2;
    while (cap < size && cap <= max_cap) cap *= 2;
    if (cap > max_cap) return nullptr;
    SpscRing* bigger = SpscRing::create(cap);
    if (bigger == nullptr) return nullptr;
    // After this the producer never touches the old ring; the backend drains
    // it, then follows next() and frees it.
    ctx.ring->set_next(bigger);
    ctx.ring = bigger;
    return bigger->try_reserve(size);
}
}  // namespace

std::byte* reserve_slow(ThreadContext& ctx, std::size_t size) noexcept {
    Registry& reg = Registry::instance();
    auto policy = static_cast<QueueFullPolicy>(reg.queue_policy.load(std::memory_order_relaxed));
    if (size > ctx.ring->capacity()) {
        // Can never fit this ring: grow (under any policy) or drop.
        if (std::byte* p = grow(ctx, size)) return p;
        count_drop(ctx);
        return nullptr;
    }
    switch (policy) {
        case QueueFullPolicy::drop:
            count_drop(ctx);
            return nullptr;
        case QueueFullPolicy::grow:
            if (std::byte* p = grow(ctx, size)) return p;
            return reserve_blocking(ctx, size);
        case QueueFullPolicy::block:
            break;
    }
    return reserve_blocking(ctx, size);
}

}  // namespace agora::log::detail

namespace agora::log {

namespace {
detail::LoggerState* null_logger_state() noexcept {
    static auto* s = new detail::LoggerState{{kLevelOff}, {kLevelOff}, 0, std::string()};
    return s;
}
}  // namespace

Logger::Logger() noexcept : state_(null_logger_state()) {}

void preallocate() noexcept {
    // Also before initialize(): this thread's records are then kept in its
    // ring and written once a backend runs.
    if (detail::t_context == nullptr) (void)detail::make_thread_context();
}

}  // namespace agora::log
