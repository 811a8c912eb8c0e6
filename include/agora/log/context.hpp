#pragma once
// Structured context: the key/value data an entry carries besides its message
// (seed "ContextValue", "Context", "ContextBuilder"), and the per-thread
// ScopedContext (what other loggers call MDC).
//
// Where an entry's fields come from, highest precedence first:
//   1. the call itself: named placeholders and a Context argument,
//   2. the innermost ScopedContext of the calling thread,
//   3. the logger's bound context (Logger::with_context),
//   4. Config::default_context.
// The keys correlation_id, user_id, trace_id and span_id are written as the
// entry's top-level fields; every other key goes into its "context" object.

#include <agora/log/detail/export.hpp>
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <variant>

AGORA_LOG_API_BEGIN

namespace agora::log {

/// One context value: a string, a 64-bit integer, a double or a bool (kept as
/// that JSON type in the entry). Converts implicitly from any integer,
/// floating-point, bool, character or string type, so `{{"qty", 5u}}` works.
class ContextValue : public std::variant<std::string, std::int64_t, double, bool> {
public:
    using Variant = std::variant<std::string, std::int64_t, double, bool>;

    ContextValue() = default;  // empty string
    ContextValue(bool b) : Variant(b) {}
    ContextValue(char c) : Variant(std::string(1, c)) {}
    ContextValue(const char* s) : Variant(std::string(s ? s : "(null)")) {}
    ContextValue(std::string s) : Variant(std::move(s)) {}
    ContextValue(std::string_view s) : Variant(std::string(s)) {}
    template <std::integral T>
        requires(!std::same_as<T, bool> && !std::same_as<T, char>)
    ContextValue(T v) : Variant(from_integer(v)) {}
    template <std::floating_point T>
    ContextValue(T v) : Variant(static_cast<double>(v)) {}

    const Variant& variant() const noexcept { return *this; }

private:
    // An unsigned value above INT64_MAX is kept exact, as its decimal string.
    template <class T>
    static Variant from_integer(T v) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max())) return Variant(std::to_string(v));
        }
        return Variant(static_cast<std::int64_t>(v));
    }
};

/// Key/value pairs, ordered by key (entries list them in this order).
using Context = std::map<std::string, ContextValue, std::less<>>;

/// Builds a Context with the well-known keys spelled once.
///   auto ctx = ContextBuilder().correlation_id().user_id("u-17").add("symbol", "AAPL").build();
class ContextBuilder {
public:
    /// Sets correlation_id to `id`.
    ContextBuilder& correlation_id(std::string id);
    /// Sets correlation_id to a new random UUID (generate_correlation_id()).
    ContextBuilder& correlation_id();
    ContextBuilder& user_id(std::string id);
    ContextBuilder& trace_id(std::string id);
    ContextBuilder& span_id(std::string id);
    /// Sets `key` (replacing an earlier value).
    ContextBuilder& add(std::string key, ContextValue value);

    Context build() const& { return values_; }
    Context build() && { return std::move(values_); }

private:
    Context values_;
};

/// A new random version-4 UUID in canonical lower-case form,
/// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx". Any thread; no system call after
/// the thread's first use.
std::string generate_correlation_id();

/// True if `s` is a UUID in canonical 8-4-4-4-12 hexadecimal form.
bool is_uuid(std::string_view s) noexcept;

namespace detail {
struct ContextSnapshot;
}

/// Adds `fields` to every entry the constructing thread writes while this
/// object lives. Scopes nest: an inner scope's fields win over an outer one's,
/// and destroying it restores the outer set. Must be destroyed on the thread
/// that created it, in reverse order of creation (as a local variable is).
///
/// Construction copies the fields once (it allocates; the backend renders them
/// on first use); a log call inside the scope only adds one pointer to its
/// record.
class ScopedContext {
public:
    /// Never throws: without memory the scope adds nothing.
    explicit ScopedContext(const Context& fields) noexcept;
    ~ScopedContext();
    ScopedContext(const ScopedContext&) = delete;
    ScopedContext& operator=(const ScopedContext&) = delete;

private:
    detail::ContextSnapshot* snapshot_;  // this scope's fields merged over the outer scope's
    const detail::ContextSnapshot* outer_;
};

}  // namespace agora::log

AGORA_LOG_API_END
