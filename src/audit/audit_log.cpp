#include "audit/audit_log.hpp"

#include "base/write_all.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace agora::log::detail {

namespace {

namespace fs = std::filesystem;

/// Longest line read back when the chain is picked up again (a line holds at
/// most max_message_length bytes of message plus its fields).
constexpr std::size_t kMaxLineRead = 256u << 20;
constexpr auto kExpiryCheckInterval = std::chrono::hours(1);

std::string errno_text(int error) { return std::strerror(error); }

/// A read-only descriptor, closed on scope exit.
struct ReadFd {
    int fd = -1;
    explicit ReadFd(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
    ~ReadFd() {
        if (fd >= 0) ::close(fd);
    }
};

bool read_at(int fd, off_t offset, char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, out + done, size - done, offset + static_cast<off_t>(done));
        if (n > 0) done += static_cast<std::size_t>(n);
        else if (n < 0 && errno == EINTR) continue;
        else return false;
    }
    return true;
}

/// The offset just past the last '\n' in the first `size` bytes (0: none).
std::optional<off_t> end_of_last_line(int fd, off_t size) {
    char buf[65536];
    off_t end = size;
    while (end > 0) {
        const off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
        if (!read_at(fd, start, buf, static_cast<std::size_t>(end - start))) return std::nullopt;
        for (off_t i = end - start; i > 0; --i)
            if (buf[i - 1] == '\n') return start + i;
        end = start;
    }
    return 0;
}

/// The line that ends (with its '\n') at `end` > 0.
std::optional<std::string> line_ending_at(int fd, off_t end) {
    const off_t last = end - 1;  // the '\n'
    auto start = end_of_last_line(fd, last);
    if (!start || static_cast<std::size_t>(last - *start) > kMaxLineRead) return std::nullopt;
    std::string line(static_cast<std::size_t>(last - *start), '\0');
    if (!read_at(fd, *start, line.data(), line.size())) return std::nullopt;
    return line;
}

std::optional<std::string> first_line(int fd) {
    std::string line;
    char buf[4096];
    for (off_t offset = 0; line.size() <= kMaxLineRead;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        const char* nl = static_cast<const char*>(std::memchr(buf, '\n', static_cast<std::size_t>(n)));
        if (nl != nullptr) return line.append(buf, static_cast<std::size_t>(nl - buf));
        line.append(buf, static_cast<std::size_t>(n));
        offset += n;
    }
    return std::nullopt;
}

/// The numeric suffix of a rotated file name "<name>.<digits>".
std::optional<std::uint64_t> rotated_seq(std::string_view file, std::string_view name) {
    if (file.size() <= name.size() + 1 || !file.starts_with(name) || file[name.size()] != '.') return std::nullopt;
    const std::string_view digits = file.substr(name.size() + 1);
    std::uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

}  // namespace

AuditLog::AuditLog(AuditSettings settings, FileSystem& fs) : settings_(std::move(settings)), fs_(fs) {}

AuditLog::~AuditLog() { close_file(true); }

void AuditLog::close_file(bool sync) noexcept {
    if (fd_ < 0) return;
    if (sync) (void)fs_.fdatasync(fd_);
    (void)fs_.close(fd_);  // also releases the flock
    fd_ = -1;
}

void AuditLog::warn(std::string message) {
    if (warnings_.size() < 64) warnings_.push_back(std::move(message));
}

std::vector<std::string> AuditLog::take_warnings() { return std::exchange(warnings_, {}); }

std::vector<std::string> AuditLog::rotated_files(const std::string& path) {
    std::vector<std::pair<std::uint64_t, std::string>> found;
    const fs::path p(path);
    const std::string name = p.filename().string();
    std::error_code ec;
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string file = it->path().filename().string();
        if (auto seq = rotated_seq(file, name)) found.emplace_back(*seq, it->path().string());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    for (auto& f : found) out.push_back(std::move(f.second));
    return out;
}

std::optional<std::string> AuditLog::open() {
    if (fd_ >= 0) return std::nullopt;
    const std::string& path = settings_.path;
    std::error_code ec;
    if (const fs::path parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
    const int fd = fs_.open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return fmt::format("cannot open audit file {}: {}", path, errno_text(errno));
    auto fail = [&](std::string why) {
        (void)fs_.close(fd);
        return std::optional<std::string>(std::move(why));
    };
    // One writer per chain: a second process appending would fork it.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
        return fail(errno == EWOULDBLOCK ? fmt::format("audit file {} is in use by another process", path)
                                         : fmt::format("cannot lock audit file {}: {}", path, errno_text(errno)));
    const off_t size = fs_.file_size(fd);
    if (size < 0) return fail(fmt::format("cannot read the size of audit file {}: {}", path, errno_text(errno)));

    ReadFd reader(path);
    if (size > 0 && reader.fd < 0) return fail(fmt::format("cannot read audit file {}: {}", path, errno_text(errno)));
    off_t whole = 0;
    if (size > 0) {
        auto end = end_of_last_line(reader.fd, size);
        if (!end) return fail(fmt::format("cannot read audit file {}: {}", path, errno_text(errno)));
        whole = *end;
        if (whole < size) {
            // A line whose write never completed: audit() did not return
            // success for it, so cutting it loses nothing that was acknowledged.
            if (fs_.ftruncate(fd, whole) != 0)
                return fail(fmt::format("cannot cut the unfinished last line of audit file {}: {}", path,
                                        errno_text(errno)));
            warn(fmt::format("removed {} bytes of an unfinished line at the end of audit file {}", size - whole, path));
        }
    }

    // Where the chain stands: this file's last line, else the newest rotated file's.
    std::uint64_t seq = 0;
    std::string hash(kAuditGenesisHash);
    std::uint64_t first = 0;
    auto take_last = [&](int rfd, off_t end, const std::string& file) -> std::optional<std::string> {
        auto line = line_ending_at(rfd, end);
        if (!line) return fmt::format("cannot read the last line of audit file {}", file);
        std::string why;
        auto link = parse_audit_line(*line, why);
        if (!link) why = fmt::format("the last line of audit file {} is not an audit line ({})", file, why);
        else if (!link->hash_matches) why = fmt::format("the last line of audit file {} does not match its hash", file);
        if (!why.empty()) return why + "; the chain is not extended: check the files with agora-log-audit verify";
        seq = link->seq;
        hash = link->hash;
        return std::nullopt;
    };
    if (whole > 0) {
        if (auto why = take_last(reader.fd, whole, path)) return fail(std::move(*why));
        std::string ignored;
        auto head = first_line(reader.fd);
        auto link = head ? parse_audit_line(*head, ignored) : std::nullopt;
        first = link ? link->seq : seq;
    } else if (auto rotated = rotated_files(path); !rotated.empty()) {
        ReadFd newest(rotated.back());
        const off_t rsize = newest.fd >= 0 ? ::lseek(newest.fd, 0, SEEK_END) : -1;
        auto end = rsize > 0 ? end_of_last_line(newest.fd, rsize) : std::nullopt;
        if (!end || *end == 0)
            return fail(fmt::format("cannot read the last line of rotated audit file {}", rotated.back()));
        if (auto why = take_last(newest.fd, *end, rotated.back())) return fail(std::move(*why));
    }
    fd_ = fd;
    size_ = static_cast<std::uint64_t>(whole);
    seq_ = seq;
    last_hash_ = std::move(hash);
    first_seq_ = first;
    remove_expired(std::chrono::system_clock::now());
    next_expiry_check_ = fs_.now() + kExpiryCheckInterval;
    return std::nullopt;
}

std::optional<std::string> AuditLog::rotate() {
    if (!settings_.sync && fs_.fdatasync(fd_) != 0)
        return fmt::format("cannot sync audit file {} before rotating it: {}", settings_.path, errno_text(errno));
    const std::string target = fmt::format("{}.{:012}", settings_.path, first_seq_);
    std::error_code ec;
    if (fs::exists(target, ec) || ec)
        return fmt::format("cannot rotate audit file {}: {} exists", settings_.path, target);
    if (fs_.rename(settings_.path.c_str(), target.c_str()) != 0)
        return fmt::format("cannot rotate audit file {} to {}: {}", settings_.path, target, errno_text(errno));
    close_file(false);  // synced: above, or line by line
    // Reopening reads the chain back from the file just rotated.
    return open();
}

std::optional<std::string> AuditLog::append(std::string& entry) {
    if (auto why = open()) return why;
    // The line's size before sealing, plus the audit member (at most ~200 bytes).
    if (size_ > 0 && size_ + entry.size() + 256 > settings_.max_file_bytes) {
        if (auto why = rotate()) {
            if (!rotation_failing_) warn(*why + "; writing on past the size limit");
            rotation_failing_ = true;
            if (auto reopen = open()) return reopen;
        } else {
            rotation_failing_ = false;
        }
    }
    const std::uint64_t seq = seq_ + 1;
    std::string hash = seal_audit_line(entry, seq, last_hash_);
    const std::size_t written =
        write_all([&](const char* p, std::size_t n) { return fs_.write(fd_, p, n); }, entry.data(), entry.size());
    if (written < entry.size()) {
        const int error = errno;
        if (written > 0 && fs_.ftruncate(fd_, static_cast<off_t>(size_)) != 0) close_file(true);
        return fmt::format("cannot write audit file {}: {}", settings_.path, errno_text(error));
    }
    size_ += entry.size();
    seq_ = seq;
    last_hash_ = std::move(hash);
    if (first_seq_ == 0) first_seq_ = seq;
    if (fs_.now() >= next_expiry_check_) {
        next_expiry_check_ = fs_.now() + kExpiryCheckInterval;
        remove_expired(std::chrono::system_clock::now());
    }
    if (settings_.sync && fs_.fdatasync(fd_) != 0)
        return fmt::format("audit line {} is written but fdatasync of {} failed: {}", seq, settings_.path,
                           errno_text(errno));
    return std::nullopt;
}

std::size_t AuditLog::remove_expired(std::chrono::system_clock::time_point now) {
    const auto limit = std::chrono::hours(24) * settings_.retention_days;
    std::size_t removed = 0;
    for (const std::string& file : rotated_files(settings_.path)) {
        std::error_code ec;
        const auto written = fs::last_write_time(file, ec);
        if (ec) continue;
        const auto age = now - std::chrono::file_clock::to_sys(written);
        if (age <= limit) continue;
        if (fs_.unlink(file.c_str()) == 0) ++removed;
        else warn(fmt::format("cannot remove expired audit file {}: {}", file, errno_text(errno)));
    }
    return removed;
}

}  // namespace agora::log::detail
