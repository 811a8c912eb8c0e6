// Sensitive data (Config::sensitive_data, docs/redaction.md): redaction by
// key in every field source (call fields, named placeholders, bound, scoped
// and default context), masking, patterns over the message, string values and
// exception messages, the switch, config errors, and the decoder rendering a
// binary log file and a crash dump with the writer's rules. Every entry read
// from a JSON file is validated against the schema.

#define BOOST_TEST_MODULE redaction
#include "common.hpp"

#include "decode/decoder.hpp"
#include "format/record_codec.hpp"
#include "format/redaction.hpp"

#include <agora/log/crash.hpp>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <cstring>

#include <string>
#include <vector>

using agora::log::Config;
using agora::log::Context;
using agora::log::MaskRule;
using agora::log::ScopedContext;
using agora::log::SensitiveDataConfig;
namespace d = agora::log::detail;

namespace {

/// Shuts the logger down and returns the file's entries (schema-checked) as JSON documents.
std::vector<std::string> shutdown_and_read(const std::string& path) {
    agora::log::shutdown();
    auto read = agora_test::read_entries(path);
    BOOST_TEST(read.errors.empty(), agora_test::join_errors(read.errors));
    std::vector<std::string> out;
    for (const auto& e : read.entries) out.push_back(e.raw);
    return out;
}

/// The string at `pointer` ("/context/api_key") of a JSON line; "<missing>" if absent.
std::string at(const std::string& line, const char* pointer) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError()) return "<not JSON>";
    const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
    if (v == nullptr) return "<missing>";
    if (v->IsString()) return v->GetString();
    return "<not a string>";
}

std::vector<std::byte> file_bytes(const std::string& path) {
    const std::string s = agora_test::read_file(path);
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

std::vector<std::string> decode_file(const std::string& path, d::DecodeOptions options = {}) {
    d::Decoder decoder(options);
    decoder.add(path, file_bytes(path));
    std::vector<std::string> lines;
    decoder.render([&lines](std::string_view line) { lines.emplace_back(line); });
    for (const auto& info : decoder.inputs()) BOOST_TEST(info.problems.empty(), agora_test::join_errors(info.problems));
    return lines;
}

/// Logs one record of every field source with a secret in it.
void log_every_source(const std::string& tag) {
    auto log = agora::log::get_logger("redaction");
    log.info("Login {user} with {password}", std::string("alice"), std::string("hunter2-" + tag));
    log.info("Call fields", Context{{"api_key", "sk_live_" + tag}, {"amount", 12}});
    auto bound = log.with_context(Context{{"client_secret", "bound-" + tag}});
    bound.info("Bound");
    {
        ScopedContext scope(Context{{"Authorization", "Bearer scoped-" + tag}});
        log.info("Scoped");
    }
    try {
        throw std::runtime_error("connect failed: token=tok_" + tag);
    } catch (const std::exception& e) {
        log.error("Failed", e);
    }
}

Config redacting_config(const std::string& path) {
    Config c = agora_test::quiet_config(path);
    c.default_context = Context{{"private_key", "default-secret"}, {"region", "eu"}};
    c.sensitive_data.redact_patterns = {R"(tok_\w+)"};
    return c;
}

}  // namespace

// ---- the rules, directly ----------------------------------------------------

BOOST_AUTO_TEST_CASE(mask_last_chars) {
    auto mask = [](std::string_view v, MaskRule rule) {
        std::string out;
        d::Redactor::mask(v, rule, out);
        return out;
    };
    BOOST_TEST(mask("4532015112830366", MaskRule{}) == "************0366");
    BOOST_TEST(mask("123", MaskRule{}) == "***");    // no longer than show_last: masked whole
    BOOST_TEST(mask("1234", MaskRule{}) == "****");
    BOOST_TEST(mask("", MaskRule{}) == "");
    MaskRule ssn;
    ssn.mask_char = 'X';
    BOOST_TEST(mask("123-45-6789", ssn) == "XXXXXXX6789");
    // Counted in characters: a cut never splits one.
    BOOST_TEST(mask("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", MaskRule{}) == "*\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(mask_email) {
    auto mask = [](std::string_view v, bool mask_domain) {
        MaskRule rule;
        rule.kind = MaskRule::Kind::email;
        rule.mask_domain = mask_domain;
        std::string out;
        d::Redactor::mask(v, rule, out);
        return out;
    };
    BOOST_TEST(mask("user@example.com", false) == "user@***");
    BOOST_TEST(mask("user@example.com", true) == "***@***");
    BOOST_TEST(mask("not-an-address", false) == "***");
}

BOOST_AUTO_TEST_CASE(key_decisions_are_case_insensitive_substrings) {
    SensitiveDataConfig c;
    c.mask_fields["credit_card"] = MaskRule{};
    c.mask_fields["Email"].kind = MaskRule::Kind::email;
    d::Redactor r(c);
    using A = d::Redactor::Decision::Action;
    for (const char* key : {"password", "API_KEY", "x-Authorization", "userPassword", "AccessToken", "db_credentials"})
        BOOST_TEST((r.decide(key).action == A::redact), key);
    BOOST_TEST((r.decide("Credit_Card_Number").action == A::mask));
    BOOST_TEST((r.decide("contact_email").action == A::mask));
    BOOST_TEST((r.decide("contact_email").rule->kind == MaskRule::Kind::email));
    for (const char* key : {"user_id", "amount", "apikey", "correlation_id"})
        BOOST_TEST((r.decide(key).action == A::pass), key);
    // Cached or not, the same answer.
    BOOST_TEST((r.decide("API_KEY").action == A::redact));

    c.enabled = false;
    d::Redactor off(c);
    BOOST_TEST((off.decide("password").action == A::pass));
}

BOOST_AUTO_TEST_CASE(patterns_are_case_insensitive_and_skip_empty_matches) {
    SensitiveDataConfig c;
    c.redact_patterns = {R"(bearer\s+[a-z0-9._-]+)", "x*", R"(\d{4}-\d{4})"};
    d::Redactor r(c);
    BOOST_TEST(r.errors().empty());
    std::string s = "auth BEARER eyJ.abc.def then 1234-5678 end";
    BOOST_TEST(r.redact_text(s));
    BOOST_TEST(s == "auth [REDACTED] then [REDACTED] end");
    std::string clean = "nothing here";
    BOOST_TEST(!r.redact_text(clean));
    BOOST_TEST(clean == "nothing here");
    // "x*" matches the empty string everywhere: only its non-empty matches count.
    std::string xs = "axxb";
    BOOST_TEST(r.redact_text(xs));
    BOOST_TEST(xs == "a[REDACTED]b");
}

BOOST_AUTO_TEST_CASE(identity_section_round_trips) {
    SensitiveDataConfig c;
    c.enabled = false;
    c.redaction_text = "<hidden>";
    c.redact_fields = {"pin"};
    c.mask_fields["card"].show_last = 2;
    c.mask_fields["card"].mask_char = '#';
    c.mask_fields["mail"].kind = MaskRule::Kind::email;
    c.mask_fields["mail"].mask_domain = true;
    c.redact_patterns = {"abc", "d+"};
    const std::string bytes = d::encode_sensitive_data(c);
    d::BlobReader r{reinterpret_cast<const std::byte*>(bytes.data()),
                    reinterpret_cast<const std::byte*>(bytes.data() + bytes.size())};
    SensitiveDataConfig back;
    BOOST_TEST_REQUIRE(d::decode_sensitive_data(r, back));
    BOOST_TEST(r.p == r.end);
    BOOST_TEST(back.enabled == false);
    BOOST_TEST(back.redaction_text == "<hidden>");
    BOOST_TEST(back.redact_fields == std::vector<std::string>{"pin"});
    BOOST_TEST(back.mask_fields.size() == 2u);
    BOOST_TEST(back.mask_fields["card"].show_last == 2u);
    BOOST_TEST(back.mask_fields["card"].mask_char == '#');
    BOOST_TEST((back.mask_fields["mail"].kind == MaskRule::Kind::email));
    BOOST_TEST(back.mask_fields["mail"].mask_domain);
    BOOST_TEST(back.redact_patterns == (std::vector<std::string>{"abc", "d+"}));
    // Cut anywhere, it is damage, never a read past the end.
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        d::BlobReader cut{reinterpret_cast<const std::byte*>(bytes.data()),
                          reinterpret_cast<const std::byte*>(bytes.data() + n)};
        SensitiveDataConfig ignored;
        BOOST_TEST(!d::decode_sensitive_data(cut, ignored), n);
    }
}

// ---- config -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_pattern_is_a_config_error_naming_it) {
    Config c = agora_test::quiet_config("/tmp/unused.log");
    c.sensitive_data.redact_patterns = {"ok+", "(unclosed"};
    auto valid = c.validate();
    BOOST_TEST_REQUIRE(!valid);
    BOOST_TEST((valid.error().code == agora::log::ErrorCode::invalid_config));
    const std::string& m = valid.error().message;
    BOOST_TEST(m.find("sensitive_data.redact_patterns[1]='(unclosed'") != std::string::npos, m);
    BOOST_TEST(m.find("RE2") != std::string::npos, m);
    // initialize() refuses it the same way.
    agora_test::ShutdownGuard guard;
    auto init = agora::log::initialize(c);
    BOOST_TEST(!init);

    c.sensitive_data.redact_patterns = {};
    c.sensitive_data.mask_fields["card"].mask_char = '\n';
    BOOST_TEST(!c.validate());
    c.sensitive_data.mask_fields["card"] = MaskRule{};
    c.sensitive_data.mask_fields["card"].show_last = 5000;
    BOOST_TEST(!c.validate());
    c.sensitive_data.mask_fields.clear();
    c.sensitive_data.redact_fields.push_back("");
    BOOST_TEST(!c.validate());
    c.sensitive_data.redact_fields.pop_back();
    c.sensitive_data.redaction_text = std::string(257, 'x');
    BOOST_TEST(!c.validate());
    c.sensitive_data.redaction_text = "[REDACTED]";
    BOOST_TEST(c.validate().has_value(), agora_test::error_text(c.validate()));
}

BOOST_AUTO_TEST_CASE(env_switch) {
    agora_test::EnvGuard env;
    env.set("LOG_REDACTION", "false");
    auto c = Config::from_env();
    BOOST_TEST_REQUIRE(c.has_value(), agora_test::error_text(c));
    BOOST_TEST(!c->sensitive_data.enabled);
    env.set("LOG_REDACTION", "on");
    c = Config::from_env();
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->sensitive_data.enabled);
    env.set("LOG_REDACTION", "maybe");
    c = Config::from_env();
    BOOST_TEST_REQUIRE(!c.has_value());
    BOOST_TEST(c.error().message.find("LOG_REDACTION='maybe'") != std::string::npos, c.error().message);
}

// ---- end to end ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(defaults_redact_every_field_source) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("app.log");
    BOOST_TEST_REQUIRE(agora::log::initialize(redacting_config(path)).has_value());
    log_every_source("e2e");
    const auto lines = shutdown_and_read(path);
    BOOST_TEST_REQUIRE(lines.size() == 5u);
    const std::string all = agora_test::read_file(path);
    for (const char* secret : {"hunter2", "sk_live_", "bound-e2e", "scoped-e2e", "tok_e2e", "default-secret"})
        BOOST_TEST(all.find(secret) == std::string::npos, secret);

    // Named placeholder: the field and the message.
    BOOST_TEST(at(lines[0], "/message") == "Login alice with [REDACTED]");
    BOOST_TEST(at(lines[0], "/context/password") == "[REDACTED]");
    BOOST_TEST(at(lines[0], "/context/user") == "alice");
    // Call fields: a number keeps its type unless redacted.
    BOOST_TEST(at(lines[1], "/context/api_key") == "[REDACTED]");
    BOOST_TEST(lines[1].find("\"amount\":12") != std::string::npos, lines[1]);
    BOOST_TEST(at(lines[2], "/context/client_secret") == "[REDACTED]");
    BOOST_TEST(at(lines[3], "/context/Authorization") == "[REDACTED]");
    // Default context, on every entry.
    for (const auto& line : lines) {
        BOOST_TEST(at(line, "/context/private_key") == "[REDACTED]");
        BOOST_TEST(at(line, "/context/region") == "eu");
    }
    // The exception's message, by pattern.
    BOOST_TEST(at(lines[4], "/exception/message") == "connect failed: token=[REDACTED]");
}

BOOST_AUTO_TEST_CASE(masks_and_patterns_in_output) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("app.log");
    Config c = agora_test::quiet_config(path);
    c.sensitive_data.mask_fields["credit_card"] = MaskRule{};
    c.sensitive_data.mask_fields["ssn"].mask_char = 'X';
    c.sensitive_data.mask_fields["email"].kind = MaskRule::Kind::email;
    c.sensitive_data.redact_patterns = {R"(Bearer\s+[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+)",
                                        R"(\b\d{3}-\d{2}-\d{4}\b)"};
    BOOST_TEST_REQUIRE(agora::log::initialize(c).has_value());
    auto log = agora::log::get_logger("redaction");
    log.info("Payment {credit_card} amount {amount:.2f}", std::string("4532015112830366"), 100.0);
    log.info("Card as a number {Credit_Card:>20}", std::int64_t{4532015112830366});
    log.info("Short", Context{{"credit_card", "366"}, {"customer_email", "user@example.com"}, {"ssn", "123-45-6789"}});
    log.info("header bearer eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM sent; SSN 123-45-6789 on file");
    log.info("Note", Context{{"note", "call with BEARER a.b.c please"}});
    const auto lines = shutdown_and_read(path);
    BOOST_TEST_REQUIRE(lines.size() == 5u);
    BOOST_TEST(at(lines[0], "/message") == "Payment ************0366 amount 100.00");
    BOOST_TEST(at(lines[0], "/context/credit_card") == "************0366");
    // A masked number becomes a string, and the message drops its spec.
    BOOST_TEST(at(lines[1], "/message") == "Card as a number ************0366");
    BOOST_TEST(at(lines[1], "/context/Credit_Card") == "************0366");
    BOOST_TEST(at(lines[2], "/context/credit_card") == "***");
    BOOST_TEST(at(lines[2], "/context/customer_email") == "user@***");
    BOOST_TEST(at(lines[2], "/context/ssn") == "XXXXXXX6789");  // a key's mask wins over the patterns
    BOOST_TEST(at(lines[3], "/message") == "header [REDACTED] sent; SSN [REDACTED] on file");
    BOOST_TEST(at(lines[4], "/context/note") == "call with [REDACTED] please");
}

BOOST_AUTO_TEST_CASE(redaction_off_writes_values) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    const std::string path = dir.file("app.log");
    Config c = redacting_config(path);
    c.sensitive_data.enabled = false;
    BOOST_TEST_REQUIRE(agora::log::initialize(c).has_value());
    log_every_source("off");
    const auto lines = shutdown_and_read(path);
    BOOST_TEST_REQUIRE(lines.size() == 5u);
    BOOST_TEST(at(lines[0], "/message") == "Login alice with hunter2-off");
    BOOST_TEST(at(lines[1], "/context/api_key") == "sk_live_off");
    BOOST_TEST(at(lines[2], "/context/client_secret") == "bound-off");
    BOOST_TEST(at(lines[3], "/context/Authorization") == "Bearer scoped-off");
    BOOST_TEST(at(lines[4], "/exception/message") == "connect failed: token=tok_off");
    BOOST_TEST(at(lines[0], "/context/private_key") == "default-secret");
}

BOOST_AUTO_TEST_CASE(binary_log_decodes_with_the_writers_rules) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    agora_test::UmaskGuard umask(0);
    const std::string path = dir.file("app.bin");
    Config c = redacting_config(path);
    c.file_format = agora::log::FileFormat::binary;
    c.sensitive_data.redaction_text = "<cut>";  // not the default: it must come from the file
    auto live = std::make_shared<agora_test::CaptureHandler>();
    BOOST_TEST_REQUIRE(agora::log::initialize(c, {live}).has_value());
    log_every_source("bin");
    agora::log::shutdown();
    BOOST_TEST(agora_test::file_mode(path) == 0600u);

    const auto captured = live->records();
    const auto decoded = decode_file(path);
    BOOST_TEST_REQUIRE(decoded.size() == captured.size());
    BOOST_TEST_REQUIRE(decoded.size() == 5u);
    for (std::size_t i = 0; i < decoded.size(); ++i) BOOST_TEST(decoded[i] == captured[i].json, i);
    BOOST_TEST(at(decoded[1], "/context/api_key") == "<cut>");
    BOOST_TEST(at(decoded[4], "/exception/message") == "connect failed: token=<cut>");

    // The file holds the raw arguments: an override shows them.
    d::DecodeOptions off;
    off.sensitive_data = SensitiveDataConfig{};
    off.sensitive_data->enabled = false;
    const auto raw = decode_file(path, off);
    BOOST_TEST_REQUIRE(raw.size() == 5u);
    BOOST_TEST(at(raw[1], "/context/api_key") == "sk_live_bin");
    d::DecodeOptions defaults;
    defaults.sensitive_data = SensitiveDataConfig{};
    const auto with_defaults = decode_file(path, defaults);
    BOOST_TEST_REQUIRE(with_defaults.size() == 5u);
    BOOST_TEST(at(with_defaults[1], "/context/api_key") == "[REDACTED]");
}

BOOST_AUTO_TEST_CASE(crash_dump_decodes_with_the_writers_rules) {
    agora_test::TempDir dir;
    agora_test::ShutdownGuard guard;
    agora_test::UmaskGuard umask(0);
    Config c = redacting_config(dir.file("app.log"));
    auto gate = std::make_shared<agora_test::GateHandler>();
    auto live = std::make_shared<agora_test::CaptureHandler>();
    agora_test::GateOpener opener{gate};
    BOOST_TEST_REQUIRE(agora::log::initialize(c, {gate, live}).has_value());
    auto log = agora::log::get_logger("redaction");
    log.info("held");  // the backend stops inside the gate's emit() with it
    gate->wait_until_held();
    log_every_source("dump");  // in the rings, not yet written
    const std::string dump = dir.file("now.bin");
    BOOST_TEST_REQUIRE(agora::log::dump_now(dump).has_value());
    BOOST_TEST(agora_test::file_mode(dump) == 0600u);
    gate->open();
    agora::log::shutdown();

    const auto decoded = decode_file(dump);
    std::vector<std::string> live_lines;
    for (const auto& r : live->records())
        if (r.message != "held") live_lines.push_back(r.json);
    BOOST_TEST_REQUIRE(live_lines.size() == 5u);
    std::vector<std::string> dumped;
    for (const auto& line : decoded)
        if (at(line, "/message") != "held") dumped.push_back(line);
    BOOST_TEST_REQUIRE(dumped.size() == live_lines.size());
    // The same lines but for the timestamp (a dump converts ticks with the
    // calibration of the moment it was written, the backend with its own)
    // and the stack frames (a dump carries no symbols).
    auto after_time = [](const std::string& line) {
        const std::size_t from = std::min(line.find("\"level\""), line.size());
        return line.substr(from, line.find(",\"stacktrace\"") - from);
    };
    for (std::size_t i = 0; i < dumped.size(); ++i)
        BOOST_TEST(after_time(dumped[i]) == after_time(live_lines[i]), i << "\n" << dumped[i] << "\n" << live_lines[i]);
    BOOST_TEST(at(dumped[0], "/message") == "Login alice with [REDACTED]");
    for (const auto& line : dumped) BOOST_TEST(line.find("hunter2") == std::string::npos, line);
}
