#include <agora/log/handlers/console.hpp>

#include "base/write_all.hpp"

#include <unistd.h>

namespace agora::log {

ConsoleHandler::ConsoleHandler(ConsoleFormat format, bool colors, int fd, FileSystem& fs)
    : fs_(fs), fd_(fd), format_(format), colors_(colors && ::isatty(fd) == 1) {
    buffer_.reserve(64 << 10);
}

ConsoleHandler::~ConsoleHandler() { close(); }

void ConsoleHandler::emit(const LogRecordView& record) noexcept {
    try {
        if (format_ == ConsoleFormat::json) {
            buffer_.append(record.json);
        } else {
            line_.clear();
            format_text(record, line_, colors_);
            buffer_.append(line_);
        }
        buffer_.push_back('\n');
        if (buffer_.size() >= (64u << 10)) flush();
    } catch (...) {
        // No memory for the line: it is lost; the console has no better place to say so.
    }
}

void ConsoleHandler::flush() noexcept {
    if (buffer_.empty() || fd_ < 0) return;
    // A console that cannot be written (closed pipe) loses the lines; nothing
    // else could show them either.
    (void)detail::write_all([this](const char* p, std::size_t n) { return fs_.write(fd_, p, n); }, buffer_.data(), buffer_.size());
    buffer_.clear();
}

void ConsoleHandler::close() noexcept {
    flush();
    fd_ = -1;  // not ours to close
}

}  // namespace agora::log
