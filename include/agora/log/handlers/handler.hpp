#pragma once
// Handler interface (seed "Handler Interface Contract"). Handlers run on the
// backend thread only, one record at a time, so they need no locking. A
// handler should not throw; if one does (or fails by throwing), the backend
// catches it, counts the record in Stats::records_lost_by_handlers, writes one
// "Handler error: <type>: <what>" entry to the other handlers, and goes on:
// the other handlers are not affected.

#include <agora/log/detail/export.hpp>
#include <agora/log/level.hpp>

#include <cstdint>
#include <string>
#include <string_view>

AGORA_LOG_API_BEGIN

namespace agora::log {

/// One decoded record as the backend hands it to handlers. Every view is valid
/// only for the duration of the emit() call.
struct LogRecordView {
    Level level;
    std::int64_t unix_time_ns;       ///< wall-clock time, ns since the Unix epoch (UTC)
    std::string_view timestamp;      ///< "YYYY-MM-DDTHH:MM:SS.ffffffZ"
    std::string_view message;        ///< the rendered message
    std::string_view logger_name;
    std::string_view file;           ///< source file base name
    std::uint32_t line;
    std::string_view function;       ///< qualified name, no return type or parameters
    /// The entry's members after "function" as JSON, without the leading
    /// comma: top-level ids, duration_ms, "context":{...}, "exception":{...}.
    /// Empty when there are none.
    std::string_view fields_json;
    std::string_view json;           ///< the complete JSON entry, without the newline
};

class Handler {
public:
    virtual ~Handler() = default;
    /// Writes (or buffers) one record.
    /// May be declared noexcept by a handler that cannot fail.
    virtual void emit(const LogRecordView& record) = 0;
    /// Hands everything buffered to the OS.
    virtual void flush() = 0;
    /// Flushes and releases resources. Safe to call more than once.
    virtual void close() = 0;
};

/// Renders `record` as one human-readable line (no newline) into `out`:
///   2026-11-25T08:54:39.123456Z INFO     feed.handler  Quote AAPL 101.25  [feed.cpp:42 FeedHandler::on_quote]
/// An entry with context, ids, a duration or an exception shows them after the
/// message as in its JSON form:
///   ... INFO     feed.handler  Order 42 filled  {"context":{"order_id":42}}  [feed.cpp:57 on_fill]
/// With `colors`, the level is wrapped in ANSI colour codes. The logger name,
/// message, file and function are untrusted and written so that a record stays
/// one line and cannot drive the terminal: carriage returns and newlines
/// become \r and \n, terminal escape sequences (CSI such as colours or cursor
/// moves, OSC such as title changes when terminated by BEL or ESC '\', and
/// the other ESC sequences) are removed; of an unterminated OSC, DCS, SOS, PM
/// or APC only the ESC and its introducer are removed and the rest is kept as
/// text. The other control characters and DEL become \xHH (TAB is kept), the
/// C1 controls U+0080-U+009F become \u0080-\u009f, and every byte that is not
/// part of valid UTF-8 (a raw 8-bit C1 control such as 0x9B, an overlong
/// form, a surrogate, a truncated sequence) becomes \xHH. Other UTF-8 text is
/// copied unchanged.
void format_text(const LogRecordView& record, std::string& out, bool colors);

}  // namespace agora::log

AGORA_LOG_API_END
