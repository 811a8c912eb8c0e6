// agora-log-decode's command line: renders the records of crash dumps,
// dump_now() files and binary log files as the live backend would have
// written them (JSON lines, or text lines). The work is src/decode/; this
// file reads the inputs, parses the options and writes. A function rather
// than main() so that tests can run it in-process (decode_cli.hpp).
//
// Exit status: 0 all inputs decoded cleanly; 1 an input was damaged or could
// not be read, the output could not be opened or written, or memory ran out
// (everything decodable is still written); 2 usage error.

#include "decode_cli.hpp"

#include "base/whole_file.hpp"
#include "decode/decoder.hpp"
#include "format/format.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using agora::log::detail::InputInfo;

/// --threads above this is a typo, not a machine.
constexpr unsigned kMaxThreads = 256;

/// --max-input-mb: the default cap on the bytes read from one input (an
/// endless stream would otherwise grow the heap until killed), and the largest.
constexpr std::uint64_t kDefaultMaxInputMb = 4096;
constexpr std::uint64_t kMaxMaxInputMb = std::uint64_t{1} << 20;
constexpr std::uint64_t kMiB = 1024 * 1024;

constexpr std::string_view kUsage = R"(Usage: agora-log-decode [OPTIONS] FILE...

Renders the records in agora-log crash dumps, dump_now() files and binary log
files, one line per record, exactly as the live logger writes them.
FILE "-" reads standard input.

Options:
  --format json|text  output format (default json)
  --output FILE       write the records to FILE instead of standard output
  --info              print what each input says about itself (kind, identity,
                      pid, clock anchor, threads, records, crash, problems)
                      instead of records; its checks are a full decode's
  --sort              order records by timestamp across threads and files (default)
  --no-sort           keep the order of the files
  --threads N         render on N threads (default: the CPUs, at most 4; 1: on
                      the main thread only); the output is the same for any N
  --max-input-mb N    read at most N MiB from one input (default 4096, at most
                      1048576); a larger input is an error and is not decoded.
                      An input that does not start with the AGORALOG magic is
                      read no further than its first bytes
  --redaction recorded|defaults|off
                      sensitive-data rules: each file's writer's (recorded in
                      the file; the default), the built-in defaults, or none
                      (off writes the raw values: passwords, tokens, keys)
  --help              print this help

Problems with the inputs go to standard error: each names the input, what is
wrong and, for damage inside the file, the offset and what was skipped.
Exit status: 0 success; 1 an input was damaged or unreadable (whatever could be
decoded is still written), the --output file could not be opened (checked
before any input is read) or written, or memory ran out; 2 usage error.

Example:
  agora-log-decode --format text logs/market-data.log.crash-4242-20261201T093000Z.bin
  agora-log-decode app.bin.1 app.bin | jq -c 'select(.level == "ERROR")'
)";

int usage_error(std::FILE* err, std::string_view message) {
    std::fprintf(err, "agora-log-decode: %.*s\nTry 'agora-log-decode --help'.\n", static_cast<int>(message.size()),
                 message.data());
    return 2;
}

/// The content of `path` ("-": `in`, read from its descriptor), at most
/// `max_bytes` of it, or only its first bytes if they are not the AGORALOG
/// magic (the decoder then says it is not an agora-log file); false with
/// `error` set if it cannot be read or is larger.
bool read_input(std::FILE* in, const std::string& path, std::uint64_t max_bytes, std::vector<std::byte>& out,
                std::string& error) {
    using agora::log::detail::ReadProblem;
    agora::log::detail::WholeFileLimits limits;
    limits.max_bytes = max_bytes;
    limits.required_prefix = std::string_view(agora::log::detail::kFileMagic, sizeof agora::log::detail::kFileMagic);
    agora::log::detail::WholeFile file = path == "-" ? agora::log::detail::read_whole_fd(::fileno(in), limits)
                                                     : agora::log::detail::read_whole_file(path.c_str(), limits);
    switch (file.problem.kind) {
        case ReadProblem::Kind::none: out = std::move(file.bytes); return true;
        case ReadProblem::Kind::out_of_memory: throw std::bad_alloc();
        case ReadProblem::Kind::too_large:
            error = file.problem.size_known
                        ? fmt::format("{} bytes is above the input cap of {} MiB (--max-input-mb); not decoded",
                                      file.problem.size, max_bytes / kMiB)
                        : fmt::format("more than the input cap of {} MiB (--max-input-mb); stopped reading, "
                                      "not decoded",
                                      max_bytes / kMiB);
            return false;
        default: error = agora::log::detail::problem_text(file.problem, limits); return false;
    }
}

std::string iso_time(std::int64_t unix_ns) {
    std::string s;
    agora::log::detail::append_timestamp(s, unix_ns);
    return s;
}

std::string signal_text(std::int32_t sig) {
    if (sig == 0) return "none (dump_now)";
    const char* abbrev = sig > 0 && sig < NSIG ? sigabbrev_np(sig) : nullptr;
    return abbrev != nullptr ? fmt::format("SIG{} ({})", abbrev, sig) : fmt::format("signal {}", sig);
}

void print_info(std::FILE* out, const InputInfo& info) {
    using agora::log::detail::kind_name;
    fmt::print(out, "{}\n", info.name);
    if (info.header_ok) {
        fmt::print(out, "  kind:           {}\n", kind_name(info.kind));
        fmt::print(out, "  service:        {}\n", info.service);
        fmt::print(out, "  environment:    {}\n", info.environment);
        fmt::print(out, "  version:        {}\n", info.version);
        fmt::print(out, "  host:           {}\n", info.host);
        fmt::print(out, "  pid:            {}\n", info.pid);
        fmt::print(out, "  format version: {}\n", info.header.format_version);
        fmt::print(out, "  clock anchor:   tsc {}, {} ns/tick, {}\n", info.anchor_tsc, info.ns_per_tick,
                   iso_time(info.anchor_unix_ns));
        fmt::print(out, "  threads:        {}\n", info.threads);
        fmt::print(out, "  records:        {}\n", info.records);
        if (info.crash) {
            fmt::print(out, "  crash:          {} on thread {}, {} records dumped\n", signal_text(info.crash->signal),
                       info.crash->thread, info.crash->records);
            fmt::print(out, "  dump flags:     {}\n", agora::log::detail::dump_flags_text(info.crash->flags));
        } else {
            fmt::print(out, "  crash:          no crash entry\n");
        }
    }
    for (const auto& n : info.notes) fmt::print(out, "  note: {}\n", n);
    if (info.problems.empty()) fmt::print(out, "  problems:       none\n");
    for (const auto& p : info.problems) fmt::print(out, "  problem: {}\n", p);
}

}  // namespace

namespace agora::log::detail {

namespace {

/// `a` is the option `name`, alone or as "name=value".
bool is_option(std::string_view a, std::string_view name) {
    return a.starts_with(name) && (a.size() == name.size() || a[name.size()] == '=');
}

/// The value of the option `name` in `a` (is_option() holds): what follows
/// its '=', or the next argument, past which `i` then moves. None if that
/// argument is missing.
std::optional<std::string_view> option_value(std::string_view a, std::string_view name, int& i, int argc,
                                             char** argv) {
    if (a.size() > name.size()) return a.substr(name.size() + 1);
    if (++i >= argc) return std::nullopt;
    return std::string_view(argv[i]);
}

/// Closes an --output file on every way out of run().
struct OutputFile {
    std::FILE* file = nullptr;
    ~OutputFile() {
        if (file != nullptr) std::fclose(file);
    }
};

int run(int argc, char** argv, std::FILE* in, std::FILE* stdout_file, std::FILE* err) {
    DecodeOptions options;
    std::uint64_t max_input_mb = kDefaultMaxInputMb;
    bool info = false;
    std::string output;
    std::vector<std::string> files;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (options_done || a == "-" || !a.starts_with("-")) {
            files.emplace_back(a);
        } else if (a == "--") {
            options_done = true;
        } else if (a == "--help" || a == "-h") {
            std::fwrite(kUsage.data(), 1, kUsage.size(), stdout_file);
            return 0;
        } else if (a == "--info") {
            info = true;
        } else if (a == "--sort") {
            options.sort = true;
        } else if (a == "--no-sort") {
            options.sort = false;
        } else if (is_option(a, "--threads")) {
            const auto v = option_value(a, "--threads", i, argc, argv);
            if (!v) return usage_error(err, "--threads needs a number");
            unsigned n = 0;
            const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
            if (ec != std::errc() || end != v->data() + v->size() || n == 0 || n > kMaxThreads)
                return usage_error(err, fmt::format("--threads needs a number from 1 to {}, not '{}'", kMaxThreads, *v));
            options.threads = n;
        } else if (is_option(a, "--max-input-mb")) {
            const auto v = option_value(a, "--max-input-mb", i, argc, argv);
            if (!v) return usage_error(err, "--max-input-mb needs a number");
            std::uint64_t n = 0;
            const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
            if (ec != std::errc() || end != v->data() + v->size() || n == 0 || n > kMaxMaxInputMb)
                return usage_error(
                    err, fmt::format("--max-input-mb needs a number from 1 to {}, not '{}'", kMaxMaxInputMb, *v));
            max_input_mb = n;
        } else if (is_option(a, "--format")) {
            const auto v = option_value(a, "--format", i, argc, argv);
            if (!v) return usage_error(err, "--format needs a value: json or text");
            if (*v == "json") options.text = false;
            else if (*v == "text") options.text = true;
            else return usage_error(err, fmt::format("unknown --format '{}' (json or text)", *v));
        } else if (is_option(a, "--redaction")) {
            const auto v = option_value(a, "--redaction", i, argc, argv);
            if (!v) return usage_error(err, "--redaction needs a value: recorded, defaults or off");
            if (*v == "recorded") {
                options.sensitive_data.reset();
            } else if (*v == "defaults") {
                options.sensitive_data = SensitiveDataConfig{};
            } else if (*v == "off") {
                options.sensitive_data = SensitiveDataConfig{};
                options.sensitive_data->enabled = false;
            } else {
                return usage_error(err, fmt::format("unknown --redaction '{}' (recorded, defaults or off)", *v));
            }
        } else if (is_option(a, "--output") || a == "-o") {
            const auto v = option_value(a, a == "-o" ? "-o" : "--output", i, argc, argv);
            if (!v || v->empty()) return usage_error(err, "--output needs a file name");
            output = *v;
        } else {
            return usage_error(err, fmt::format("unknown option '{}'", a));
        }
    }
    if (files.empty()) return usage_error(err, "no input files");

    // Opened before any input is read, so an output that cannot be written
    // fails at once; emptied only after they are read, so an output that is
    // also an input is read first.
    OutputFile output_file;
    std::FILE* out = stdout_file;
    if (!output.empty()) {
        const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd >= 0) output_file.file = ::fdopen(fd, "wb");
        if (output_file.file == nullptr) {
            std::fprintf(err, "agora-log-decode: cannot open output %s: %s\n", output.c_str(), std::strerror(errno));
            if (fd >= 0) ::close(fd);
            return 1;
        }
        out = output_file.file;
    }

    int status = 0;
    Decoder decoder(options);
    for (const auto& path : files) {
        try {
            std::vector<std::byte> bytes;
            std::string error;
            if (!read_input(in, path, max_input_mb * kMiB, bytes, error)) {
                std::fprintf(err, "agora-log-decode: %s: %s\n", path == "-" ? "<stdin>" : path.c_str(),
                             error.c_str());
                status = 1;
                continue;
            }
            decoder.add(path == "-" ? "<stdin>" : path, std::move(bytes));
        } catch (const std::bad_alloc&) {
            std::fprintf(err, "agora-log-decode: %s: out of memory\n", path.c_str());
            status = 1;
        }
    }

    struct stat st {};
    if (out != stdout_file && ::fstat(::fileno(out), &st) == 0 && S_ISREG(st.st_mode) && ::ftruncate(::fileno(out), 0) != 0) {
        std::fprintf(err, "agora-log-decode: cannot empty output %s: %s\n", output.c_str(), std::strerror(errno));
        return 1;
    }
    std::uint64_t written = 0;
    try {
        if (info) {
            // The render pass finds what only rendering shows (a record that
            // does not match its call site): --info reports what a decode would.
            decoder.render([](std::string_view) {});
            for (const auto& i : decoder.inputs()) print_info(out, i);
        } else {
            // This thread is the only one writing `out`: no stream locking per line.
            decoder.render([out, &written](std::string_view line) {
                ::fwrite_unlocked(line.data(), 1, line.size(), out);
                ::fputc_unlocked('\n', out);
                ++written;
            });
        }
    } catch (const std::exception& e) {
        // No allocation here: this is usually std::bad_alloc.
        std::fprintf(err, "agora-log-decode: %s while rendering (%llu records were written)\n",
                     dynamic_cast<const std::bad_alloc*>(&e) != nullptr ? "out of memory" : e.what(),
                     static_cast<unsigned long long>(written));
        status = 1;
    }
    const bool write_failed = std::fflush(out) != 0 || std::ferror(out) != 0;
    if (out != stdout_file) {
        output_file.file = nullptr;
        if (std::fclose(out) != 0) status = 1;
    }
    if (write_failed) {
        std::fprintf(err, "agora-log-decode: writing %s failed\n", output.empty() ? "standard output" : output.c_str());
        status = 1;
    }

    for (const auto& i : decoder.inputs()) {
        for (const auto& n : i.notes) std::fprintf(err, "agora-log-decode: note: %s\n", n.c_str());
        for (const auto& p : i.problems) std::fprintf(err, "agora-log-decode: %s\n", p.c_str());
    }
    if (decoder.damaged()) status = 1;
    return status;
}

}  // namespace

int decode_cli(int argc, char** argv, std::FILE* in, std::FILE* out, std::FILE* err) {
    try {
        return run(argc, argv, in, out, err);
    } catch (const std::exception& e) {
        std::fprintf(err, "agora-log-decode: %s\n",
                     dynamic_cast<const std::bad_alloc*>(&e) != nullptr ? "out of memory" : e.what());
        return 1;
    }
}

}  // namespace agora::log::detail
