#pragma once
// The system calls the sinks make, behind one seam so tests can make them
// fail (EINTR, ENOSPC, short writes, failed renames). Each function returns
// what the system call returns and leaves its error in errno; now() is the
// clock the sinks time their retries and checks with, so tests can move it
// instead of sleeping. Not public: the
// handlers and the configured sinks use real(); tests construct the sinks
// (rotating_file_sink.hpp, console_sink.hpp) with a FileSystem that fails.

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>

namespace agora::log::detail {

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
    virtual int fstat(int fd, struct stat* st) noexcept;
    virtual int ftruncate(int fd, off_t length) noexcept;
    virtual int fdatasync(int fd) noexcept;
    virtual std::chrono::steady_clock::time_point now() noexcept;

    /// The process's real file system (a stateless singleton).
    static FileSystem& real() noexcept;
};

}  // namespace agora::log::detail
