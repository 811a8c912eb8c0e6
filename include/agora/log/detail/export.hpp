#pragma once
// What libagora-log.so exports. The library is compiled with hidden
// visibility (meson: gnu_symbol_visibility hidden); every public header wraps
// its declarations in AGORA_LOG_API_BEGIN / AGORA_LOG_API_END, so exactly
// what the public headers declare is exported: the API, and the out-of-line
// slow paths and thread-local variables the inline hot path uses (which must
// be one object shared by the application and the library). Internals
// declared only under src/ stay hidden. AGORA_LOG_API marks a single
// declaration the same way.

#if defined(__GNUC__) || defined(__clang__)
#define AGORA_LOG_API __attribute__((visibility("default")))
#define AGORA_LOG_API_BEGIN _Pragma("GCC visibility push(default)")
#define AGORA_LOG_API_END _Pragma("GCC visibility pop")
#else
#define AGORA_LOG_API
#define AGORA_LOG_API_BEGIN
#define AGORA_LOG_API_END
#endif
