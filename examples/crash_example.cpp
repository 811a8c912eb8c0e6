// A process that dies with records still queued: the crash handler saves
// them next to the log file, and agora-log-decode reads them back
// (docs/crash-recovery.md, README "Post-mortem").
#include <agora/log.hpp>

#include <cstdio>

namespace {
// Out of line so the compiler cannot prove the write away; UBSan's null
// check would otherwise report the store before the fault happens.
__attribute__((noinline, no_sanitize("null"))) void write_through(volatile int* p) { *p = 42; }
}  // namespace

int main(int argc, char** argv) {
    agora::log::Config config;
    config.service_name = "market-data";
    config.console_enabled = false;
    config.file_path = argc > 1 ? argv[1] : "logs/crash-example.log";
    config.crash_drain_timeout = std::chrono::milliseconds(0);  // dump what is queued, do not wait
    if (auto ok = agora::log::initialize(config); !ok) {
        std::fprintf(stderr, "%s\n", ok.error().message.c_str());
        return 1;
    }
    auto log = agora::log::get_logger("agora.market_data.feed");
    auto feed = log.with_context({{"venue", "XNAS"}, {"channel", 3}});
    for (int seq = 1; seq <= 100000; ++seq) feed.info("Quote {symbol} bid {bid:.2f} seq {seq}", "AAPL", 189.25, seq);
    feed.critical("Book for {symbol} is crossed, giving up", "AAPL");
    write_through(nullptr);  // SIGSEGV: the handler dumps what the backend has not written
}
