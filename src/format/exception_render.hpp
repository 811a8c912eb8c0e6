#pragma once
// Rendering of the exceptions in entries (the calling side is
// capture_exception/encode in detail/frontend.hpp, frontend/exception_capture.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace agora::log::detail {

/// "St13runtime_error" -> "std::runtime_error"; unchanged if not a mangled name.
std::string demangle(std::string_view mangled);

/// Return address -> "function at file:line", cached. One thread at a time
/// (the backend's, or a decoder's).
///
/// Live mode (the backend): `lookup` symbolises an address of this process
/// (backend/live_symbols.hpp; reading debug information is costly the first
/// time, hence the cache). Without a lookup, frames are "0x..." hex.
/// Table mode (a decoder: the addresses belong to another process, so this
/// process's debug information says nothing about them): frames come only
/// from the table, which the caller owns and keeps alive; an address not in
/// it is written as "0x..." hex.
class StackSymbolizer {
public:
    /// Text of one frame, or empty if the address means nothing. May throw.
    using Lookup = std::string (*)(std::uint64_t address);

    const std::string& frame(std::uint64_t address);
    void use_lookup(Lookup lookup) noexcept { lookup_ = lookup; }
    void use_table(const std::unordered_map<std::uint64_t, std::string>* table) noexcept { table_ = table; }

private:
    static constexpr std::size_t kMaxCached = 65536;
    std::unordered_map<std::uint64_t, std::string> cache_;
    Lookup lookup_ = nullptr;
    const std::unordered_map<std::uint64_t, std::string>* table_ = nullptr;
    std::string unknown_;  // table mode: the hex text of the last unknown address
};

class Redactor;

/// Appends "exception":{...} for an exception blob (detail/record.hpp).
/// Returns false, appending nothing, if the blob is damaged. With a
/// redactor, each level's message goes through its patterns.
bool append_exception_json(std::string& out, const std::byte* blob, std::size_t size, StackSymbolizer& symbols,
                           std::size_t limit, const Redactor* redactor = nullptr);

}  // namespace agora::log::detail
