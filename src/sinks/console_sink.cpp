#include "sinks/console_sink.hpp"

#include "base/write_all.hpp"

#include <unistd.h>

namespace agora::log::detail {

ConsoleSink::ConsoleSink(ConsoleFormat format, bool colors, int fd, FileSystem& fs)
    : fs_(fs), fd_(fd), format_(format), colors_(colors && ::isatty(fd) == 1) {
    buffer_.reserve(64 << 10);
}

ConsoleSink::~ConsoleSink() { close(); }

void ConsoleSink::emit(const LogRecordView& record) noexcept {
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

void ConsoleSink::flush() noexcept {
    if (buffer_.empty() || fd_ < 0) return;
    // A console that cannot be written (closed pipe) loses the lines; nothing
    // else could show them either.
    (void)write_all([this](const char* p, std::size_t n) { return fs_.write(fd_, p, n); }, buffer_.data(), buffer_.size());
    buffer_.clear();
}

void ConsoleSink::close() noexcept {
    flush();
    fd_ = -1;  // not ours to close
}

}  // namespace agora::log::detail
