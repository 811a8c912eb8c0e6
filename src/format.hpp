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

namespace agora::log::detail {

using ArgStore = fmt::dynamic_format_arg_store<fmt::format_context>;

/// Formats `format` with the arguments encoded in [args, args + size) as
/// `types` describes, appending to `out`. `store` is scratch space reused
/// across calls. Returns false if the bytes do not match the types (the
/// message then says so instead of reading past the record).
bool format_message(std::string_view format, const TypeCode* types, const std::byte* args, std::size_t size,
                    ArgStore& store, std::string& out) noexcept;

/// Appends `s` as a JSON string (quotes included): ", \ and control characters
/// are escaped (DEL as \u007f), invalid UTF-8 sequences become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

/// Appends "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, microseconds).
void append_timestamp(std::string& out, std::int64_t unix_ns);

/// "void ns::Foo::bar(int) const" -> "ns::Foo::bar"; "int main()" -> "main".
std::string_view clean_function_name(std::string_view pretty) noexcept;

/// "/src/feed/handler.cpp" -> "handler.cpp".
std::string_view file_base_name(std::string_view path) noexcept;

}  // namespace agora::log::detail
