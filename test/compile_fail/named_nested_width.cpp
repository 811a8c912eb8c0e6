// A nested replacement field (dynamic width/precision) inside a named
// placeholder: it would need a positional argument.
// EXPECT-ERROR: nested_width_or_precision_needs_positional_placeholders
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.info("{:{}}", 1, 5);  // control: dynamic width with positional placeholders
#ifdef AGORA_COMPILE_FAIL
    logger.info("{a:{}}", 1, 5);
#endif
}
