// Crash dumps end to end: crash_child (its path in AGORA_CRASH_CHILD, set by
// test/meson.build) logs N records and dies by a null write, abort(), an
// uncaught exception, a stack overflow, SIGFPE, SIGILL, SIGBUS or SIGTERM,
// with the backend running or held (detail::hold_backend_for_tests()), from
// one thread or four, or by a fault on the backend thread; or it writes an
// on-demand dump. The
// log file and the decoded dump together must hold every record exactly
// once, in order, each dumped one rendered as the live backend renders its
// call site; the SIGSEGV handler the child installed first must still run.
//
// Each case runs its child in a directory of its own (TempDir); only the
// main thread runs Boost.Test macros.

#define BOOST_TEST_MODULE crash
#include "common.hpp"

#include "decode/decoder.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <ostream>
#include <regex>
#include <span>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using agora::log::detail::Decoder;
using agora::log::detail::InputInfo;
namespace d = agora::log::detail;

constexpr int kRecords = 1000;
constexpr int kHalf = kRecords / 2;  // crash_child holds the backend before record kHalf
constexpr std::string_view kChildLogger = "crash.child";
constexpr std::string_view kOwnLogger = "agora.log";

std::string child_path() {
    const char* p = std::getenv("AGORA_CRASH_CHILD");
    return p != nullptr ? std::string(p) : std::string();
}

/// crash_child with stdout and stderr in `dir`/out and `dir`/err. Returns
/// the wait status and the pid, or -1 and the errno of a failed spawn.
struct ChildResult {
    int status = 0;
    pid_t pid = -1;
    int spawn_error = 0;
};
ChildResult run_child(const std::string& mode, const std::string& backend, int n, const fs::path& dir) {
    ChildResult r;
    const std::string exe = child_path();
    const std::string count = std::to_string(n);
    const std::string dir_text = dir.string();
    const std::string out = (dir / "out").string();
    const std::string err = (dir / "err").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv{const_cast<char*>(exe.c_str()), const_cast<char*>(mode.c_str()),
                            const_cast<char*>(backend.c_str()), const_cast<char*>(count.c_str()),
                            const_cast<char*>(dir_text.c_str()), nullptr};
    r.spawn_error = posix_spawn(&r.pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (r.spawn_error != 0) {
        r.pid = -1;
        return r;
    }
    while (::waitpid(r.pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    return r;
}

std::string describe_status(int status) {
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "wait status " + std::to_string(status);
}

/// Files in `dir` whose names match `pattern`.
std::vector<std::string> files_matching(const fs::path& dir, const std::regex& pattern) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (std::regex_match(e.path().filename().string(), pattern)) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

struct Decoded {
    std::vector<std::string> lines;
    std::vector<InputInfo> inputs;
    bool damaged = false;
};
Decoded decode(const std::string& path) {
    const std::string bytes = agora_test::read_file(path);
    Decoder decoder;
    decoder.add(path, std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
    Decoded out;
    decoder.render([&out](std::string_view line) { out.lines.emplace_back(line); });
    out.inputs = decoder.inputs();
    out.damaged = decoder.damaged();
    return out;
}

std::string problems_text(const Decoded& d) {
    std::string s;
    for (const auto& in : d.inputs)
        for (const auto& p : in.problems) s += "\n  " + p;
    return s;
}

/// A line of one of crash_child's records: "record <index> of <total>".
struct RecordLine {
    int index = -1;
    int total = -1;
    agora_test::Entry entry;
};

/// Splits validated entries into the child's records and the logger's own
/// entries; `errors` gets everything that is neither, or not well formed.
void classify(const std::vector<agora_test::Entry>& entries, std::vector<RecordLine>& records,
              std::vector<agora_test::Entry>& own, std::vector<std::string>& errors) {
    static const std::regex message_re(R"(^record (\d+) of (\d+)$)");
    for (const auto& e : entries) {
        std::smatch m;
        if (e.logger_name == kChildLogger && std::regex_match(e.message, m, message_re))
            records.push_back(RecordLine{std::stoi(m[1]), std::stoi(m[2]), e});
        else if (e.logger_name == kOwnLogger)
            own.push_back(e);
        else
            errors.push_back("not a record of crash_child: " + e.raw.substr(0, 300));
    }
}

std::vector<agora_test::Entry> parse_lines(const std::vector<std::string>& lines, std::vector<std::string>& errors) {
    std::vector<agora_test::Entry> out;
    for (const auto& line : lines) {
        std::string error;
        if (auto e = agora_test::parse_entry(line, error)) out.push_back(std::move(*e));
        else errors.push_back(error + ": " + line.substr(0, 300));
    }
    return out;
}

/// The child's log file and its decoded dump, parsed and classified;
/// `errors` collects every line that is not a valid entry of either kind.
struct SplitLines {
    std::vector<agora_test::Entry> dumped;  // every decoded line, in order
    std::vector<RecordLine> file_records, dump_records;
    std::vector<agora_test::Entry> file_own, dump_own;
    std::vector<std::string> errors;
};

SplitLines split_lines(const std::string& log_file, const std::vector<std::string>& decoded_lines) {
    SplitLines out;
    const agora_test::Entries file = agora_test::read_entries(log_file);
    out.errors.insert(out.errors.end(), file.errors.begin(), file.errors.end());
    out.dumped = parse_lines(decoded_lines, out.errors);
    classify(file.entries, out.file_records, out.file_own, out.errors);
    classify(out.dumped, out.dump_records, out.dump_own, out.errors);
    return out;
}

std::string serialize(const rapidjson::Value& v) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    v.Accept(writer);
    return std::string(buffer.GetString(), buffer.GetSize());
}

/// `line` without its timestamp, keys in their order.
std::string without_timestamp(const std::string& line) {
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) return "unparsable: " + line;
    doc.EraseMember("timestamp");
    return serialize(doc);
}

/// What the live backend writes for record `index` of `total` from the call
/// site `reference` (a live line of another record of that site) comes from:
/// the reference with its message and named placeholder fields (index,
/// total) replaced, without the timestamp.
std::string expected_from_site(const std::string& reference, int index, int total) {
    rapidjson::Document doc;
    doc.Parse(reference.c_str(), reference.size());
    if (doc.HasParseError() || !doc.IsObject()) return "unparsable reference: " + reference;
    doc.EraseMember("timestamp");
    const std::string message = "record " + std::to_string(index) + " of " + std::to_string(total);
    doc["message"].SetString(message.c_str(), static_cast<rapidjson::SizeType>(message.size()), doc.GetAllocator());
    if (auto context = doc.FindMember("context"); context != doc.MemberEnd() && context->value.IsObject()) {
        if (auto f = context->value.FindMember("index"); f != context->value.MemberEnd()) f->value.SetInt(index);
        if (auto f = context->value.FindMember("total"); f != context->value.MemberEnd()) f->value.SetInt(total);
    }
    return serialize(doc);
}

/// The indices of `records`, in their order.
std::vector<int> indices(const std::vector<RecordLine>& records) {
    std::vector<int> out;
    for (const auto& r : records) out.push_back(r.index);
    return out;
}

std::vector<int> range(int from, int to) {
    std::vector<int> out;
    for (int i = from; i < to; ++i) out.push_back(i);
    return out;
}

std::string first_difference(const std::vector<int>& got, const std::vector<int>& want) {
    const std::size_t n = std::min(got.size(), want.size());
    for (std::size_t i = 0; i < n; ++i)
        if (got[i] != want[i])
            return "position " + std::to_string(i) + ": record " + std::to_string(got[i]) + ", expected " +
                   std::to_string(want[i]);
    return "sizes " + std::to_string(got.size()) + " and " + std::to_string(want.size());
}

struct Crash {
    std::string mode;     // a crash_child mode that dies (see crash_child.cpp)
    std::string backend;  // alive or held
};
std::ostream& operator<<(std::ostream& os, const Crash& c) { return os << c.mode << '/' << c.backend; }

int expected_signal(const std::string& mode) {
    if (mode == "segv" || mode == "stack" || mode == "handler_segv" || mode == "threads" ||
        mode == "shutdown_during_crash")
        return SIGSEGV;
    if (mode == "fpe") return SIGFPE;
    if (mode == "ill") return SIGILL;
    if (mode == "bus") return SIGBUS;
    if (mode == "term") return SIGTERM;
    return SIGABRT;  // abort, throw
}

/// The crash handler's note for `c`, as a pattern ("on thread <tid>" included).
std::string expected_note(const Crash& c, const std::string& thread) {
    const std::string on_thread = " on thread " + thread;
    const std::string some_address = " at address 0x[0-9a-f]+";
    if (c.mode == "segv" || c.mode == "handler_segv" || c.mode == "threads" || c.mode == "shutdown_during_crash")
        return R"(Fatal signal SIGSEGV \(11\) at address 0x0)" + on_thread;
    if (c.mode == "stack") return R"(Fatal signal SIGSEGV \(11\) at address 0x[0-9a-f]*[1-9a-f][0-9a-f]*)" + on_thread;
    if (c.mode == "fpe") return R"(Fatal signal SIGFPE \(8\))" + some_address + on_thread;
    if (c.mode == "ill") return R"(Fatal signal SIGILL \(4\))" + some_address + on_thread;
    if (c.mode == "bus") return R"(Fatal signal SIGBUS \(7\))" + some_address + on_thread;
    if (c.mode == "term") return R"(Fatal signal SIGTERM \(15\))" + on_thread;
    if (c.mode == "abort") return R"(Fatal signal SIGABRT \(6\))" + on_thread;
    return R"(std::terminate: uncaught exception std::runtime_error: crash_child gives up)" + on_thread;
}

/// handler_segv: the record at which the handler on the backend thread faults.
constexpr int kTrigger = kRecords * 7 / 10;

/// Checks the indices of the log file and the dump. Normally: the log file,
/// then the dump, are 0..N-1, each once, in order. threads: each index once,
/// and in order within each thread (i % 4). handler_segv: nothing is lost,
/// but the records the backend took since its last flush may be in both:
/// the log file is 0..a, the dump b..N-1, with b <= the trigger and b <= a + 1.
void check_indices(const Crash& c, const std::vector<int>& in_file, const std::vector<int>& in_dump) {
    std::vector<int> all = in_file;
    all.insert(all.end(), in_dump.begin(), in_dump.end());
    if (c.mode == "threads") {
        std::vector<int> sorted = all;
        std::sort(sorted.begin(), sorted.end());
        BOOST_TEST((sorted == range(0, kRecords)), "log file + dump, sorted: " << first_difference(sorted, range(0, kRecords)));
        std::vector<std::string> disorder;
        int last[4] = {-1, -1, -1, -1};
        for (int i : all) {
            if (i < last[i % 4]) disorder.push_back(std::to_string(i) + " after " + std::to_string(last[i % 4]));
            last[i % 4] = i;
        }
        BOOST_TEST(disorder.empty(), "out of order within a thread: " << agora_test::join_errors(disorder));
        if (c.backend == "held") BOOST_TEST((in_file == range(0, 4)), "log file: " << first_difference(in_file, range(0, 4)));
        return;
    }
    if (c.mode == "handler_segv") {
        BOOST_REQUIRE(!in_file.empty());
        BOOST_REQUIRE(!in_dump.empty());
        BOOST_TEST((in_file == range(0, in_file.back() + 1)), "log file: " << first_difference(in_file, range(0, in_file.back() + 1)));
        BOOST_TEST((in_dump == range(in_dump.front(), kRecords)), "dump: " << first_difference(in_dump, range(in_dump.front(), kRecords)));
        BOOST_TEST(in_dump.front() <= kTrigger);
        BOOST_TEST(in_dump.front() <= in_file.back() + 1, "records " << in_file.back() + 1 << ".." << in_dump.front() - 1 << " are lost");
        return;
    }
    BOOST_TEST((all == range(0, kRecords)), "log file + dump: " << first_difference(all, range(0, kRecords)));
    if (c.backend == "held") {
        BOOST_TEST((in_file == range(0, kHalf)), "log file: " << first_difference(in_file, range(0, kHalf)));
        BOOST_TEST((in_dump == range(kHalf, kRecords)), "dump: " << first_difference(in_dump, range(kHalf, kRecords)));
    }
}

/// One crash of crash_child, checked from every side (see the file comment).
void check_crash(const Crash& c) {
    BOOST_REQUIRE_MESSAGE(!child_path().empty(), "AGORA_CRASH_CHILD is not set (test/meson.build sets it)");
    agora_test::TempDir dir;
    const ChildResult child = run_child(c.mode, c.backend, kRecords, dir.path());
    BOOST_REQUIRE_MESSAGE(child.spawn_error == 0, "posix_spawn: " << std::strerror(child.spawn_error));
    const std::string err = agora_test::read_file(dir.file("err"));
    const int signal = expected_signal(c.mode);
    BOOST_REQUIRE_MESSAGE(WIFSIGNALED(child.status) && WTERMSIG(child.status) == signal,
                          "child " << describe_status(child.status) << ", expected signal " << signal
                                   << "; stderr:\n" << err);

    // Sanitizer builds: the crash path itself raised no report.
    BOOST_TEST(err.find("runtime error") == std::string::npos, err);
    BOOST_TEST(err.find("Sanitizer") == std::string::npos, err);

    // The handler found at install ran for a SIGSEGV, and only then.
    const std::string marker = agora_test::read_file(dir.file("segv-marker"));
    BOOST_TEST(marker == (signal == SIGSEGV ? "previous SIGSEGV handler ran\n" : ""));

    // Exactly one dump, named <prefix>.crash-<pid>-<UTC time>.bin.
    const std::string pid = std::to_string(child.pid);
    const auto dumps = files_matching(dir.path(), std::regex(R"(dump\.crash-.*)"));
    BOOST_REQUIRE_EQUAL(dumps.size(), 1u);
    const std::string dump_path = dumps[0];
    BOOST_TEST(std::regex_match(fs::path(dump_path).filename().string(),
                                std::regex("dump\\.crash-" + pid + R"(-\d{8}T\d{6}Z\.bin)")),
               dump_path);
    BOOST_TEST(files_matching("/tmp", std::regex("agora-log\\.crash-" + pid + "-.*")).empty());

    const Decoded decoded = decode(dump_path);
    BOOST_TEST(!decoded.damaged, "dump is damaged:" << problems_text(decoded));
    BOOST_REQUIRE_EQUAL(decoded.inputs.size(), 1u);
    const InputInfo& info = decoded.inputs[0];
    BOOST_TEST((info.kind == d::FileKind::crash_dump));
    BOOST_TEST(info.pid == static_cast<std::uint32_t>(child.pid));
    BOOST_TEST(info.service == "crash-child");
    BOOST_REQUIRE(info.crash.has_value());
    const std::uint32_t flags = info.crash->flags;
    BOOST_TEST(info.crash->signal == signal);
    const bool on_backend = c.mode == "handler_segv";
    if (on_backend || c.mode == "shutdown_during_crash")  // not the main thread
        BOOST_TEST(info.crash->thread != static_cast<std::uint64_t>(child.pid));
    else
        BOOST_TEST(info.crash->thread == static_cast<std::uint64_t>(child.pid));
    BOOST_TEST(((flags & d::kDumpTerminate) != 0) == (c.mode == "throw"), "flags " << flags);
    BOOST_TEST(((flags & d::kDumpOnBackendThread) != 0) == on_backend, "flags " << flags);
    BOOST_TEST((flags & (d::kDumpTruncated | d::kDumpBackendNotStopped | d::kDumpNoBackend)) == 0u, "flags " << flags);
    const std::string flags_text = d::dump_flags_text(flags);
    BOOST_TEST(flags_text.find("unknown") == std::string::npos, flags_text);
    if (c.backend == "held")  // a held backend cannot drain; it stops when told to
        BOOST_TEST((flags & d::kDumpBackendTimedOut) != 0u, "flags " << flags);

    // Every line is a schema-valid entry: the decoded ones end with the note.
    const SplitLines split = split_lines(dir.file("child.log"), decoded.lines);
    const auto& [dumped, file_records, dump_records, file_own, dump_own, errors] = split;
    BOOST_TEST(errors.empty(), agora_test::join_errors(errors));

    BOOST_REQUIRE(!dumped.empty());
    const agora_test::Entry& note = dumped.back();
    BOOST_TEST(note.level == "CRITICAL");
    BOOST_TEST(note.logger_name == kOwnLogger);
    BOOST_TEST(note.service == "crash-child");
    const std::string pattern = expected_note(c, std::to_string(info.crash->thread));
    BOOST_TEST(std::regex_match(note.message, std::regex(pattern)), note.message << "\n  expected: " << pattern);
    BOOST_TEST(dump_own.size() == 1u, "the note is the dump's only entry of the logger's own");
    BOOST_TEST(info.crash->records == dump_records.size());

    // The stderr line names the dump and its record count.
    const std::string said = "agora-log: " + std::to_string(dump_records.size()) +
                             " records not yet in the log saved to " + dump_path + "; decode with agora-log-decode\n";
    BOOST_TEST(err.find(said) != std::string::npos, "stderr:\n" << err << "expected:\n" << said);

    check_indices(c, indices(file_records), indices(dump_records));
    for (const auto& r : file_records) BOOST_TEST(r.total == kRecords);
    for (const auto& r : dump_records) BOOST_TEST(r.total == kRecords);
    BOOST_TEST_MESSAGE(c << ": " << file_records.size() << " records in the log file, " << dump_records.size()
                         << " in the dump, flags " << d::dump_flags_text(flags));

    // A dumped record is what the live backend wrote for its call site.
    std::map<std::int64_t, std::string> live_by_line;
    for (const auto& r : file_records) live_by_line.emplace(r.entry.line, r.entry.raw);
    for (const auto& r : dump_records) {
        const auto live = live_by_line.find(r.entry.line);
        if (live == live_by_line.end()) {
            BOOST_TEST(false, "no live record of the call site at line " << r.entry.line << ": " << r.entry.raw);
            continue;
        }
        const std::string got = without_timestamp(r.entry.raw);
        const std::string expected = expected_from_site(live->second, r.index, r.total);
        if (got != expected) {
            BOOST_TEST(got == expected, "record " << r.index << ":\n  dumped: " << got << "\n  live:   " << expected);
            break;  // one difference says it; the others would repeat it
        }
    }
}

/// The stdout lines of a dump_now child; checks that the first dump_now()
/// wrote now.bin and the second refused existing.bin, leaving it as it was.
void check_dump_now_calls(const agora_test::TempDir& dir, const std::string& out, const std::string& sentinel) {
    std::vector<std::string> said;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) said.push_back(line);
    BOOST_REQUIRE_EQUAL(said.size(), 2u);
    BOOST_TEST(said[0] == "dump_now: ok");
    const std::string existing = dir.file("existing.bin");
    BOOST_TEST(said[1].rfind("dump_now existing: io_error ", 0) == 0u, said[1]);
    BOOST_TEST(said[1].find(existing) != std::string::npos, said[1]);
    BOOST_TEST((agora_test::read_file(existing) == sentinel), "existing.bin was replaced");
    BOOST_TEST(files_matching(dir.path(), std::regex(R"(dump\.crash-.*)")).empty());
    BOOST_TEST(agora_test::read_file(dir.file("segv-marker")).empty());
}

/// Runs crash_child in a dump_now mode (it exits 0), checks its calls and
/// returns now.bin decoded with the log file's and the dump's records.
struct DumpNowRun {
    Decoded decoded;
    SplitLines split;
};
DumpNowRun run_dump_now(const std::string& mode, const std::string& backend, const agora_test::TempDir& dir) {
    const std::string sentinel = "not a dump: dump_now must leave this file alone\n";
    {
        std::ofstream out(dir.file("existing.bin"), std::ios::binary);
        out << sentinel;
    }
    const ChildResult child = run_child(mode, backend, kRecords, dir.path());
    BOOST_REQUIRE_MESSAGE(child.spawn_error == 0, "posix_spawn: " << std::strerror(child.spawn_error));
    const std::string out = agora_test::read_file(dir.file("out"));
    const std::string err = agora_test::read_file(dir.file("err"));
    BOOST_REQUIRE_MESSAGE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0,
                          "child " << describe_status(child.status) << "; stdout:\n" << out << "stderr:\n" << err);
    BOOST_TEST(err.empty(), err);
    check_dump_now_calls(dir, out, sentinel);

    DumpNowRun run;
    run.decoded = decode(dir.file("now.bin"));
    BOOST_TEST(!run.decoded.damaged, "dump is damaged:" << problems_text(run.decoded));
    BOOST_REQUIRE_EQUAL(run.decoded.inputs.size(), 1u);
    const InputInfo& info = run.decoded.inputs[0];
    BOOST_TEST((info.kind == d::FileKind::on_demand_dump));
    BOOST_TEST(info.pid == static_cast<std::uint32_t>(child.pid));
    BOOST_REQUIRE(info.crash.has_value());
    BOOST_TEST(info.crash->signal == 0);
    run.split = split_lines(dir.file("child.log"), run.decoded.lines);
    BOOST_TEST(run.split.errors.empty(), agora_test::join_errors(run.split.errors));
    BOOST_TEST(run.split.dump_own.empty(), "an on-demand dump has no note");
    BOOST_TEST(info.crash->records == run.split.dump_records.size());
    // dump_now() consumes nothing: the log file, written afterwards, holds
    // every record once.
    const std::vector<int> in_file = indices(run.split.file_records);
    BOOST_TEST((in_file == range(0, kRecords)), "log file: " << first_difference(in_file, range(0, kRecords)));
    return run;
}

/// Each dumped record renders as the live backend wrote the same record.
void check_dumped_as_live(const SplitLines& split) {
    std::map<int, std::string> live_by_index;
    for (const auto& r : split.file_records) live_by_index.emplace(r.index, r.entry.raw);
    for (const auto& r : split.dump_records) {
        const auto live = live_by_index.find(r.index);
        if (live == live_by_index.end()) continue;  // reported by the order check
        const std::string got = without_timestamp(r.entry.raw);
        const std::string expected = without_timestamp(live->second);
        if (got != expected) {
            BOOST_TEST(got == expected, "record " << r.index << ":\n  dumped: " << got << "\n  live:   " << expected);
            break;
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash)

BOOST_AUTO_TEST_CASE(segv_backend_alive) { check_crash({"segv", "alive"}); }
BOOST_AUTO_TEST_CASE(segv_backend_held) { check_crash({"segv", "held"}); }
BOOST_AUTO_TEST_CASE(abort_backend_alive) { check_crash({"abort", "alive"}); }
BOOST_AUTO_TEST_CASE(abort_backend_held) { check_crash({"abort", "held"}); }
BOOST_AUTO_TEST_CASE(uncaught_exception_backend_alive) { check_crash({"throw", "alive"}); }
BOOST_AUTO_TEST_CASE(uncaught_exception_backend_held) { check_crash({"throw", "held"}); }
BOOST_AUTO_TEST_CASE(stack_overflow_backend_alive) { check_crash({"stack", "alive"}); }
BOOST_AUTO_TEST_CASE(stack_overflow_backend_held) { check_crash({"stack", "held"}); }
BOOST_AUTO_TEST_CASE(sigfpe) { check_crash({"fpe", "alive"}); }
BOOST_AUTO_TEST_CASE(sigill) { check_crash({"ill", "alive"}); }
BOOST_AUTO_TEST_CASE(sigbus) { check_crash({"bus", "alive"}); }
BOOST_AUTO_TEST_CASE(sigterm_when_configured) { check_crash({"term", "alive"}); }
BOOST_AUTO_TEST_CASE(crash_on_the_backend_thread_loses_nothing) { check_crash({"handler_segv", "alive"}); }
BOOST_AUTO_TEST_CASE(four_threads_with_growing_rings_backend_alive) { check_crash({"threads", "alive"}); }
BOOST_AUTO_TEST_CASE(four_threads_with_growing_rings_backend_held) { check_crash({"threads", "held"}); }

// shutdown() on another thread while a crash handler is in the dump waits for
// it instead of deleting the backend the handler is using: the process dies
// by the crash, with its dump, and the chained handler still runs.
BOOST_AUTO_TEST_CASE(shutdown_during_a_crash_waits_for_the_handler) { check_crash({"shutdown_during_crash", "alive"}); }

// A child forked while the parent's crash handler is in the dump handles its
// own crash (dump and chain) instead of waiting for a crash that is not its.
// Not under ThreadSanitizer, which cannot follow a child that starts threads
// after a multi-threaded fork() (as test/meson.build says of test_fork).
#if !defined(__SANITIZE_THREAD__)
BOOST_AUTO_TEST_CASE(a_child_forked_during_a_crash_handles_its_own) {
    BOOST_REQUIRE_MESSAGE(!child_path().empty(), "AGORA_CRASH_CHILD is not set (test/meson.build sets it)");
    agora_test::TempDir dir;
    const ChildResult parent = run_child("fork_during_crash", "alive", kRecords, dir.path());
    BOOST_REQUIRE_MESSAGE(parent.spawn_error == 0, "posix_spawn: " << std::strerror(parent.spawn_error));
    const std::string out = agora_test::read_file(dir.file("out"));
    const std::string err = agora_test::read_file(dir.file("err"));
    BOOST_REQUIRE_MESSAGE(WIFSIGNALED(parent.status) && WTERMSIG(parent.status) == SIGSEGV,
                          "child " << describe_status(parent.status) << "; stdout:\n" << out << "stderr:\n" << err);
    BOOST_TEST(err.find("runtime error") == std::string::npos, err);
    BOOST_TEST(err.find("Sanitizer") == std::string::npos, err);

    std::smatch said;
    BOOST_REQUIRE_MESSAGE(std::regex_search(out, said, std::regex(R"(forked child (\d+): (\w+) (\d+)\n)")), out);
    const std::string forked = said[1].str();
    BOOST_TEST(said[2].str() + " " + said[3].str() == "signal " + std::to_string(SIGSEGV));
    BOOST_TEST(agora_test::read_file(dir.file("segv-marker")) == "previous SIGSEGV handler ran\n"
                                                                 "previous SIGSEGV handler ran\n");

    // One dump each, decoded undamaged, each naming its own process and thread.
    for (const auto& [pid, records] : {std::pair{std::to_string(parent.pid), true}, std::pair{forked, false}}) {
        const auto dumps = files_matching(dir.path(), std::regex("dump\\.crash-" + pid + R"(-\d{8}T\d{6}Z\.bin)"));
        BOOST_REQUIRE_EQUAL(dumps.size(), 1u);
        const Decoded decoded = decode(dumps[0]);
        BOOST_TEST(!decoded.damaged, dumps[0] << " is damaged:" << problems_text(decoded));
        BOOST_REQUIRE_EQUAL(decoded.inputs.size(), 1u);
        const InputInfo& info = decoded.inputs[0];
        BOOST_TEST(std::to_string(info.pid) == pid);
        BOOST_REQUIRE(info.crash.has_value());
        BOOST_TEST(info.crash->signal == SIGSEGV);
        // The parent's crash is on its second thread; the child's on its only one.
        BOOST_TEST((std::to_string(info.crash->thread) == pid) == !records, "thread " << info.crash->thread);
        const SplitLines split = split_lines(dir.file("child.log"), decoded.lines);
        BOOST_TEST(split.errors.empty(), agora_test::join_errors(split.errors));
        BOOST_TEST(split.dump_own.size() == 1u, "the note is the dump's only entry of the logger's own");
        if (records) {  // the parent's records: the log file and its dump hold each once
            std::vector<int> all = indices(split.file_records);
            const std::vector<int> in_dump = indices(split.dump_records);
            all.insert(all.end(), in_dump.begin(), in_dump.end());
            BOOST_TEST((all == range(0, kRecords)), "log file + dump: " << first_difference(all, range(0, kRecords)));
        } else {
            BOOST_TEST(split.dump_records.empty(), "the forked child logged nothing");
        }
    }
}
#endif

// A SIGTERM the process ignored before initialize() stays ignored, even with
// termination signals configured: no dump, and the process goes on.
BOOST_AUTO_TEST_CASE(an_ignored_sigterm_stays_ignored) {
    BOOST_REQUIRE_MESSAGE(!child_path().empty(), "AGORA_CRASH_CHILD is not set (test/meson.build sets it)");
    agora_test::TempDir dir;
    const ChildResult child = run_child("ignored_term", "alive", kRecords, dir.path());
    BOOST_REQUIRE_MESSAGE(child.spawn_error == 0, "posix_spawn: " << std::strerror(child.spawn_error));
    const std::string err = agora_test::read_file(dir.file("err"));
    BOOST_REQUIRE_MESSAGE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0,
                          "child " << describe_status(child.status) << "; stderr:\n" << err);
    BOOST_TEST(files_matching(dir.path(), std::regex(R"(dump\.crash-.*)")).empty());
    const SplitLines split = split_lines(dir.file("child.log"), {});
    BOOST_TEST(split.errors.empty(), agora_test::join_errors(split.errors));
    BOOST_TEST((indices(split.file_records) == range(0, kRecords)));
}

BOOST_AUTO_TEST_CASE(dump_now_copies_queued_records_without_consuming_them) {
    BOOST_REQUIRE_MESSAGE(!child_path().empty(), "AGORA_CRASH_CHILD is not set (test/meson.build sets it)");
    agora_test::TempDir dir;
    const DumpNowRun run = run_dump_now("dump_now", "held", dir);
    const std::uint32_t flags = run.decoded.inputs.at(0).crash->flags;
    BOOST_TEST((flags & (d::kDumpTruncated | d::kDumpBackendNotStopped | d::kDumpNoBackend)) == 0u, "flags " << flags);
    // The dump holds what was queued behind the held backend.
    const std::vector<int> in_dump = indices(run.split.dump_records);
    BOOST_TEST((in_dump == range(kHalf, kRecords)), "dump: " << first_difference(in_dump, range(kHalf, kRecords)));
    check_dumped_as_live(run.split);
}

// With the backend running, dump_now() pauses it between two records.
BOOST_AUTO_TEST_CASE(dump_now_pauses_a_running_backend) {
    BOOST_REQUIRE_MESSAGE(!child_path().empty(), "AGORA_CRASH_CHILD is not set (test/meson.build sets it)");
    agora_test::TempDir dir;
    const DumpNowRun run = run_dump_now("dump_now", "alive", dir);
    const std::uint32_t flags = run.decoded.inputs.at(0).crash->flags;
    BOOST_TEST((flags & (d::kDumpTruncated | d::kDumpBackendNotStopped | d::kDumpNoBackend)) == 0u, "flags " << flags);
    // Whatever it holds is a run of consecutive records up to the last.
    const std::vector<int> in_dump = indices(run.split.dump_records);
    if (!in_dump.empty())
        BOOST_TEST((in_dump == range(in_dump.front(), kRecords)), "dump: " << first_difference(in_dump, range(in_dump.front(), kRecords)));
    check_dumped_as_live(run.split);
}

// A backend busy inside a handler cannot be paused: dump_now() gives up
// waiting after a second, copies the rings while it runs, and says so.
BOOST_AUTO_TEST_CASE(dump_now_with_a_busy_backend_says_it_did_not_stop) {
    BOOST_REQUIRE_MESSAGE(!child_path().empty(), "AGORA_CRASH_CHILD is not set (test/meson.build sets it)");
    agora_test::TempDir dir;
    const DumpNowRun run = run_dump_now("dump_now_stuck", "alive", dir);
    const std::uint32_t flags = run.decoded.inputs.at(0).crash->flags;
    BOOST_TEST((flags & d::kDumpBackendNotStopped) != 0u, "flags " << flags);
    BOOST_TEST((flags & (d::kDumpTruncated | d::kDumpNoBackend)) == 0u, "flags " << flags);
    // Everything from the record the backend is busy with (at the latest) to the last.
    const std::vector<int> in_dump = indices(run.split.dump_records);
    BOOST_REQUIRE(!in_dump.empty());
    BOOST_TEST(in_dump.front() <= kTrigger);
    BOOST_TEST((in_dump == range(in_dump.front(), kRecords)), "dump: " << first_difference(in_dump, range(in_dump.front(), kRecords)));
    check_dumped_as_live(run.split);
}

BOOST_AUTO_TEST_SUITE_END()
