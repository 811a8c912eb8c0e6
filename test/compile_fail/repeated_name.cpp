// The same name twice: it would be two context fields with one key.
// EXPECT-ERROR: a_placeholder_name_is_repeated
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.info("{a} {b}", 1, 2);  // control: two different names
#ifdef AGORA_COMPILE_FAIL
    logger.info("{a} {a}", 1, 2);
#endif
}
