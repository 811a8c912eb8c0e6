#include "sinks/rotating_file_sink.hpp"

#include "base/write_all.hpp"
#include "sinks/handler_losses.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace agora::log::detail {

namespace {
constexpr mode_t kDirMode = 0750;

std::string backup_name(const std::string& path, std::uint32_t i) { return path + "." + std::to_string(i); }
}  // namespace

RotatingFileSink::RotatingFileSink(Options options, FileSystem& fs) : opt_(std::move(options)), fs_(fs) {
    if (opt_.max_size_bytes == 0) opt_.max_size_bytes = 1;
    try {
        buffer_.reserve(opt_.buffer_bytes + 4096);
    } catch (...) {
    }
    next_check_ = fs_.now() + opt_.check_interval;
    open_file();
}

RotatingFileSink::~RotatingFileSink() { close(); }

void RotatingFileSink::report(std::string message) noexcept {
    ++error_count_;
    try {
        last_error_ = std::move(message);
        std::string line = "agora-log: " + last_error_ + "\n";
        report_to_stderr(line.data(), line.size());
    } catch (...) {
    }
}

void RotatingFileSink::notice(Level level, std::string message) noexcept {
    try {
        notices_.push_back(Notice{level, std::move(message)});
    } catch (...) {
    }
}

std::vector<RotatingFileSink::Notice> RotatingFileSink::take_notices() noexcept {
    std::vector<Notice> out;
    out.swap(notices_);
    return out;
}

bool RotatingFileSink::lose(std::uint64_t units) noexcept {
    lost_total_ += units;
    if (failing_) lost_since_failure_ += units;
    count_lost_by_handlers(units);
    return false;
}

void RotatingFileSink::fail(std::string reason) noexcept {
    retry_after_ = fs_.now() + opt_.retry_interval;
    if (failing_) return;  // one report per failure
    failing_ = true;
    try {
        notice(Level::error, "File logging failed: " + reason);
    } catch (...) {
    }
    report(std::move(reason));
}

bool RotatingFileSink::open_file() noexcept {
    try {
        // Parent directories, each created 0750 if missing (again, if they
        // were removed while logging).
        for (std::size_t pos = opt_.path.find('/', 1); pos != std::string::npos; pos = opt_.path.find('/', pos + 1)) {
            std::string dir = opt_.path.substr(0, pos);
            if (fs_.mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
                int err = errno;
                fail(fmt::format("cannot create directory {}: {}", dir, std::strerror(err)));
                return false;
            }
        }
        int fd = fs_.open(opt_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                          static_cast<mode_t>(opt_.file_mode & 07777));
        if (fd < 0) {
            int err = errno;
            fail(fmt::format("cannot open log file {}: {}", opt_.path, std::strerror(err)));
            return false;
        }
        off_t existing = fs_.file_size(fd);
        fd_ = fd;
        // Continue the size of an existing file; buffered bytes still count.
        file_size_ = existing > 0 ? static_cast<std::uint64_t>(existing) : 0;
        size_ = file_size_ + buffer_.size();
        torn_ = false;
        units_since_check_ = 0;
        if (opens_++ > 0) ++generation_;  // whatever the file holds, not what this sink wrote last
        return true;
    } catch (...) {
        return false;
    }
}

bool RotatingFileSink::recover() noexcept {
    if (fs_.now() < retry_after_) return false;
    if (fd_ < 0 && !open_file()) return false;
    if (!write_buffer()) return false;
    if (rotation_pending_ && !rotate()) return false;
    failing_ = false;
    try {
        notice(lost_since_failure_ > 0 ? Level::warning : Level::info,
               fmt::format("File logging restored; {} records were not written to {} meanwhile", lost_since_failure_,
                           opt_.path));
        report(fmt::format("writing to {} works again; {} lines were lost meanwhile", opt_.path, lost_since_failure_));
    } catch (...) {
    }
    lost_since_failure_ = 0;
    return true;
}

// ready_for() and add() are defined before their callers so that
// write_line(), the per-record path, inlines them.
inline bool RotatingFileSink::ready_for(std::uint64_t n) noexcept {
    if (failing_ && !recover()) return false;
    // Size check before each unit (seed algorithm). A unit larger than the
    // limit on its own goes into a file of its own rather than rotating forever.
    if (size_ + n > opt_.max_size_bytes && size_ > 0) return rotate();
    return true;
}

inline bool RotatingFileSink::add(std::string_view bytes, bool newline) noexcept {
    const std::uint64_t n = bytes.size() + (newline ? 1 : 0);
    // The limit holds whatever happened before: a unit that does not fit
    // the current file is not added to it.
    if (failing_ || (size_ + n > opt_.max_size_bytes && size_ > 0)) return lose();
    if (buffer_.size() + n > opt_.max_pending_bytes) {
        if (!write_buffer()) return lose();
        if (n > opt_.max_pending_bytes) {
            report(fmt::format("a line of {} bytes is larger than max_pending_bytes; not written to {}", n, opt_.path));
            return lose();
        }
    }
    const std::size_t before = buffer_.size();
    try {
        buffer_.append(bytes);
        if (newline) buffer_.push_back('\n');
    } catch (...) {
        buffer_.resize(before);  // shrinking does not allocate
        return lose();
    }
    if (!newline) lines_only_ = false;
    size_ += n;
    ++buffer_units_;
    if (buffer_.size() >= opt_.buffer_bytes) write_buffer();  // a failure keeps the unit buffered
    return true;
}

void RotatingFileSink::emit(const LogRecordView& record) noexcept {
    if (!write_line(record.json) && fallback_) fallback_->emit(record);
}

bool RotatingFileSink::write_line(std::string_view line) noexcept {
    if (!ready_for(line.size() + 1)) return lose();
    return add(line, true);
}

void RotatingFileSink::prepare_write(std::uint64_t n) noexcept { (void)ready_for(n); }

bool RotatingFileSink::append(std::string_view bytes) noexcept { return add(bytes, false); }

void RotatingFileSink::rotate_if_not_empty() noexcept {
    if (failing_ && !recover()) return;
    if (size_ > 0) rotate();
}

bool RotatingFileSink::write_buffer() noexcept {
    if (buffer_.empty()) return true;
    if (fd_ < 0 && !open_file()) return false;
    const std::uint64_t start = file_size_;
    const std::size_t done =
        write_all([this](const char* p, std::size_t n) { return fs_.write(fd_, p, n); }, buffer_.data(), buffer_.size());
    if (done == buffer_.size()) {
        bytes_written_ += done;
        file_size_ += done;
        units_since_check_ += buffer_units_;
        buffer_.clear();
        buffer_units_ = 0;
        torn_ = false;
        return true;
    }
    const int err = errno;
    if (done > 0) {
        // The file now ends in part of a unit. Keep the whole units that got
        // through and cut the rest off, so the file never ends in a torn
        // line; the cut part stays buffered and is written again. Where the
        // units are not lines their ends are not known: cut back to where
        // this write started and keep everything buffered.
        std::size_t keep = 0;
        if (lines_only_) {
            const std::size_t nl = buffer_.rfind('\n', done - 1);
            keep = nl == std::string::npos ? 0 : nl + 1;
        }
        std::size_t consumed = done;
        if (keep != done) {
            if (fs_.ftruncate(fd_, static_cast<off_t>(start + keep)) == 0) {
                consumed = keep;
            } else {
                // Cannot cut: resume exactly where the write stopped, which
                // completes the unit; until then the file ends torn.
                torn_ = true;
                torn_cut_ = start + keep;
            }
        }
        const auto whole = static_cast<std::uint64_t>(std::count(buffer_.begin(), buffer_.begin() + keep, '\n'));
        bytes_written_ += consumed;
        file_size_ += consumed;
        units_since_check_ += whole;
        buffer_units_ -= std::min(buffer_units_, whole);
        buffer_.erase(0, consumed);
    }
    size_ = file_size_ + buffer_.size();
    try {
        fail(fmt::format("cannot write {}: {}", opt_.path, std::strerror(err)));
    } catch (...) {
    }
    return false;
}

bool RotatingFileSink::rotate() noexcept {
    // Everything buffered belongs to the current file.
    if (!write_buffer()) {
        rotation_pending_ = true;
        return false;
    }
    if (fd_ >= 0) {
        fs_.close(fd_);
        fd_ = -1;
    }
    bool ok = true;
    try {
        const std::string& path = opt_.path;
        const std::uint32_t n = opt_.max_backups;
        auto stopped = [&](const std::string& what) {
            int err = errno;
            fail(fmt::format("rotation of {} stopped: {}: {}", path, what, std::strerror(err)));
            ok = false;
        };
        if (n == 0) {
            if (remove_aside(path) != 0 && errno != ENOENT) stopped("cannot remove " + path);
        } else {
            // A rotation that stopped part way left slot free_slot_ empty (the
            // backups above it already moved up): resume there rather than
            // delete the oldest backup a second time.
            const std::uint32_t top = free_slot_ != 0 ? free_slot_ : n;
            if (free_slot_ == 0) {
                std::string oldest = backup_name(path, n);
                if (remove_aside(oldest) != 0 && errno != ENOENT) stopped("cannot remove " + oldest);
            }
            // Stop at the first failure: a later rename would overwrite the file
            // that could not be moved.
            for (std::uint32_t i = top - 1; ok && i >= 1; --i) {
                std::string from = backup_name(path, i), to = backup_name(path, i + 1);
                if (fs_.rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
                    stopped("cannot rename " + from + " to " + to);
                    free_slot_ = i + 1;
                }
            }
            if (ok && fs_.rename(path.c_str(), backup_name(path, 1).c_str()) != 0 && errno != ENOENT) {
                stopped("cannot rename " + path + " to " + backup_name(path, 1));
                free_slot_ = 1;
            }
            if (ok) free_slot_ = 0;
        }
    } catch (...) {
        ok = false;
    }
    if (ok) {
        ++rotations_;
        ++generation_;
        rotation_pending_ = false;
    } else {
        rotation_pending_ = true;
        if (!failing_) fail("rotation of " + opt_.path + " stopped");
    }
    // O_APPEND without O_TRUNC: after a failed rotation this reopens the same
    // (full) file, which takes nothing until the rotation is finished.
    const std::uint64_t generation = generation_;
    const bool opened = open_file();
    generation_ = generation;  // a rotation starts one new file, not two
    return ok && opened;
}

int RotatingFileSink::remove_aside(const std::string& victim) noexcept {
    join_remover();
    // Files rotate at about max_size_bytes. Below kRemoveAsideFromBytes the
    // unlink costs less than starting a thread (~60 us per MiB against ~40 us).
    if (opt_.max_size_bytes < kRemoveAsideFromBytes) return fs_.unlink(victim.c_str());
    try {
        std::string aside = opt_.path + ".removing";
        // A `.removing` left by a process that ended mid-unlink is replaced
        // (and freed) by this rename.
        if (fs_.rename(victim.c_str(), aside.c_str()) != 0) return -1;
        try {
            remover_ = std::thread([this, aside] {
                if (fs_.unlink(aside.c_str()) != 0 && errno != ENOENT) remover_errno_ = errno;
            });
            return 0;
        } catch (...) {
            return fs_.unlink(aside.c_str());  // no thread: remove it here
        }
    } catch (...) {
        errno = ENOMEM;
        return -1;
    }
}

void RotatingFileSink::join_remover() noexcept {
    if (!remover_.joinable()) return;
    remover_.join();
    if (remover_errno_ == 0) return;
    const int err = std::exchange(remover_errno_, 0);
    try {
        report(fmt::format("cannot remove {}.removing (an old log file): {}", opt_.path, std::strerror(err)));
    } catch (...) {
    }
}

void RotatingFileSink::check_removed() noexcept {
    if (fd_ < 0) return;
    const auto now = fs_.now();
    if (now < next_check_) return;
    next_check_ = now + opt_.check_interval;
    struct stat st {};
    if (fs_.fstat(fd_, &st) != 0 || st.st_nlink > 0) {
        units_since_check_ = 0;
        return;
    }
    // Removed (the file or its directory): what went into it since the last
    // check is gone with it. Write on to a new file at the path.
    const std::uint64_t gone = units_since_check_;
    fs_.close(fd_);
    fd_ = -1;
    torn_ = false;
    lose(gone);
    try {
        const std::string text =
            fmt::format("Log file {} was removed; reopened it ({} records written since the last check were lost)",
                        opt_.path, gone);
        report(text);
        notice(Level::warning, text);
    } catch (...) {
    }
    open_file();
}

void RotatingFileSink::flush() noexcept {
    if (failing_) (void)recover();
    else (void)write_buffer();
    // After the write: a check that finds the file still linked vouches for
    // everything written so far.
    check_removed();
}

void RotatingFileSink::close() noexcept {
    if (!buffer_.empty()) {
        // Last attempt, whatever the retry interval says.
        if (fd_ < 0) open_file();
        if (fd_ >= 0) write_buffer();
        if (!buffer_.empty()) {
            const std::uint64_t units = std::max<std::uint64_t>(buffer_units_, 1);
            lose(units);
            if (torn_ && fd_ >= 0) (void)fs_.ftruncate(fd_, static_cast<off_t>(torn_cut_));
            try {
                report(fmt::format("{} records could not be written to {} before it was closed: {}", units,
                                   opt_.path, last_error_));
            } catch (...) {
            }
            buffer_.clear();
            buffer_units_ = 0;
            size_ = file_size_;
        }
    }
    if (fd_ >= 0) {
        fs_.close(fd_);
        fd_ = -1;
    }
    join_remover();  // the last rotation's old file is gone once close() returns
}

}  // namespace agora::log::detail
