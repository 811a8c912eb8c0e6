// An argument type the record format cannot carry.
// EXPECT-ERROR: agora-log: unsupported argument type
#include <agora/log.hpp>

struct Quote {
    double bid, ask;
};

void f(agora::log::Logger logger, const Quote& q) {
    logger.info("{} {}", q.bid, q.ask);  // control
#ifdef AGORA_COMPILE_FAIL
    logger.info("{}", q);
#endif
}
