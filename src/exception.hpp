#pragma once
// Backend side of exceptions in entries (the calling side is
// capture_exception/encode in detail/frontend.hpp, src/exception.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace agora::log::detail {

/// "St13runtime_error" -> "std::runtime_error"; unchanged if not a mangled name.
std::string demangle(std::string_view mangled);

/// Return address -> "function at file:line", cached (symbolising reads
/// debug information: costly the first time). Backend thread only.
///
/// Table mode (a decoder: the addresses belong to another process, so this
/// process's debug information says nothing about them): frames come only
/// from the table, which the caller owns and keeps alive; an address not in
/// it is written as "0x..." hex.
class StackSymbolizer {
public:
    const std::string& frame(std::uint64_t address);
    void use_table(const std::unordered_map<std::uint64_t, std::string>* table) noexcept { table_ = table; }

private:
    static constexpr std::size_t kMaxCached = 65536;
    std::unordered_map<std::uint64_t, std::string> cache_;
    const std::unordered_map<std::uint64_t, std::string>* table_ = nullptr;
    std::string unknown_;  // table mode: the hex text of the last unknown address
};

/// Appends "exception":{...} for an exception blob (detail/record.hpp).
/// Returns false, appending nothing, if the blob is damaged.
bool append_exception_json(std::string& out, const std::byte* blob, std::size_t size, StackSymbolizer& symbols,
                           std::size_t limit);

}  // namespace agora::log::detail
