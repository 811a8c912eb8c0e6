// The sinks' system-call seam (detail::FileSystem): a FileSystem that
// injects EINTR, short writes, ENOSPC, failed renames, failed opens and cuts,
// and whose clock the test moves, shows that the rotating file never grows
// past its limit, never ends in a torn line, counts every line it loses
// (dropped_lines(), Stats::records_lost_by_handlers), hands them to its
// console fallback, writes one "File logging failed" and one "File logging
// restored" notice, retries every retry_interval, and reopens a removed file.
// One test does this on a real, small tmpfs (when this process may mount
// one); the last ones go through initialize() (handler exceptions, a file that
// cannot be opened).

#define BOOST_TEST_MODULE file_failures
#include "common.hpp"

#include "sinks/console_sink.hpp"
#include "sinks/handler_losses.hpp"
#include "sinks/rotating_file_sink.hpp"

#include <agora/log/lifecycle.hpp>
#include <agora/log/logger.hpp>

#include <fmt/format.h>

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>

using RotatingFileSink = agora::log::detail::RotatingFileSink;

namespace {

/// The real file system with faults switched on by the test. Used from the
/// test's thread only (the handlers are driven directly, with no backend).
class FaultyFs : public agora::log::detail::FileSystem {
public:
    // Write faults.
    bool enospc = false;             // every write fails with ENOSPC
    std::size_t enospc_after = 0;    // when enospc: write this many bytes first (a partial write)
    unsigned eintr_every = 0;        // every Nth write fails with EINTR (0 = never)
    std::size_t max_write = 0;       // writes at most this many bytes per call (0 = all)
    bool zero_write = false;         // write returns 0
    // Other faults.
    std::function<bool(const std::string& from, const std::string& to)> fail_rename;  // true = fail (EACCES)
    bool fail_open = false;
    std::string fail_mkdir;  // mkdir of exactly this directory fails with EROFS
    bool fail_ftruncate = false;
    bool report_unlinked = false;  // fstat says st_nlink == 0

    // The clock: moved by the test, never by itself.
    std::chrono::steady_clock::time_point clock{};
    void advance(std::chrono::milliseconds d) { clock += d; }

    // What happened.
    unsigned writes = 0, eintr_injected = 0, short_writes = 0, enospc_injected = 0;
    unsigned renames = 0, renames_failed = 0, opens = 0, ftruncates = 0, fstats = 0;

    std::chrono::steady_clock::time_point now() noexcept override { return clock; }
    int ftruncate(int fd, off_t length) noexcept override {
        ++ftruncates;
        if (fail_ftruncate) {
            errno = EIO;
            return -1;
        }
        return FileSystem::ftruncate(fd, length);
    }
    int fstat(int fd, struct stat* st) noexcept override {
        ++fstats;
        const int r = FileSystem::fstat(fd, st);
        if (r == 0 && report_unlinked) st->st_nlink = 0;
        return r;
    }

    ssize_t write(int fd, const void* data, std::size_t size) noexcept override {
        ++writes;
        if (eintr_every != 0 && writes % eintr_every == 0) {
            ++eintr_injected;
            errno = EINTR;
            return -1;
        }
        if (zero_write) return 0;
        if (enospc) {
            if (enospc_after > 0) {
                std::size_t n = std::min(size, enospc_after);
                enospc_after -= n;
                return FileSystem::write(fd, data, n);
            }
            ++enospc_injected;
            errno = ENOSPC;
            return -1;
        }
        if (max_write != 0 && size > max_write) {
            ++short_writes;
            size = max_write;
        }
        return FileSystem::write(fd, data, size);
    }
    int rename(const char* from, const char* to) noexcept override {
        ++renames;
        if (fail_rename && fail_rename(from, to)) {
            ++renames_failed;
            errno = EACCES;
            return -1;
        }
        return FileSystem::rename(from, to);
    }
    int open(const char* path, int flags, mode_t mode) noexcept override {
        ++opens;
        if (fail_open) {
            errno = EACCES;
            return -1;
        }
        return FileSystem::open(path, flags, mode);
    }
    int mkdir(const char* path, mode_t mode) noexcept override {
        if (!fail_mkdir.empty() && fail_mkdir == path) {
            errno = EROFS;
            return -1;
        }
        return FileSystem::mkdir(path, mode);
    }
};

RotatingFileSink::Options options(const std::string& path, std::uint64_t max_size = 1u << 20,
                                     std::uint32_t backups = 3) {
    RotatingFileSink::Options o;
    o.path = path;
    o.max_size_bytes = max_size;
    o.max_backups = backups;
    o.buffer_bytes = 1024;
    o.retry_interval = std::chrono::milliseconds(0);
    return o;
}

std::string line(unsigned seq, std::size_t length = 99) {
    std::string l = fmt::format("{{\"seq\":{:08d},\"pad\":\"", seq);
    if (l.size() + 2 < length) l.append(length - l.size() - 2, 'p');
    return l + "\"}";
}

long seq_of(const std::string& l) {
    unsigned seq = 0;
    return std::sscanf(l.c_str(), "{\"seq\":%u", &seq) == 1 ? static_cast<long>(seq) : -1;
}

std::string expected_content(unsigned from, unsigned to, std::size_t length = 99) {
    std::string s;
    for (unsigned i = from; i < to; ++i) s += line(i, length) + "\n";
    return s;
}

std::string backup(const std::string& path, std::size_t k) {
    return k == 0 ? path : path + "." + std::to_string(k);
}

/// Sequence numbers across path.N .. path.1, path (oldest first).
std::vector<long> all_seqs(const std::string& path, std::size_t max_backups) {
    std::vector<long> seqs;
    for (std::size_t k = max_backups + 1; k-- > 0;) {
        if (!agora_test::file_exists(backup(path, k))) continue;
        for (const auto& l : agora_test::read_lines(backup(path, k)).lines) seqs.push_back(seq_of(l));
    }
    return seqs;
}

std::vector<long> range(long from, long to) {
    std::vector<long> v;
    for (long i = from; i < to; ++i) v.push_back(i);
    return v;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

/// A handler that keeps the JSON of what it is given (the file's fallback,
/// or an extra handler). Backend thread only while running; read after shutdown().
class Capture : public agora::log::Handler {
public:
    void emit(const agora::log::LogRecordView& r) noexcept override {
        try {
            lines.emplace_back(r.json);
        } catch (...) {
        }
    }
    void flush() noexcept override {}
    void close() noexcept override {}
    std::vector<std::string> lines;
};

/// Feeds `json` to `sink` as a record.
void emit(agora::log::Handler& sink, const std::string& json) {
    agora::log::LogRecordView r{};
    r.level = agora::log::Level::info;
    r.json = json;
    sink.emit(r);
}

std::uint64_t lost_counter() { return agora::log::detail::g_records_lost_by_handlers.load(); }

/// Every file of path (current and backups) ends with a newline (or is empty)
/// and is at most `limit` bytes.
void check_files(const std::string& path, std::size_t max_backups, std::uint64_t limit) {
    for (std::size_t k = 0; k <= max_backups + 1; ++k) {
        const std::string f = backup(path, k);
        if (!agora_test::file_exists(f)) continue;
        const std::string content = agora_test::read_file(f);
        BOOST_TEST(content.size() <= limit, f << " has " << content.size() << " bytes, over " << limit);
        BOOST_TEST((content.empty() || content.back() == '\n'), f << " ends in a torn line");
    }
}

std::vector<std::string> messages(const std::vector<agora::log::detail::RotatingFileSink::Notice>& notices) {
    std::vector<std::string> m;
    for (const auto& n : notices) m.push_back(n.message);
    return m;
}

}  // namespace

// ---- a real, small tmpfs --------------------------------------------------
// Needs a mount namespace of its own (root, or CAP_SYS_ADMIN): the test is
// skipped, saying why, where this process may not have one. The mount is
// private to this process and gone when it exits. First in the file: a
// process that ran a backend thread may no longer unshare.

boost::test_tools::assertion_result private_mount_namespace(boost::unit_test::test_unit_id) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        boost::test_tools::assertion_result r(false);
        r.message() << "cannot have a mount namespace of its own: " << std::strerror(errno);
        return r;
    }
    return true;
}

BOOST_AUTO_TEST_CASE(a_full_tmpfs_keeps_the_limit_and_leaves_no_torn_line,
                     *boost::unit_test::precondition(private_mount_namespace)) {
    agora_test::TempDir dir;
    const std::string disk = dir.file("disk");
    std::filesystem::create_directory(disk);
    BOOST_TEST_REQUIRE(::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=64k") == 0, std::strerror(errno));
    struct Unmount {
        std::string at;
        ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
    } unmount{disk};
    FaultyFs fs;  // no faults: the real system calls, and the test's clock
    const std::string path = disk + "/app.log";
    const std::uint64_t limit = 16384;
    const std::size_t backups = 10;
    auto o = options(path, limit, backups);
    RotatingFileSink h(o, fs);
    auto fallback = std::make_shared<Capture>();
    h.set_fallback(fallback);
    std::vector<std::string> notices;
    auto take = [&] {
        for (auto& m : messages(h.take_notices())) notices.push_back(m);
    };
    const unsigned total = 2000;  // 200 KB into 64 KiB
    std::size_t removed_lines = 0;
    for (unsigned seq = 0; seq < total; ++seq) {
        emit(h, line(seq));
        if (seq % 50 == 0) h.flush();
        take();
        BOOST_TEST_REQUIRE(h.current_size() <= limit);
        if (seq == 1000) {
            // The operator frees space: the older backups go.
            for (std::size_t k = 2; k <= backups; ++k)
                if (agora_test::file_exists(backup(path, k))) {
                    removed_lines += agora_test::read_lines(backup(path, k)).lines.size();
                    std::filesystem::remove(backup(path, k));
                }
            fs.advance(std::chrono::milliseconds(1));
        }
    }
    h.close();
    take();
    check_files(path, backups, limit);
    const auto seqs = all_seqs(path, backups);
    BOOST_TEST(std::count(seqs.begin(), seqs.end(), -1) == 0);  // every line whole
    for (std::size_t i = 1; i < seqs.size(); ++i) BOOST_TEST_REQUIRE(seqs[i] > seqs[i - 1]);
    BOOST_TEST(removed_lines > 0u);
    BOOST_TEST(h.dropped_lines() > 0u);
    BOOST_TEST(seqs.size() + removed_lines + h.dropped_lines() == total);
    BOOST_TEST(fallback->lines.size() <= h.dropped_lines());
    const auto failed = std::count_if(notices.begin(), notices.end(), [](const std::string& m) {
        return m.starts_with("File logging failed: cannot write ") && contains(m, std::strerror(ENOSPC));
    });
    const auto restored = std::count_if(notices.begin(), notices.end(),
                                        [](const std::string& m) { return m.starts_with("File logging restored"); });
    BOOST_TEST(failed >= 2);  // full, freed, full again
    BOOST_TEST(restored >= 1);
    BOOST_TEST(failed - restored <= 1);
    BOOST_TEST_MESSAGE("tmpfs: " << seqs.size() << " lines kept, " << removed_lines << " removed by the test, "
                                 << h.dropped_lines() << " lost and counted, " << failed << " failures, "
                                 << restored << " recoveries");
}

BOOST_AUTO_TEST_CASE(eintr_is_retried_silently) {
    agora_test::TempDir dir;
    FaultyFs fs;
    fs.eintr_every = 2;
    const std::string path = dir.file("app.log");
    {
        RotatingFileSink h(options(path), fs);
        for (unsigned i = 0; i < 200; ++i) h.write_line(line(i));
        h.flush();
        BOOST_TEST(h.error_count() == 0u, h.last_error());
        BOOST_TEST(h.last_error().empty());
        BOOST_TEST(h.bytes_written() == 200u * 100u);
    }
    BOOST_TEST(fs.eintr_injected > 0u);
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 200));
}

BOOST_AUTO_TEST_CASE(short_writes_are_completed) {
    agora_test::TempDir dir;
    FaultyFs fs;
    fs.max_write = 7;
    const std::string path = dir.file("app.log");
    {
        RotatingFileSink h(options(path), fs);
        for (unsigned i = 0; i < 50; ++i) h.write_line(line(i));
        h.close();
        BOOST_TEST(h.error_count() == 0u, h.last_error());
    }
    BOOST_TEST(fs.short_writes > 0u);
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 50));
}

// While the disk is full: what was buffered is kept, new lines go to the
// fallback and are counted; one failure notice; retries only every
// retry_interval (the test's clock); one restored notice with the count.
BOOST_AUTO_TEST_CASE(enospc_falls_back_counts_retries_and_recovers) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    auto o = options(path);
    o.retry_interval = std::chrono::milliseconds(5000);
    RotatingFileSink h(o, fs);
    auto fallback = std::make_shared<Capture>();
    h.set_fallback(fallback);
    BOOST_TEST_REQUIRE(h.is_open());
    const std::uint64_t lost_before = lost_counter();
    for (unsigned i = 0; i < 5; ++i) emit(h, line(i));
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 5));
    BOOST_TEST(h.take_notices().empty());

    // The disk fills up. Lines 5..15 are buffered (1100 bytes: the write at
    // buffer_bytes fails); from then on lines go to the fallback.
    fs.enospc = true;
    for (unsigned i = 5; i < 60; ++i) emit(h, line(i));
    h.flush();
    BOOST_TEST(fs.enospc_injected > 0u);
    BOOST_TEST(h.failing());
    BOOST_TEST(h.error_count() == 1u);
    BOOST_TEST(contains(h.last_error(), std::strerror(ENOSPC)), h.last_error());
    BOOST_TEST(contains(h.last_error(), path), h.last_error());
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 5));
    BOOST_TEST(h.current_size() == 16u * 100u);  // the file and what it keeps
    BOOST_TEST(h.dropped_lines() == 44u);
    BOOST_TEST(lost_counter() - lost_before == 44u);
    BOOST_TEST_REQUIRE(fallback->lines.size() == 44u);
    BOOST_TEST(fallback->lines.front() == line(16));
    BOOST_TEST(fallback->lines.back() == line(59));
    auto notices = h.take_notices();
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(notices[0].level == agora::log::Level::error);
    BOOST_TEST(notices[0].message == "File logging failed: cannot write " + path + ": " + std::strerror(ENOSPC));

    // Space again, but the retry is not due: still failing, no write attempted.
    fs.enospc = false;
    const unsigned writes = fs.writes;
    emit(h, line(60));
    h.flush();
    BOOST_TEST(fs.writes == writes);
    BOOST_TEST(h.failing());
    BOOST_TEST(h.dropped_lines() == 45u);
    BOOST_TEST(h.take_notices().empty());  // one failure notice per failure

    // The retry is due: what was kept is written, in order, and new lines follow.
    fs.advance(std::chrono::milliseconds(5000));
    for (unsigned i = 61; i < 70; ++i) emit(h, line(i));
    h.flush();
    BOOST_TEST(!h.failing());
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 16) + expected_content(61, 70));
    BOOST_TEST(h.error_count() == 2u);
    BOOST_TEST(contains(h.last_error(), "works again; 45 lines were lost"), h.last_error());
    notices = h.take_notices();
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(notices[0].level == agora::log::Level::warning);
    BOOST_TEST(notices[0].message ==
               "File logging restored; 45 records were not written to " + path + " meanwhile");
    BOOST_TEST(fallback->lines.size() == 45u);
    BOOST_TEST(lost_counter() - lost_before == 45u);
    h.close();
}

// A write that stops part way through a line: the file is cut back to the
// end of its last whole line and the rest is written again later.
BOOST_AUTO_TEST_CASE(a_partial_write_is_cut_back_to_the_last_whole_line) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    RotatingFileSink h(options(path), fs);
    fs.enospc = true;
    fs.enospc_after = 250;  // two and a half lines get through, then the disk is full
    for (unsigned i = 0; i < 20; ++i) h.write_line(line(i));  // the write of 0..10 fails; 11..19 are lost
    h.flush();
    BOOST_TEST(fs.ftruncates == 1u);
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 2));  // no torn line
    BOOST_TEST(h.error_count() == 1u);
    BOOST_TEST(h.dropped_lines() == 9u);
    fs.enospc = false;
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 11));  // nothing lost, nothing repeated
    h.close();
    check_files(path, 3, 1u << 20);
}

// When the cut itself fails, the write resumes exactly where it stopped,
// which completes the torn line.
BOOST_AUTO_TEST_CASE(a_partial_write_that_cannot_be_cut_is_resumed_exactly) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    RotatingFileSink h(options(path), fs);
    fs.enospc = true;
    fs.enospc_after = 250;
    fs.fail_ftruncate = true;
    for (unsigned i = 0; i < 11; ++i) h.write_line(line(i));
    h.flush();
    BOOST_TEST(fs.ftruncates == 1u);
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 11).substr(0, 250));
    fs.enospc = false;
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 11));
    h.close();
    check_files(path, 3, 1u << 20);
}

// Closed while the disk is still full: what was kept is counted as lost and
// reported, and a torn line whose cut failed before is cut at close.
BOOST_AUTO_TEST_CASE(lines_kept_at_close_are_counted_and_no_torn_line_remains) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    const std::uint64_t lost_before = lost_counter();
    {
        RotatingFileSink h(options(path), fs);
        fs.enospc = true;
        fs.enospc_after = 250;
        fs.fail_ftruncate = true;
        for (unsigned i = 0; i < 20; ++i) h.write_line(line(i));  // 0..10 kept (0, 1 and half of 2 written), 11..19 lost
        h.flush();
        BOOST_TEST(h.dropped_lines() == 9u);
        BOOST_TEST(agora_test::read_file(path) == expected_content(0, 11).substr(0, 250));
        fs.fail_ftruncate = false;
        h.close();
        BOOST_TEST(h.dropped_lines() == 18u);  // lines 2..10 too
        BOOST_TEST(contains(h.last_error(), "9 records could not be written to " + path), h.last_error());
    }
    BOOST_TEST(lost_counter() - lost_before == 18u);
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 2));
}

// The case: a file near its limit, the disk full, many lines, space
// again. No file ever grows past the limit; every line is in exactly one
// file or counted as lost; no file ends torn.
BOOST_AUTO_TEST_CASE(a_file_never_grows_past_its_limit_whatever_fails) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    const std::uint64_t limit = 2000;  // 20 lines
    RotatingFileSink h(options(path, limit, 200), fs);
    unsigned seq = 0;
    for (int phase = 0; phase < 12; ++phase) {
        // Alternately: everything working, the disk full (a few bytes get
        // through first), a failing rename, the disk full with failing cuts
        // (the torn line is completed when writing works again).
        fs.enospc = phase % 4 == 1 || phase % 4 == 3;
        fs.enospc_after = fs.enospc ? 130 + 37 * static_cast<std::size_t>(phase) : 0;
        int renames_to_fail = phase % 4 == 2 ? 3 : 0;
        fs.fail_rename = [&](const std::string&, const std::string&) { return renames_to_fail-- > 0; };
        fs.fail_ftruncate = phase % 4 == 3;
        for (int i = 0; i < 57; ++i) {
            h.write_line(line(seq++));
            if (i % 13 == 0) h.flush();
            BOOST_TEST_REQUIRE(h.current_size() <= limit);
        }
        h.flush();
        if (phase % 4 != 3) check_files(path, 200, limit);
    }
    fs.enospc = false;
    fs.fail_ftruncate = false;
    fs.fail_rename = nullptr;
    h.close();
    check_files(path, 200, limit);
    const auto seqs = all_seqs(path, 200);
    BOOST_TEST(seqs.size() + h.dropped_lines() == seq);
    BOOST_TEST(h.dropped_lines() > 0u);
    for (std::size_t i = 1; i < seqs.size(); ++i) BOOST_TEST_REQUIRE(seqs[i] > seqs[i - 1]);  // none repeated
    BOOST_TEST(std::count(seqs.begin(), seqs.end(), -1) == 0);  // every line whole
}

BOOST_AUTO_TEST_CASE(a_write_that_makes_no_progress_is_an_error_not_a_spin) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    RotatingFileSink h(options(path), fs);
    fs.zero_write = true;
    h.write_line(line(0));
    h.flush();  // must return
    BOOST_TEST(h.error_count() == 1u);
    fs.zero_write = false;
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 1));
}

// A rotation that cannot finish: the full file takes no more lines (they
// are lost, counted), and the rotation is retried, resuming where it stopped.
BOOST_AUTO_TEST_CASE(failed_rename_keeps_the_limit_counts_the_lines_and_is_retried) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    int failures_left = 3;
    fs.fail_rename = [&](const std::string& from, const std::string&) {
        return from == path && failures_left-- > 0;
    };
    RotatingFileSink h(options(path, 4096, 3), fs);
    // 40 lines fill 4000 bytes; the 41st needs a rotation, whose rename fails.
    for (unsigned i = 0; i < 41; ++i) h.write_line(line(i));
    BOOST_TEST(fs.renames_failed == 1u);
    BOOST_TEST(h.rotations() == 0u);
    BOOST_TEST(h.error_count() == 1u);
    BOOST_TEST(contains(h.last_error(), "cannot rename"), h.last_error());
    BOOST_TEST(h.is_open());
    BOOST_TEST(h.failing());
    BOOST_TEST(h.dropped_lines() == 1u);
    h.flush();
    // Not truncated, not over the limit: the current file holds the 40 lines that fit.
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 40));
    BOOST_TEST(!agora_test::file_exists(backup(path, 1)));
    auto notices = messages(h.take_notices());
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(contains(notices[0], "File logging failed: rotation of " + path + " stopped: cannot rename"), notices[0]);

    BOOST_TEST(fs.renames_failed == 2u);  // flush() retried (retry_interval is 0)
    BOOST_TEST(h.failing());

    // Each following line retries: one more failure, then it works.
    for (unsigned i = 41; i < 43; ++i) h.write_line(line(i));
    BOOST_TEST(fs.renames_failed == 3u);
    BOOST_TEST(h.rotations() == 1u);
    BOOST_TEST(!h.failing());
    BOOST_TEST(h.dropped_lines() == 2u);  // 40 and 41
    notices = messages(h.take_notices());
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(contains(notices[0], "File logging restored; 2 records"), notices[0]);
    for (unsigned i = 43; i < 100; ++i) h.write_line(line(i));
    h.close();
    auto expected = range(0, 40);
    for (long i = 42; i < 100; ++i) expected.push_back(i);
    BOOST_TEST(all_seqs(path, 3) == expected, boost::test_tools::per_element());
    BOOST_TEST(agora_test::read_file(backup(path, 2)) == expected_content(0, 40));  // the rotation that finally worked
    check_files(path, 3, 4096);
}

BOOST_AUTO_TEST_CASE(failed_rename_with_full_backups_drops_only_the_oldest) {
    for (const char* failing : {"current", ".1", ".2"}) {
        BOOST_TEST_CONTEXT("failing rename of " << failing) {
            agora_test::TempDir dir;
            FaultyFs fs;
            const std::string path = dir.file(std::string("app") + failing + ".log");
            const std::string from = std::string(failing) == "current" ? path : path + failing;
            bool armed = false;
            int failures_left = 1;
            fs.fail_rename = [&](const std::string& f, const std::string&) {
                return armed && f == from && failures_left-- > 0;
            };
            RotatingFileSink h(options(path, 4096, 3), fs);
            // Four files of 40 lines: .3 .2 .1 and the current one, all full.
            unsigned seq = 0;
            for (; seq < 160; ++seq) h.write_line(line(seq));
            BOOST_TEST_REQUIRE(h.rotations() == 3u);
            armed = true;
            h.write_line(line(seq++));  // rotation fails part way: line 160 is lost
            BOOST_TEST(fs.renames_failed == 1u);
            BOOST_TEST(h.dropped_lines() == 1u);
            h.write_line(line(seq++));  // retried
            for (; seq < 200; ++seq) h.write_line(line(seq));
            h.close();
            // One rotation dropped lines 0..39 (the oldest file); everything
            // else but the lost line is kept, in order.
            auto expected = range(40, 160);
            for (long i = 161; i < 200; ++i) expected.push_back(i);
            BOOST_TEST(all_seqs(path, 3) == expected, boost::test_tools::per_element());
            check_files(path, 3, 4096);
            for (std::size_t k = 1; k <= 3; ++k)
                BOOST_TEST(agora_test::file_exists(backup(path, k)), backup(path, k) << " missing");
            BOOST_TEST(!agora_test::file_exists(backup(path, 4)));
        }
    }
}

// With files of 1 MiB or more the oldest backup is renamed to
// <path>.removing and unlinked off the rotating call; a .removing left by an
// earlier process is replaced. A failing rename of the oldest stops the
// rotation like a failing unlink does ("cannot remove"), and the retry
// finishes it.
BOOST_AUTO_TEST_CASE(oldest_backup_is_moved_aside_and_removed_after_the_rotation) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    const std::string aside = path + ".removing";
    {
        std::ofstream stale(aside);
        stale << "left by an earlier process\n";
    }
    unsigned moved_aside = 0;
    int aside_failures = 0;
    fs.fail_rename = [&](const std::string& from, const std::string& to) {
        if (to != aside) return false;
        if (aside_failures > 0) {
            --aside_failures;
            return true;
        }
        moved_aside += from == backup(path, 2) && agora_test::file_exists(from) ? 1 : 0;
        return false;
    };
    constexpr std::size_t kLine = 32767;                     // 32 KiB with its newline
    constexpr std::uint64_t kLimit = 1u << 20;                // 32 lines a file
    constexpr unsigned kPer = kLimit / (kLine + 1);
    RotatingFileSink h(options(path, kLimit, 2), fs);
    unsigned seq = 0;
    for (; seq < 4 * kPer; ++seq) h.write_line(line(seq, kLine));  // the third rotation drops the first file
    BOOST_TEST(h.rotations() == 3u);
    BOOST_TEST(moved_aside == 1u);

    aside_failures = 1;
    h.write_line(line(seq++, kLine));  // its rotation stops at the oldest: this line is lost
    BOOST_TEST(h.dropped_lines() == 1u);
    BOOST_TEST(contains(h.last_error(), "cannot remove " + backup(path, 2)), h.last_error());
    for (; seq < 5 * kPer; ++seq) h.write_line(line(seq, kLine));  // retried: it works
    BOOST_TEST(h.rotations() == 4u);
    BOOST_TEST(moved_aside == 2u);
    h.close();
    BOOST_TEST(!agora_test::file_exists(aside));
    auto expected = range(2 * kPer, 4 * kPer);
    for (long i = 4 * kPer + 1; i < 5 * kPer; ++i) expected.push_back(i);
    BOOST_TEST(all_seqs(path, 2) == expected, boost::test_tools::per_element());
    check_files(path, 2, kLimit);
}

BOOST_AUTO_TEST_CASE(failed_open_reports_the_path_and_recovers) {
    agora_test::TempDir dir;
    FaultyFs fs;
    fs.fail_open = true;
    const std::string path = dir.file("app.log");
    RotatingFileSink h(options(path), fs);
    auto fallback = std::make_shared<Capture>();
    h.set_fallback(fallback);
    BOOST_TEST(!h.is_open());
    BOOST_TEST(h.failing());
    BOOST_TEST(h.error_count() == 1u);
    BOOST_TEST(contains(h.last_error(), path), h.last_error());
    BOOST_TEST(contains(h.last_error(), std::strerror(EACCES)), h.last_error());
    auto notices = messages(h.take_notices());
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(notices[0] == "File logging failed: cannot open log file " + path + ": " + std::strerror(EACCES));

    // Lines go to the fallback while the file cannot be opened...
    for (unsigned i = 0; i < 5; ++i) emit(h, line(i));
    h.flush();
    BOOST_TEST(!h.is_open());
    BOOST_TEST(fallback->lines.size() == 5u);
    BOOST_TEST(h.dropped_lines() == 5u);
    // ...and to the file once it can be opened (retry_interval is 0).
    fs.fail_open = false;
    h.flush();
    BOOST_TEST(h.is_open());
    for (unsigned i = 5; i < 8; ++i) emit(h, line(i));
    h.close();
    BOOST_TEST(agora_test::read_file(path) == expected_content(5, 8));
    BOOST_TEST(fallback->lines.size() == 5u);
    notices = messages(h.take_notices());
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(contains(notices[0], "File logging restored; 5 records"), notices[0]);
}

// The log directory removed while logging: the periodic check (fstat
// st_nlink == 0, every check_interval of the test's clock) finds it, counts
// the lines written since the previous check as lost, recreates the
// directory and writes on to a new file.
BOOST_AUTO_TEST_CASE(a_removed_log_directory_is_found_and_recreated) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string logs = dir.file("logs");
    const std::string path = logs + "/app.log";
    auto o = options(path);
    o.check_interval = std::chrono::milliseconds(1000);
    RotatingFileSink h(o, fs);
    BOOST_TEST_REQUIRE(h.is_open());
    const std::uint64_t lost_before = lost_counter();
    for (unsigned i = 0; i < 5; ++i) h.write_line(line(i));
    fs.advance(std::chrono::milliseconds(1000));
    h.flush();  // written, then checked: present
    BOOST_TEST(fs.fstats == 1u);
    BOOST_TEST(h.dropped_lines() == 0u);
    for (unsigned i = 5; i < 8; ++i) h.write_line(line(i));
    h.flush();  // written; no check due
    BOOST_TEST(fs.fstats == 1u);
    std::filesystem::remove_all(logs);
    for (unsigned i = 8; i < 10; ++i) h.write_line(line(i));
    h.flush();  // into the removed file
    const std::uint64_t generation = h.generation();
    fs.advance(std::chrono::milliseconds(1000));
    h.flush();  // checked: removed
    BOOST_TEST(fs.fstats == 2u);
    BOOST_TEST(h.dropped_lines() == 5u);  // 5..9
    BOOST_TEST(lost_counter() - lost_before == 5u);
    BOOST_TEST(h.generation() != generation);
    BOOST_TEST(h.is_open());
    auto notices = h.take_notices();
    BOOST_TEST_REQUIRE(notices.size() == 1u);
    BOOST_TEST(notices[0].level == agora::log::Level::warning);
    BOOST_TEST(contains(notices[0].message, "Log file " + path + " was removed; reopened it (5 records"),
               notices[0].message);
    for (unsigned i = 10; i < 14; ++i) h.write_line(line(i));
    h.close();
    BOOST_TEST(agora_test::read_file(path) == expected_content(10, 14));
}

// The same check through the seam alone: fstat reporting no link.
BOOST_AUTO_TEST_CASE(a_file_whose_link_count_is_zero_is_reopened) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    auto o = options(path);
    o.check_interval = std::chrono::milliseconds(0);
    RotatingFileSink h(o, fs);
    h.write_line(line(0));
    h.flush();
    BOOST_TEST(h.take_notices().empty());
    const unsigned opens = fs.opens;
    fs.report_unlinked = true;
    h.write_line(line(1));
    h.flush();  // line 1 is written, then the check finds no link
    fs.report_unlinked = false;
    BOOST_TEST(fs.opens == opens + 1);
    BOOST_TEST(h.dropped_lines() == 1u);
    BOOST_TEST(messages(h.take_notices()).size() == 1u);
    h.close();
}

BOOST_AUTO_TEST_CASE(failed_directory_creation_reports_the_directory) {
    agora_test::TempDir dir;
    FaultyFs fs;
    fs.fail_mkdir = dir.file("missing");
    const std::string path = dir.file("missing/app.log");
    RotatingFileSink h(options(path), fs);
    BOOST_TEST(!h.is_open());
    BOOST_TEST(contains(h.last_error(), "cannot create directory " + dir.file("missing")), h.last_error());
    BOOST_TEST(contains(h.last_error(), std::strerror(EROFS)), h.last_error());
    BOOST_TEST(fs.opens == 0u);
}

BOOST_AUTO_TEST_CASE(real_unwritable_path) {
    RotatingFileSink h(options("/proc/forbidden/x.log"));
    BOOST_TEST(!h.is_open());
    BOOST_TEST(contains(h.last_error(), "/proc/forbidden"), h.last_error());
    h.write_line("{}");
    h.close();  // nothing to write to; must not crash
}

BOOST_AUTO_TEST_CASE(console_handler_completes_short_and_interrupted_writes) {
    agora_test::TempDir dir;
    FaultyFs fs;
    fs.max_write = 5;
    fs.eintr_every = 3;
    const std::string path = dir.file("console.out");
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    std::string expected;
    {
        agora::log::detail::ConsoleSink console(agora::log::ConsoleFormat::json, false, fd, fs);
        for (unsigned i = 0; i < 20; ++i) {
            const std::string json = line(i, 60);
            agora::log::LogRecordView r{};
            r.level = agora::log::Level::info;
            r.json = json;
            console.emit(r);
            expected += json + "\n";
        }
        console.close();
    }
    ::close(fd);
    BOOST_TEST(fs.short_writes > 0u);
    BOOST_TEST(fs.eintr_injected > 0u);
    BOOST_TEST(agora_test::read_file(path) == expected);
}

// ---- through initialize(): the backend ------------------------------------

class Throwing : public agora::log::Handler {
public:
    void emit(const agora::log::LogRecordView&) override {
        ++calls;
        throw std::runtime_error("disk on fire");
    }
    void flush() override {}
    void close() override {}
    int calls = 0;  // backend thread; read after shutdown()
};

std::vector<agora_test::Entry> parse_all(const std::vector<std::string>& lines) {
    std::vector<agora_test::Entry> entries;
    for (const auto& l : lines) {
        std::string error;
        auto e = agora_test::parse_entry(l, error);
        BOOST_TEST(e.has_value(), error << ": " << l);
        if (e) entries.push_back(*e);
    }
    return entries;
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_is_caught_counted_and_reported_once) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("handlers.log");
    auto thrower = std::make_shared<Throwing>();
    auto capture = std::make_shared<Capture>();
    BOOST_REQUIRE(agora::log::initialize(agora_test::quiet_config(path), {thrower, capture}));
    const std::uint64_t lost_before = agora::log::stats().records_lost_by_handlers;
    auto log = agora::log::get_logger("failures.handler");
    for (int i = 0; i < 3; ++i) log.info("record {}", i);
    agora::log::flush();
    agora::log::shutdown();
    BOOST_TEST(thrower->calls == 3);  // the error entry is not given to the handler it is about
    BOOST_TEST(agora::log::stats().records_lost_by_handlers - lost_before == 3u);
    // The other handlers have every record, and one error entry.
    for (const auto& lines : {capture->lines, agora_test::read_lines(path).lines}) {
        const auto entries = parse_all(lines);
        BOOST_TEST_REQUIRE(entries.size() == 4u);
        std::vector<std::string> records;
        int errors = 0;
        for (const auto& e : entries) {
            if (e.message == "Handler error: std::runtime_error: disk on fire") {
                ++errors;
                BOOST_TEST(e.level == "ERROR");
            } else {
                records.push_back(e.message);
            }
        }
        BOOST_TEST(errors == 1);
        BOOST_TEST(records == (std::vector<std::string>{"record 0", "record 1", "record 2"}),
                   boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(a_log_file_that_cannot_be_opened_is_reported_and_its_records_counted) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string blocker = dir.file("not-a-directory");
    { std::ofstream(blocker) << "x"; }
    auto config = agora_test::quiet_config(blocker + "/app.log");  // no console: the file's fallback is one
    auto capture = std::make_shared<Capture>();
    const std::uint64_t lost_before = agora::log::stats().records_lost_by_handlers;
    BOOST_REQUIRE(agora::log::initialize(config, {capture}));
    auto log = agora::log::get_logger("failures.open");
    for (int i = 0; i < 3; ++i) log.info("record {}", i);
    agora::log::flush();
    agora::log::shutdown();
    const auto entries = parse_all(capture->lines);
    BOOST_TEST_REQUIRE(entries.size() == 4u);
    BOOST_TEST(entries[0].level == "ERROR");
    BOOST_TEST(entries[0].message == "File logging failed: cannot open log file " + blocker + "/app.log: " +
                                         std::strerror(ENOTDIR));
    for (int i = 0; i < 3; ++i) BOOST_TEST(entries[1 + i].message == fmt::format("record {}", i));
    // The file took none of them, its own failure entry included.
    BOOST_TEST(agora::log::stats().records_lost_by_handlers - lost_before == 4u);
}
