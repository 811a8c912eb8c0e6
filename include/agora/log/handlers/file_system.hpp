#pragma once
// The system calls the handlers make, behind one seam so tests can make them
// fail (EINTR, ENOSPC, short writes, failed renames). Each function returns
// what the system call returns and leaves its error in errno.

#include <agora/log/detail/export.hpp>
#include <sys/types.h>

#include <cstddef>

AGORA_LOG_API_BEGIN

namespace agora::log {

class FileSystem {
public:
    virtual ~FileSystem() = default;
    virtual int open(const char* path, int flags, mode_t mode) noexcept;
    virtual ssize_t write(int fd, const void* data, std::size_t size) noexcept;
    virtual int close(int fd) noexcept;
    virtual int rename(const char* from, const char* to) noexcept;
    virtual int unlink(const char* path) noexcept;
    virtual int mkdir(const char* path, mode_t mode) noexcept;
    /// Size of the open file `fd` in bytes, or -1.
    virtual off_t file_size(int fd) noexcept;

    /// The process's real file system (a stateless singleton).
    static FileSystem& real() noexcept;
};

}  // namespace agora::log

AGORA_LOG_API_END
