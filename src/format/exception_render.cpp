// Exceptions in entries, rendering side: the demangled type, what(), the
// nested chain and the stack, symbolised (frontend/exception_capture.cpp
// captures them on the calling thread).

#include "format/exception_render.hpp"
#include "format/record_codec.hpp"
#include "format/format.hpp"
#include "format/redaction.hpp"

#include <agora/log/detail/frontend.hpp>

#include <fmt/format.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <typeinfo>

namespace agora::log::detail {

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
        if (lookup_ != nullptr) text = lookup_(address);
    } catch (...) {
        text.clear();
    }
    if (text.empty()) text = fmt::format("0x{:x}", address);
    return cache_.emplace(address, std::move(text)).first->second;
}

bool append_exception_json(std::string& out, const std::byte* blob, std::size_t size, StackSymbolizer& symbols,
                           std::size_t limit, const Redactor* redactor) {
    const ExceptionBlobReader exception(blob, size);
    if (!exception.ok()) return false;
    unsigned level = 0;
    std::string redacted;
    exception.for_each_level([&](std::string_view type, std::string_view message) {
        if (redactor != nullptr) {
            redacted.assign(message);
            if (redactor->redact_text(redacted)) message = redacted;
        }
        if (level == 0) {
            out.append("\"exception\":{\"type\":");
            append_json_string_limited(out, demangle(type), limit);
            out.append(",\"message\":");
            append_json_string_limited(out, message, limit);
            out.append(",\"stacktrace\":");
            std::string trace;
            for (std::uint32_t i = 0, shown = 0; i < exception.frames_shown(); ++i) {
                const std::uint64_t address = exception.frame(i);
                if (address == 0) continue;  // the end of the unwound stack
                const std::string& frame = symbols.frame(address);
                // The stack starts at the caller: skip the logger's own frames
                // above it (whether they were inlined depends on the compiler).
                if (shown == 0 && frame.find("agora::log::Logger::") != std::string::npos) continue;
                fmt::format_to(std::back_inserter(trace), "{}#{} {}", shown == 0 ? "" : "\n", shown, frame);
                ++shown;
            }
            append_json_string(out, trace);
        } else {
            out.append(level == 1 ? ",\"nested\":[" : ",");
            out.append("{\"type\":");
            append_json_string_limited(out, demangle(type), limit);
            out.append(",\"message\":");
            append_json_string_limited(out, message, limit);
            out.push_back('}');
        }
        ++level;
    });
    if (level > 1) out.push_back(']');
    out.push_back('}');
    return true;
}

}  // namespace agora::log::detail
