#pragma once
// Error values returned by setup calls. The logging calls themselves never
// fail visibly: they count drops instead.

#include <string>
#include <utility>
#include <variant>

namespace agora::log {

enum class ErrorCode {
    invalid_config,       // a Config field has a value that is not accepted
    invalid_env,          // an environment variable has a value that is not accepted
    io_error,             // a file or directory could not be used (also: a configuration file could not be read)
    invalid_config_file,  // a configuration file is not valid YAML, or has a key or value that is not accepted
    already_running,      // initialize() while the logger is running
};

struct Error {
    ErrorCode code;
    std::string message;  // names the field, variable or file key, the value, and what is accepted
};

/// A value or an Error (std::expected is C++23; this is the subset we need).
template <class T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(Error error) : v_(std::move(error)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
public:
    Expected() = default;
    Expected(Error error) : error_(std::move(error)), ok_(false) {}

    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const Error& error() const& { return error_; }

private:
    Error error_{};
    bool ok_ = true;
};

}  // namespace agora::log
