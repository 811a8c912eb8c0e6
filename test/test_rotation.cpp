// Size-based rotation: RotatingFileHandler directly (small limits, compared
// with a model of the algorithm) and end to end through Config. No file
// goes over the limit, backups are path.1 (newest) .. path.N (oldest),
// nothing is lost while the backups suffice and only the oldest is dropped
// when they do not, an existing file's size is continued, and directories
// and files get modes 0750 and 0640.

#define BOOST_TEST_MODULE rotation
#include "common.hpp"

#include <fmt/format.h>

#include <random>

using agora::log::RotatingFileHandler;

namespace {

std::string backup(const std::string& path, std::size_t k) {
    return k == 0 ? path : path + "." + std::to_string(k);
}

/// A line (without its newline) of exactly `length` bytes carrying `seq`.
std::string make_line(unsigned seq, std::size_t length) {
    std::string line = fmt::format("{{\"seq\":{:08d},\"pad\":\"", seq);
    const std::size_t tail = 2;  // "}
    if (line.size() + tail < length) line.append(length - line.size() - tail, 'p');
    line += "\"}";
    return line;
}

long seq_of(const std::string& line) {
    unsigned seq = 0;
    if (std::sscanf(line.c_str(), "{\"seq\":%u", &seq) != 1) return -1;
    return static_cast<long>(seq);
}

/// The rotation algorithm, as documented: before a line is added, if the
/// file would grow past the limit (and is not empty), rotate.
struct Model {
    std::uint64_t max_size;
    std::uint32_t max_backups;
    std::vector<std::vector<long>> files{{}};  // [0] current, [k] path.k
    std::uint64_t size = 0;
    std::uint64_t rotations = 0;

    void write(long seq, std::size_t bytes_with_newline) {
        if (size + bytes_with_newline > max_size && size > 0) {
            ++rotations;
            files.insert(files.begin(), std::vector<long>{});
            if (files.size() > max_backups + 1) files.resize(max_backups + 1);
            size = 0;
        }
        files[0].push_back(seq);
        size += bytes_with_newline;
    }
};

/// Compares the files on disk with the model; returns the differences.
std::vector<std::string> compare(const std::string& path, const Model& model, std::uint64_t limit) {
    std::vector<std::string> diffs;
    for (std::size_t k = 0; k <= model.max_backups + 1; ++k) {
        const std::string f = backup(path, k);
        const bool should_exist = k < model.files.size();
        if (agora_test::file_exists(f) != should_exist) {
            diffs.push_back(f + (should_exist ? " is missing" : " should not exist"));
            continue;
        }
        if (!should_exist) continue;
        if (agora_test::file_size(f) > limit)
            diffs.push_back(f + " has " + std::to_string(agora_test::file_size(f)) + " bytes, over the limit");
        auto lines = agora_test::read_lines(f);
        if (lines.unterminated) diffs.push_back(f + ": last line unterminated");
        std::vector<long> seqs;
        for (const auto& l : lines.lines) seqs.push_back(seq_of(l));
        if (seqs != model.files[k]) {
            diffs.push_back(fmt::format("{}: holds {} lines [{}..{}], expected {} lines [{}..{}]", f, seqs.size(),
                                        seqs.empty() ? -1 : seqs.front(), seqs.empty() ? -1 : seqs.back(),
                                        model.files[k].size(), model.files[k].empty() ? -1 : model.files[k].front(),
                                        model.files[k].empty() ? -1 : model.files[k].back()));
        }
    }
    return diffs;
}

RotatingFileHandler::Options options(const std::string& path, std::uint64_t max_size, std::uint32_t backups) {
    RotatingFileHandler::Options o;
    o.path = path;
    o.max_size_bytes = max_size;
    o.max_backups = backups;
    o.retry_interval = std::chrono::milliseconds(0);
    return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rotation_order_limit_and_loss_match_the_model) {
    agora_test::TempDir dir;
    agora_test::UmaskGuard umask(022);
    const std::string path = dir.file("logs/deeper/app.log");
    constexpr std::uint64_t kMax = 4096;
    RotatingFileHandler handler(options(path, kMax, 3));
    BOOST_TEST_REQUIRE(handler.is_open(), handler.last_error());
    BOOST_TEST(handler.current_size() == 0u);

    Model model{kMax, 3};
    std::mt19937 rng(42);
    std::uniform_int_distribution<std::size_t> length(40, 400);
    long seq = 0;
    // Phase 1: three rotations at most, so the backups keep everything.
    while (model.rotations < 3) {
        const std::size_t n = length(rng);
        model.write(seq, n + 1);
        handler.write_line(make_line(static_cast<unsigned>(seq), n));
        ++seq;
    }
    handler.flush();
    BOOST_TEST(handler.rotations() == model.rotations);
    BOOST_TEST(handler.current_size() == model.size);
    {
        auto diffs = compare(path, model, kMax);
        BOOST_TEST(diffs.empty(), agora_test::join_errors(diffs));
        // Nothing lost: every line so far, in order, across .3 .2 .1 and the current file.
        std::vector<long> all;
        for (std::size_t k = 4; k-- > 0;)
            for (const auto& l : agora_test::read_lines(backup(path, k)).lines) all.push_back(seq_of(l));
        std::vector<long> expected(static_cast<std::size_t>(seq));
        for (long i = 0; i < seq; ++i) expected[static_cast<std::size_t>(i)] = i;
        BOOST_TEST(all == expected, boost::test_tools::per_element());
    }

    // Phase 2: many more rotations; the oldest files are dropped.
    for (int i = 0; i < 400; ++i, ++seq) {
        const std::size_t n = length(rng);
        model.write(seq, n + 1);
        handler.write_line(make_line(static_cast<unsigned>(seq), n));
    }
    handler.close();
    BOOST_TEST(handler.rotations() == model.rotations);
    BOOST_TEST(model.rotations > 10u);
    auto diffs = compare(path, model, kMax);
    BOOST_TEST(diffs.empty(), agora_test::join_errors(diffs));
    BOOST_TEST(!agora_test::file_exists(backup(path, 4)));
    BOOST_TEST(handler.error_count() == 0u);

    // Modes: directories 0750, the file and its backups 0640.
    BOOST_TEST(agora_test::file_mode(dir.file("logs")) == 0750u);
    BOOST_TEST(agora_test::file_mode(dir.file("logs/deeper")) == 0750u);
    for (std::size_t k = 0; k <= 3; ++k) BOOST_TEST(agora_test::file_mode(backup(path, k)) == 0640u, backup(path, k));
}

BOOST_AUTO_TEST_CASE(existing_directory_modes_are_left_alone) {
    agora_test::TempDir dir;
    agora_test::UmaskGuard umask(022);
    std::filesystem::create_directories(dir.file("mine"));
    ::chmod(dir.file("mine").c_str(), 0755);
    RotatingFileHandler handler(options(dir.file("mine/app.log"), 4096, 1));
    BOOST_TEST(handler.is_open());
    BOOST_TEST(agora_test::file_mode(dir.file("mine")) == 0755u);
    BOOST_TEST(agora_test::file_mode(dir.file("mine/app.log")) == 0640u);
}

BOOST_AUTO_TEST_CASE(restart_continues_the_size_of_an_existing_file) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.log");
    const std::string previous = std::string(999, 'o') + "\n";  // 1000 bytes from an earlier run
    {
        std::ofstream out(path, std::ios::binary);
        out << previous;
    }
    RotatingFileHandler handler(options(path, 4096, 2));
    BOOST_TEST_REQUIRE(handler.is_open());
    BOOST_TEST(handler.current_size() == 1000u);

    // 100-byte lines: 30 of them reach 4000 bytes, the 31st would make 4100 > 4096.
    for (unsigned i = 0; i < 30; ++i) handler.write_line(make_line(i, 99));
    BOOST_TEST(handler.current_size() == 4000u);
    BOOST_TEST(handler.rotations() == 0u);
    handler.write_line(make_line(30, 99));
    BOOST_TEST(handler.rotations() == 1u);
    BOOST_TEST(handler.current_size() == 100u);
    handler.close();

    // The earlier run's bytes were kept (not truncated) and rotated with ours.
    const std::string rotated = agora_test::read_file(backup(path, 1));
    BOOST_TEST(rotated.size() == 4000u);
    BOOST_TEST(rotated.substr(0, 1000) == previous);
    BOOST_TEST(agora_test::read_lines(backup(path, 1)).lines.size() == 31u);
    auto current = agora_test::read_lines(path);
    BOOST_TEST_REQUIRE(current.lines.size() == 1u);
    BOOST_TEST(seq_of(current.lines[0]) == 30);
}

BOOST_AUTO_TEST_CASE(a_line_over_the_limit_gets_a_file_of_its_own) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.log");
    RotatingFileHandler handler(options(path, 4096, 3));
    handler.write_line(make_line(0, 99));
    handler.write_line(make_line(1, 5000));  // rotates first, then alone in its file
    handler.write_line(make_line(2, 99));    // rotates again
    handler.close();
    BOOST_TEST(handler.rotations() == 2u);
    auto oldest = agora_test::read_lines(backup(path, 2)).lines;
    auto big = agora_test::read_lines(backup(path, 1)).lines;
    auto current = agora_test::read_lines(path).lines;
    BOOST_TEST_REQUIRE(oldest.size() == 1u);
    BOOST_TEST_REQUIRE(big.size() == 1u);
    BOOST_TEST_REQUIRE(current.size() == 1u);
    BOOST_TEST(seq_of(oldest[0]) == 0);
    BOOST_TEST(seq_of(big[0]) == 1);
    BOOST_TEST(big[0].size() == 5000u);
    BOOST_TEST(seq_of(current[0]) == 2);
}

BOOST_AUTO_TEST_CASE(zero_backups_keep_only_the_current_file) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.log");
    RotatingFileHandler handler(options(path, 4096, 0));
    Model model{4096, 0};
    for (unsigned i = 0; i < 200; ++i) {
        model.write(i, 100);
        handler.write_line(make_line(i, 99));
    }
    handler.close();
    auto diffs = compare(path, model, 4096);
    BOOST_TEST(diffs.empty(), agora_test::join_errors(diffs));
    BOOST_TEST(!agora_test::file_exists(backup(path, 1)));
    BOOST_TEST(handler.rotations() == model.rotations);
}

namespace {

struct FileLines {
    std::string path;
    std::vector<std::string> lines;
    std::uint64_t size;
};

long message_seq(const std::string& line) {
    std::string error;
    auto e = agora_test::parse_entry(line, error);
    if (!e) return -1;
    unsigned seq = 0;
    if (std::sscanf(e->message.c_str(), "seq=%u", &seq) != 1) return -1;
    return static_cast<long>(seq);
}

/// Logs `count` ~370-byte records through a Config with a 1 MiB limit and
/// returns the files oldest first.
std::vector<FileLines> log_through_config(const std::string& path, std::uint32_t backups, unsigned count) {
    auto config = agora_test::quiet_config(path);
    config.max_file_size_mb = 1;
    config.max_backup_count = backups;
    config.queue_full_policy = agora::log::QueueFullPolicy::block;
    agora_test::ShutdownGuard guard;
    auto ok = agora::log::initialize(config);
    BOOST_TEST_REQUIRE(static_cast<bool>(ok));
    auto log = agora::log::get_logger("rotation.e2e");
    const std::string pad(150, 'z');
    for (unsigned i = 0; i < count; ++i) log.info("seq={} pad={}", i, pad);
    agora::log::shutdown();

    std::vector<FileLines> files;
    for (std::size_t k = backups + 1; k-- > 0;) {
        const std::string f = backup(path, k);
        if (!agora_test::file_exists(f)) continue;
        files.push_back({f, agora_test::read_lines(f).lines, agora_test::file_size(f)});
    }
    return files;
}

void check_files(const std::vector<FileLines>& files, unsigned count, bool expect_all) {
    constexpr std::uint64_t kLimit = 1u << 20;
    std::vector<long> seqs;
    for (std::size_t f = 0; f < files.size(); ++f) {
        BOOST_TEST(files[f].size <= kLimit, files[f].path << " has " << files[f].size << " bytes");
        for (const auto& l : files[f].lines) seqs.push_back(message_seq(l));
        // A backup was rotated only when the next line would not fit.
        if (f + 1 < files.size() && !files[f + 1].lines.empty())
            BOOST_TEST(files[f].size + files[f + 1].lines.front().size() + 1 > kLimit, files[f].path);
    }
    BOOST_TEST_REQUIRE(!seqs.empty());
    std::size_t gaps = 0;
    for (std::size_t i = 1; i < seqs.size(); ++i)
        if (seqs[i] != seqs[i - 1] + 1) ++gaps;
    BOOST_TEST(gaps == 0u, "lines are not one contiguous, ordered run");
    BOOST_TEST(seqs.back() == static_cast<long>(count) - 1);
    if (expect_all) {
        BOOST_TEST(seqs.front() == 0);
        BOOST_TEST(seqs.size() == count);
    } else {
        BOOST_TEST(seqs.front() > 0);  // the oldest were dropped
        BOOST_TEST(seqs.size() < count);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(end_to_end_enough_backups_lose_nothing) {
    agora_test::TempDir dir;
    const std::string path = dir.file("e2e/app.log");
    const unsigned kCount = 9000;  // ~3 MiB of ~370-byte lines
    auto files = log_through_config(path, 5, kCount);
    BOOST_TEST(files.size() >= 3u);  // at least .2 .1 and the current file
    BOOST_TEST(!agora_test::file_exists(backup(path, 5)));
    check_files(files, kCount, true);
}

BOOST_AUTO_TEST_CASE(end_to_end_too_few_backups_drop_the_oldest) {
    agora_test::TempDir dir;
    const std::string path = dir.file("e2e/app.log");
    const unsigned kCount = 9000;
    auto files = log_through_config(path, 1, kCount);
    BOOST_TEST(files.size() == 2u);  // .1 and the current file
    BOOST_TEST(!agora_test::file_exists(backup(path, 2)));
    check_files(files, kCount, false);
}
