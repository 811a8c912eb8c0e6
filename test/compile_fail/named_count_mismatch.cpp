// More named placeholders than arguments.
// EXPECT-ERROR: placeholder_count_differs_from_argument_count
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.info("{a} {b}", 1, 2);  // control
#ifdef AGORA_COMPILE_FAIL
    logger.info("{a} {b}", 1);
#endif
}
