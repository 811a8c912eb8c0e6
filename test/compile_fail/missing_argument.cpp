// More replacement fields than arguments.
// EXPECT-ERROR: argument not found
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.warning("{} {}", 1, 2);  // control
#ifdef AGORA_COMPILE_FAIL
    logger.warning("{} {}", 1);
#endif
}
