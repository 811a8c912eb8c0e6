// Compile-time level filtering. This program is built with
// -DAGORA_LOG_MIN_LEVEL=WARNING (see meson.build): AGORA_LOG_DEBUG and
// AGORA_LOG_INFO expand to nothing, so their arguments are not evaluated;
// AGORA_LOG_WARNING and above are ordinary calls.

#define BOOST_TEST_MODULE macros
#include "common.hpp"

#if !defined(AGORA_LOG_MIN_LEVEL)
#error "this test must be built with -DAGORA_LOG_MIN_LEVEL=WARNING"
#endif
static_assert(AGORA_LOG_MIN_LEVEL_VALUE == 30, "built with AGORA_LOG_MIN_LEVEL=WARNING");

namespace {
int evaluations = 0;
int side_effect(int v) {
    ++evaluations;
    return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(macros_below_the_minimum_do_not_evaluate_arguments) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    auto config = agora_test::quiet_config(dir.file("macros.log"));
    config.level = agora::log::Level::debug;  // the runtime level would let everything through
    BOOST_REQUIRE(agora::log::initialize(config));
    auto log = agora::log::get_logger("macros");

    int debug_counter = 0, info_counter = 0;
    AGORA_LOG_DEBUG(log, "debug {}", ++debug_counter);
    AGORA_LOG_INFO(log, "info {}", ++info_counter);
    AGORA_LOG_INFO(log, "info {}", side_effect(1));
    BOOST_TEST(debug_counter == 0);
    BOOST_TEST(info_counter == 0);
    BOOST_TEST(evaluations == 0);

    int warning_counter = 0, error_counter = 0, critical_counter = 0;
    AGORA_LOG_WARNING(log, "warning {}", ++warning_counter);
    AGORA_LOG_ERROR(log, "error {} {}", ++error_counter, side_effect(7));
    AGORA_LOG_CRITICAL(log, "critical {}", ++critical_counter);
    BOOST_TEST(warning_counter == 1);
    BOOST_TEST(error_counter == 1);
    BOOST_TEST(critical_counter == 1);
    BOOST_TEST(evaluations == 1);

    // The macros are expressions usable where a statement is expected.
    if (warning_counter == 1)
        AGORA_LOG_INFO(log, "branch {}", ++info_counter);
    else
        AGORA_LOG_WARNING(log, "else branch");
    BOOST_TEST(info_counter == 0);

    // The function API is not filtered at compile time.
    log.info("direct info {}", side_effect(2));
    BOOST_TEST(evaluations == 2);
    const int line = __LINE__; AGORA_LOG_WARNING(log, "located {}", 1);
    agora::log::shutdown();

    auto parsed = agora_test::read_entries(config.file_path);
    BOOST_TEST(parsed.errors.empty(), agora_test::join_errors(parsed.errors));
    std::vector<std::string> messages;
    for (const auto& e : parsed.entries) messages.push_back(e.level + " " + e.message);
    const std::vector<std::string> expected = {"WARNING warning 1", "ERROR error 1 7", "CRITICAL critical 1",
                                               "INFO direct info 2", "WARNING located 1"};
    BOOST_TEST(messages == expected, boost::test_tools::per_element());
    // The macro keeps the caller's location.
    BOOST_TEST_REQUIRE(!parsed.entries.empty());
    BOOST_TEST(parsed.entries.back().line == line);
    BOOST_TEST(parsed.entries.back().file == "test_macros.cpp");
    BOOST_TEST(parsed.entries.back().function == "macros_below_the_minimum_do_not_evaluate_arguments::test_method");
}
