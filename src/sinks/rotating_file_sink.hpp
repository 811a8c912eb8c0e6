#pragma once
// The size-rotated file behind RotatingFileHandler and the configured file
// (see RotatingFileHandler in <agora/log/handlers/rotating_file.hpp> for the
// rotation algorithm and the failure handling). Besides what the handler
// offers, it takes the FileSystem seam and has the chunk protocol of the
// binary log sink: writers of a format whose files must each start with a
// header call prepare_write() and append() instead of write_line(), and start
// a file whenever generation() changes.
// Backend thread only (like every handler).

#include "sinks/file_system.hpp"

#include <agora/log/handlers/rotating_file.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace agora::log::detail {

class RotatingFileSink final : public Handler {
public:
    using Options = RotatingFileHandler::Options;

    explicit RotatingFileSink(Options options, FileSystem& fs = FileSystem::real());
    ~RotatingFileSink() override;
    RotatingFileSink(const RotatingFileSink&) = delete;
    RotatingFileSink& operator=(const RotatingFileSink&) = delete;

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
    std::uint64_t current_size() const noexcept { return size_; }
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

}  // namespace agora::log::detail
