#pragma once
// Umbrella header: everything an application needs.

#include <agora/log/config.hpp>
#include <agora/log/context.hpp>
#include <agora/log/crash.hpp>
#include <agora/log/error.hpp>
#include <agora/log/handlers/console.hpp>
#include <agora/log/handlers/handler.hpp>
#include <agora/log/handlers/rotating_file.hpp>
#include <agora/log/level.hpp>
#include <agora/log/levels.hpp>
#include <agora/log/lifecycle.hpp>
#include <agora/log/logger.hpp>
#include <agora/log/macros.hpp>
#include <agora/log/metrics.hpp>
