#pragma once
// The one write loop: every writer (the sinks through their FileSystem seam,
// the crash dump through write(2), stderr reports) retries EINTR and short
// writes the same way.

#include <sys/types.h>

#include <cerrno>
#include <cstddef>

namespace agora::log::detail {

/// Writes all of [data, data + size) through `write(const char*, size_t)`,
/// which returns what write(2) returns and sets errno as it does. Retries
/// EINTR and short writes; a write that makes no progress and reports no
/// error counts as EIO (no spinning). Returns the bytes written: less than
/// `size` means errno says why. Async-signal-safe when `write` is.
template <class Write>
std::size_t write_all(Write&& write, const char* data, std::size_t size) noexcept {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = write(data + done, size - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            if (n == 0) errno = EIO;
            break;
        }
    }
    return done;
}

/// write_all() to a file descriptor with write(2).
std::size_t write_all_fd(int fd, const char* data, std::size_t size) noexcept;

/// Reports a problem of the logger itself on stderr (one write loop, no
/// allocation). Async-signal-safe.
void report_to_stderr(const char* message, std::size_t size) noexcept;

}  // namespace agora::log::detail
