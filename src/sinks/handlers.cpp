// The public handlers: each owns the sink that does the work (the same code
// the configured console and file use), always on the real file system.

#include <agora/log/handlers/console.hpp>
#include <agora/log/handlers/rotating_file.hpp>

#include "sinks/console_sink.hpp"
#include "sinks/rotating_file_sink.hpp"

#include <utility>

namespace agora::log {

ConsoleHandler::ConsoleHandler(ConsoleFormat format, bool colors, int fd)
    : sink_(std::make_unique<detail::ConsoleSink>(format, colors, fd)) {}
ConsoleHandler::~ConsoleHandler() = default;
ConsoleHandler::ConsoleHandler(ConsoleHandler&&) noexcept = default;
ConsoleHandler& ConsoleHandler::operator=(ConsoleHandler&&) noexcept = default;

void ConsoleHandler::emit(const LogRecordView& record) noexcept { sink_->emit(record); }
void ConsoleHandler::flush() noexcept { sink_->flush(); }
void ConsoleHandler::close() noexcept { sink_->close(); }

RotatingFileHandler::RotatingFileHandler(Options options)
    : sink_(std::make_unique<detail::RotatingFileSink>(std::move(options))) {}
RotatingFileHandler::~RotatingFileHandler() = default;
RotatingFileHandler::RotatingFileHandler(RotatingFileHandler&&) noexcept = default;
RotatingFileHandler& RotatingFileHandler::operator=(RotatingFileHandler&&) noexcept = default;

void RotatingFileHandler::emit(const LogRecordView& record) noexcept { sink_->emit(record); }
void RotatingFileHandler::flush() noexcept { sink_->flush(); }
void RotatingFileHandler::close() noexcept { sink_->close(); }
void RotatingFileHandler::write_line(std::string_view line) noexcept { (void)sink_->write_line(line); }

bool RotatingFileHandler::is_open() const noexcept { return sink_->is_open(); }
std::uint64_t RotatingFileHandler::current_size() const noexcept { return sink_->current_size(); }
const std::string& RotatingFileHandler::last_error() const noexcept { return sink_->last_error(); }
std::uint64_t RotatingFileHandler::error_count() const noexcept { return sink_->error_count(); }
std::uint64_t RotatingFileHandler::dropped_lines() const noexcept { return sink_->dropped_lines(); }
std::uint64_t RotatingFileHandler::rotations() const noexcept { return sink_->rotations(); }
std::uint64_t RotatingFileHandler::bytes_written() const noexcept { return sink_->bytes_written(); }

namespace detail {
RotatingFileSink* sink_of(RotatingFileHandler& h) noexcept { return h.sink_.get(); }
}  // namespace detail

}  // namespace agora::log
