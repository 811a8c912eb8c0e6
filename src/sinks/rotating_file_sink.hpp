#pragma once
// The size-rotated file behind RotatingFileHandler and the configured file
// (see RotatingFileHandler in <agora/log/handlers/rotating_file.hpp> for the
// rotation algorithm and the failure handling). Besides what the handler
// offers, it takes the FileSystem seam, a console fallback, hands the backend
// the entries it must write about failures (take_notices()), and has the
// chunk protocol of the binary log sink: writers of a format whose files must
// each start with a header call prepare_write() and append() instead of
// write_line(), and start a file whenever generation() changes.
//
// Invariants:
// - size_ == file_size_ + buffer_.size(), and size_ <= max_size_bytes unless
//   the file holds a single unit larger than the limit (a unit is a line, or
//   a chunk given to append()): no failure makes a file grow past the limit.
// - buffer_ holds whole units only, all for the current file.
// - failing_: the file cannot be written (open, write or rotation failed).
//   Meanwhile new units are not taken: they are counted lost and emit() hands
//   the record to the fallback. Recovery (open, write what is buffered, finish
//   the rotation) is tried every retry_interval, by the next unit or flush().
// Backend thread only (like every handler).

#include "sinks/file_system.hpp"

#include <agora/log/handlers/rotating_file.hpp>
#include <agora/log/level.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace agora::log::detail {

class RotatingFileSink final : public Handler {
public:
    using Options = RotatingFileHandler::Options;

    /// An entry the backend writes for the sink (it cannot render entries).
    struct Notice {
        Level level;
        std::string message;
    };

    explicit RotatingFileSink(Options options, FileSystem& fs = FileSystem::real());
    ~RotatingFileSink() override;
    RotatingFileSink(const RotatingFileSink&) = delete;
    RotatingFileSink& operator=(const RotatingFileSink&) = delete;

    void emit(const LogRecordView& record) noexcept override;
    void flush() noexcept override;
    void close() noexcept override;

    /// Where emit() sends the records the file cannot take (null: nowhere).
    /// Set it only when the fallback is not also one of the backend's handlers.
    void set_fallback(std::shared_ptr<Handler> fallback) noexcept { fallback_ = std::move(fallback); }

    /// Adds one line (a newline is appended). What emit() does with record.json.
    /// False: the line is lost (counted in lost_lines()).
    bool write_line(std::string_view line) noexcept;

    /// Rotates now if `n` more bytes would take the file over max_size_bytes
    /// (the check write_line() makes before adding a line), and tries to
    /// recover a failing file when its retry is due. After it, generation()
    /// says whether the bytes go to a new file.
    void prepare_write(std::uint64_t n) noexcept;
    /// Adds `bytes` as they are (no newline, no rotation: call prepare_write()
    /// first). All or nothing: returns false if they were lost (counted like
    /// a lost line).
    bool append(std::string_view bytes) noexcept;
    /// Rotates now if the file is not empty (a writer that cannot continue
    /// another writer's file). Same rules and failure handling as a rotation
    /// by size.
    void rotate_if_not_empty() noexcept;
    /// Changes whenever the bytes added from then on start a new file: after
    /// a rotation, and when the file was reopened (it had been removed, or
    /// could not be opened before). A failed rotation leaves it unchanged.
    std::uint64_t generation() const noexcept { return generation_; }

    /// The entries to write since the last call ("File logging failed: ...",
    /// "File logging restored ...", a removed file reopened), oldest first.
    /// Backend thread.
    std::vector<Notice> take_notices() noexcept;

    bool is_open() const noexcept { return fd_ >= 0; }
    /// True while the file cannot be written (see the class comment).
    bool failing() const noexcept { return failing_; }
    std::uint64_t current_size() const noexcept { return size_; }
    const std::string& path() const noexcept { return opt_.path; }
    const std::string& last_error() const noexcept { return last_error_; }
    std::uint64_t error_count() const noexcept { return error_count_; }
    /// Lines (units) this file lost: not taken while failing, unwritable at
    /// close, or written to the file after it was removed.
    std::uint64_t lost_lines() const noexcept { return lost_total_; }
    std::uint64_t dropped_lines() const noexcept { return lost_total_; }
    std::uint64_t rotations() const noexcept { return rotations_; }
    std::uint64_t bytes_written() const noexcept { return bytes_written_; }

private:
    bool open_file() noexcept;
    /// Rotates (writing what is buffered first). False if it could not: the
    /// sink is then failing, with the rotation pending.
    bool rotate() noexcept;
    bool write_buffer() noexcept;
    /// Enters the failing state (reporting once per failure) and sets the
    /// next retry.
    void fail(std::string reason) noexcept;
    /// When failing and the retry is due: open, write the buffer, finish the
    /// rotation. True when the file works (again).
    bool recover() noexcept;
    /// Whether `n` more bytes can go to the file now (recovering or rotating first).
    bool ready_for(std::uint64_t n) noexcept;
    /// Buffers `bytes` (and a newline) all or nothing.
    bool add(std::string_view bytes, bool newline) noexcept;
    bool lose(std::uint64_t units = 1) noexcept;
    /// Reopens the file if it was removed (fstat st_nlink == 0), when a check is due.
    void check_removed() noexcept;
    void report(std::string message) noexcept;
    void notice(Level level, std::string message) noexcept;
    /// unlink(victim) without waiting for the file system to free its blocks
    /// (about 1 ms per 16 MiB on ext4): with files of kRemoveAsideFromBytes
    /// or more, renames it to `<path>.removing` and unlinks that on
    /// remover_. unlink()'s contract: 0, or -1 with errno (ENOENT: there was
    /// no victim). Without a thread, unlinks here.
    int remove_aside(const std::string& victim) noexcept;
    static constexpr std::uint64_t kRemoveAsideFromBytes = 1u << 20;
    /// Waits for remover_ (long done, unless rotations come faster than the
    /// file system frees files) and reports its failure.
    void join_remover() noexcept;

    Options opt_;
    FileSystem& fs_;
    /// At most one; started and joined by the thread that drives the sink. It
    /// only calls fs_.unlink() and stores remover_errno_ (read after the join).
    std::thread remover_;
    int remover_errno_ = 0;
    std::shared_ptr<Handler> fallback_;
    int fd_ = -1;
    std::uint64_t file_size_ = 0;  // bytes in the open file
    std::uint64_t size_ = 0;       // file_size_ + buffer_.size()
    std::string buffer_;
    std::uint64_t buffer_units_ = 0;
    bool lines_only_ = true;        // every unit so far ended in a newline (write_line())
    bool failing_ = false;
    bool rotation_pending_ = false;  // a rotation started and did not finish
    bool torn_ = false;              // the file ends in part of a unit (its cut failed)
    std::uint64_t torn_cut_ = 0;     // where that unit started
    std::uint64_t lost_since_failure_ = 0;
    std::uint64_t lost_total_ = 0;
    std::uint64_t units_since_check_ = 0;  // written since the last removal check passed
    std::uint64_t error_count_ = 0;
    std::uint64_t rotations_ = 0;
    std::uint64_t generation_ = 0;
    std::uint32_t free_slot_ = 0;  // backup slot a stopped rotation left empty; 0 = none
    std::uint64_t bytes_written_ = 0;
    std::uint64_t opens_ = 0;
    std::string last_error_;
    std::vector<Notice> notices_;
    std::chrono::steady_clock::time_point retry_after_{};
    std::chrono::steady_clock::time_point next_check_{};
};

}  // namespace agora::log::detail
