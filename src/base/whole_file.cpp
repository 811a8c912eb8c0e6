#include "base/whole_file.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace agora::log::detail {

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 16;

/// Reads `fd` into `out` per `limits`. Only growing out.bytes throws: std::bad_alloc
/// (and std::length_error past max_size(), which a cap below it rules out).
void read_fd(int fd, const WholeFileLimits& limits, WholeFile& out) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        out.problem = {ReadProblem::Kind::cannot_open, errno};
        return;
    }
    const bool regular = S_ISREG(st.st_mode);
    if (limits.regular_file_only && !regular) {
        out.problem.kind = ReadProblem::Kind::not_regular;
        out.problem.mode = st.st_mode;
        return;
    }
    // A regular file's size now, to read it into one buffer; it may still
    // grow (the cap still holds) or shrink.
    const std::uint64_t size = regular && st.st_size > 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    if (size > limits.max_bytes) {
        out.problem.kind = ReadProblem::Kind::too_large;
        out.problem.size = size;
        out.problem.size_known = true;
        return;
    }

    const std::size_t prefix = limits.required_prefix.size();
    std::vector<std::byte>& bytes = out.bytes;
    // Past the prefix, if any: only a file that starts right gets its buffer.
    if (prefix == 0) bytes.reserve(static_cast<std::size_t>(size));
    // Read into a buffer of its own, so that `bytes` grows only by what
    // arrives: a regular file's fits the capacity reserved for it exactly.
    std::byte buffer[kChunk];
    for (;;) {
        const std::uint64_t have = bytes.size();
        // Up to the prefix first, so that a wrong one stops after it; never
        // more than one byte past the cap, which is enough to know it was passed.
        std::uint64_t want = have < prefix ? prefix - have : kChunk;
        const std::uint64_t room = limits.max_bytes - std::min(have, limits.max_bytes);
        if (room < want) want = room + 1;
        const ssize_t n = ::read(fd, buffer, static_cast<std::size_t>(want));
        if (n < 0) {
            if (errno == EINTR) continue;
            out.problem = {ReadProblem::Kind::cannot_read, errno};
            return;
        }
        bytes.insert(bytes.end(), buffer, buffer + n);
        const bool ended = n == 0;
        if (prefix > 0 && have < prefix && (bytes.size() >= prefix || ended)) {
            if (bytes.size() < prefix || std::memcmp(bytes.data(), limits.required_prefix.data(), prefix) != 0) {
                out.prefix_mismatch = true;
                return;
            }
            bytes.reserve(static_cast<std::size_t>(size));
        }
        if (bytes.size() > limits.max_bytes) {
            out.problem.kind = ReadProblem::Kind::too_large;
            out.problem.size = bytes.size();
            return;
        }
        if (ended) return;
    }
}

WholeFile guarded(int fd, const WholeFileLimits& limits) noexcept {
    WholeFile out;
    try {
        read_fd(fd, limits, out);
    } catch (...) {  // std::bad_alloc from the buffer (see read_fd)
        out.bytes = {};
        out.problem = {ReadProblem::Kind::out_of_memory};
    }
    return out;
}

}  // namespace

WholeFile read_whole_file(const char* path, const WholeFileLimits& limits) noexcept {
    const int flags = O_RDONLY | O_CLOEXEC | (limits.regular_file_only ? O_NONBLOCK : 0);
    int fd;
    do {
        fd = ::open(path, flags);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        WholeFile out;
        out.problem = {ReadProblem::Kind::cannot_open, errno};
        return out;
    }
    WholeFile out = guarded(fd, limits);
    ::close(fd);
    return out;
}

WholeFile read_whole_fd(int fd, const WholeFileLimits& limits) noexcept { return guarded(fd, limits); }

std::string_view file_type_name(mode_t mode) noexcept {
    switch (mode & S_IFMT) {
        case S_IFREG: return "a regular file";
        case S_IFDIR: return "a directory";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        case S_IFIFO: return "a FIFO";
        case S_IFSOCK: return "a socket";
        case S_IFLNK: return "a symbolic link";
        default: return "of an unknown file type";
    }
}

std::string problem_text(const ReadProblem& problem, const WholeFileLimits& limits) {
    using Kind = ReadProblem::Kind;
    const std::string cap = limits.max_bytes % (1024 * 1024) == 0
                                ? fmt::format("{} bytes ({} MiB)", limits.max_bytes, limits.max_bytes / (1024 * 1024))
                                : fmt::format("{} bytes", limits.max_bytes);
    switch (problem.kind) {
        case Kind::none: return "no problem";
        case Kind::cannot_open:
        case Kind::cannot_read: return std::strerror(problem.error_number);
        case Kind::not_regular: return fmt::format("is {}, not a regular file", file_type_name(problem.mode));
        case Kind::too_large:
            if (problem.size_known) return fmt::format("is {} bytes, above the cap of {}", problem.size, cap);
            return fmt::format("is larger than the cap of {}", cap);
        case Kind::out_of_memory: return "out of memory";
    }
    return "unknown problem";
}

}  // namespace agora::log::detail
