#pragma once

#include <agora/log/detail/export.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

AGORA_LOG_API_BEGIN

namespace agora::log {

/// Severity. Values are the seed's numeric levels; a record is written when
/// its level is >= the logger's level.
enum class Level : std::uint8_t {
    debug = 10,
    info = 20,
    warning = 30,
    error = 40,
    critical = 50,
};

/// Level used internally to disable a logger entirely (before initialize()
/// and after shutdown()). Never rendered.
inline constexpr std::uint8_t kLevelOff = 255;

/// "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL".
constexpr std::string_view to_string(Level level) noexcept {
    switch (level) {
        case Level::debug: return "DEBUG";
        case Level::info: return "INFO";
        case Level::warning: return "WARNING";
        case Level::error: return "ERROR";
        case Level::critical: return "CRITICAL";
    }
    return "INFO";
}

/// Parses a level name, case-insensitively ("warn" is accepted for warning).
std::optional<Level> parse_level(std::string_view name) noexcept;

}  // namespace agora::log

AGORA_LOG_API_END
