#include "render.hpp"

#include <fmt/format.h>

namespace agora::log::detail {

EntryRenderer::EntryRenderer(const EntryIdentity& id) {
    auto field = [this](std::string_view key, const std::string& value) {
        identity_json_ += ",\"";
        identity_json_ += key;
        identity_json_ += "\":";
        append_json_string(identity_json_, value);
    };
    field("service", id.service);
    field("environment", id.environment);
    field("version", id.version);
    field("host", id.host);
    json_.reserve(1024);
    message_.reserve(512);
}

EntryRenderer::SiteInfo EntryRenderer::make_site_info(const std::source_location& loc) {
    SiteInfo info;
    info.file = file_base_name(loc.file_name());
    info.function = clean_function_name(loc.function_name());
    info.line = loc.line();
    info.json_tail = ",\"file\":";
    append_json_string(info.json_tail, info.file);
    info.json_tail += ",\"line\":";
    info.json_tail += std::to_string(info.line);
    info.json_tail += ",\"function\":";
    append_json_string(info.json_tail, info.function);
    return info;
}

const EntryRenderer::SiteInfo& EntryRenderer::site_info(const CallSite& site) {
    if (site.id >= sites_.size()) sites_.resize(site.id + 1);
    SiteInfo& info = sites_[site.id];
    if (info.json_tail.empty()) info = make_site_info(site.location);
    return info;
}

const std::string& EntryRenderer::logger_json(std::uint32_t logger_id, std::string_view name) {
    if (logger_id >= logger_json_.size()) logger_json_.resize(logger_id + 1);
    std::string& s = logger_json_[logger_id];
    if (s.empty()) {
        s = ",\"logger_name\":";
        append_json_string(s, name);
    }
    return s;
}

void EntryRenderer::render(Level level, std::int64_t unix_ns, std::string_view message, const SiteInfo& site,
                           std::uint32_t logger_id, std::string_view logger_name, LogRecordView& view) {
    // The date and time to the second change once a second: reuse them.
    std::int64_t second = unix_ns >= 0 ? unix_ns / 1'000'000'000 : (unix_ns - 999'999'999) / 1'000'000'000;
    if (second != cached_second_) {
        timestamp_.clear();
        append_timestamp(timestamp_, unix_ns);
        cached_second_ = second;
    } else {
        auto micros = static_cast<unsigned>((unix_ns - second * 1'000'000'000) / 1000);
        char* digits = timestamp_.data() + 20;  // "YYYY-MM-DDTHH:MM:SS." is 20 chars
        for (int i = 5; i >= 0; --i, micros /= 10) digits[i] = static_cast<char>('0' + micros % 10);
    }

    json_.clear();
    json_ += "{\"timestamp\":\"";
    json_ += timestamp_;
    json_ += "\",\"level\":\"";
    json_ += to_string(level);
    json_ += "\",\"message\":";
    append_json_string(json_, message);
    json_ += identity_json_;
    json_ += logger_json(logger_id, logger_name);
    json_ += site.json_tail;
    json_ += '}';

    view.level = level;
    view.unix_time_ns = unix_ns;
    view.timestamp = timestamp_;
    view.message = message;
    view.logger_name = logger_name;
    view.file = site.file;
    view.line = site.line;
    view.function = site.function;
    view.json = json_;
}

bool EntryRenderer::render_record(const RecordHeader& header, const std::byte* args, std::size_t args_size,
                                  const CallSite& site, std::string_view logger_name, std::int64_t unix_ns,
                                  LogRecordView& view) {
    message_.clear();
    bool ok = format_message(site.format, site.types, args, args_size, store_, message_);
    render(site.level, unix_ns, message_, site_info(site), header.logger_id, logger_name, view);
    return ok;
}

}  // namespace agora::log::detail
