#include "sinks/file_system.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace agora::log::detail {

int FileSystem::open(const char* path, int flags, mode_t mode) noexcept { return ::open(path, flags, mode); }
ssize_t FileSystem::write(int fd, const void* data, std::size_t size) noexcept { return ::write(fd, data, size); }
int FileSystem::close(int fd) noexcept { return ::close(fd); }
int FileSystem::rename(const char* from, const char* to) noexcept { return std::rename(from, to); }
int FileSystem::unlink(const char* path) noexcept { return ::unlink(path); }
int FileSystem::mkdir(const char* path, mode_t mode) noexcept { return ::mkdir(path, mode); }
off_t FileSystem::file_size(int fd) noexcept {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

int FileSystem::fstat(int fd, struct stat* st) noexcept { return ::fstat(fd, st); }
int FileSystem::ftruncate(int fd, off_t length) noexcept { return ::ftruncate(fd, length); }
int FileSystem::fdatasync(int fd) noexcept { return ::fdatasync(fd); }

std::chrono::steady_clock::time_point FileSystem::now() noexcept { return std::chrono::steady_clock::now(); }

FileSystem& FileSystem::real() noexcept {
    static FileSystem fs;
    return fs;
}

}  // namespace agora::log::detail
