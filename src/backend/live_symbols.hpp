#pragma once
// Symbolises return addresses of this process through its debug information
// (Boost.Stacktrace with libbacktrace): the lookup the backend's
// StackSymbolizers use (format/exception_render.hpp).

#include <cstdint>
#include <string>

namespace agora::log::detail {

/// "function at file:line" for `address` ("function" without line
/// information; "0x..." for the function when its name is unknown). May
/// throw std::bad_alloc.
std::string live_frame_text(std::uint64_t address);

}  // namespace agora::log::detail
