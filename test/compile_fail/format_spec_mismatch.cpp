// A format spec that does not fit the argument's type: "{:d}" with a string.
// EXPECT-ERROR: invalid (type|format) specifier
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.info("{:d}", 42);  // control: fine for an integer
#ifdef AGORA_COMPILE_FAIL
    logger.info("{:d}", "text");
#endif
}
