#include "frontend/alt_signal_stack.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstddef>

namespace agora::log::detail {

namespace {

constexpr std::size_t kAltStackBytes = 64u << 10;
constexpr std::size_t kMaxSpares = 64;
thread_local void* t_alt_stack = nullptr;  // our mapping (guard page + stack), if we made one

std::array<std::atomic<void*>, kMaxSpares> g_spares{};
std::atomic<std::size_t> g_target{0};

std::size_t page_size() noexcept {
    static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return page;
}

std::size_t stack_size() noexcept {
    std::size_t size = kAltStackBytes;
    if (static_cast<std::size_t>(SIGSTKSZ) > size) size = static_cast<std::size_t>(SIGSTKSZ);
    return size;
}

/// A new mapping: guard page, then the stack. nullptr on failure.
void* map_stack() noexcept {
    const std::size_t page = page_size();
    void* mem = mmap(nullptr, stack_size() + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return nullptr;
    // Guard: overflowing the alternate stack faults instead of corrupting.
    if (mprotect(mem, page, PROT_NONE) != 0) {
        munmap(mem, stack_size() + page);
        return nullptr;
    }
    return mem;
}

void unmap_stack(void* mem) noexcept { munmap(mem, stack_size() + page_size()); }

void* take_spare() noexcept {
    const std::size_t target = g_target.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < target && i < kMaxSpares; ++i)
        if (g_spares[i].load(std::memory_order_relaxed) != nullptr)
            if (void* mem = g_spares[i].exchange(nullptr, std::memory_order_acquire)) return mem;
    return nullptr;
}

/// Puts `mem` in an empty slot below the target; false if there is none.
bool put_spare(void* mem) noexcept {
    const std::size_t target = g_target.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < target && i < kMaxSpares; ++i) {
        void* expected = nullptr;
        if (g_spares[i].load(std::memory_order_relaxed) == nullptr &&
            g_spares[i].compare_exchange_strong(expected, mem, std::memory_order_release, std::memory_order_relaxed))
            return true;
    }
    return false;
}

}  // namespace

void ensure_alt_signal_stack() noexcept {
    if (t_alt_stack != nullptr) return;
    void* mem = take_spare();
    if (mem == nullptr && (mem = map_stack()) == nullptr) return;
    stack_t ss{};
    ss.ss_sp = static_cast<char*>(mem) + page_size();
    ss.ss_size = stack_size();
    // One call installs ours and says what was there: the application's own
    // stack is put back (a second call, only then).
    stack_t previous{};
    if (sigaltstack(&ss, &previous) != 0) {
        if (!put_spare(mem)) unmap_stack(mem);
        return;
    }
    if (!(previous.ss_flags & SS_DISABLE)) {
        previous.ss_flags &= ~SS_ONSTACK;
        sigaltstack(&previous, nullptr);
        if (!put_spare(mem)) unmap_stack(mem);
        return;
    }
    t_alt_stack = mem;
}

void release_alt_signal_stack() noexcept {
    if (t_alt_stack == nullptr) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    if (!put_spare(t_alt_stack)) unmap_stack(t_alt_stack);
    t_alt_stack = nullptr;
}

void configure_alt_signal_stacks(std::size_t count) noexcept {
    if (count > kMaxSpares) count = kMaxSpares;
    g_target.store(count, std::memory_order_relaxed);
    for (std::size_t i = count; i < kMaxSpares; ++i)
        if (void* mem = g_spares[i].exchange(nullptr, std::memory_order_acquire)) unmap_stack(mem);
    while (spare_alt_signal_stacks() < count) {
        void* mem = map_stack();
        if (mem == nullptr) return;
        if (!put_spare(mem)) {
            unmap_stack(mem);
            return;
        }
    }
}

bool refill_alt_signal_stacks() noexcept {
    const std::size_t target = g_target.load(std::memory_order_relaxed);
    if (target == 0 || spare_alt_signal_stacks() >= target) return false;
    void* mem = map_stack();
    if (mem == nullptr) return false;
    if (put_spare(mem)) return true;
    unmap_stack(mem);
    return false;
}

std::size_t spare_alt_signal_stacks() noexcept {
    // Slots below the target only: the only ones filled (configure empties
    // the others). The backend calls this every pass: a few loads.
    std::size_t n = 0;
    const std::size_t target = g_target.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < target && i < kMaxSpares; ++i)
        if (g_spares[i].load(std::memory_order_relaxed) != nullptr) ++n;
    return n;
}

}  // namespace agora::log::detail
