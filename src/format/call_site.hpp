#pragma once
// Static description of a call site: what the backend, the binary writers
// and the decoder need to render a record of it.

#include <agora/log/detail/record.hpp>
#include <agora/log/level.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log::detail {

/// One call site. Immutable once published: a live process registers it
/// (frontend/registry.hpp) with views into static storage; a decoder builds
/// one per site entry with views into the input it owns.
struct CallSite {
    std::uint32_t id;
    Level level;
    std::string_view format;    // the template as written
    std::string_view file;      // full path, as std::source_location gives it
    std::string_view function;  // as std::source_location gives it
    std::uint32_t line;
    const TypeCode* types;      // terminated by TypeCode::end
    /// Named templates only: the names in argument order, and the template
    /// with the names removed (what fmt formats).
    std::vector<std::string> names;
    std::string positional_format;

    std::string_view fmt_template() const noexcept { return names.empty() ? format : std::string_view(positional_format); }
};

/// Fills `site.names` and `site.positional_format` from its template.
void describe_template(CallSite& site);

}  // namespace agora::log::detail
