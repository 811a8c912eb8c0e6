#pragma once
// Turns records into JSON entries (one line each). Caches the parts of an
// entry that never change per config, per logger and per call site, so a
// record costs one message format, one timestamp and a few appends.
// Backend thread (or a tool's thread) only.

#include "format.hpp"
#include "registry.hpp"

#include <agora/log/config.hpp>
#include <agora/log/handlers/handler.hpp>

#include <string>
#include <vector>

namespace agora::log::detail {

/// Static fields of every entry: service, environment, version, host.
struct EntryIdentity {
    std::string service;
    std::string environment;
    std::string version;
    std::string host;
};

class EntryRenderer {
public:
    explicit EntryRenderer(const EntryIdentity& identity);

    /// Site-derived text, computed once per call site.
    struct SiteInfo {
        std::string_view file;      // base name
        std::string_view function;  // cleaned
        std::uint32_t line = 0;
        std::string json_tail;      // ,"file":..,"line":..,"function":..
    };
    const SiteInfo& site_info(const CallSite& site);
    /// The same for any source location (the logger's own entries).
    static SiteInfo make_site_info(const std::source_location& loc);
    const std::string& logger_json(std::uint32_t logger_id, std::string_view name);

    /// Renders a record whose message is already formatted. Fills `view`
    /// (json, timestamp and the other views point into this renderer's
    /// buffers, valid until the next render()).
    void render(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                std::uint32_t logger_id, std::string_view logger_name, LogRecordView& view);

    /// Formats a record read from a ring or a file: message and entry.
    /// Returns false if its bytes did not match its call site.
    bool render_record(const RecordHeader& header, const std::byte* args, std::size_t args_size,
                       const CallSite& site, std::string_view logger_name, std::int64_t unix_ns,
                       LogRecordView& view);

private:
    std::string identity_json_;  // ,"service":..,"environment":..,"version":..,"host":..
    std::vector<SiteInfo> sites_;                 // by call-site id
    std::vector<std::string> logger_json_;        // by logger id: ,"logger_name":".."
    std::string json_;
    std::string message_;
    std::string timestamp_;
    std::int64_t cached_second_ = -1;  // timestamp_ prefix is valid for this second
    ArgStore store_;
};

}  // namespace agora::log::detail
