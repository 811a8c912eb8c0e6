// Exceptions in entries: captured on the calling thread (type, what(), the
// nested_exception chain and the raw stack), rendered by the backend
// (demangled type, symbolised stack).

#include "exception.hpp"
#include "blob_encoding.hpp"
#include "format.hpp"

#include <agora/log/detail/frontend.hpp>

#ifndef BOOST_STACKTRACE_LINK  // meson defines it (stacktrace_dep)
#define BOOST_STACKTRACE_LINK  // symbols come from libboost_stacktrace_backtrace
#endif
#include <boost/stacktrace/frame.hpp>
#include <boost/stacktrace/safe_dump_to.hpp>

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
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
    const std::size_t n = boost::stacktrace::safe_dump_to(1, out.frames, sizeof out.frames);
    out.frame_count = static_cast<std::uint32_t>(n);
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

// ---- backend side ------------------------------------------------------------

std::string demangle(std::string_view mangled) {
    if (mangled.empty()) return "unknown (not a std::exception)";
    std::string name(mangled);
    int status = 0;
    // Owned at once: the assignment below may throw (std::bad_alloc).
    const std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status),
                                                     std::free);
    if (status == 0 && out != nullptr) name = out.get();
    // std::throw_with_nested(E) throws libstdc++'s _Nested_exception<E>: name E.
    constexpr std::string_view kNested = "std::_Nested_exception<";
    if (name.starts_with(kNested) && name.ends_with('>'))
        name = name.substr(kNested.size(), name.size() - kNested.size() - 1);
    return name;
}

const std::string& StackSymbolizer::frame(std::uint64_t address) {
    if (table_ != nullptr) {
        if (auto known = table_->find(address); known != table_->end()) return known->second;
        unknown_ = fmt::format("0x{:x}", address);
        return unknown_;
    }
    auto it = cache_.find(address);
    if (it != cache_.end()) return it->second;
    if (cache_.size() > kMaxCached) cache_.clear();
    std::string text;
    try {
        boost::stacktrace::frame f(reinterpret_cast<boost::stacktrace::frame::native_frame_ptr_t>(address));
        text = f.name();
        if (text.empty()) text = fmt::format("0x{:x}", address);
        const std::string file = f.source_file();
        if (!file.empty()) text += fmt::format(" at {}:{}", file, f.source_line());
    } catch (...) {
        text = fmt::format("0x{:x}", address);
    }
    return cache_.emplace(address, std::move(text)).first->second;
}

bool append_exception_json(std::string& out, const std::byte* blob, std::size_t size, StackSymbolizer& symbols,
                           std::size_t limit) {
    BlobReader r{blob, blob + size};
    const auto depth = r.get<std::uint8_t>();
    struct Level {
        std::string_view type, message;
    };
    Level levels[256];
    for (unsigned i = 0; i < depth && r.ok; ++i) {
        levels[i].type = r.string();
        levels[i].message = r.string();
    }
    // A writer records at most kMaxFrames; more is damage (a decoded file):
    // show no more, so a trace stays bounded whatever the count says.
    const auto frames = std::min<std::uint32_t>(r.get<std::uint32_t>(), ExceptionArg::kMaxFrames);
    if (!r.ok || depth == 0 || static_cast<std::size_t>(r.end - r.p) / 8 < frames) return false;

    out.append("\"exception\":{\"type\":");
    append_json_string_limited(out, demangle(levels[0].type), limit);
    out.append(",\"message\":");
    append_json_string_limited(out, levels[0].message, limit);
    out.append(",\"stacktrace\":");
    std::string trace;
    for (std::uint32_t i = 0, shown = 0; i < frames; ++i) {
        const auto address = r.get<std::uint64_t>();
        if (address == 0) continue;  // the end of the unwound stack
        const std::string& frame = symbols.frame(address);
        // The stack starts at the caller: skip the logger's own frames above
        // it (whether they were inlined depends on the compiler).
        if (shown == 0 && frame.find("agora::log::Logger::") != std::string::npos) continue;
        fmt::format_to(std::back_inserter(trace), "{}#{} {}", shown == 0 ? "" : "\n", shown, frame);
        ++shown;
    }
    append_json_string(out, trace);
    if (depth > 1) {
        out.append(",\"nested\":[");
        for (unsigned i = 1; i < depth; ++i) {
            if (i > 1) out.push_back(',');
            out.append("{\"type\":");
            append_json_string_limited(out, demangle(levels[i].type), limit);
            out.append(",\"message\":");
            append_json_string_limited(out, levels[i].message, limit);
            out.push_back('}');
        }
        out.push_back(']');
    }
    out.push_back('}');
    return true;
}

}  // namespace agora::log::detail
