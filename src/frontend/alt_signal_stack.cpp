#include "frontend/alt_signal_stack.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>

namespace agora::log::detail {

namespace {

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

}  // namespace agora::log::detail
