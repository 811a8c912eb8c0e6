#include <agora/log/handlers/handler.hpp>

#include "write_all.hpp"

#include <unistd.h>

namespace agora::log {

namespace {
std::string_view level_color(Level level) noexcept {
    switch (level) {
        case Level::debug: return "\x1b[36m";     // cyan
        case Level::info: return "\x1b[32m";      // green
        case Level::warning: return "\x1b[33m";   // yellow
        case Level::error: return "\x1b[31m";     // red
        case Level::critical: return "\x1b[1;41m";  // bold, red background
    }
    return "";
}

/// Appends `s` with CR and LF written as \r and \n, so one record stays one line.
void append_one_line(std::string& out, std::string_view s) {
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c != '\n' && c != '\r') continue;
        out.append(s.data() + run, i - run);
        out.append(c == '\n' ? "\\n" : "\\r");
        run = i + 1;
    }
    out.append(s.data() + run, s.size() - run);
}
}  // namespace

void format_text(const LogRecordView& r, std::string& out, bool colors) {
    out.append(r.timestamp);
    out.push_back(' ');
    std::string_view name = to_string(r.level);
    if (colors) out.append(level_color(r.level));
    out.append(name);
    if (colors) out.append("\x1b[0m");
    out.append(9 - name.size(), ' ');
    append_one_line(out, r.logger_name);
    out.append("  ");
    append_one_line(out, r.message);
    out.append("  [");
    append_one_line(out, r.file);
    out.push_back(':');
    out.append(std::to_string(r.line));
    out.push_back(' ');
    append_one_line(out, r.function);
    out.push_back(']');
}

namespace detail {
void report_to_stderr(const char* message, std::size_t size) noexcept {
    (void)write_all(FileSystem::real(), STDERR_FILENO, message, size);
}
}  // namespace detail

}  // namespace agora::log
