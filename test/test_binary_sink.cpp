// The binary log file (Config::file_format = binary, src/binary_sink.*): every
// file starts with the header, the identity and the clock, and holds the
// logger, site, snapshot and symbol entries of its records before them, also
// across rotations and after dropped chunks; internal entries and clock
// changes are written; failures of the file behave as for the JSON file.
// The files are read back with the small entry reader below (it checks each
// entry's framing and checksum, and that every record's metadata precedes it
// in the same file).
// Each test case writes its files in its own TempDir.

#define BOOST_TEST_MODULE binary_sink
#include "common.hpp"

#include "sinks/binary_sink.hpp"
#include "format/record_codec.hpp"
#include "base/clock.hpp"
#include "format/context_snapshot.hpp"

#include <agora/log/detail/binary_format.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

using agora::log::Config;
using agora::log::FileFormat;
using agora::log::Level;
using RotatingFileSink = agora::log::detail::RotatingFileSink;
namespace d = agora::log::detail;

namespace {

/// One file, read back: the entries in order and what was wrong with them.
struct ReadFile {
    bool has_header = false;
    d::FileHeader header{};
    std::vector<d::EntryType> types;  // every entry, in order
    std::vector<std::string> problems;
    // Per record (timed_record), in order.
    struct Record {
        d::RecordHeader header;
        std::int64_t unix_ns;
    };
    std::vector<Record> records;
    struct Internal {
        Level level;
        std::string message, file, function;
    };
    std::vector<Internal> internals;
    std::vector<double> clock_ns_per_tick;  // clock entries
    std::size_t snapshot_entries = 0, symbol_entries = 0, logger_entries = 0, site_entries = 0;
    std::string service;
};

std::string hex(std::uint64_t v) { return fmt::format("0x{:x}", v); }

/// Parses `bytes` as one binary log file. `expect_header`: the file must
/// start with a FileHeader (else it starts with entries: a continued file).
ReadFile read_binary(const std::string& bytes, bool expect_header = true) {
    ReadFile f;
    const auto* data = reinterpret_cast<const std::byte*>(bytes.data());
    std::size_t pos = 0;
    if (expect_header) {
        if (bytes.size() < sizeof(d::FileHeader) || std::memcmp(bytes.data(), d::kFileMagic, 8) != 0) {
            f.problems.push_back("no file header");
            return f;
        }
        std::memcpy(&f.header, data, sizeof f.header);
        f.has_header = true;
        pos = f.header.header_size;
    }
    // What the file defined so far: logger and site ids, snapshot address -> id, symbols.
    std::set<std::uint32_t> loggers;
    std::map<std::uint32_t, std::vector<d::TypeCode>> sites;
    std::map<std::uint64_t, std::uint64_t> snapshots;
    std::set<std::uint64_t> symbols;
    while (pos < bytes.size()) {
        d::EntryHeader h;
        if (bytes.size() - pos < sizeof h) {
            f.problems.push_back(fmt::format("offset {}: truncated entry header", pos));
            break;
        }
        std::memcpy(&h, data + pos, sizeof h);
        if (h.sync != d::kEntrySync || h.size > bytes.size() - pos - sizeof h ||
            d::entry_checksum(h.type, data + pos + sizeof h, h.size) != h.checksum) {
            f.problems.push_back(fmt::format("offset {}: bad entry (sync, size or checksum)", pos));
            break;
        }
        f.types.push_back(h.type);
        const std::byte* p = data + pos + sizeof h;
        d::BlobReader r{p, p + h.size};
        switch (h.type) {
            case d::EntryType::identity: f.service = std::string(r.string()); break;
            case d::EntryType::clock: {
                r.get<std::uint64_t>();
                f.clock_ns_per_tick.push_back(r.get<double>());
                break;
            }
            case d::EntryType::logger:
                ++f.logger_entries;
                loggers.insert(r.get<std::uint32_t>());
                break;
            case d::EntryType::site: {
                ++f.site_entries;
                const auto id = r.get<std::uint32_t>();
                r.get<std::uint8_t>();
                r.get<std::uint32_t>();
                r.string();
                r.string();
                r.string();
                const auto n = r.get<std::uint32_t>();
                std::vector<d::TypeCode> types(n);
                for (auto& t : types) t = static_cast<d::TypeCode>(r.get<std::uint8_t>());
                sites[id] = types;
                break;
            }
            case d::EntryType::snapshot: {
                ++f.snapshot_entries;
                const auto address = r.get<std::uint64_t>();
                snapshots[address] = r.get<std::uint64_t>();
                break;
            }
            case d::EntryType::symbol: {
                ++f.symbol_entries;
                const auto address = r.get<std::uint64_t>();
                if (r.string().empty()) f.problems.push_back("symbol without text at " + hex(address));
                symbols.insert(address);
                break;
            }
            case d::EntryType::timed_record: {
                const auto unix_ns = r.get<std::int64_t>();
                d::RecordHeader rh;
                std::memcpy(&rh, r.p, sizeof rh);
                if (rh.size + 8 != h.size) f.problems.push_back(fmt::format("offset {}: record size {}", pos, rh.size));
                f.records.push_back({rh, unix_ns});
                const std::string where = fmt::format("record at offset {} (site {})", pos, rh.site_id);
                if (!loggers.contains(rh.logger_id & d::kLoggerIdMask))
                    f.problems.push_back(where + ": logger not defined before it");
                auto site = sites.find(rh.site_id);
                if (site == sites.end()) {
                    f.problems.push_back(where + ": site not defined before it");
                    break;
                }
                d::BlobReader a{r.p + sizeof rh, r.p + rh.size};
                for (std::uint32_t flag : {d::kBoundContextFlag, d::kScopedContextFlag}) {
                    if ((rh.logger_id & flag) == 0) continue;
                    const auto address = a.get<std::uint64_t>();
                    if (!snapshots.contains(address)) f.problems.push_back(where + ": snapshot not defined before it");
                }
                for (d::TypeCode t : site->second) {
                    if (auto n = d::fixed_size(t); n != 0) {
                        a.p += n;
                        continue;
                    }
                    const auto n = a.get<std::uint32_t>();
                    if (t == d::TypeCode::exception) {
                        d::BlobReader e{a.p, a.p + n};
                        const auto depth = e.get<std::uint8_t>();
                        for (unsigned i = 0; i < depth; ++i) {
                            e.string();
                            e.string();
                        }
                        const auto frames = e.get<std::uint32_t>();
                        for (std::uint32_t i = 0; i < frames; ++i) {
                            const auto address = e.get<std::uint64_t>();
                            if (address != 0 && !symbols.contains(address))
                                f.problems.push_back(where + ": no symbol for frame " + hex(address));
                        }
                    }
                    a.p += n;
                }
                if (!a.ok) f.problems.push_back(where + ": arguments do not match the site");
                break;
            }
            case d::EntryType::internal: {
                ReadFile::Internal in;
                r.get<std::int64_t>();
                in.level = static_cast<Level>(r.get<std::uint8_t>());
                r.get<std::uint32_t>();
                in.file = std::string(r.string());
                in.function = std::string(r.string());
                in.message = std::string(r.string());
                f.internals.push_back(in);
                break;
            }
            default: f.problems.push_back(fmt::format("offset {}: unexpected entry type {}", pos, static_cast<int>(h.type)));
        }
        if (!r.ok) f.problems.push_back(fmt::format("offset {}: entry payload too short", pos));
        pos += sizeof h + h.size;
    }
    return f;
}

/// The file starts as every file of the sink must: header (binary_log, this
/// process), identity, clock.
void check_file_start(const ReadFile& f, const std::string& name) {
    BOOST_TEST_CONTEXT(name) {
        BOOST_TEST_REQUIRE(f.has_header);
        BOOST_TEST((f.header.kind == d::FileKind::binary_log));
        BOOST_TEST(f.header.format_version == d::kFormatVersion);
        BOOST_TEST(f.header.pid == static_cast<std::uint32_t>(::getpid()));
        BOOST_TEST(f.header.ns_per_tick > 0.0);
        BOOST_TEST_REQUIRE(f.types.size() >= 2u);
        BOOST_TEST((f.types[0] == d::EntryType::identity));
        BOOST_TEST((f.types[1] == d::EntryType::clock));
        BOOST_TEST(agora_test::join_errors(f.problems) == "");
    }
}

Config binary_config(const std::string& path) {
    Config c = agora_test::quiet_config(path);
    c.file_format = FileFormat::binary;
    return c;
}

std::string backup(const std::string& path, std::size_t k) { return k == 0 ? path : path + "." + std::to_string(k); }

// ---- a sink driven directly, with records built here --------------------------

/// A call site "value {} ctx" with (i32, exception) or (i32) arguments, and
/// records for it, as a calling thread would write them.
struct Fixture {
    static constexpr d::TypeCode kPlain[] = {d::TypeCode::i32, d::TypeCode::end};
    static constexpr d::TypeCode kWithException[] = {d::TypeCode::i32, d::TypeCode::exception, d::TypeCode::end};
    d::CallSite plain{1, Level::info, "value {}", "/src/fixture.cpp", "void plain()", 10, kPlain, {}, {}};
    d::CallSite failing{2, Level::error, "value {}", "/src/fixture.cpp", "void failing()", 20, kWithException, {}, {}};
    d::TscClock clock{1};
    std::uint32_t sequence = 0;

    /// A record of `site` by logger `logger_id`, bound to `snapshot` if not null.
    std::vector<std::byte> record(const d::CallSite& site, std::uint32_t logger_id, std::int32_t value,
                                  const d::ContextSnapshot* snapshot = nullptr,
                                  std::vector<std::uint64_t> frames = {}) {
        std::vector<std::byte> out(sizeof(d::RecordHeader));
        auto put = [&out](const void* p, std::size_t n) {
            const auto* b = static_cast<const std::byte*>(p);
            out.insert(out.end(), b, b + n);
        };
        if (snapshot != nullptr) {
            const auto address = reinterpret_cast<std::uint64_t>(snapshot);
            put(&address, 8);
        }
        put(&value, 4);
        if (&site == &failing) {
            std::string blob;
            blob.push_back(1);  // depth
            auto str = [&blob](std::string_view s) {
                const auto n = static_cast<std::uint32_t>(s.size());
                blob.append(reinterpret_cast<const char*>(&n), 4);
                blob.append(s);
            };
            str("St13runtime_error");
            str("boom");
            const auto n = static_cast<std::uint32_t>(frames.size());
            blob.append(reinterpret_cast<const char*>(&n), 4);
            for (std::uint64_t a : frames) blob.append(reinterpret_cast<const char*>(&a), 8);
            const auto size = static_cast<std::uint32_t>(blob.size());
            put(&size, 4);
            put(blob.data(), blob.size());
        }
        out.resize(d::align_record(out.size()));
        d::RecordHeader h{static_cast<std::uint32_t>(out.size()), site.id, d::read_tsc(), sequence++,
                          logger_id | (snapshot != nullptr ? d::kBoundContextFlag : 0)};
        std::memcpy(out.data(), &h, sizeof h);
        return out;
    }

    void write(d::BinaryLogSink& sink, const std::vector<std::byte>& rec, std::string_view logger = "fixture") {
        sink.write_record(rec.data(), rec[4] == std::byte{2} ? failing : plain, logger, 1'700'000'000'000'000'000 + sequence,
                          clock);
    }
};

/// Return addresses the symboliser can name (functions of this program).
std::vector<std::uint64_t> some_frames() {
    return {reinterpret_cast<std::uint64_t>(&read_binary), reinterpret_cast<std::uint64_t>(&check_file_start)};
}

/// The real file system with faults switched on by the test (test thread only).
class FaultyFs : public agora::log::detail::FileSystem {
public:
    bool enospc = false;
    bool fail_rename = false;
    unsigned enospc_injected = 0, renames_failed = 0;

    ssize_t write(int fd, const void* data, std::size_t size) noexcept override {
        if (enospc) {
            ++enospc_injected;
            errno = ENOSPC;
            return -1;
        }
        return FileSystem::write(fd, data, size);
    }
    int rename(const char* from, const char* to) noexcept override {
        if (fail_rename) {
            ++renames_failed;
            errno = EACCES;
            return -1;
        }
        return FileSystem::rename(from, to);
    }
};

std::unique_ptr<RotatingFileSink> file_handler(const std::string& path, agora::log::detail::FileSystem& fs,
                                                  std::uint64_t max_size = 1u << 20, std::uint32_t backups = 20,
                                                  std::size_t max_pending = 16u << 20) {
    RotatingFileSink::Options o;
    o.path = path;
    o.max_size_bytes = max_size;
    o.max_backups = backups;
    o.buffer_bytes = 512;
    o.max_pending_bytes = max_pending;
    o.retry_interval = std::chrono::milliseconds(0);
    return std::make_unique<RotatingFileSink>(o, fs);
}

d::EntryIdentity test_identity() { return {"binary-test", "development", "1.2.3", "test-host"}; }

/// The records of path, path.1 .. path.N, oldest first, each file checked to be self-contained.
std::vector<ReadFile> read_all(const std::string& path, std::size_t backups) {
    std::vector<ReadFile> files;
    for (std::size_t k = backups + 1; k-- > 0;) {
        if (!agora_test::file_exists(backup(path, k))) continue;
        files.push_back(read_binary(agora_test::read_file(backup(path, k))));
        check_file_start(files.back(), backup(path, k));
    }
    return files;
}

}  // namespace

// ---- through initialize() -----------------------------------------------------

BOOST_AUTO_TEST_CASE(a_binary_file_starts_with_header_identity_and_clock_and_holds_every_record) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    {
        agora_test::ShutdownGuard guard;
        BOOST_TEST_REQUIRE(agora::log::initialize(binary_config(path)).has_value());
        auto log = agora::log::get_logger("binary.first");
        auto bound = log.with_context({{"order_id", std::int64_t{42}}, {"venue", "XNAS"}});
        for (int i = 0; i < 100; ++i) {
            log.info("plain {} {}", i, 2.5);
            bound.warning("bound {}", std::string("text"));
            agora::log::ScopedContext scope(agora::log::Context{{"request", "r-1"}});
            bound.info("bound and scoped {}", i);
        }
        try {
            throw std::runtime_error("boom");
        } catch (const std::exception& e) {
            log.error("failed", e);
        }
        { auto t = log.timer("timed operation"); }
    }
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST(f.service == "agora-log-test");
    BOOST_TEST(f.records.size() == 302u);
    BOOST_TEST(f.logger_entries == 1u);
    BOOST_TEST(f.site_entries == 5u);
    BOOST_TEST(f.symbol_entries > 0u);
    // The bound snapshot once, and each scope's (a new snapshot per scope,
    // whether or not it reuses an earlier one's address).
    BOOST_TEST(f.snapshot_entries == 101u);
    // Times as the backend computed them: never backwards.
    for (std::size_t i = 1; i < f.records.size(); ++i) BOOST_TEST(f.records[i].unix_ns >= f.records[i - 1].unix_ns);
    BOOST_TEST(agora::log::stats().records_written >= 302u);
}

BOOST_AUTO_TEST_CASE(other_handlers_still_get_rendered_entries) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    auto capture = std::make_shared<agora_test::CaptureHandler>();
    {
        agora_test::ShutdownGuard guard;
        BOOST_TEST_REQUIRE(agora::log::initialize(binary_config(path), {capture}).has_value());
        auto log = agora::log::get_logger("binary.capture");
        for (int i = 0; i < 50; ++i) log.info("entry {}", i);
    }
    const auto captured = capture->records();
    BOOST_TEST_REQUIRE(captured.size() == 50u);
    BOOST_TEST(captured[7].message == "entry 7");
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST(f.records.size() == 50u);
}

BOOST_AUTO_TEST_CASE(internal_entries_are_written) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    {
        agora_test::ShutdownGuard guard;
        Config c = binary_config(path);
        c.backend_cpu = 1000;  // no such CPU: the backend reports that it could not pin itself
        BOOST_TEST_REQUIRE(agora::log::initialize(c).has_value());
        agora::log::get_logger("binary.internal").info("one record");
    }
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST(f.records.size() == 1u);
    BOOST_TEST_REQUIRE(f.internals.size() == 1u);
    BOOST_TEST((f.internals[0].level == Level::warning));
    BOOST_TEST(f.internals[0].message == "Could not pin the backend thread to CPU 1000");
    BOOST_TEST(f.internals[0].file.ends_with("backend.cpp"), f.internals[0].file);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_empty_is_rotated_away_first) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    {
        std::ofstream old(path);
        old << "{\"an\":\"earlier JSON log\"}\n";
    }
    {
        agora_test::ShutdownGuard guard;
        BOOST_TEST_REQUIRE(agora::log::initialize(binary_config(path)).has_value());
        agora::log::get_logger("binary.restart").info("after restart");
    }
    BOOST_TEST(agora_test::read_file(path + ".1") == "{\"an\":\"earlier JSON log\"}\n");
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST(f.records.size() == 1u);
}

BOOST_AUTO_TEST_CASE(every_rotated_file_holds_the_metadata_of_its_own_records) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    constexpr int kRecords = 30000;
    {
        agora_test::ShutdownGuard guard;
        Config c = binary_config(path);
        c.max_file_size_mb = 1;
        c.max_backup_count = 50;
        BOOST_TEST_REQUIRE(agora::log::initialize(c).has_value());
        auto a = agora::log::get_logger("binary.rotation.a");
        auto b = agora::log::get_logger("binary.rotation.b").with_context({{"desk", "fx"}});
        const std::string pad(40, 'p');
        for (int i = 0; i < kRecords; ++i) {
            if (i % 3 == 0) a.info("a {} {}", i, pad);
            else if (i % 3 == 1) b.warning("b {} {}", i, pad);
            else if (i % 1000 == 2) {
                try {
                    throw std::logic_error("rare");
                } catch (const std::exception& e) {
                    a.error("exception", e);
                }
            } else {
                a.debug("not written");  // below the level: no record
                b.info("b again {}", i);
            }
        }
    }
    const auto files = read_all(path, 50);
    BOOST_TEST(files.size() >= 3u);
    // Nothing lost, in order: one calling thread, consecutive sequence numbers across files.
    std::vector<std::uint32_t> sequences;
    for (const auto& f : files)
        for (const auto& r : f.records) sequences.push_back(r.header.sequence);
    BOOST_TEST_REQUIRE(sequences.size() == static_cast<std::size_t>(kRecords));
    for (std::size_t i = 1; i < sequences.size(); ++i) BOOST_TEST_REQUIRE(sequences[i] == sequences[i - 1] + 1);
    // Each file defines the loggers and sites it uses, and is within the limit
    // (a file ends before a chunk that would take it over 1 MiB).
    for (std::size_t k = 0; k <= 50; ++k)
        if (agora_test::file_exists(backup(path, k))) BOOST_TEST(agora_test::file_size(backup(path, k)) <= (1u << 20));
    for (const auto& f : files) {
        BOOST_TEST(f.logger_entries >= 2u);
        BOOST_TEST(f.snapshot_entries >= 1u);
    }
}

// ---- a sink driven directly ---------------------------------------------------

BOOST_AUTO_TEST_CASE(a_snapshot_address_that_holds_a_new_snapshot_is_written_again) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    Fixture fx;
    d::ContextSnapshot snapshot;  // one address, holding three snapshots in turn
    snapshot.id = 1000001;
    snapshot.values = {{"k", "first"}};
    {
        Config c = binary_config(path);
        d::BinaryLogSink sink(file_handler(path, agora::log::detail::FileSystem::real()), test_identity(), c);
        fx.write(sink, fx.record(fx.plain, 1, 1, &snapshot));
        fx.write(sink, fx.record(fx.plain, 1, 2, &snapshot));  // same snapshot: not again
        snapshot.id = 1000002;  // freed and reused for another snapshot
        snapshot.values = {{"k", "second"}};
        fx.write(sink, fx.record(fx.plain, 1, 3, &snapshot));
        fx.write(sink, fx.record(fx.plain, 1, 4, &snapshot));
    }
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST(f.records.size() == 4u);
    BOOST_TEST(f.snapshot_entries == 2u);
    BOOST_TEST(f.logger_entries == 1u);
    BOOST_TEST(f.site_entries == 1u);
}

BOOST_AUTO_TEST_CASE(frames_are_symbolised_once_per_file) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    Fixture fx;
    {
        d::BinaryLogSink sink(file_handler(path, agora::log::detail::FileSystem::real()), test_identity(), binary_config(path));
        for (int i = 0; i < 5; ++i) fx.write(sink, fx.record(fx.failing, 1, i, nullptr, some_frames()));
        fx.write(sink, fx.record(fx.failing, 1, 9, nullptr, {some_frames()[0], 0, 0}));  // 0: the end of the stack
    }
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST(f.records.size() == 6u);
    BOOST_TEST(f.symbol_entries == 2u);
}

BOOST_AUTO_TEST_CASE(a_recalibrated_clock_is_written_before_the_next_record) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    Fixture fx;
    {
        d::BinaryLogSink sink(file_handler(path, agora::log::detail::FileSystem::real()), test_identity(), binary_config(path));
        fx.write(sink, fx.record(fx.plain, 1, 1));
        fx.write(sink, fx.record(fx.plain, 1, 2));
        fx.clock.recalibrate();
        fx.write(sink, fx.record(fx.plain, 1, 3));
    }
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST_REQUIRE(f.clock_ns_per_tick.size() == 2u);
    BOOST_TEST(f.clock_ns_per_tick[1] == fx.clock.ns_per_tick());
    // The second clock entry comes right before the third record.
    std::vector<d::EntryType> tail(f.types.end() - 2, f.types.end());
    BOOST_TEST((tail == std::vector<d::EntryType>{d::EntryType::clock, d::EntryType::timed_record}));
}

BOOST_AUTO_TEST_CASE(a_tiny_limit_gives_every_chunk_a_self_contained_file) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    Fixture fx;
    d::ContextSnapshot snapshot;
    snapshot.id = 2000001;
    snapshot.values = {{"k", "v"}};
    std::uint64_t rotations = 0;
    {
        // 600 bytes: a file holds the preamble and one or two records.
        d::BinaryLogSink sink(file_handler(path, agora::log::detail::FileSystem::real(), 600, 40), test_identity(),
                              binary_config(path));
        for (int i = 0; i < 30; ++i) {
            if (i % 3 == 0) fx.write(sink, fx.record(fx.failing, 1, i, nullptr, some_frames()), "first");
            else if (i % 3 == 1) fx.write(sink, fx.record(fx.plain, 2, i, &snapshot), "second");
            else fx.write(sink, fx.record(fx.plain, 1, i), "first");
        }
        rotations = sink.file().rotations();
    }
    BOOST_TEST(rotations >= 10u);
    const auto files = read_all(path, 40);
    BOOST_TEST(files.size() == rotations + 1);
    std::size_t records = 0;
    for (const auto& f : files) records += f.records.size();
    BOOST_TEST(records == 30u);
}

BOOST_AUTO_TEST_CASE(enospc_keeps_chunks_and_dropped_chunks_leave_the_file_decodable) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    Fixture fx;
    FaultyFs fs;
    {
        d::BinaryLogSink sink(file_handler(path, fs, 1u << 20, 3, 4096), test_identity(), binary_config(path));
        const std::string names[] = {"", "one", "two", "three", "late"};  // by logger id
        for (int i = 0; i < 5; ++i) fx.write(sink, fx.record(fx.plain, 1, i), "one");
        sink.flush();
        fs.enospc = true;  // the disk fills up: chunks are kept up to 4 KiB, then dropped
        for (int i = 5; i < 200; ++i) {
            const std::uint32_t id = 1 + static_cast<std::uint32_t>(i % 3);
            fx.write(sink, fx.record(i % 2 ? fx.plain : fx.failing, id, i, nullptr, some_frames()), names[id]);
        }
        sink.flush();
        BOOST_TEST(fs.enospc_injected > 0u);
        BOOST_TEST_REQUIRE(sink.file().dropped_lines() > 0u);
        // Dropped too: the first records of logger 4, and so its logger entry.
        for (int i = 200; i < 203; ++i) fx.write(sink, fx.record(fx.plain, 4, i), names[4]);
        BOOST_TEST(sink.file().error_count() == 1u);
        fs.enospc = false;  // space again: the backend's next flush writes what was kept
        sink.flush();
        BOOST_TEST(sink.file().error_count() == 2u, sink.file().last_error());  // "works again; N dropped"
        // The chunks after the drops bring the metadata the dropped ones had.
        for (int i = 203; i < 223; ++i) {
            const std::uint32_t id = 1 + static_cast<std::uint32_t>(i % 4);
            fx.write(sink, fx.record(i % 2 ? fx.plain : fx.failing, id, i, nullptr, some_frames()), names[id]);
        }
        sink.flush();
    }
    const ReadFile f = read_binary(agora_test::read_file(path));
    check_file_start(f, path);
    BOOST_TEST(f.records.size() > 25u);
    BOOST_TEST(f.records.size() < 223u);
    // Kept records stay in order; the last 20 are all there.
    for (std::size_t i = 1; i < f.records.size(); ++i)
        BOOST_TEST(f.records[i].header.sequence > f.records[i - 1].header.sequence);
    BOOST_TEST(f.records.back().header.sequence == 222u);
}

BOOST_AUTO_TEST_CASE(a_failed_rename_keeps_the_file_under_the_limit_with_one_header) {
    agora_test::TempDir dir;
    const std::string path = dir.file("app.bin");
    Fixture fx;
    FaultyFs fs;
    std::uint64_t lost = 0;
    {
        d::BinaryLogSink sink(file_handler(path, fs, 2000, 5), test_identity(), binary_config(path));
        fs.fail_rename = true;
        for (int i = 0; i < 60; ++i) fx.write(sink, fx.record(fx.plain, 1, i));
        sink.flush();
        BOOST_TEST(fs.renames_failed > 0u);
        BOOST_TEST(sink.file().rotations() == 0u);
        BOOST_TEST(sink.file().error_count() > 0u);
        // The full file that cannot rotate takes no more chunks: they are lost, counted.
        BOOST_TEST(sink.file().dropped_lines() > 0u);
        BOOST_TEST(sink.file().current_size() <= 2000u);
        fs.fail_rename = false;  // rotation resumes: the next file starts afresh
        for (int i = 60; i < 70; ++i) fx.write(sink, fx.record(i % 2 ? fx.plain : fx.failing, 2, i, nullptr, some_frames()));
        BOOST_TEST(sink.file().rotations() > 0u);
        lost = sink.file().dropped_lines();
    }
    const auto files = read_all(path, 5);
    BOOST_TEST_REQUIRE(files.size() >= 2u);
    // The file that could not be rotated stayed within the limit, with one header and one preamble.
    const ReadFile& first = files.front();
    BOOST_TEST(std::count(first.types.begin(), first.types.end(), d::EntryType::identity) == 1);
    for (std::size_t k = 0; k <= 5; ++k)
        if (agora_test::file_exists(backup(path, k))) BOOST_TEST(agora_test::file_size(backup(path, k)) <= 2000u, k);
    std::size_t records = 0, after = 0;
    for (const auto& f : files) records += f.records.size();
    for (std::size_t i = 1; i < files.size(); ++i) after += files[i].records.size();
    BOOST_TEST(records + lost == 70u);
    // The records written after the rotation resumed are all there, in the new files.
    BOOST_TEST(after >= 10u);
}
