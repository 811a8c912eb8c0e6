// A template that mixes a named placeholder with a positional one.
// EXPECT-ERROR: named_and_positional_placeholders_are_mixed
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.info("{a} {b}", 1, 2);  // control: named only
#ifdef AGORA_COMPILE_FAIL
    logger.info("{a} {}", 1, 2);
#endif
}
