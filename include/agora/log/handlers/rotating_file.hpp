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

class RotatingFileHandler;
namespace detail {
class RotatingFileSink;
/// The sink inside `h` (the backend reports its failures as entries).
RotatingFileSink* sink_of(RotatingFileHandler& h) noexcept;
}  // namespace detail

/// Size-rotated file (seed "File Rotation Algorithm"): before each line is
/// added, if the file would grow past max_size_bytes, path.N is deleted,
/// path.i renamed to path.i+1, path renamed to path.1 and a new path opened.
///
/// - Continues the size of an existing file; never truncates one it did not
///   write.
/// - Creates missing parent directories (0750) and the file (Options::file_mode,
///   0640 by default; O_CLOEXEC).
/// - A file never grows past max_size_bytes, whatever fails (only a single
///   line larger than the limit goes, alone, into a file of its own). A line is
///   never split between two files.
///
/// Failures (docs/operations.md, "File failures"). The file "fails" when it
/// cannot be opened (or its directory created), a write fails (ENOSPC, EIO,
/// ...), or a rotation cannot finish (a rename or unlink fails; a file that is
/// full and cannot be rotated takes no more lines). Then:
/// - the failure is reported once on stderr (last_error(), error_count());
///   with the configured file, the backend also writes one ERROR entry
///   "File logging failed: <reason>", and the lines the file does not take go
///   to the console (the console handler, or a console fallback when the
///   console is disabled);
/// - the lines buffered when it failed are kept and written first when it
///   works again; new lines are not kept: each is counted in dropped_lines()
///   and in Stats::records_lost_by_handlers;
/// - a partial write never leaves a torn line: the file is cut back
///   (ftruncate) to the end of its last whole line and the rest retried; if
///   the cut fails, the write resumes exactly where it stopped;
/// - recovery (reopen, write what is kept, finish the rotation, resuming
///   where it stopped without deleting a second backup) is tried every
///   retry_interval, by the next line or flush(); when it works, "writing ...
///   works again" is reported (and the entry "File logging restored; N
///   records were not written ... meanwhile");
/// - every check_interval, flush() checks whether the open file was removed
///   (fstat st_nlink == 0, e.g. its directory was deleted): it is reopened
///   (directories recreated) and the lines written since the previous check
///   are counted as lost;
/// - lines still kept when the file is closed are written one last time; if
///   that fails they are counted as lost and reported on stderr.
/// Backend thread only (like every handler).
class RotatingFileHandler final : public Handler {
public:
    struct Options {
        std::string path;
        std::uint64_t max_size_bytes = 100ull << 20;
        std::uint32_t max_backups = 5;
        std::size_t buffer_bytes = 64u << 10;           ///< write() when this much is buffered
        std::size_t max_pending_bytes = 16u << 20;      ///< most bytes buffered at any time
        /// Between recovery attempts while the file fails (open, write, rotation).
        std::chrono::milliseconds retry_interval{5000};
        /// Between checks that the open file was not removed (on flush()).
        std::chrono::milliseconds check_interval{1000};
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
    /// Lines the file lost (not taken while failing, unwritable at close,
    /// written to it after it was removed).
    std::uint64_t dropped_lines() const noexcept;
    std::uint64_t rotations() const noexcept;
    std::uint64_t bytes_written() const noexcept;

private:
    friend detail::RotatingFileSink* detail::sink_of(RotatingFileHandler& h) noexcept;
    std::unique_ptr<detail::RotatingFileSink> sink_;
};

}  // namespace agora::log

AGORA_LOG_API_END
