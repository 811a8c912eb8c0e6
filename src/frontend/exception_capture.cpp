// Exceptions in entries, capturing side (the calling thread): type,
// what(), the nested_exception chain and the raw stack. The backend renders
// them (format/exception_render.cpp).

#include "format/record_codec.hpp"

#include <agora/log/detail/frontend.hpp>

#if AGORA_LOG_HAVE_STACKTRACE  // meson option stacktrace
#include <boost/stacktrace/safe_dump_to.hpp>
#endif

#include <cstring>
#include <typeinfo>

namespace agora::log::detail {

void capture_exception(ExceptionArg& out, const std::exception& ex) noexcept {
    out.depth = 0;
    const std::exception* current = &ex;
    while (current != nullptr && out.depth < ExceptionArg::kMaxDepth) {
        out.types[out.depth] = typeid(*current).name();
        out.messages[out.depth] = current->what();
        ++out.depth;
        const auto* nested = dynamic_cast<const std::nested_exception*>(current);
        if (nested == nullptr || !nested->nested_ptr()) break;
        std::exception_ptr inner = nested->nested_ptr();
        current = nullptr;
        try {
            std::rethrow_exception(inner);
        } catch (const std::exception& e) {
            // The exception object lives as long as an exception_ptr to it.
            if (out.depth < ExceptionArg::kMaxDepth) out.keep_alive[out.depth] = inner;
            current = &e;
        } catch (...) {
            if (out.depth < ExceptionArg::kMaxDepth) {
                out.types[out.depth] = nullptr;  // not a std::exception
                out.messages[out.depth] = {};
                ++out.depth;
            }
        }
    }
    // Skip this function's own frame: the stack starts at the logging call.
#if AGORA_LOG_HAVE_STACKTRACE
    const std::size_t n = boost::stacktrace::safe_dump_to(1, out.frames, sizeof out.frames);
    out.frame_count = static_cast<std::uint32_t>(n);
#else
    out.frame_count = 0;  // built without Boost.Stacktrace: entries carry an empty stacktrace
#endif
}

namespace {
std::string_view type_name(const char* mangled) noexcept {
    return mangled != nullptr ? std::string_view(mangled) : std::string_view();
}
}  // namespace

std::size_t encoded_size(const ExceptionArg& e) noexcept {
    std::size_t n = 4 + 1;  // blob length, depth
    for (std::uint32_t i = 0; i < e.depth; ++i)
        n += 4 + as_string_view(type_name(e.types[i])).size() + 4 + as_string_view(e.messages[i]).size();
    return n + 4 + 8 * std::size_t{e.frame_count};
}

std::byte* encode(std::byte* out, const ExceptionArg& e) noexcept {
    out = put_u32(out, static_cast<std::uint32_t>(encoded_size(e) - 4));
    const auto depth = static_cast<std::uint8_t>(e.depth);
    std::memcpy(out, &depth, 1);
    out += 1;
    for (std::uint32_t i = 0; i < e.depth; ++i) {
        out = put_string(out, as_string_view(type_name(e.types[i])));
        out = put_string(out, as_string_view(e.messages[i]));
    }
    out = put_u32(out, e.frame_count);
    for (std::uint32_t i = 0; i < e.frame_count; ++i) {
        const std::uint64_t a = reinterpret_cast<std::uintptr_t>(e.frames[i]);
        std::memcpy(out, &a, 8);
        out += 8;
    }
    return out;
}

}  // namespace agora::log::detail
