// Audit entries (Logger::audit(), Config::audit, docs/audit.md): the entry's
// fields and redaction, the hash chain across restarts, rotation and a
// missing live file, entries that no sampling, rate limit, level or queue
// policy stops, torn and corrupt files found at open, write failures through
// the FileSystem seam, retention, threads racing one chain, the default
// path, env settings, and agora-log-audit verify on every kind of tampering
// (run in-process). Every audit line is validated against the schema.

#define BOOST_TEST_MODULE audit
#include "common.hpp"

#include "audit/audit_chain.hpp"
#include "audit/audit_entry.hpp"
#include "audit/audit_log.hpp"
#include "audit/audit_verify.hpp"
#include "audit_cli.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <barrier>
#include <functional>
#include <cerrno>
#include <cstdlib>
#include <thread>

using agora::log::Config;
using agora::log::Level;
namespace alog = agora::log;
namespace d = agora::log::detail;

namespace agora::log::detail {
inline std::ostream& boost_test_print_type(std::ostream& os, AuditVerdict v) { return os << static_cast<int>(v); }
}  // namespace agora::log::detail

namespace {

void start(const Config& config) {
    auto ok = alog::initialize(config);
    BOOST_TEST_REQUIRE(ok.has_value(), agora_test::error_text(ok));
}

/// A quiet config with audit entries in `audit_path`.
Config audit_config(const agora_test::TempDir& dir, const std::string& audit_path) {
    Config c = agora_test::quiet_config(dir.file("app.log"));
    c.audit.enabled = true;
    c.audit.file_path = audit_path;
    return c;
}

/// The string at a JSON pointer of `line` ("" if absent, "<number>" for numbers).
std::string json_at(const std::string& line, const char* pointer) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError()) return "<not json>";
    const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
    if (v == nullptr) return "";
    if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
    if (v->IsUint64()) return std::to_string(v->GetUint64());
    return "<other>";
}

/// Lines of an audit file, each checked against the schema.
std::vector<std::string> audit_lines(const std::string& path) {
    auto read = agora_test::read_entries(path);
    BOOST_TEST(read.errors.empty(), agora_test::join_errors(read.errors));
    std::vector<std::string> lines;
    for (const auto& e : read.entries) lines.push_back(e.raw);
    return lines;
}

/// agora-log-audit run in-process: exit status and what it printed.
struct CliResult {
    int status = -1;
    std::string out;
};
CliResult run_audit_cli(const agora_test::TempDir& dir, std::vector<std::string> args) {
    args.insert(args.begin(), "agora-log-audit");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    const std::string out_path = dir.file("cli-out.txt");
    std::FILE* out = std::fopen(out_path.c_str(), "w");
    std::FILE* err = std::fopen(dir.file("cli-err.txt").c_str(), "w");
    CliResult r;
    r.status = d::audit_cli(static_cast<int>(argv.size()), argv.data(), out, err);
    std::fclose(out);
    std::fclose(err);
    r.out = agora_test::read_file(out_path) + agora_test::read_file(dir.file("cli-err.txt"));
    return r;
}

/// Writes `n` audit lines through an AuditLog of its own (rotating at
/// `max_bytes`), messages "entry 1".."entry n". Returns its files, oldest first.
std::vector<std::string> write_chain(const std::string& path, int n, std::uint64_t max_bytes) {
    d::AuditSettings settings{path, max_bytes, 365, false};
    d::AuditLog log(settings);
    for (int i = 1; i <= n; ++i) {
        std::string entry = "{\"timestamp\":\"2026-12-03T10:00:00.000000Z\",\"level\":\"INFO\",\"message\":\"entry " +
                            std::to_string(i) + "\",\"service\":\"s\",\"file\":\"f.cpp\",\"line\":1,\"function\":\"f\"";
        auto error = log.append(entry);
        BOOST_TEST_REQUIRE(!error.has_value(), *error);
    }
    auto files = d::AuditLog::rotated_files(path);
    files.push_back(path);
    return files;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

/// The real file system with faults the test switches on.
class FaultyFs : public d::FileSystem {
public:
    std::size_t fail_write_after = SIZE_MAX;  // bytes written before writes fail with ENOSPC
    bool fail_fdatasync = false;
    unsigned fdatasyncs = 0, ftruncates = 0;

    ssize_t write(int fd, const void* data, std::size_t size) noexcept override {
        if (fail_write_after == SIZE_MAX) return FileSystem::write(fd, data, size);
        if (fail_write_after == 0) {
            errno = ENOSPC;
            return -1;
        }
        const std::size_t n = std::min(size, fail_write_after);
        fail_write_after -= n;
        return FileSystem::write(fd, data, n);
    }
    int fdatasync(int fd) noexcept override {
        ++fdatasyncs;
        if (fail_fdatasync) {
            errno = EIO;
            return -1;
        }
        return FileSystem::fdatasync(fd);
    }
    int ftruncate(int fd, off_t length) noexcept override {
        ++ftruncates;
        return FileSystem::ftruncate(fd, length);
    }
};

/// agora_log_audit_entries_total{result} of the test service (-1 if absent).
double audit_metric(const std::string& result) {
    const std::string text = alog::metrics_text();
    const std::string key = "agora_log_audit_entries_total{result=\"" + result + "\",service=\"agora-log-test\"} ";
    const std::size_t at = text.find(key);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

std::string sample_entry(int i) {
    return "{\"timestamp\":\"2026-12-03T10:00:00.000000Z\",\"level\":\"INFO\",\"message\":\"m" + std::to_string(i) +
           "\",\"service\":\"s\",\"file\":\"f.cpp\",\"line\":1,\"function\":\"f\"";
}

}  // namespace

BOOST_AUTO_TEST_CASE(audit_lines_carry_the_entry_and_form_a_verified_chain) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("audit/auth-audit.log");
    const auto before = alog::stats();
    start(audit_config(dir, path));
    auto log = alog::get_logger("auth");
    const std::string correlation = alog::generate_correlation_id();
    {
        alog::ScopedContext scope({{"correlation_id", correlation}, {"desk", "fx"}, {"user_id", "scope-user"}});
        auto bound = log.with_context({{"team", "identity"}, {"desk", "bound-desk"}});
        BOOST_TEST(bound.audit("User login", {{"user_id", "123"}, {"ip_address", "10.0.0.1"}, {"request_id", "r-1"}}));
    }
    BOOST_TEST(log.audit("Role granted", {{"user_id", "123"}, {"role", "admin"}}));
    std::string dynamic = "Session closed after " + std::to_string(42) + " s {not a placeholder}";
    BOOST_TEST(log.audit(dynamic));
    alog::shutdown();

    const auto lines = audit_lines(path);
    BOOST_TEST_REQUIRE(lines.size() == 3u);
    BOOST_TEST(json_at(lines[0], "/message") == "User login");
    BOOST_TEST(json_at(lines[0], "/level") == "INFO");
    BOOST_TEST(json_at(lines[0], "/logger_name") == "auth");
    BOOST_TEST(json_at(lines[0], "/file") == "test_audit.cpp");
    BOOST_TEST(json_at(lines[0], "/service") == "agora-log-test");
    BOOST_TEST(json_at(lines[0], "/user_id") == "123");  // the call over the scope
    BOOST_TEST(json_at(lines[0], "/correlation_id") == correlation);
    BOOST_TEST(json_at(lines[0], "/context/ip_address") == "10.0.0.1");
    BOOST_TEST(json_at(lines[0], "/context/request_id") == "r-1");
    BOOST_TEST(json_at(lines[0], "/context/desk") == "fx");  // the scope over the bound context
    BOOST_TEST(json_at(lines[0], "/context/team") == "identity");
    BOOST_TEST(json_at(lines[1], "/context/role") == "admin");
    BOOST_TEST(json_at(lines[1], "/correlation_id") == "");  // the scope has ended
    BOOST_TEST(json_at(lines[2], "/message") == dynamic);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        BOOST_TEST(json_at(lines[i], "/audit/seq") == std::to_string(i + 1));
        const std::string prev = i == 0 ? std::string(d::kAuditGenesisHash) : json_at(lines[i - 1], "/audit/hash");
        BOOST_TEST(json_at(lines[i], "/audit/prev_hash") == prev);
        const std::size_t cut = lines[i].rfind(",\"hash\":\"");
        BOOST_TEST(json_at(lines[i], "/audit/hash") == d::sha256_hex(std::string_view(lines[i]).substr(0, cut)));
    }
    // The regular log has none of them.
    for (const auto& e : agora_test::read_entries(dir.file("app.log")).entries)
        BOOST_TEST(e.message.find("login") == std::string::npos, e.raw);

    const auto cli = run_audit_cli(dir, {"verify", path});
    BOOST_TEST(cli.status == 0, cli.out);
    BOOST_TEST(cli.out.find("OK: 3 lines in 1 file(s), seq 1 to 3, last hash " + json_at(lines[2], "/audit/hash")) !=
                   std::string::npos,
               cli.out);
    const auto after = alog::stats();
    BOOST_TEST(after.audit_entries_written - before.audit_entries_written == 3u);
    BOOST_TEST(after.audit_entries_failed == before.audit_entries_failed);
    BOOST_TEST(audit_metric("written") >= 3.0, alog::metrics_text());  // forwarded at shutdown
}

BOOST_AUTO_TEST_CASE(chain_continues_across_initialize_and_uses_the_default_path) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    Config c = audit_config(dir, "");
    c.service_name = "auth-service";
    start(c);
    const std::string path = dir.file("audit/auth-service-audit.log");  // <dir of file_path>/audit/<service>-audit.log
    BOOST_TEST(d::audit_file_path() == path);
    BOOST_TEST(alog::get_logger("auth").audit("first run"));
    alog::shutdown();
    BOOST_TEST(d::audit_file_path() == "");
    BOOST_TEST(!alog::get_logger("auth").audit("while shut down"));
    start(c);
    BOOST_TEST(alog::get_logger("auth").audit("second run"));
    alog::shutdown();
    const auto lines = audit_lines(path);
    BOOST_TEST_REQUIRE(lines.size() == 2u);
    BOOST_TEST(json_at(lines[1], "/audit/seq") == "2");
    BOOST_TEST(json_at(lines[1], "/audit/prev_hash") == json_at(lines[0], "/audit/hash"));
    BOOST_TEST(d::verify_audit_files({path}).verdict == d::AuditVerdict::intact);
}

BOOST_AUTO_TEST_CASE(redaction_applies_and_include_switches_leave_fields_out) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("audit.log");
    Config c = audit_config(dir, path);
    c.sensitive_data.redact_patterns.push_back("acct-[0-9]+");
    c.sensitive_data.mask_fields["card_number"] = alog::MaskRule{};
    c.audit.include_user_id = false;
    c.audit.include_ip_address = false;
    c.audit.include_request_id = false;
    start(c);
    BOOST_TEST(alog::get_logger("auth").audit(
        "Password reset for acct-998877",
        {{"password", "hunter2"}, {"card_number", "4111111111111111"}, {"user_id", "u-1"}, {"ip_address", "10.1.1.1"},
         {"request_id", "r-9"}, {"correlation_id", alog::generate_correlation_id()}, {"note", "by acct-12"}}));
    alog::shutdown();
    const auto lines = audit_lines(path);
    BOOST_TEST_REQUIRE(lines.size() == 1u);
    const std::string& l = lines[0];
    BOOST_TEST(json_at(l, "/message") == "Password reset for [REDACTED]");
    BOOST_TEST(json_at(l, "/context/password") == "[REDACTED]");
    BOOST_TEST(json_at(l, "/context/card_number") == "************1111");
    BOOST_TEST(json_at(l, "/context/note") == "by [REDACTED]");
    BOOST_TEST(l.find("hunter2") == std::string::npos);
    for (const char* gone : {"/user_id", "/context/user_id", "/context/ip_address", "/context/request_id",
                             "/correlation_id", "/context/correlation_id"})
        BOOST_TEST(json_at(l, gone) == "", gone);
    BOOST_TEST(d::verify_audit_files({path}).verdict == d::AuditVerdict::intact);
}

BOOST_AUTO_TEST_CASE(no_sampling_rate_limit_level_or_drop_policy_stops_an_audit_entry) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("audit.log");
    Config c = audit_config(dir, path);
    c.level = Level::critical;
    c.queue_full_policy = alog::QueueFullPolicy::drop;
    c.queue_capacity_bytes = 4096;
    c.queue_max_capacity_bytes = 4096;
    c.sampling.rates[Level::info] = 0.0;
    c.sampling.rate_limit = alog::RateLimitConfig{1.0, 1};
    c.audit.sync = false;
    start(c);
    auto log = alog::get_logger("trading.orders");
    std::size_t accepted = 0;
    for (int i = 0; i < 300; ++i) accepted += log.audit("Order amended", {{"order_id", i}}) ? 1 : 0;
    alog::shutdown();
    BOOST_TEST(accepted == 300u);
    const auto lines = audit_lines(path);
    BOOST_TEST_REQUIRE(lines.size() == 300u);
    for (int i = 0; i < 300; ++i) BOOST_TEST(json_at(lines[i], "/audit/seq") == std::to_string(i + 1));
    BOOST_TEST(d::verify_audit_files({path}).verdict == d::AuditVerdict::intact);
}

BOOST_AUTO_TEST_CASE(threads_racing_keep_one_chain) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("audit.log");
    Config c = audit_config(dir, path);
    c.audit.sync = false;
    start(c);
    constexpr int kThreads = 4, kEach = 50;
    std::array<int, kThreads> accepted{};
    std::barrier go(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            auto log = alog::get_logger("race");
            go.arrive_and_wait();
            for (int i = 0; i < kEach; ++i) accepted[t] += log.audit("raced", {{"thread", t}, {"i", i}}) ? 1 : 0;
        });
    for (auto& th : threads) th.join();
    alog::shutdown();
    for (int t = 0; t < kThreads; ++t) BOOST_TEST(accepted[t] == kEach);
    const auto lines = audit_lines(path);
    BOOST_TEST(lines.size() == static_cast<std::size_t>(kThreads * kEach));
    const auto r = d::verify_audit_files({path});
    BOOST_TEST((r.verdict == d::AuditVerdict::intact), r.problem);
    BOOST_TEST(r.last_seq == static_cast<std::uint64_t>(kThreads * kEach));
}

BOOST_AUTO_TEST_CASE(rotation_and_a_missing_live_file_keep_the_chain) {
    agora_test::TempDir dir;
    const std::string path = dir.file("audit.log");
    auto files = write_chain(path, 30, 2000);
    BOOST_TEST(files.size() > 3u);
    BOOST_TEST(files.front() == path + ".000000000001");
    for (const auto& f : files) BOOST_TEST(agora_test::file_size(f) <= 2000u, f);
    // The live file moved away (as a crash between rotation and reopening leaves it).
    std::filesystem::rename(path, path + ".000000000999");
    {
        d::AuditLog log({path, 2000, 365, true});
        std::string entry = sample_entry(31);
        BOOST_TEST(!log.append(entry).has_value());
        BOOST_TEST(log.last_seq() == 31u);
    }
    auto all = d::AuditLog::rotated_files(path);
    all.push_back(path);
    for (const auto& f : all) (void)audit_lines(f);  // schema
    const auto r = d::verify_audit_files(all);
    BOOST_TEST((r.verdict == d::AuditVerdict::intact), r.file + ": " + r.problem);
    BOOST_TEST(r.lines == 31u);
    // Any order on the command line.
    std::vector<std::string> reversed(all.rbegin(), all.rend());
    BOOST_TEST(run_audit_cli(dir, [&] {
                   std::vector<std::string> a{"verify"};
                   a.insert(a.end(), reversed.begin(), reversed.end());
                   return a;
               }())
                   .status == 0);
}

BOOST_AUTO_TEST_CASE(verify_reports_each_kind_of_tampering) {
    agora_test::TempDir dir;
    const std::string base = dir.file("chain/audit.log");
    const auto files = write_chain(base, 12, 1200);  // several files
    BOOST_TEST_REQUIRE(files.size() >= 3u);
    BOOST_TEST_REQUIRE(run_audit_cli(dir, [&] {
                           std::vector<std::string> a{"verify"};
                           a.insert(a.end(), files.begin(), files.end());
                           return a;
                       }())
                           .status == 0);

    // Each case: a copy of the chain, one change, the verdict.
    struct Case {
        std::string name;
        std::function<void(std::vector<std::string>& files)> tamper;
        std::vector<std::string> options;
        int status;
        std::string expected;  // in the report
    };
    auto edit_line = [](const std::string& file, const std::function<void(std::vector<std::string>&)>& f) {
        auto lines = agora_test::read_lines(file).lines;
        f(lines);
        std::string text;
        for (const auto& l : lines) text += l + "\n";
        write_text(file, text);
    };
    const std::vector<Case> cases = {
        {"edited", [&](auto& fs) {
             edit_line(fs[1], [](auto& lines) {
                 auto at = lines[0].find("entry ");
                 lines[0][at + 6] = 'X';
             });
         }, {}, 1, ":1: seq "},
        {"deleted", [&](auto& fs) { edit_line(fs[1], [](auto& lines) { lines.erase(lines.begin() + 1); }); }, {}, 1,
         ":2: seq 6 follows seq 4: 1 line(s) deleted before this line"},
        {"swapped", [&](auto& fs) { edit_line(fs[1], [](auto& lines) { std::swap(lines[0], lines[1]); }); }, {}, 1,
         "seq 5 is out of order: seq 4 comes later, at line 2 (lines were reordered)"},
        {"moved", [&](auto& fs) {
             edit_line(fs[0], [](auto& lines) {
                 auto l = lines[0];
                 lines.erase(lines.begin());
                 lines.push_back(l);
             });
         }, {"--allow-partial"}, 1, "moved or inserted"},
        {"duplicated", [&](auto& fs) { edit_line(fs[0], [](auto& lines) { lines.push_back(lines[0]); }); }, {}, 1,
         "moved or inserted"},
        {"forged", [&](auto& fs) {
             // A well-formed line with the next sequence number and its own valid
             // hash, but not linked to the line before it.
             auto lines = agora_test::read_lines(fs.back()).lines;
             const std::uint64_t next = std::stoull(json_at(lines.back(), "/audit/seq")) + 1;
             std::string forged = sample_entry(99);
             d::seal_audit_line(forged, next, d::sha256_hex("not the previous line"));
             std::ofstream(fs.back(), std::ios::app) << forged;
         }, {}, 1, "does not link"},
        {"truncated inside a line", [&](auto& fs) {
             std::filesystem::resize_file(fs[0], agora_test::file_size(fs[0]) - 10);
         }, {}, 1, "ends inside a line (truncated)"},
        {"truncated rotated file", [&](auto& fs) {
             edit_line(fs[0], [](auto& lines) { lines.pop_back(); });
         }, {}, 1, "was truncated"},
        {"missing rotated file", [&](auto& fs) { fs.erase(fs.begin() + 1); }, {}, 1, "a rotated file is missing"},
        {"missing oldest file", [&](auto& fs) { fs.erase(fs.begin()); }, {}, 1, "--allow-partial"},
        {"missing oldest file, allowed", [&](auto& fs) { fs.erase(fs.begin()); }, {"--allow-partial"}, 0, "OK: "},
        {"cut newest lines, no anchor", [&](auto& fs) { edit_line(fs.back(), [](auto& l) { l.pop_back(); }); },
         {}, 0, "to 11,"},
        {"cut newest lines, anchor", [&](auto& fs) { edit_line(fs.back(), [](auto& l) { l.pop_back(); }); },
         {"--expect-last", "12"}, 1, "lines 12 to 12 are missing"},
        {"not an audit file", [&](auto& fs) { write_text(fs[0], "{\"message\":\"hello\"}\n"); }, {}, 1,
         "not an audit line"},
        {"unreadable", [&](auto& fs) { fs.push_back(fs[0] + ".does-not-exist"); }, {}, 2, "cannot read"},
    };
    int n = 0;
    for (const Case& c : cases) {
        const std::string copy_dir = dir.file("case" + std::to_string(n++));
        std::filesystem::create_directories(copy_dir);
        std::vector<std::string> copies;
        for (const auto& f : files) {
            copies.push_back(copy_dir + "/" + std::filesystem::path(f).filename().string());
            std::filesystem::copy_file(f, copies.back());
        }
        c.tamper(copies);
        std::vector<std::string> args{"verify"};
        args.insert(args.end(), c.options.begin(), c.options.end());
        args.insert(args.end(), copies.begin(), copies.end());
        const auto r = run_audit_cli(dir, args);
        BOOST_TEST(r.status == c.status, c.name << ": " << r.out);
        BOOST_TEST(r.out.find(c.expected) != std::string::npos, c.name << ": " << r.out);
    }
    // Usage errors.
    BOOST_TEST(run_audit_cli(dir, {}).status == 64);
    BOOST_TEST(run_audit_cli(dir, {"check", base}).status == 64);
    BOOST_TEST(run_audit_cli(dir, {"verify"}).status == 64);
    BOOST_TEST(run_audit_cli(dir, {"verify", "--expect-last", "zero", base}).status == 64);
    BOOST_TEST(run_audit_cli(dir, {"--help"}).out.find("Exit status") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(open_cuts_a_torn_line_and_refuses_a_changed_one) {
    agora_test::TempDir dir;
    const std::string path = dir.file("audit.log");
    write_chain(path, 3, 1u << 20);
    std::ofstream(path, std::ios::app) << "{\"timestamp\":\"2026-12";  // a write that never completed
    {
        d::AuditLog log({path, 1u << 20, 365, true});
        BOOST_TEST(!log.open().has_value());
        const auto warnings = log.take_warnings();
        BOOST_TEST_REQUIRE(warnings.size() == 1u);
        BOOST_TEST(warnings[0].find("removed 21 bytes of an unfinished line") != std::string::npos, warnings[0]);
        std::string entry = sample_entry(4);
        BOOST_TEST(!log.append(entry).has_value());
    }
    BOOST_TEST(d::verify_audit_files({path}).last_seq == 4u);
    BOOST_TEST((d::verify_audit_files({path}).verdict == d::AuditVerdict::intact));

    // A changed last line: the chain is not extended over it.
    auto lines = agora_test::read_lines(path).lines;
    lines.back().replace(lines.back().find("\"m4\""), 4, "\"m5\"");
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    write_text(path, text);
    d::AuditLog log({path, 1u << 20, 365, true});
    auto error = log.open();
    BOOST_TEST_REQUIRE(error.has_value());
    BOOST_TEST(error->find("does not match its hash") != std::string::npos, *error);
    std::string entry = sample_entry(6);
    BOOST_TEST(log.append(entry).has_value());
    BOOST_TEST(agora_test::read_file(path) == text);  // untouched
}

BOOST_AUTO_TEST_CASE(a_second_writer_is_refused) {
    agora_test::TempDir dir;
    const std::string path = dir.file("audit.log");
    d::AuditLog first({path, 1u << 20, 365, true});
    BOOST_TEST(!first.open().has_value());
    d::AuditLog second({path, 1u << 20, 365, true});
    auto error = second.open();
    BOOST_TEST_REQUIRE(error.has_value());
    BOOST_TEST(error->find("in use by another process") != std::string::npos, *error);
}

BOOST_AUTO_TEST_CASE(write_failures_lose_nothing_and_keep_the_chain) {
    agora_test::TempDir dir;
    const std::string path = dir.file("audit.log");
    FaultyFs fs;
    d::AuditLog log({path, 1u << 20, 365, true}, fs);
    std::string e1 = sample_entry(1);
    BOOST_TEST(!log.append(e1).has_value());
    BOOST_TEST(fs.fdatasyncs == 1u);  // sync: one per line

    // A partial write, then ENOSPC: the line is cut back and seq not used.
    fs.fail_write_after = 40;
    std::string e2 = sample_entry(2);
    auto error = log.append(e2);
    BOOST_TEST_REQUIRE(error.has_value());
    BOOST_TEST(error->find("No space left on device") != std::string::npos, *error);
    BOOST_TEST(fs.ftruncates == 1u);
    BOOST_TEST(!agora_test::read_lines(path).unterminated);
    BOOST_TEST(log.last_seq() == 1u);

    fs.fail_write_after = SIZE_MAX;
    std::string e3 = sample_entry(3);
    BOOST_TEST(!log.append(e3).has_value());
    BOOST_TEST(log.last_seq() == 2u);

    // fdatasync failing: written (and chained), but not acknowledged.
    fs.fail_fdatasync = true;
    std::string e4 = sample_entry(4);
    error = log.append(e4);
    BOOST_TEST_REQUIRE(error.has_value());
    BOOST_TEST(error->find("is written but fdatasync") != std::string::npos, *error);
    BOOST_TEST(log.last_seq() == 3u);
    fs.fail_fdatasync = false;
    const auto r = d::verify_audit_files({path});
    BOOST_TEST((r.verdict == d::AuditVerdict::intact), r.problem);
    BOOST_TEST(r.lines == 3u);

    // Without sync: fdatasync only at rotation and close.
    FaultyFs quiet;
    const std::string other = dir.file("nosync.log");
    {
        d::AuditLog nosync({other, 600, 365, false}, quiet);
        for (int i = 0; i < 3; ++i) {
            std::string e = sample_entry(i);
            BOOST_TEST(!nosync.append(e).has_value());
        }
        BOOST_TEST(quiet.fdatasyncs == 2u);  // two rotations (each file holds one line)
    }
    BOOST_TEST(quiet.fdatasyncs == 3u);  // and the close
}

BOOST_AUTO_TEST_CASE(an_unwritable_audit_file_sends_the_entry_to_the_regular_log) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    write_text(dir.file("not-a-dir"), "x");
    Config c = audit_config(dir, dir.file("not-a-dir/audit.log"));
    const auto before = alog::stats();
    start(c);  // initialize() succeeds, with a WARNING
    BOOST_TEST(!alog::get_logger("auth").audit("User login", {{"user_id", "123"}}));
    alog::shutdown();
    BOOST_TEST(alog::stats().audit_entries_failed - before.audit_entries_failed == 1u);
    BOOST_TEST(audit_metric("failed") >= 1.0);
    const auto read = agora_test::read_entries(dir.file("app.log"));
    BOOST_TEST(read.errors.empty(), agora_test::join_errors(read.errors));
    bool warned = false, kept = false;
    for (const auto& e : read.entries) {
        if (e.level == "WARNING" && e.message.find("Audit log unavailable: cannot open audit file") == 0) warned = true;
        if (e.level == "ERROR" && e.message == "Audit entry not written") {
            kept = json_at(e.raw, "/context/audit_message") == "User login" && json_at(e.raw, "/user_id") == "123" &&
                   json_at(e.raw, "/context/audit_error").find("Not a directory") != std::string::npos &&
                   json_at(e.raw, "/context/audit_logger") == "auth";
        }
    }
    BOOST_TEST(warned);
    BOOST_TEST(kept);
}

BOOST_AUTO_TEST_CASE(audit_without_audit_logging_returns_false) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    start(agora_test::quiet_config(dir.file("app.log")));
    BOOST_TEST(!alog::get_logger("auth").audit("User login"));
    alog::shutdown();
    bool kept = false;
    for (const auto& e : agora_test::read_entries(dir.file("app.log")).entries)
        kept = kept || json_at(e.raw, "/context/audit_error").find("not enabled") != std::string::npos;
    BOOST_TEST(kept);
}

BOOST_AUTO_TEST_CASE(retention_removes_only_expired_rotated_files) {
    agora_test::TempDir dir;
    const std::string path = dir.file("audit.log");
    const auto now = std::filesystem::file_time_type::clock::now();
    auto make = [&](const std::string& name, int days_old) {
        write_text(dir.file(name), "x\n");
        std::filesystem::last_write_time(dir.file(name), now - std::chrono::hours(24 * days_old));
    };
    make("audit.log.000000000001", 400);
    make("audit.log.000000000050", 300);
    make("audit.log.old", 400);      // not a rotated file's name
    make("audit.log", 400);          // the live file: never removed
    make("other.log.000000000001", 400);
    d::AuditLog log({path, 1u << 20, 365, true});
    BOOST_TEST(log.remove_expired(std::chrono::system_clock::now()) == 1u);
    BOOST_TEST(!agora_test::file_exists(dir.file("audit.log.000000000001")));
    for (const char* kept : {"audit.log.000000000050", "audit.log.old", "audit.log", "other.log.000000000001"})
        BOOST_TEST(agora_test::file_exists(dir.file(kept)), kept);
    d::AuditLog shorter({path, 1u << 20, 200, true});
    BOOST_TEST(shorter.remove_expired(std::chrono::system_clock::now()) == 1u);
    BOOST_TEST(!agora_test::file_exists(dir.file("audit.log.000000000050")));
}

BOOST_AUTO_TEST_CASE(settings_from_env_and_validation) {
    ::setenv("LOG_AUDIT_ENABLED", "true", 1);
    ::setenv("LOG_AUDIT_FILE_PATH", "/tmp/x/audit.log", 1);
    auto c = Config::from_env();
    BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
    BOOST_TEST(c->audit.enabled);
    BOOST_TEST(c->audit.file_path == "/tmp/x/audit.log");
    ::setenv("LOG_AUDIT_ENABLED", "maybe", 1);
    auto bad = Config::from_env();
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().message.find("LOG_AUDIT_ENABLED") != std::string::npos, bad.error().message);
    ::setenv("LOG_AUDIT_ENABLED", "1", 1);
    ::setenv("LOG_AUDIT_FILE_PATH", "", 1);
    BOOST_TEST(!Config::from_env().has_value());
    ::unsetenv("LOG_AUDIT_ENABLED");
    ::unsetenv("LOG_AUDIT_FILE_PATH");

    Config v;
    v.service_name = "s";
    v.audit.retention_days = 0;
    auto r = v.validate();
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().message.find("audit.retention_days") != std::string::npos, r.error().message);
    v.audit.retention_days = 365;
    v.audit.max_file_size_mb = 0;
    BOOST_TEST(!v.validate().has_value());
    v.audit.max_file_size_mb = 100;
    BOOST_TEST(v.validate().has_value());
}
