#include "base/write_all.hpp"

#include <unistd.h>

namespace agora::log::detail {

std::size_t write_all_fd(int fd, const char* data, std::size_t size) noexcept {
    return write_all([fd](const char* p, std::size_t n) { return ::write(fd, p, n); }, data, size);
}

void report_to_stderr(const char* message, std::size_t size) noexcept {
    (void)write_all_fd(STDERR_FILENO, message, size);
}

}  // namespace agora::log::detail
