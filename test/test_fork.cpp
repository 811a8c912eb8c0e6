// fork(): a child of a running logger gets a backend of its own and can log,
// flush and shut down; the parent's records (including those still queued
// at the moment of the fork) are written once, by the parent.

#define BOOST_TEST_MODULE fork
#include "common.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace {

struct ForkResult {
    pid_t child = -1;
    int status = -1;
};

}  // namespace

BOOST_AUTO_TEST_CASE(child_logs_and_parent_lines_appear_once) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("fork.log"));
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("fork.test");

    const unsigned kBefore = 2000;
    for (unsigned i = 0; i < 100; ++i) log.info("parent before flush i={}", i);
    agora::log::flush();
    // These may still be queued, or buffered in the file handler, at fork time.
    for (unsigned i = 100; i < kBefore; ++i) log.info("parent before fork i={}", i);
    // No flush here: fork() holds the backend between two records (so not
    // inside malloc, which matters for the sanitizers' allocators).

    ForkResult r;
    r.child = ::fork();
    if (r.child == 0) {
        // Child: no Boost.Test here; the exit code says how it went.
        log.info("child pid={}", static_cast<long>(::getpid()));
        std::thread([&] { log.info("child thread pid={}", static_cast<long>(::getpid())); }).join();
        agora::log::flush();
        agora::log::shutdown();
        ::_exit(0);
    }
    BOOST_TEST_REQUIRE(r.child > 0);
    for (unsigned i = 0; i < 100; ++i) log.info("parent after fork i={}", i);
    BOOST_TEST_REQUIRE(::waitpid(r.child, &r.status, 0) == r.child);
    BOOST_TEST(WIFEXITED(r.status));
    BOOST_TEST(WEXITSTATUS(r.status) == 0);
    agora::log::flush();
    agora::log::shutdown();

    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    std::vector<unsigned> before(kBefore, 0), after(100, 0);
    std::size_t child_lines = 0, child_thread_lines = 0, other = 0;
    const std::string child_line = "child pid=" + std::to_string(r.child);
    const std::string child_thread_line = "child thread pid=" + std::to_string(r.child);
    for (const auto& e : parsed.entries) {
        unsigned i = 0;
        if (e.message == child_line) ++child_lines;
        else if (e.message == child_thread_line) ++child_thread_lines;
        else if ((std::sscanf(e.message.c_str(), "parent before flush i=%u", &i) == 1 ||
                  std::sscanf(e.message.c_str(), "parent before fork i=%u", &i) == 1) && i < kBefore)
            ++before[i];
        else if (std::sscanf(e.message.c_str(), "parent after fork i=%u", &i) == 1 && i < 100)
            ++after[i];
        else
            ++other;
    }
    BOOST_TEST(child_lines == 1u);
    BOOST_TEST(child_thread_lines == 1u);
    BOOST_TEST(other == 0u);
    std::size_t wrong = 0;
    for (unsigned n : before) wrong += (n != 1);
    for (unsigned n : after) wrong += (n != 1);
    BOOST_TEST(wrong == 0u, wrong << " parent lines are missing or repeated");
}

// Forking while another thread logs: the child's logger works (the registry
// lock is not left held by a thread that does not exist there). Not run under
// the sanitizers: the busy thread itself allocates (logger names), and their
// allocators, unlike glibc's malloc, can be left locked in a child forked
// during another thread's malloc.
BOOST_AUTO_TEST_CASE(fork_while_another_thread_logs, *boost::unit_test::enable_if<!agora_test::kSanitized>()) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("fork_busy.log"));
    // The busy thread logs for as long as the forks take (~100 MB at times):
    // keep it all in one file, which is what the counts below read.
    config.max_file_size_mb = 4096;
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("fork.busy");
    std::atomic<bool> stop{false};
    std::atomic<unsigned> logged{0};
    std::thread busy([&] {
        // New call sites and loggers keep the registry lock busy.
        unsigned i = 0;
        while (!stop.load()) {
            agora::log::get_logger("fork.busy." + std::to_string(i % 50)).info("busy i={}", i);
            ++i;
        }
        logged.store(i);
    });
    std::vector<pid_t> children;
    for (int k = 0; k < 5; ++k) {
        pid_t pid = ::fork();
        if (pid == 0) {
            log.info("child {}", k);
            agora::log::shutdown();
            ::_exit(0);
        }
        children.push_back(pid);
    }
    stop.store(true);
    busy.join();
    int failures = 0;
    for (pid_t pid : children) {
        int status = -1;
        if (pid <= 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
    }
    agora::log::shutdown();
    BOOST_TEST(failures == 0);
    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    std::size_t child_lines = 0, busy_lines = 0;
    for (const auto& e : parsed.entries) {
        if (e.message.rfind("child ", 0) == 0) ++child_lines;
        if (e.message.rfind("busy ", 0) == 0) ++busy_lines;
    }
    BOOST_TEST(child_lines == 5u);
    BOOST_TEST(busy_lines == logged.load());
}
