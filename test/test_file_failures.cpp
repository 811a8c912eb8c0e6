// The sinks' system-call seam (detail::FileSystem): a FileSystem that
// injects EINTR, short writes, ENOSPC, failed renames and failed opens shows
// that the rotating file (and the console) lose nothing they could
// keep, never truncate, report errors through error_count()/last_error(),
// and recover when the system calls work again.

#define BOOST_TEST_MODULE file_failures
#include "common.hpp"

#include "sinks/console_sink.hpp"
#include "sinks/rotating_file_sink.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <functional>

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

    // What happened.
    unsigned writes = 0, eintr_injected = 0, short_writes = 0, enospc_injected = 0;
    unsigned renames = 0, renames_failed = 0, opens = 0;

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

}  // namespace

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

BOOST_AUTO_TEST_CASE(enospc_keeps_lines_and_recovers) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    RotatingFileSink h(options(path), fs);
    BOOST_TEST_REQUIRE(h.is_open());
    for (unsigned i = 0; i < 5; ++i) h.write_line(line(i));
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 5));

    // The disk fills up: lines are kept and retried, the error is reported once.
    fs.enospc = true;
    for (unsigned i = 5; i < 60; ++i) h.write_line(line(i));  // 5.5 KB: over buffer_bytes, so writes are attempted
    h.flush();
    h.flush();
    BOOST_TEST(fs.enospc_injected > 0u);
    BOOST_TEST(h.error_count() == 1u);
    BOOST_TEST(contains(h.last_error(), std::strerror(ENOSPC)), h.last_error());
    BOOST_TEST(contains(h.last_error(), path), h.last_error());
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 5));
    BOOST_TEST(h.current_size() == 60u * 100u);  // buffered bytes count

    // Space again: everything kept is written, in order, and recovery is reported.
    fs.enospc = false;
    for (unsigned i = 60; i < 70; ++i) h.write_line(line(i));
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 70));
    BOOST_TEST(h.error_count() == 2u);
    BOOST_TEST(contains(h.last_error(), "works again"), h.last_error());
    BOOST_TEST(h.dropped_lines() == 0u);
    h.close();
}

BOOST_AUTO_TEST_CASE(enospc_after_a_partial_write_neither_loses_nor_repeats) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    RotatingFileSink h(options(path), fs);
    fs.enospc = true;
    fs.enospc_after = 250;  // two and a half lines get through, then the disk is full
    for (unsigned i = 0; i < 20; ++i) h.write_line(line(i));
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 20).substr(0, 250));
    BOOST_TEST(h.error_count() == 1u);
    fs.enospc = false;
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 20));
    h.close();
}

BOOST_AUTO_TEST_CASE(enospc_beyond_max_pending_drops_and_reports_the_count) {
    agora_test::TempDir dir;
    FaultyFs fs;
    const std::string path = dir.file("app.log");
    auto o = options(path);
    o.max_pending_bytes = 2000;  // 20 lines
    RotatingFileSink h(o, fs);
    fs.enospc = true;
    for (unsigned i = 0; i < 50; ++i) h.write_line(line(i));
    h.flush();
    BOOST_TEST(h.dropped_lines() == 30u);
    fs.enospc = false;
    h.flush();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 20));
    BOOST_TEST(contains(h.last_error(), "30 lines were dropped"), h.last_error());
    // Afterwards lines flow again.
    h.write_line(line(50));
    h.close();
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 20) + line(50) + "\n");
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

BOOST_AUTO_TEST_CASE(failed_rename_loses_nothing_and_is_retried) {
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
    h.flush();
    // Not truncated: the current file holds every line so far (over the limit for now).
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 41));
    BOOST_TEST(!agora_test::file_exists(backup(path, 1)));

    // retry_interval is 0: each following line retries; two more failures, then it works.
    for (unsigned i = 41; i < 44; ++i) h.write_line(line(i));
    BOOST_TEST(fs.renames_failed == 3u);
    BOOST_TEST(h.rotations() == 1u);
    for (unsigned i = 44; i < 100; ++i) h.write_line(line(i));
    h.close();
    BOOST_TEST(all_seqs(path, 3) == range(0, 100), boost::test_tools::per_element());
    BOOST_TEST(agora_test::read_file(backup(path, 2)) == expected_content(0, 43));  // the rotation that finally worked
}

// A rename failing in the middle of a rotation, when every backup slot is
// in use: the retry must not delete a second backup (only the oldest is
// dropped by one rotation) and must leave no gap in .1 .. .N.
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
            h.write_line(line(seq++));  // rotation fails part way
            BOOST_TEST(fs.renames_failed == 1u);
            h.write_line(line(seq++));  // retried
            for (; seq < 200; ++seq) h.write_line(line(seq));
            h.close();
            // One rotation dropped lines 0..39 (the oldest file); everything else is kept, in order.
            BOOST_TEST(all_seqs(path, 3) == range(40, 200), boost::test_tools::per_element());
            for (std::size_t k = 1; k <= 3; ++k)
                BOOST_TEST(agora_test::file_exists(backup(path, k)), backup(path, k) << " missing");
            BOOST_TEST(!agora_test::file_exists(backup(path, 4)));
        }
    }
}

BOOST_AUTO_TEST_CASE(failed_open_reports_the_path_and_recovers) {
    agora_test::TempDir dir;
    FaultyFs fs;
    fs.fail_open = true;
    const std::string path = dir.file("app.log");
    RotatingFileSink h(options(path), fs);
    BOOST_TEST(!h.is_open());
    BOOST_TEST(h.error_count() == 1u);
    BOOST_TEST(contains(h.last_error(), path), h.last_error());
    BOOST_TEST(contains(h.last_error(), std::strerror(EACCES)), h.last_error());

    // Lines are kept while the file cannot be opened...
    for (unsigned i = 0; i < 5; ++i) h.write_line(line(i));
    h.flush();
    BOOST_TEST(!h.is_open());
    // ...and written once it can (retry_interval is 0).
    fs.fail_open = false;
    h.flush();
    BOOST_TEST(h.is_open());
    BOOST_TEST(agora_test::read_file(path) == expected_content(0, 5));
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
