#pragma once
// Helpers shared by the test programs: a temporary directory per test case,
// reading a log file back and checking every line against the JSON schema,
// and handlers that capture records or hold the backend at a gate.
//
// Threading rules the tests follow: Boost.Test macros are called on the main
// thread only. Handlers run on the backend thread: they store what they see
// (under a mutex) and the main thread looks after flush() or shutdown().

// rapidjson's own regex engine does not know \d, which the schema's version
// pattern uses; this selects std::regex instead (schema.h redefines the macro
// to exactly this value, so the definition must be 0).
#define RAPIDJSON_SCHEMA_USE_INTERNALREGEX 0
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/test/unit_test.hpp>

#include <agora/log.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef AGORA_TEST_SCHEMA_PATH
#error "AGORA_TEST_SCHEMA_PATH must name test/data/log-entry.schema.json"
#endif

// Lets BOOST_TEST print levels, policies and error codes in failure messages.
namespace agora::log {
inline std::ostream& boost_test_print_type(std::ostream& os, Level l) { return os << to_string(l); }
inline std::ostream& boost_test_print_type(std::ostream& os, QueueFullPolicy p) { return os << to_string(p); }
inline std::ostream& boost_test_print_type(std::ostream& os, ErrorCode c) { return os << static_cast<int>(c); }
}  // namespace agora::log

namespace agora_test {

namespace fs = std::filesystem;

/// Name of the running Boost test case.
inline std::string current_test_name() {
    return boost::unit_test::framework::current_test_case().p_name.get();
}

/// A fresh directory named after the test case and the process id, so tests
/// (and test programs running in parallel) never share a file. Removed at the
/// end unless AGORA_TEST_KEEP is set.
class TempDir {
public:
    TempDir() {
        std::string name = current_test_name();
        for (char& c : name)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        path_ = fs::temp_directory_path() / ("agora-log-" + name + "-" + std::to_string(::getpid()));
        std::error_code ec;
        fs::remove_all(path_, ec);
        fs::create_directories(path_);
    }
    ~TempDir() {
        if (std::getenv("AGORA_TEST_KEEP") != nullptr) return;
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }
    std::string file(std::string_view name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

/// Calls agora::log::shutdown() when the test case ends, however it ends, so
/// the next test case can initialize() again.
struct ShutdownGuard {
    ShutdownGuard() = default;
    ShutdownGuard(const ShutdownGuard&) = delete;
    ShutdownGuard& operator=(const ShutdownGuard&) = delete;
    ~ShutdownGuard() { agora::log::shutdown(); }
};

/// The error message of an Expected, or "" (for assertion messages, which
/// Boost.Test evaluates even when the assertion holds).
template <class T>
std::string error_text(const agora::log::Expected<T>& e) {
    return e.has_value() ? std::string() : e.error().message;
}

/// A quiet config writing to `path` (no console).
inline agora::log::Config quiet_config(const std::string& path) {
    agora::log::Config c;
    c.service_name = "agora-log-test";
    c.environment = "development";
    c.version = "1.2.3";
    c.host = "test-host";
    c.console_enabled = false;
    c.file_enabled = true;
    c.file_path = path;
    return c;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline bool file_exists(const std::string& path) {
    std::error_code ec;
    return fs::exists(path, ec);
}

inline std::uint64_t file_size(const std::string& path) {
    std::error_code ec;
    auto n = fs::file_size(path, ec);
    return ec ? 0 : n;
}

/// Lines of a file; `unterminated` says whether the last one lacked its newline.
struct Lines {
    std::vector<std::string> lines;
    bool unterminated = false;
};
inline Lines read_lines(const std::string& path) {
    Lines out;
    std::string data = read_file(path);
    std::size_t start = 0;
    while (start < data.size()) {
        std::size_t nl = data.find('\n', start);
        if (nl == std::string::npos) {
            out.lines.push_back(data.substr(start));
            out.unterminated = true;
            break;
        }
        out.lines.push_back(data.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

/// One log entry, parsed.
struct Entry {
    std::string raw;
    std::string timestamp, level, message, service, environment, version, host, logger_name, file, function;
    std::int64_t line = -1;
};

/// The schema, loaded once per process.
class Schema {
public:
    static Schema& instance() {
        static Schema s;
        return s;
    }
    const rapidjson::SchemaDocument& document() const { return *schema_; }

private:
    Schema() {
        std::string text = read_file(AGORA_TEST_SCHEMA_PATH);
        if (text.empty()) throw std::runtime_error("cannot read schema " + std::string(AGORA_TEST_SCHEMA_PATH));
        doc_.Parse(text.c_str());
        if (doc_.HasParseError()) throw std::runtime_error("schema is not valid JSON");
        schema_ = std::make_unique<rapidjson::SchemaDocument>(doc_);
    }
    rapidjson::Document doc_;
    std::unique_ptr<rapidjson::SchemaDocument> schema_;
};

/// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (rapidjson does not check "format": "date-time").
inline bool is_timestamp(const std::string& s) {
    static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$)");
    return std::regex_match(s, re);
}

/// Parses one line (strict UTF-8) and validates it against the schema.
/// Returns the entry, or sets `error`.
inline std::optional<Entry> parse_entry(const std::string& line, std::string& error) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str(), line.size());
    if (d.HasParseError()) {
        error = std::string("JSON parse error: ") + rapidjson::GetParseError_En(d.GetParseError()) + " at offset " +
                std::to_string(d.GetErrorOffset());
        return std::nullopt;
    }
    rapidjson::SchemaValidator validator(Schema::instance().document());
    if (!d.Accept(validator)) {
        rapidjson::StringBuffer where;
        validator.GetInvalidSchemaPointer().StringifyUriFragment(where);
        rapidjson::StringBuffer doc_where;
        validator.GetInvalidDocumentPointer().StringifyUriFragment(doc_where);
        error = std::string("schema violation: keyword '") + validator.GetInvalidSchemaKeyword() + "' at schema " +
                where.GetString() + ", document " + doc_where.GetString();
        return std::nullopt;
    }
    Entry e;
    e.raw = line;
    auto str = [&d](const char* key) -> std::string {
        auto it = d.FindMember(key);
        if (it == d.MemberEnd() || !it->value.IsString()) return std::string();
        return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    e.timestamp = str("timestamp");
    e.level = str("level");
    e.message = str("message");
    e.service = str("service");
    e.environment = str("environment");
    e.version = str("version");
    e.host = str("host");
    e.logger_name = str("logger_name");
    e.file = str("file");
    e.function = str("function");
    if (auto it = d.FindMember("line"); it != d.MemberEnd() && it->value.IsInt64()) e.line = it->value.GetInt64();
    if (!is_timestamp(e.timestamp)) {
        error = "timestamp '" + e.timestamp + "' is not YYYY-MM-DDTHH:MM:SS.ffffffZ";
        return std::nullopt;
    }
    return e;
}

/// Every line of the given files, in order, parsed and validated.
struct Entries {
    std::vector<Entry> entries;
    std::vector<std::string> errors;  // "file:line: what"; empty when all is well
};
inline Entries read_entries(const std::vector<std::string>& paths) {
    Entries out;
    for (const auto& path : paths) {
        Lines lines = read_lines(path);
        if (lines.unterminated) out.errors.push_back(path + ": last line has no newline");
        for (std::size_t i = 0; i < lines.lines.size(); ++i) {
            std::string error;
            if (auto e = parse_entry(lines.lines[i], error)) out.entries.push_back(std::move(*e));
            else if (out.errors.size() < 20)
                out.errors.push_back(path + ":" + std::to_string(i + 1) + ": " + error + ": " +
                                     lines.lines[i].substr(0, 200));
        }
    }
    return out;
}
inline Entries read_entries(const std::string& path) { return read_entries(std::vector<std::string>{path}); }

inline std::vector<Entry> with_logger(const std::vector<Entry>& all, std::string_view logger) {
    std::vector<Entry> out;
    for (const auto& e : all)
        if (e.logger_name == logger) out.push_back(e);
    return out;
}

inline std::string join_errors(const std::vector<std::string>& errors) {
    std::string s;
    for (const auto& e : errors) s += "\n  " + e;
    return s;
}

/// What a capturing handler keeps of a record (the views die with emit()).
struct Captured {
    agora::log::Level level;
    std::string message, logger_name, file, function, json, timestamp;
    std::uint32_t line;
};

/// Stores every record it is given. emit() runs on the backend thread; the
/// main thread reads with records() after flush() or shutdown().
class CaptureHandler : public agora::log::Handler {
public:
    void emit(const agora::log::LogRecordView& r) noexcept override {
        try {
            std::lock_guard lock(mutex_);
            records_.push_back(Captured{r.level, std::string(r.message), std::string(r.logger_name),
                                        std::string(r.file), std::string(r.function), std::string(r.json),
                                        std::string(r.timestamp), r.line});
        } catch (...) {
        }
    }
    void flush() noexcept override { flushes_.fetch_add(1, std::memory_order_relaxed); }
    void close() noexcept override { closes_.fetch_add(1, std::memory_order_relaxed); }

    std::vector<Captured> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }
    std::uint64_t closes() const { return closes_.load(); }
    std::uint64_t flushes() const { return flushes_.load(); }

private:
    mutable std::mutex mutex_;
    std::vector<Captured> records_;
    std::atomic<std::uint64_t> flushes_{0};
    std::atomic<std::uint64_t> closes_{0};
};

/// A handler whose emit() holds the backend thread until open() is called:
/// makes "the backend is busy" deterministic, without timing.
class GateHandler : public agora::log::Handler {
public:
    void emit(const agora::log::LogRecordView&) noexcept override {
        emitted_.fetch_add(1, std::memory_order_relaxed);
        if (!entered_.exchange(true)) entered_.notify_all();
        open_.wait(false);
    }
    void flush() noexcept override {}
    void close() noexcept override {}

    /// Blocks until the backend is inside emit() (held at the gate).
    void wait_until_held() const { entered_.wait(false); }
    void open() {
        open_.store(true);
        open_.notify_all();
    }
    std::uint64_t emitted() const { return emitted_.load(); }

private:
    std::atomic<bool> entered_{false};
    std::atomic<bool> open_{false};
    std::atomic<std::uint64_t> emitted_{0};
};

/// Opens the gate when the test case ends, however it ends, so that the
/// shutdown that follows cannot wait forever. Declare after the ShutdownGuard.
struct GateOpener {
    std::shared_ptr<GateHandler> gate;
    ~GateOpener() {
        if (gate) gate->open();
    }
};

inline unsigned file_mode(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return static_cast<unsigned>(st.st_mode & 07777);
}

/// Sets the umask for the life of the object (the modes the library asks for
/// are then visible unchanged).
class UmaskGuard {
public:
    explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(old_); }
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;

private:
    mode_t old_;
};

/// Every environment variable Config::from_env() reads.
inline constexpr const char* kConfigVariables[] = {
    "LOG_CONFIG_FILE",     "ENVIRONMENT",          "SERVICE_VERSION",      "HOSTNAME",
    "LOG_LEVEL",           "LOG_CONSOLE_ENABLED",  "LOG_CONSOLE_FORMAT",   "LOG_CONSOLE_COLORS",
    "LOG_FILE_ENABLED",    "LOG_FILE_PATH",        "LOG_MAX_FILE_SIZE_MB", "LOG_MAX_BACKUP_COUNT",
    "LOG_QUEUE_SIZE",      "LOG_MAX_MESSAGE_LENGTH", "LOG_FILE_FORMAT",     "LOG_CRASH_HANDLER",
    "LOG_REDACTION",       "LOG_SAMPLING",         "LOG_RATE_LIMIT_PER_SECOND", "LOG_RATE_LIMIT_BURST",
    "LOG_ADMIN_PORT",      "LOG_ADMIN_BIND",       "LOG_ADMIN_TOKEN",      "LOG_METRICS",
};

/// Unsets every variable from_env() reads and restores the original
/// environment when the test case ends. (The environment is per process:
/// test cases of one program run one after the other.)
class EnvGuard {
public:
    EnvGuard() {
        for (const char* name : kConfigVariables) {
            if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
            ::unsetenv(name);
        }
    }
    ~EnvGuard() {
        for (const char* name : kConfigVariables) ::unsetenv(name);
        for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
    }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;

    void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }
    void unset(const char* name) { ::unsetenv(name); }

private:
    std::vector<std::pair<std::string, std::string>> saved_;
};

/// True when built with a sanitizer that makes everything several times slower.
constexpr bool kSanitized =
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    true;
#else
    false;
#endif

}  // namespace agora_test
