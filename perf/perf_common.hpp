#pragma once
// Small helpers shared by the perf programs: CPU pinning, a scratch
// directory, command-line numbers.

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace perf {

/// CPUs this process may run on.
inline int usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}

/// Pins the calling thread to `cpu`; false (and a note on stderr) on failure.
inline bool pin_this_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) std::fprintf(stderr, "note: could not pin to CPU %d: %s\n", cpu, std::strerror(rc));
    return rc == 0;
}

/// A fresh directory under $TMPDIR (or /tmp); removed by ScratchDir's destructor unless kept.
class ScratchDir {
public:
    explicit ScratchDir(const char* prefix) {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr) {
            std::perror("mkdtemp");
            std::exit(2);
        }
        path_ = templ;
    }
    ~ScratchDir() {
        if (keep_) {
            std::printf("kept %s\n", path_.c_str());
            return;
        }
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::string& path() const { return path_; }
    void keep(bool k) { keep_ = k; }

    /// Total size of the regular files in the directory.
    std::uint64_t total_bytes() const {
        std::uint64_t n = 0;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(path_, ec))
            if (e.is_regular_file()) n += e.file_size();
        return n;
    }

private:
    std::string path_;
    bool keep_ = false;
};

/// Parses a positive integer option value, exiting with a message if it is not one.
inline std::uint64_t parse_count(std::string_view option, const char* value) {
    if (value == nullptr) {
        std::fprintf(stderr, "%.*s needs a value\n", static_cast<int>(option.size()), option.data());
        std::exit(2);
    }
    char* end = nullptr;
    unsigned long long v = std::strtoull(value, &end, 10);
    if (end == value || *end != '\0' || v == 0) {
        std::fprintf(stderr, "%.*s: not a positive integer: %s\n", static_cast<int>(option.size()), option.data(),
                     value);
        std::exit(2);
    }
    return v;
}

}  // namespace perf
