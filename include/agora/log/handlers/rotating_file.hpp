#pragma once

#include <agora/log/detail/export.hpp>
#include <agora/log/handlers/handler.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

AGORA_LOG_API_BEGIN

namespace agora::log {

namespace detail {
class RotatingFileSink;
}

/// Size-rotated file (seed "File Rotation Algorithm"): before each line is
/// added, if the file would grow past max_size_bytes, path.N is deleted,
/// path.i renamed to path.i+1, path renamed to path.1 and a new path opened.
///
/// - Continues the size of an existing file; never truncates one.
/// - Creates missing parent directories (0750) and the file (Options::file_mode,
///   0640 by default; O_CLOEXEC).
/// - If a rename fails, the rotation stops where it is (no later rename can
///   overwrite a file), the current file keeps growing, the error is reported
///   on stderr, and the rotation is retried after retry_interval, resuming
///   where it stopped (no second backup is deleted).
/// - If a write fails (full disk), the lines stay buffered and are retried on
///   each flush; beyond max_pending_bytes, new lines are counted as dropped and
///   the count is reported when writing works again.
/// - A line is never split between two files.
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
        /// Permission bits a new file is created with (before the umask). A
        /// binary log file is created 0600: its records hold the arguments
        /// unredacted (docs/redaction.md).
        std::uint32_t file_mode = 0640;
    };

    explicit RotatingFileHandler(Options options);
    ~RotatingFileHandler() override;
    RotatingFileHandler(RotatingFileHandler&&) noexcept;
    RotatingFileHandler& operator=(RotatingFileHandler&&) noexcept;

    void emit(const LogRecordView& record) noexcept override;
    void flush() noexcept override;
    void close() noexcept override;

    /// Adds one line (a newline is appended). What emit() does with record.json.
    void write_line(std::string_view line) noexcept;

    bool is_open() const noexcept;
    /// Size of the current file including buffered bytes.
    std::uint64_t current_size() const noexcept;
    /// The last error reported (empty if none), and how many there were.
    const std::string& last_error() const noexcept;
    std::uint64_t error_count() const noexcept;
    std::uint64_t dropped_lines() const noexcept;
    std::uint64_t rotations() const noexcept;
    std::uint64_t bytes_written() const noexcept;

private:
    std::unique_ptr<detail::RotatingFileSink> sink_;
};

}  // namespace agora::log

AGORA_LOG_API_END
