// The template must be a compile-time constant (it is checked, and its
// address identifies the call site).
// EXPECT-ERROR: not a constant expression|call to consteval function
#include <agora/log.hpp>

#include <string>

void f(agora::log::Logger logger, const std::string& runtime) {
    logger.error("{}", runtime);  // control: a runtime string as an argument is fine
#ifdef AGORA_COMPILE_FAIL
    logger.error(runtime, 1);
#endif
}
