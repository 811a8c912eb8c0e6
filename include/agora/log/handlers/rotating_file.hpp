#pragma once

#include <agora/log/detail/export.hpp>
#include <agora/log/handlers/file_system.hpp>
#include <agora/log/handlers/handler.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

AGORA_LOG_API_BEGIN

namespace agora::log {

/// Size-rotated file (seed "File Rotation Algorithm"): before each line (or
/// chunk of bytes) is added, if the file would grow past max_size_bytes,
/// path.N is deleted, path.i renamed to path.i+1, path renamed to path.1 and
/// a new path opened.
///
/// - Continues the size of an existing file; never truncates one.
/// - Creates missing parent directories (0750) and the file (0640, O_CLOEXEC).
/// - If a rename fails, the rotation stops where it is (no later rename can
///   overwrite a file), the current file keeps growing, the error is reported
///   on stderr, and the rotation is retried after retry_interval, resuming
///   where it stopped (no second backup is deleted).
/// - If a write fails (full disk), the lines stay buffered and are retried on
///   each flush; beyond max_pending_bytes, new lines are counted as dropped and
///   the count is reported when writing works again.
/// - A line (or chunk) is never split between two files.
/// Writers of a format whose files must each start with a header (the binary
/// log sink) call prepare_write() and append() instead of write_line(), and
/// start a file whenever generation() changes.
/// Backend thread only (like every handler).
class RotatingFileHandler final : public Handler {
public:
    struct Options {
        std::string path;
        std::uint64_t max_size_bytes = 100ull << 20;
        std::uint32_t max_backups = 5;
        std::size_t buffer_bytes = 64u << 10;           ///< write() when this much is buffered
        std::size_t max_pending_bytes = 16u << 20;      ///< kept while writes fail
        std::chrono::milliseconds retry_interval{1000}; ///< between failed rotations / opens
    };

    explicit RotatingFileHandler(Options options, FileSystem& fs = FileSystem::real());
    ~RotatingFileHandler() override;

    void emit(const LogRecordView& record) noexcept override;
    void flush() noexcept override;
    void close() noexcept override;

    /// Adds one line (a newline is appended). What emit() does with record.json.
    void write_line(std::string_view line) noexcept;

    /// Rotates now if `n` more bytes would take the file over max_size_bytes
    /// (the check write_line() makes before adding a line). After it,
    /// generation() says whether the bytes go to a new file.
    void prepare_write(std::uint64_t n) noexcept;
    /// Adds `bytes` as they are (no newline, no rotation check: call
    /// prepare_write() first). All or nothing: returns false if they were
    /// dropped (counted like a dropped line).
    bool append(std::string_view bytes) noexcept;
    /// Rotates now if the file is not empty (a writer that cannot continue
    /// another writer's file). Same rules and failure handling as a rotation
    /// by size.
    void rotate_if_not_empty() noexcept;
    /// The number of rotations that succeeded, so far: when it changes, the
    /// bytes added from then on start a new file (the old one was renamed or
    /// removed, even if opening the new one has not succeeded yet). A failed
    /// rotation leaves it unchanged: writing continues the same file.
    std::uint64_t generation() const noexcept { return rotations_; }

    bool is_open() const noexcept { return fd_ >= 0; }
    /// Size of the current file including buffered bytes.
    std::uint64_t current_size() const noexcept { return size_; }
    /// The last error reported (empty if none), and how many there were.
    const std::string& last_error() const noexcept { return last_error_; }
    std::uint64_t error_count() const noexcept { return error_count_; }
    std::uint64_t dropped_lines() const noexcept { return dropped_lines_total_; }
    std::uint64_t rotations() const noexcept { return rotations_; }
    std::uint64_t bytes_written() const noexcept { return bytes_written_; }

private:
    bool open_file() noexcept;
    void rotate() noexcept;
    bool write_buffer() noexcept;
    void report(std::string message) noexcept;
    /// The size check of the rotation algorithm for `n` more bytes.
    void rotate_before(std::uint64_t n) noexcept;
    /// Buffers `bytes` (and a newline) all or nothing, counting a drop if it cannot.
    bool add(std::string_view bytes, bool newline) noexcept;

    Options opt_;
    FileSystem& fs_;
    int fd_ = -1;
    std::uint64_t size_ = 0;  // bytes in the file + bytes in buffer_
    std::string buffer_;
    bool write_failing_ = false;
    std::uint64_t dropped_lines_ = 0;        // since the last report
    std::uint64_t dropped_lines_total_ = 0;
    std::uint64_t error_count_ = 0;
    std::uint64_t rotations_ = 0;
    std::uint32_t free_slot_ = 0;  // backup slot a stopped rotation left empty; 0 = none
    std::uint64_t bytes_written_ = 0;
    std::string last_error_;
    std::chrono::steady_clock::time_point retry_after_{};
};

}  // namespace agora::log

AGORA_LOG_API_END
