#pragma once
// Message templates: "Order {order_id} filled at {price:.2f}".
//
// A template uses either named placeholders ({name} or {name:spec}: each
// consumes the next argument and also becomes a context field called `name`)
// or positional ones ({} or {0}, fmt's own syntax: message only). The scan
// below runs at compile time in BasicFormatString (a mistake is a compile
// error) and once per call site at registration, which derives the
// positional template fmt formats and the list of field names. Nothing of
// this reaches the calling thread's hot path.

#include <agora/log/detail/export.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

AGORA_LOG_API_BEGIN

namespace agora::log::detail {

enum class TemplateError : std::uint8_t {
    none,
    unmatched_brace,
    mixed_named_and_positional,
    repeated_name,
    nested_field_in_named_template,
    argument_count_mismatch,
    unused_argument,
    too_many_arguments,
};

struct TemplateScan {
    int named = 0;       // named placeholders
    int automatic = 0;   // {} fields, nested ones ({:{}}) included
    int manual = 0;      // {N} fields, nested ones included
    std::uint64_t manual_used = 0;  // bit i: {i} appears
    TemplateError error = TemplateError::none;
};

constexpr bool is_name_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
constexpr bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9') || c == '.'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// Calls on_literal(string_view) for text (with {{ and }} already unescaped
/// to one brace) and on_field(name, spec) for every top-level replacement
/// field; `name` is empty for {} and the digits for {N}; `spec` is what
/// follows ':' (empty if none). Nested fields inside a spec are counted in
/// `scan` but not reported separately. Stops at the first error.
template <class OnLiteral, class OnField>
constexpr TemplateScan walk_template(std::string_view s, OnLiteral&& on_literal, OnField&& on_field) {
    TemplateScan scan;
    auto count_id = [&scan](std::string_view id) {
        if (id.empty()) { ++scan.automatic; return; }
        if (is_digit(id[0])) {
            ++scan.manual;
            std::size_t n = 0;
            for (char c : id) n = n * 10 + static_cast<std::size_t>(c - '0');
            if (n < 64) scan.manual_used |= std::uint64_t{1} << n;
            return;
        }
        ++scan.named;
    };
    std::size_t i = 0, run = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '}') {
            if (i + 1 < s.size() && s[i + 1] == '}') {
                on_literal(s.substr(run, i + 1 - run));
                i += 2;
                run = i;
                continue;
            }
            scan.error = TemplateError::unmatched_brace;
            return scan;
        }
        if (c != '{') { ++i; continue; }
        if (i + 1 < s.size() && s[i + 1] == '{') {
            on_literal(s.substr(run, i + 1 - run));
            i += 2;
            run = i;
            continue;
        }
        if (i > run) on_literal(s.substr(run, i - run));
        // Argument id: up to ':' or '}'.
        std::size_t j = i + 1;
        while (j < s.size() && s[j] != ':' && s[j] != '}' && s[j] != '{') ++j;
        if (j >= s.size() || s[j] == '{') { scan.error = TemplateError::unmatched_brace; return scan; }
        const std::string_view id = s.substr(i + 1, j - i - 1);
        if (!id.empty()) {
            const bool digits = is_digit(id[0]);
            for (char ch : id) {
                if (digits ? !is_digit(ch) : !is_name_char(ch)) { scan.error = TemplateError::unmatched_brace; return scan; }
            }
            if (!digits && !is_name_start(id[0])) { scan.error = TemplateError::unmatched_brace; return scan; }
        }
        count_id(id);
        std::string_view spec;
        if (s[j] == ':') {
            // The spec runs to the matching '}'; nested fields ({} or {N}) inside.
            std::size_t k = j + 1;
            int depth = 1;
            while (k < s.size()) {
                if (s[k] == '{') {
                    std::size_t e = k + 1;
                    while (e < s.size() && s[e] != '}' && s[e] != '{' && s[e] != ':') ++e;
                    if (e >= s.size() || s[e] != '}') { scan.error = TemplateError::unmatched_brace; return scan; }
                    const std::string_view nested = s.substr(k + 1, e - k - 1);
                    if (!nested.empty() && !is_digit(nested[0])) { scan.error = TemplateError::unmatched_brace; return scan; }
                    count_id(nested);
                    if (!id.empty() && !is_digit(id[0])) {
                        scan.error = TemplateError::nested_field_in_named_template;
                        return scan;
                    }
                    k = e + 1;
                    continue;
                }
                if (s[k] == '}' && --depth == 0) break;
                ++k;
            }
            if (k >= s.size()) { scan.error = TemplateError::unmatched_brace; return scan; }
            spec = s.substr(j + 1, k - j - 1);
            j = k;
        }
        on_field(id, spec);
        i = j + 1;
        run = i;
    }
    if (run < s.size()) on_literal(s.substr(run));
    return scan;
}

/// Scans `s` and checks it against `arg_count` arguments.
constexpr TemplateScan scan_template(std::string_view s, std::size_t arg_count) {
    // Names seen so far, to reject a repeat (templates are short: quadratic is fine).
    std::string_view names[64]{};
    std::size_t name_count = 0;
    bool repeated = false;
    TemplateScan scan = walk_template(
        s, [](std::string_view) {},
        [&](std::string_view id, std::string_view) {
            if (id.empty() || is_digit(id[0])) return;
            for (std::size_t n = 0; n < name_count; ++n)
                if (names[n] == id) repeated = true;
            if (name_count < 64) names[name_count++] = id;
        });
    if (scan.error != TemplateError::none) return scan;
    if (repeated) scan.error = TemplateError::repeated_name;
    else if (scan.named > 0 && (scan.automatic > 0 || scan.manual > 0))
        scan.error = TemplateError::mixed_named_and_positional;
    else if (arg_count > 64) scan.error = TemplateError::too_many_arguments;
    else if (scan.manual > 0) {
        // fmt rejects {N} with N out of range; every argument must be used.
        const std::uint64_t all = arg_count == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << arg_count) - 1;
        if (scan.automatic > 0) scan.error = TemplateError::mixed_named_and_positional;
        else if ((scan.manual_used & all) != all) scan.error = TemplateError::unused_argument;
    } else if (static_cast<std::size_t>(scan.named + scan.automatic) != arg_count) {
        scan.error = TemplateError::argument_count_mismatch;
    }
    return scan;
}

/// The positional form of a named template: names removed, specs kept,
/// braces escaped as in the original. "Order {id} at {px:.2f}" -> "Order {} at {:.2f}".
constexpr std::string positional_template(std::string_view s) {
    std::string out;
    walk_template(
        s,
        [&out](std::string_view lit) {
            // walk_template hands over unescaped text: escape braces again.
            for (char c : lit) {
                out.push_back(c);
                if (c == '{' || c == '}') out.push_back(c);
            }
        },
        [&out](std::string_view id, std::string_view spec) {
            out.push_back('{');
            if (!id.empty() && is_digit(id[0])) out.append(id);
            if (!spec.empty()) {
                out.push_back(':');
                out.append(spec);
            }
            out.push_back('}');
        });
    return out;
}

}  // namespace agora::log::detail

AGORA_LOG_API_END
