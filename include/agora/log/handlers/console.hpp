#pragma once

#include <agora/log/detail/export.hpp>
#include <agora/log/config.hpp>
#include <agora/log/handlers/file_system.hpp>
#include <agora/log/handlers/handler.hpp>

#include <string>

AGORA_LOG_API_BEGIN

namespace agora::log {

/// Writes records to a file descriptor (stdout by default) as JSON lines or
/// text. Buffers lines and writes them on flush() (the backend flushes after
/// every pass) or when the buffer is full.
class ConsoleHandler final : public Handler {
public:
    /// Colours are used only when `colors` is set and `fd` is a terminal.
    explicit ConsoleHandler(ConsoleFormat format, bool colors = true, int fd = 1,
                            FileSystem& fs = FileSystem::real());
    ~ConsoleHandler() override;

    void emit(const LogRecordView& record) noexcept override;
    void flush() noexcept override;
    void close() noexcept override;

private:
    FileSystem& fs_;
    int fd_;
    ConsoleFormat format_;
    bool colors_;
    std::string buffer_;
    std::string line_;
};

}  // namespace agora::log

AGORA_LOG_API_END
