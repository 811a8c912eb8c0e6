#pragma once
// Decoding and rendering of records: shared by the backend and the tools, so
// the live output and decoded dumps cannot differ.

#include <agora/log/detail/record.hpp>

#include <fmt/args.h>
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agora::log::detail {

using ArgStore = fmt::dynamic_format_arg_store<fmt::format_context>;

/// A format argument's type and where its bytes start in the record (a
/// string's at its u32 length).
struct FormatArgRef {
    TypeCode type;
    const std::byte* data;
};

/// What a record carries besides its message arguments. Views into the record.
struct RecordExtras {
    static constexpr std::size_t kMaxArgs = 64;
    FormatArgRef args[kMaxArgs];
    std::size_t arg_count = 0;
    const std::byte* context = nullptr;  // context blob (after its length)
    std::uint32_t context_size = 0;
    const std::byte* exception = nullptr;  // exception blob (after its length)
    std::uint32_t exception_size = 0;
    bool has_duration = false;
    std::uint64_t duration_ticks = 0;
    bool intact = false;  // every argument was read (the fields above are complete)

    /// Empties it for the next record (`args` entries past arg_count are stale, not cleared).
    void reset() noexcept {
        arg_count = 0;
        context = nullptr;
        context_size = 0;
        exception = nullptr;
        exception_size = 0;
        has_duration = false;
        duration_ticks = 0;
        intact = false;
    }
};

/// Formats `format` with the arguments encoded in [args, args + size) as
/// `types` describes, appending to `out`, and fills `extras`. `store` is
/// scratch space reused across calls. Returns false if the bytes do not
/// match the types (the message then says so instead of reading past the
/// record) or the template does not format.
bool format_message(std::string_view format, const TypeCode* types, const std::byte* args, std::size_t size,
                    ArgStore& store, std::string& out, RecordExtras& extras) noexcept;

/// A message template whose every field is "{}" ("{{" and "}}" are literal
/// braces), cut into the text around its fields, with one field per format
/// argument of its call site's types. format_message_plain() writes such a
/// message without fmt's parse of the template.
struct PlainTemplate {
    bool known = false;   // planned (the EntryRenderer's per-site cache)
    bool usable = false;  // the template is plain and matches the types
    std::vector<std::string> literals;  // fields + 1 pieces, braces unescaped
};

/// The plan of `format` for a call site with `types` (usable or not).
PlainTemplate plan_plain_template(std::string_view format, const TypeCode* types);

/// format_message() for a template whose plan is usable: the same text
/// (each value as fmt writes it for "{}") and the same extras. A record
/// whose bytes do not frame, or any failure, takes format_message() itself.
bool format_message_plain(const PlainTemplate& plan, std::string_view format, const TypeCode* types,
                          const std::byte* args, std::size_t size, ArgStore& store, std::string& out,
                          RecordExtras& extras) noexcept;

/// Formats `format` with the format arguments format_message() noted in
/// `extras`, argument i given as the string *replacements[i] where that is
/// not null (`replacements` has RecordExtras::kMaxArgs entries). The
/// replaced arguments' fields in `format` must take a string (no numeric
/// spec). Appends to `out`; false if it does not format.
bool format_with_replacements(std::string_view format, const RecordExtras& extras,
                              const std::string* const* replacements, ArgStore& store, std::string& out) noexcept;

/// Appends `s` as a JSON string (quotes included): ", \ and control characters
/// are escaped (DEL as \u007f), invalid UTF-8 sequences become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

/// Appends "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, microseconds).
void append_timestamp(std::string& out, std::int64_t unix_ns);

/// Appends `s` as a JSON string; a value longer than `limit` bytes is cut
/// (on a UTF-8 boundary) and ends with "...[truncated]".
void append_json_string_limited(std::string& out, std::string_view s, std::size_t limit);

/// Appends a double as a JSON number (shortest form that reads back the
/// same); NaN and infinities, which JSON has no number for, as the strings
/// "NaN", "Infinity", "-Infinity".
void append_json_double(std::string& out, double v);

/// Appends `message` cut to `limit` bytes plus "...[truncated]" when longer.
/// Returns true if it was cut.
bool truncate_message(std::string& message, std::size_t limit);

inline constexpr std::string_view kTruncatedMarker = "...[truncated]";

/// "void ns::Foo::bar(int) const" -> "ns::Foo::bar"; "int main()" -> "main".
std::string_view clean_function_name(std::string_view pretty) noexcept;

/// "/src/feed/handler.cpp" -> "handler.cpp".
std::string_view file_base_name(std::string_view path) noexcept;

}  // namespace agora::log::detail
