// docs/architecture.md: choosing what a full ring does, and pinning the backend.
#include <agora/log.hpp>

#include <cstdio>

int main() {
    auto config = agora::log::Config::from_env([] {
        agora::log::Config c;
        c.service_name = "market-data";
        c.file_path = "logs/queue-policy-example.log";
        c.console_enabled = false;
        c.queue_capacity_bytes = 64 * 1024;                        // per thread, power of two
        c.queue_full_policy = agora::log::QueueFullPolicy::drop;   // never wait on the hot path
        c.backend_cpu = -1;                                        // or a CPU to pin the backend to
        return c;
    }());
    if (!config) {
        std::fprintf(stderr, "%s\n", config.error().message.c_str());  // names the variable and value
        return 2;
    }
    if (auto ok = agora::log::initialize(*config); !ok) return 1;
    agora::log::preallocate();  // this thread's ring now, not on its first record
    auto log = agora::log::get_logger("agora.example");
    for (int i = 0; i < 100000; ++i) log.info("tick {} px {:.4f}", i, 100.0 + i * 1e-4);
    agora::log::flush();
    std::printf("written %llu, dropped %llu\n",
                static_cast<unsigned long long>(agora::log::stats().records_written),
                static_cast<unsigned long long>(agora::log::stats().records_dropped));
    agora::log::shutdown();
}
