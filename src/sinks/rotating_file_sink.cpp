#include "sinks/rotating_file_sink.hpp"

#include "base/write_all.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace agora::log::detail {

namespace {
constexpr mode_t kDirMode = 0750;

std::string backup_name(const std::string& path, std::uint32_t i) { return path + "." + std::to_string(i); }
}  // namespace

RotatingFileSink::RotatingFileSink(Options options, FileSystem& fs) : opt_(std::move(options)), fs_(fs) {
    if (opt_.max_size_bytes == 0) opt_.max_size_bytes = 1;
    buffer_.reserve(opt_.buffer_bytes + 4096);
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

bool RotatingFileSink::open_file() noexcept {
    try {
        // Parent directories, each created 0750 if missing.
        for (std::size_t pos = opt_.path.find('/', 1); pos != std::string::npos; pos = opt_.path.find('/', pos + 1)) {
            std::string dir = opt_.path.substr(0, pos);
            if (fs_.mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
                int err = errno;
                report(fmt::format("cannot create directory {}: {}", dir, std::strerror(err)));
                retry_after_ = std::chrono::steady_clock::now() + opt_.retry_interval;
                return false;
            }
        }
        int fd = fs_.open(opt_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                          static_cast<mode_t>(opt_.file_mode & 07777));
        if (fd < 0) {
            int err = errno;
            report(fmt::format("cannot open log file {}: {}", opt_.path, std::strerror(err)));
            retry_after_ = std::chrono::steady_clock::now() + opt_.retry_interval;
            return false;
        }
        off_t existing = fs_.file_size(fd);
        fd_ = fd;
        // Continue the size of an existing file; buffered bytes still count.
        size_ = (existing > 0 ? static_cast<std::uint64_t>(existing) : 0) + buffer_.size();
        return true;
    } catch (...) {
        return false;
    }
}

// rotate_before() and add() are defined before their callers so that
// write_line(), the per-record path, inlines them.
inline void RotatingFileSink::rotate_before(std::uint64_t n) noexcept {
    // Size check before each write (seed algorithm). A line larger than the
    // limit on its own goes into a file of its own rather than rotating forever.
    if (size_ + n > opt_.max_size_bytes && size_ > 0 && std::chrono::steady_clock::now() >= retry_after_) rotate();
}

inline bool RotatingFileSink::add(std::string_view bytes, bool newline) noexcept {
    const std::uint64_t n = bytes.size() + (newline ? 1 : 0);
    if (buffer_.size() + n > opt_.max_pending_bytes) {
        ++dropped_lines_;
        ++dropped_lines_total_;
        return false;
    }
    const std::size_t before = buffer_.size();
    try {
        buffer_.append(bytes);
        if (newline) buffer_.push_back('\n');
    } catch (...) {
        buffer_.resize(before);  // shrinking does not allocate
        ++dropped_lines_;
        ++dropped_lines_total_;
        return false;
    }
    size_ += n;
    if (buffer_.size() >= opt_.buffer_bytes && !write_failing_) write_buffer();
    return true;
}

void RotatingFileSink::emit(const LogRecordView& record) noexcept { write_line(record.json); }

void RotatingFileSink::write_line(std::string_view line) noexcept {
    rotate_before(line.size() + 1);
    add(line, true);
}

void RotatingFileSink::prepare_write(std::uint64_t n) noexcept { rotate_before(n); }

bool RotatingFileSink::append(std::string_view bytes) noexcept { return add(bytes, false); }

void RotatingFileSink::rotate_if_not_empty() noexcept {
    if (size_ > 0 && std::chrono::steady_clock::now() >= retry_after_) rotate();
}


bool RotatingFileSink::write_buffer() noexcept {
    if (buffer_.empty()) return true;
    if (fd_ < 0) {
        if (std::chrono::steady_clock::now() < retry_after_ || !open_file()) return false;
    }
    std::size_t done = write_all([this](const char* p, std::size_t n) { return fs_.write(fd_, p, n); }, buffer_.data(), buffer_.size());
    bytes_written_ += done;
    buffer_.erase(0, done);
    if (!buffer_.empty()) {
        int err = errno;
        if (!write_failing_) {
            write_failing_ = true;
            report(fmt::format("write to {} failed: {}; {} bytes kept and retried", opt_.path, std::strerror(err),
                               buffer_.size()));
        }
        return false;
    }
    if (write_failing_ || dropped_lines_ > 0) {
        write_failing_ = false;
        report(fmt::format("writing to {} works again; {} lines were dropped meanwhile", opt_.path, dropped_lines_));
        dropped_lines_ = 0;
    }
    return true;
}

void RotatingFileSink::rotate() noexcept {
    // Everything buffered belongs to the current file.
    if (!write_buffer()) return;  // cannot write: keep the file, retry later
    if (fd_ >= 0) {
        fs_.close(fd_);
        fd_ = -1;
    }
    bool ok = true;
    try {
        const std::string& path = opt_.path;
        const std::uint32_t n = opt_.max_backups;
        auto fail = [&](const std::string& what) {
            int err = errno;
            report(fmt::format("rotation of {} stopped: {}: {}; writing on to the current file", path, what,
                               std::strerror(err)));
            ok = false;
        };
        if (n == 0) {
            if (fs_.unlink(path.c_str()) != 0 && errno != ENOENT) fail("cannot remove " + path);
        } else {
            // A rotation that stopped part way left slot free_slot_ empty (the
            // backups above it already moved up): resume there rather than
            // delete the oldest backup a second time.
            const std::uint32_t top = free_slot_ != 0 ? free_slot_ : n;
            if (free_slot_ == 0) {
                std::string oldest = backup_name(path, n);
                if (fs_.unlink(oldest.c_str()) != 0 && errno != ENOENT) fail("cannot remove " + oldest);
            }
            // Stop at the first failure: a later rename would overwrite the file
            // that could not be moved.
            for (std::uint32_t i = top - 1; ok && i >= 1; --i) {
                std::string from = backup_name(path, i), to = backup_name(path, i + 1);
                if (fs_.rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
                    fail("cannot rename " + from + " to " + to);
                    free_slot_ = i + 1;
                }
            }
            if (ok && fs_.rename(path.c_str(), backup_name(path, 1).c_str()) != 0 && errno != ENOENT) {
                fail("cannot rename " + path + " to " + backup_name(path, 1));
                free_slot_ = 1;
            }
            if (ok) free_slot_ = 0;
        }
    } catch (...) {
        ok = false;
    }
    if (ok) ++rotations_;
    else retry_after_ = std::chrono::steady_clock::now() + opt_.retry_interval;
    // O_APPEND without O_TRUNC: after a failed rotation this reopens the same
    // file and appends; nothing is ever truncated.
    open_file();
}

void RotatingFileSink::flush() noexcept { write_buffer(); }

void RotatingFileSink::close() noexcept {
    write_buffer();
    if (fd_ >= 0) {
        fs_.close(fd_);
        fd_ = -1;
    }
}

}  // namespace agora::log::detail
