// More replacement fields than arguments.
// EXPECT-ERROR: placeholder_count_differs_from_argument_count
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.warning("{} {}", 1, 2);  // control
#ifdef AGORA_COMPILE_FAIL
    logger.warning("{} {}", 1);
#endif
}
