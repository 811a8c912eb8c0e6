#pragma once

#include <agora/log/handlers/file_system.hpp>

#include <cerrno>
#include <cstddef>

namespace agora::log::detail {

/// Writes all of [data, data + size), retrying EINTR and short writes.
/// Returns the bytes written; less than `size` means errno says why.
inline std::size_t write_all(FileSystem& fs, int fd, const char* data, std::size_t size) noexcept {
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = fs.write(fd, data + done, size - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            if (n == 0) errno = EIO;  // no progress and no error: do not spin
            break;
        }
    }
    return done;
}

/// Reports a problem of the logger itself on stderr (one write, no allocation).
void report_to_stderr(const char* message, std::size_t size) noexcept;

}  // namespace agora::log::detail
