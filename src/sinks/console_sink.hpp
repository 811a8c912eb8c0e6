#pragma once
// The console writer behind ConsoleHandler and the configured console, with
// the FileSystem seam. Backend thread only (like every handler).

#include "sinks/file_system.hpp"

#include <agora/log/config.hpp>
#include <agora/log/handlers/handler.hpp>

#include <string>

namespace agora::log::detail {

class ConsoleSink final : public Handler {
public:
    /// Colours are used only when `colors` is set and `fd` is a terminal.
    ConsoleSink(ConsoleFormat format, bool colors, int fd, FileSystem& fs = FileSystem::real());
    ~ConsoleSink() override;
    ConsoleSink(const ConsoleSink&) = delete;
    ConsoleSink& operator=(const ConsoleSink&) = delete;

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

}  // namespace agora::log::detail
