#include "format/call_site.hpp"

#include <agora/log/detail/message_template.hpp>

namespace agora::log::detail {

void describe_template(CallSite& site) {
    std::vector<std::string> names;
    walk_template(
        site.format, [](std::string_view) {},
        [&names](std::string_view id, std::string_view) {
            if (!id.empty() && is_name_start(id[0])) names.emplace_back(id);
        });
    if (names.empty()) return;
    site.names = std::move(names);
    site.positional_format = positional_template(site.format);
}

}  // namespace agora::log::detail
