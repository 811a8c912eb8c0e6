#include "backend/live_symbols.hpp"

#if AGORA_LOG_HAVE_STACKTRACE  // meson option stacktrace
#include <boost/stacktrace/frame.hpp>
#endif

#include <fmt/format.h>

namespace agora::log::detail {

std::string live_frame_text(std::uint64_t address) {
#if !AGORA_LOG_HAVE_STACKTRACE
    return fmt::format("0x{:x}", address);
#else
    boost::stacktrace::frame f(reinterpret_cast<boost::stacktrace::frame::native_frame_ptr_t>(address));
    std::string text = f.name();
    if (text.empty()) text = fmt::format("0x{:x}", address);
    const std::string file = f.source_file();
    if (!file.empty()) text += fmt::format(" at {}:{}", file, f.source_line());
    return text;
#endif
}

}  // namespace agora::log::detail
