#pragma once
// The audit file writer (docs/audit.md): appends sealed lines to one file,
// rotates it by size into <path>.<first seq, 12 digits>, removes rotated
// files only once older than the retention, and picks the chain up again
// from the files on disk when opened (restart, rotation).
//
// Threads: not synchronised. The one AuditLog of the process is used under
// AuditState::mutex (audit_entry.cpp), on the calling threads of audit().
// Every system call that writes goes through the FileSystem seam.

#include "audit/audit_chain.hpp"
#include "sinks/file_system.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace agora::log::detail {

struct AuditSettings {
    std::string path;
    std::uint64_t max_file_bytes = 100u << 20;
    std::uint32_t retention_days = 365;
    /// fdatasync after every line (else at rotation and close).
    bool sync = true;
};

class AuditLog {
public:
    explicit AuditLog(AuditSettings settings, FileSystem& fs = FileSystem::real());
    /// fdatasync and close (errors are lost: nothing is left to tell).
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    /// Opens the file if it is not open, and finds where the chain stands:
    /// the last line of the file, or of the newest rotated file when the
    /// file is empty, or seq 0 when there is none. A torn last line (a write
    /// that never completed, so never acknowledged) is cut off. nullopt when
    /// open; otherwise why not (the file cannot be opened or locked, or its
    /// last line is not an intact audit line: the chain is not extended
    /// over a line it cannot trust).
    std::optional<std::string> open();

    /// Seals `entry` (a JSON object without its closing brace; see
    /// seal_audit_line()) as the next line and writes it, opening the file
    /// first if needed and rotating before the write if the file would grow
    /// over the limit. nullopt once written (and fdatasync'ed with `sync`);
    /// otherwise why not. A line that was only partly written is cut back,
    /// so the file always ends with a whole line (if that cut fails the file
    /// is closed, and the next open() cuts it).
    std::optional<std::string> append(std::string& entry);

    /// Problems that did not stop a write (a failed rotation, a file that
    /// could not be removed), oldest first; taking them clears the list.
    std::vector<std::string> take_warnings();

    /// Removes rotated files whose last write is older than the retention.
    /// Returns how many were removed.
    std::size_t remove_expired(std::chrono::system_clock::time_point now);

    /// The last sequence number written (0: none yet).
    std::uint64_t last_seq() const noexcept { return seq_; }
    const std::string& path() const noexcept { return settings_.path; }

    /// Rotated files of `path` in `path`'s directory: "<name>.<digits>".
    static std::vector<std::string> rotated_files(const std::string& path);

private:
    std::optional<std::string> rotate();
    void close_file(bool sync) noexcept;
    void warn(std::string message);

    AuditSettings settings_;
    FileSystem& fs_;
    int fd_ = -1;
    std::uint64_t size_ = 0;       // bytes in the open file, all whole lines
    std::uint64_t seq_ = 0;        // last sequence number written
    std::uint64_t first_seq_ = 0;  // the open file's first line (0: the file is empty)
    std::string last_hash_{kAuditGenesisHash};
    bool rotation_failing_ = false;  // one warning per streak of failed rotations
    std::chrono::steady_clock::time_point next_expiry_check_{};
    std::vector<std::string> warnings_;
};

}  // namespace agora::log::detail
