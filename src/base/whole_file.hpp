#pragma once
// One reader of whole files for Config::from_file() and agora-log-decode:
// bounded (a byte cap), optionally refusing anything but a regular file, and
// able to stop after the first bytes when they are not what the caller reads.
// It never throws: every failure, out of memory included, is a ReadProblem.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log::detail {

struct WholeFileLimits {
    /// Open with O_NONBLOCK (so a FIFO without a writer does not block the
    /// open) and refuse, by fstat() on the open descriptor, anything that is
    /// not a regular file. Without it a FIFO or a terminal is read until its
    /// end, blocking as read(2) does.
    bool regular_file_only = false;
    /// More bytes than this is a too_large problem. A regular file larger than
    /// this is refused before anything is read; any other input is read until
    /// it passes the cap, and then no further.
    std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();
    /// When not empty: once this many bytes are in (or the input ended before),
    /// an input that does not start with them is read no further. The bytes
    /// read so far are kept and WholeFile::prefix_mismatch is set; it is not a
    /// problem here (the caller says what the input is not).
    std::string_view required_prefix;
};

struct ReadProblem {
    enum class Kind {
        none,
        cannot_open,    ///< open(2) or fstat(2) failed: error_number
        cannot_read,    ///< read(2) failed: error_number
        not_regular,    ///< regular_file_only and the file is not one: mode
        too_large,      ///< above max_bytes: size (see size_known)
        out_of_memory,  ///< the buffer could not grow
    };
    Kind kind = Kind::none;
    int error_number = 0;
    mode_t mode = 0;
    /// too_large: the file's size when size_known (a regular file, refused
    /// before reading), else the bytes read when the cap was passed.
    std::uint64_t size = 0;
    bool size_known = false;
};

struct WholeFile {
    std::vector<std::byte> bytes;  // what was read, also when a problem stopped it
    bool prefix_mismatch = false;  // see WholeFileLimits::required_prefix
    ReadProblem problem;

    bool ok() const noexcept { return problem.kind == ReadProblem::Kind::none; }
};

/// Reads the file at `path` (opened O_RDONLY | O_CLOEXEC, plus O_NONBLOCK with
/// regular_file_only) to its end or to a limit. read(2) is retried on EINTR.
WholeFile read_whole_file(const char* path, const WholeFileLimits& limits) noexcept;

/// The same on an open descriptor (standard input), which stays open and
/// keeps its flags; regular_file_only is checked but the descriptor is read
/// as it is. Nothing must have been read from it through a stdio buffer.
WholeFile read_whole_fd(int fd, const WholeFileLimits& limits) noexcept;

/// "a directory", "a character device", "a FIFO", ... for "is a FIFO, not a
/// regular file".
std::string_view file_type_name(mode_t mode) noexcept;

/// The problem in words, without the path: strerror() text, "is a FIFO, not
/// a regular file", "is 5242880 bytes, above the cap of 1048576 bytes",
/// "out of memory". Allocates (it may throw std::bad_alloc).
std::string problem_text(const ReadProblem& problem, const WholeFileLimits& limits);

}  // namespace agora::log::detail
