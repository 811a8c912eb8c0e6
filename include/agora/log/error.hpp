#pragma once
// Error values returned by setup calls. The logging calls themselves never
// fail visibly: they count drops instead.

#include <agora/log/detail/export.hpp>
#include <cassert>
#include <string>
#include <utility>
#include <variant>

AGORA_LOG_API_BEGIN

namespace agora::log {

enum class ErrorCode {
    invalid_config,       // a Config field has a value that is not accepted
    invalid_env,          // an environment variable has a value that is not accepted
    io_error,             // a file or directory could not be used (also: a configuration file could not be read)
    invalid_config_file,  // a configuration file is not valid YAML, or has a key or value that is not accepted
    already_running,      // initialize() while the logger is running
    invalid_argument,     // a function argument is not accepted (set_level(): empty name, bad level or duration)
};

struct Error {
    ErrorCode code;
    std::string message;  // names the field, variable or file key, the value, and what is accepted
};

/// A value or an Error (std::expected is C++23; this is the subset we need).
/// Check has_value() (or the bool conversion) before reading either side.
template <class T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(Error error) : v_(std::move(error)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value. Precondition: has_value(), for operator* and operator->
    /// too. Breaking it fails an assertion in a build with assertions; where
    /// NDEBUG is defined (release builds) it throws std::bad_variant_access.
    T& value() & {
        check_value();
        return std::get<0>(v_);
    }
    const T& value() const& {
        check_value();
        return std::get<0>(v_);
    }
    T&& value() && {
        check_value();
        return std::get<0>(std::move(v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    /// The error. Precondition: !has_value(); on a value it throws
    /// std::bad_variant_access.
    const Error& error() const& { return std::get<1>(v_); }

private:
    void check_value() const noexcept {
        assert(has_value() && "agora::log::Expected: value() on an error; check has_value() first");
    }

    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
public:
    Expected() = default;
    Expected(Error error) : error_(std::move(error)), ok_(false) {}

    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    /// The error. Precondition: !has_value(); on success it returns an empty
    /// Error (code invalid_config, no message) that means nothing.
    const Error& error() const& { return error_; }

private:
    Error error_{};
    bool ok_ = true;
};

}  // namespace agora::log

AGORA_LOG_API_END
