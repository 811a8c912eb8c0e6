#include "backend/live_symbols.hpp"

#ifndef BOOST_STACKTRACE_LINK  // meson defines it (stacktrace_dep)
#define BOOST_STACKTRACE_LINK  // symbols come from libboost_stacktrace_backtrace
#endif
#include <boost/stacktrace/frame.hpp>

#include <fmt/format.h>

namespace agora::log::detail {

std::string live_frame_text(std::uint64_t address) {
    boost::stacktrace::frame f(reinterpret_cast<boost::stacktrace::frame::native_frame_ptr_t>(address));
    std::string text = f.name();
    if (text.empty()) text = fmt::format("0x{:x}", address);
    const std::string file = f.source_file();
    if (!file.empty()) text += fmt::format(" at {}:{}", file, f.source_line());
    return text;
}

}  // namespace agora::log::detail
