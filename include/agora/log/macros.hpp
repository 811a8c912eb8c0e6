#pragma once
// Compile-time level filtering (seed "Compile-Time Log Level Filtering").
//
//   -DAGORA_LOG_MIN_LEVEL=WARNING   (DEBUG, INFO, WARNING, ERROR, CRITICAL, or 10..50)
//
// Below the minimum, AGORA_LOG_<LEVEL>(logger, template, args...) expands to
// nothing: no code, the arguments are not evaluated. At or above it, the macro
// is exactly logger.<level>(template, args...), the same fast path.
// Default: DEBUG, or INFO when NDEBUG is defined.

#include <agora/log/logger.hpp>

#define AGORA_LOG_LEVEL_VALUE_DEBUG 10
#define AGORA_LOG_LEVEL_VALUE_INFO 20
#define AGORA_LOG_LEVEL_VALUE_WARNING 30
#define AGORA_LOG_LEVEL_VALUE_ERROR 40
#define AGORA_LOG_LEVEL_VALUE_CRITICAL 50
#define AGORA_LOG_LEVEL_VALUE_10 10
#define AGORA_LOG_LEVEL_VALUE_20 20
#define AGORA_LOG_LEVEL_VALUE_30 30
#define AGORA_LOG_LEVEL_VALUE_40 40
#define AGORA_LOG_LEVEL_VALUE_50 50
#define AGORA_LOG_LEVEL_VALUE_IMPL_(name) AGORA_LOG_LEVEL_VALUE_##name
#define AGORA_LOG_LEVEL_VALUE_OF_(name) AGORA_LOG_LEVEL_VALUE_IMPL_(name)

#ifndef AGORA_LOG_MIN_LEVEL
#ifdef NDEBUG
#define AGORA_LOG_MIN_LEVEL INFO
#else
#define AGORA_LOG_MIN_LEVEL DEBUG
#endif
#endif

#define AGORA_LOG_MIN_LEVEL_VALUE AGORA_LOG_LEVEL_VALUE_OF_(AGORA_LOG_MIN_LEVEL)

#if AGORA_LOG_MIN_LEVEL_VALUE <= 10
#define AGORA_LOG_DEBUG(logger, ...) (logger).debug(__VA_ARGS__)
#else
#define AGORA_LOG_DEBUG(logger, ...) ((void)0)
#endif

#if AGORA_LOG_MIN_LEVEL_VALUE <= 20
#define AGORA_LOG_INFO(logger, ...) (logger).info(__VA_ARGS__)
#else
#define AGORA_LOG_INFO(logger, ...) ((void)0)
#endif

#if AGORA_LOG_MIN_LEVEL_VALUE <= 30
#define AGORA_LOG_WARNING(logger, ...) (logger).warning(__VA_ARGS__)
#else
#define AGORA_LOG_WARNING(logger, ...) ((void)0)
#endif

#if AGORA_LOG_MIN_LEVEL_VALUE <= 40
#define AGORA_LOG_ERROR(logger, ...) (logger).error(__VA_ARGS__)
#else
#define AGORA_LOG_ERROR(logger, ...) ((void)0)
#endif

#if AGORA_LOG_MIN_LEVEL_VALUE <= 50
#define AGORA_LOG_CRITICAL(logger, ...) (logger).critical(__VA_ARGS__)
#else
#define AGORA_LOG_CRITICAL(logger, ...) ((void)0)
#endif
