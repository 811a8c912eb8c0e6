#pragma once
// Builds inputs for the decoder (detail/binary_format.hpp) with the writers
// the crash dump and the binary sink use (src/format/binary_writer.hpp), and records
// laid out as a calling thread lays them out in its ring (detail/record.hpp).
// Shared by test/test_decoder.cpp, the fuzz corpus generator and
// perf/decode.cpp.

#include "format/binary_writer.hpp"

#include <agora/log/detail/frontend.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agora_binary_input {

namespace detail = agora::log::detail;

/// The Sink of binary_writer.hpp: appends to a string.
struct StringSink {
    std::string data;
    void bytes(const void* p, std::size_t n) noexcept { data.append(static_cast<const char*>(p), n); }
};

inline std::span<const std::byte> as_bytes(const std::string& s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// One record: header, context addresses, arguments, zero padding to 8.
class RecordBuilder {
public:
    RecordBuilder(std::uint32_t site_id, std::uint64_t tsc, std::uint32_t logger_id, std::uint32_t sequence = 0) {
        header_ = detail::RecordHeader{0, site_id, tsc, sequence, logger_id};
    }
    /// Context addresses come right after the header: call these before arg().
    RecordBuilder& bound(std::uint64_t address) {
        header_.logger_id |= detail::kBoundContextFlag;
        return raw(&address, 8);
    }
    RecordBuilder& scoped(std::uint64_t address) {
        header_.logger_id |= detail::kScopedContextFlag;
        return raw(&address, 8);
    }
    template <class T>
    RecordBuilder& arg(const T& v) {
        const auto& wire = detail::to_wire(v);
        std::byte buf[64];
        std::vector<std::byte> big;
        std::byte* out = buf;
        if (detail::encoded_size(wire) > sizeof buf) {
            big.resize(detail::encoded_size(wire));
            out = big.data();
        }
        std::byte* end = detail::encode(out, wire);
        return raw(out, static_cast<std::size_t>(end - out));
    }
    RecordBuilder& raw(const void* p, std::size_t n) {
        body_.append(static_cast<const char*>(p), n);
        return *this;
    }
    /// The record's bytes, RecordHeader::size (aligned to 8) long.
    std::string bytes() const {
        detail::RecordHeader h = header_;
        h.size = static_cast<std::uint32_t>(detail::align_record(sizeof h + body_.size()));
        std::string out(reinterpret_cast<const char*>(&h), sizeof h);
        out += body_;
        out.resize(h.size, '\0');
        return out;
    }

private:
    detail::RecordHeader header_{};
    std::string body_;
};

/// The tick/time anchor of the inputs built here: tick t is at kUnix0 + t ns.
inline constexpr std::uint64_t kTsc0 = 1'000'000;
inline constexpr std::int64_t kUnix0 = 1'764'000'000'000'000'000;

/// A file under construction: header, identity, clock, then whatever the
/// caller adds.
class InputBuilder {
public:
    explicit InputBuilder(detail::FileKind kind = detail::FileKind::crash_dump, std::string_view service = "decode-test",
                          std::uint32_t max_message_length = 10000, const agora::log::Context* default_context = nullptr) {
        const detail::FileHeader h = detail::make_file_header(kind, 4242, kTsc0, 1.0, kUnix0);
        sink.bytes(&h, sizeof h);
        detail::write_identity(sink, detail::IdentityFields{service, "staging", "1.2.3", "test-host", max_message_length,
                                                           default_context});
        detail::write_clock(sink, kTsc0, 1.0, kUnix0);
    }
    InputBuilder& logger(std::uint32_t id, std::string_view name) {
        detail::write_logger(sink, id, name);
        return *this;
    }
    InputBuilder& site(const detail::CallSite& s) {
        detail::write_site(sink, s);
        return *this;
    }
    InputBuilder& thread(std::uint64_t tid) {
        detail::write_thread(sink, tid, 0, 0, 4096);
        return *this;
    }
    InputBuilder& record(const std::string& rec) {
        detail::write_record(sink, reinterpret_cast<const std::byte*>(rec.data()), static_cast<std::uint32_t>(rec.size()));
        return *this;
    }
    /// Where the next entry will start.
    std::size_t offset() const noexcept { return sink.data.size(); }
    const std::string& data() const noexcept { return sink.data; }

    StringSink sink;
};

/// A call site owning nothing: format, file and function must outlive it.
inline detail::CallSite make_site(std::uint32_t id, agora::log::Level level, std::string_view format,
                                  const detail::TypeCode* types, std::uint32_t line = 42,
                                  std::string_view file = "/src/app/feed.cpp",
                                  std::string_view function = "void app::Feed::on_quote(int)") {
    detail::CallSite site{id, level, format, file, function, line, types, {}, {}};
    detail::describe_template(site);
    return site;
}

}  // namespace agora_binary_input
