// A named placeholder's format spec that does not fit its argument: "{price:d}"
// with a double (fmt's own check, run on the positional form of the template).
// EXPECT-ERROR: invalid (type|format) specifier
#include <agora/log.hpp>

void f(agora::log::Logger logger) {
    logger.info("{price:.2f} {qty:d}", 101.25, 5);  // control: specs that fit
#ifdef AGORA_COMPILE_FAIL
    logger.info("{price:d}", 101.25);
#endif
}
