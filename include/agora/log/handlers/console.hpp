#pragma once

#include <agora/log/detail/export.hpp>
#include <agora/log/config.hpp>
#include <agora/log/handlers/handler.hpp>

#include <memory>

AGORA_LOG_API_BEGIN

namespace agora::log {

namespace detail {
class ConsoleSink;
}

/// Writes records to a file descriptor (stdout by default) as JSON lines or
/// text. Buffers lines and writes them on flush() (the backend flushes after
/// every pass) or when 64 KiB are buffered. A console that cannot be written
/// (a closed pipe) loses its lines; the descriptor is never closed.
class ConsoleHandler final : public Handler {
public:
    /// Colours are used only when `colors` is set and `fd` is a terminal.
    explicit ConsoleHandler(ConsoleFormat format, bool colors = true, int fd = 1);
    ~ConsoleHandler() override;
    ConsoleHandler(ConsoleHandler&&) noexcept;
    ConsoleHandler& operator=(ConsoleHandler&&) noexcept;

    void emit(const LogRecordView& record) noexcept override;
    void flush() noexcept override;
    void close() noexcept override;

private:
    std::unique_ptr<detail::ConsoleSink> sink_;
};

}  // namespace agora::log

AGORA_LOG_API_END
