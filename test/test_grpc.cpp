// The gRPC server interceptor (include/agora/log/integrations/grpc_interceptor.hpp,
// docs/grpc.md) with a real server and client on loopback: a synchronous
// service (unary and server streaming) and a callback service from
// test/grpc/echo.proto, the LoggingInterceptorFactory registered through
// ServerBuilder::experimental().SetInterceptorCreators(). Every test reads
// back the JSON lines the logger wrote (each validated against the schema):
// "RPC started" with the method, "RPC completed" with duration_ms and the
// status code at the level the code calls for, and the call's correlation id
// (from x-correlation-id metadata, or a generated UUID, echoed back to the
// client) on every entry the handler wrote.
//
// Handlers run on grpc's threads: they only log and record (under a mutex);
// the main thread asserts once the server is stopped (Shutdown() returns
// when every handler has returned and every call's context is destroyed).

#define BOOST_TEST_MODULE grpc
#include "common.hpp"

#include "echo.grpc.pb.h"

#include <agora/log/integrations/grpc_interceptor.hpp>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using agora::log::Context;
using agora::log::Level;
using agora::log::ScopedContext;
using agora::test::EchoReply;
using agora::test::EchoRequest;
namespace integrations = agora::log::integrations;

namespace {

/// Guard against a hang only: a handler waiting this long fails its test.
constexpr auto kWaitLimit = std::chrono::seconds(60);

/// Handlers that wait for each other (rendezvous) or for the test (hold).
class Gates {
public:
    /// Blocks until `parties` handlers have arrived; false on the guard timeout.
    bool rendezvous(int parties) {
        std::unique_lock lock(mutex_);
        ++arrived_;
        cv_.notify_all();
        return cv_.wait_for(lock, kWaitLimit, [&] { return arrived_ >= parties; });
    }
    /// Blocks until release(); false on the guard timeout.
    bool hold() {
        std::unique_lock lock(mutex_);
        ++held_;
        cv_.notify_all();
        return cv_.wait_for(lock, kWaitLimit, [&] { return released_; });
    }
    /// Blocks until a handler is in hold(); false on the guard timeout.
    bool wait_until_held() {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, kWaitLimit, [&] { return held_ > 0; });
    }
    void release() {
        std::lock_guard lock(mutex_);
        released_ = true;
        cv_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int arrived_ = 0;
    int held_ = 0;
    bool released_ = false;
};

/// What handlers saw, for the main thread to check.
struct Observed {
    std::mutex mutex;
    std::vector<std::string> failures;                 // a gate timed out, ...
    std::map<std::string, std::string> correlation_ids;  // text -> correlation_id(ctx) seen by the handler

    void fail(std::string what) {
        std::lock_guard lock(mutex);
        failures.push_back(std::move(what));
    }
    void saw(const std::string& text, std::string id) {
        std::lock_guard lock(mutex);
        correlation_ids[text] = std::move(id);
    }
};

class EchoService final : public agora::test::Echo::Service {
public:
    EchoService(Gates& gates, Observed& observed) : gates_(gates), observed_(observed) {}

    grpc::Status Say(grpc::ServerContext* ctx, const EchoRequest* request, EchoReply* reply) override {
        log_.info("Handling {text}", request->text());
        observed_.saw(request->text(), integrations::correlation_id(ctx));
        if (request->rendezvous() > 0 && !gates_.rendezvous(request->rendezvous()))
            observed_.fail("rendezvous timed out in " + request->text());
        if (request->hold() && !gates_.hold()) observed_.fail("hold timed out in " + request->text());
        log_.info("Finishing {text}", request->text());
        if (request->fail_code() != 0)
            return grpc::Status(static_cast<grpc::StatusCode>(request->fail_code()), "failure requested");
        reply->set_text(request->text());
        return grpc::Status::OK;
    }

    grpc::Status Repeat(grpc::ServerContext*, const EchoRequest* request,
                        grpc::ServerWriter<EchoReply>* writer) override {
        for (int i = 0; i < request->repeat(); ++i) {
            log_.info("Sending reply {index}", i);
            EchoReply reply;
            reply.set_text(request->text());
            if (!writer->Write(reply)) observed_.fail("write failed");
        }
        log_.info("Stream done");
        return grpc::Status::OK;
    }

private:
    Gates& gates_;
    Observed& observed_;
    agora::log::Logger log_ = agora::log::get_logger("agora.test.handler");
};

/// Finishes every call from a thread of its own, which finds the call's id
/// with correlation_id(ctx).
class CallbackEchoService final : public agora::test::CallbackEcho::CallbackService {
public:
    explicit CallbackEchoService(Observed& observed) : observed_(observed) {}
    ~CallbackEchoService() override { join(); }

    grpc::ServerUnaryReactor* Say(grpc::CallbackServerContext* ctx, const EchoRequest* request,
                                  EchoReply* reply) override {
        log_.info("Callback inline {text}", request->text());
        grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
        std::lock_guard lock(mutex_);
        workers_.emplace_back([this, ctx, reactor, reply, text = request->text()] {
            const std::string id = integrations::correlation_id(ctx);
            observed_.saw(text, id);
            {
                ScopedContext scope{{{"correlation_id", id}}};
                log_.info("Callback worker {text}", text);
            }
            reply->set_text(text);
            reactor->Finish(grpc::Status::OK);
        });
        return reactor;
    }

    void join() {
        std::vector<std::thread> workers;
        {
            std::lock_guard lock(mutex_);
            workers.swap(workers_);
        }
        for (auto& t : workers) t.join();
    }

private:
    Observed& observed_;
    agora::log::Logger log_ = agora::log::get_logger("agora.test.handler");
    std::mutex mutex_;
    std::vector<std::thread> workers_;
};

/// Both services on 127.0.0.1 (a port the OS picks) with the interceptor.
class TestServer {
public:
    explicit TestServer(const integrations::GrpcLoggingOptions& options = {})
        : echo_(gates, observed), callback_echo_(observed) {
        grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
        builder.RegisterService(&echo_);
        builder.RegisterService(&callback_echo_);
        std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
        creators.push_back(std::make_unique<integrations::LoggingInterceptorFactory>(options));
        builder.experimental().SetInterceptorCreators(std::move(creators));
        server_ = builder.BuildAndStart();
        if (server_ != nullptr && port_ > 0)
            channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials());
    }
    ~TestServer() { stop(); }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    bool running() const { return channel_ != nullptr; }
    std::unique_ptr<agora::test::Echo::Stub> echo_stub() { return agora::test::Echo::NewStub(channel_); }
    std::unique_ptr<agora::test::CallbackEcho::Stub> callback_stub() {
        return agora::test::CallbackEcho::NewStub(channel_);
    }

    /// Returns once every call's handler has returned and its context (and
    /// interceptor) is destroyed.
    void stop() {
        if (server_ == nullptr) return;
        gates.release();
        callback_echo_.join();
        server_->Shutdown();
        server_->Wait();
        server_.reset();
    }

    Gates gates;
    Observed observed;

private:
    EchoService echo_;
    CallbackEchoService callback_echo_;
    int port_ = 0;
    std::unique_ptr<grpc::Server> server_;
    std::shared_ptr<grpc::Channel> channel_;
};

/// A client call's outcome.
struct CallResult {
    grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
    std::string reply;
    std::string echoed_id;  // x-correlation-id of the server's initial metadata, or "<absent>"
};

std::string echoed_id(const grpc::ClientContext& ctx) {
    const auto& md = ctx.GetServerInitialMetadata();
    auto it = md.find("x-correlation-id");
    return it == md.end() ? std::string("<absent>") : std::string(it->second.data(), it->second.size());
}

/// `correlation_id`: sent as x-correlation-id unless empty.
CallResult say(agora::test::Echo::Stub& stub, const EchoRequest& request, const std::string& correlation_id = "") {
    grpc::ClientContext ctx;
    if (!correlation_id.empty()) ctx.AddMetadata("x-correlation-id", correlation_id);
    ctx.set_deadline(std::chrono::system_clock::now() + kWaitLimit);
    EchoReply reply;
    CallResult out;
    out.code = stub.Say(&ctx, request, &reply).error_code();
    out.reply = reply.text();
    out.echoed_id = echoed_id(ctx);
    return out;
}

EchoRequest request_for(const std::string& text) {
    EchoRequest r;
    r.set_text(text);
    return r;
}

// ---- reading the log back ---------------------------------------------------

struct Line {
    agora_test::Entry entry;
    rapidjson::Document doc;
};

/// Shuts the logger down and returns every line of `path`, each checked
/// against the schema.
std::vector<Line> shutdown_and_read(const std::string& path) {
    agora::log::shutdown();
    auto read = agora_test::read_entries(path);
    BOOST_TEST(read.errors.empty(), agora_test::join_errors(read.errors));
    std::vector<Line> out(read.entries.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i].entry = read.entries[i];
        out[i].doc.Parse(out[i].entry.raw.c_str(), out[i].entry.raw.size());
    }
    return out;
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

/// A field of the entry's "context" object.
const rapidjson::Value* context_field(const Line& line, const char* key) {
    const rapidjson::Value* ctx = member(line.doc, "context");
    return ctx == nullptr ? nullptr : member(*ctx, key);
}

std::string string_or(const rapidjson::Value* v, std::string fallback) {
    return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : fallback;
}

/// A context field as text: a string's value, a number's digits, "<absent>".
std::string context_text(const Line& line, const char* key) {
    const rapidjson::Value* v = context_field(line, key);
    if (v == nullptr) return "<absent>";
    if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
    if (v->IsInt64()) return std::to_string(v->GetInt64());
    if (v->IsDouble()) return std::to_string(v->GetDouble());
    if (v->IsBool()) return v->GetBool() ? "true" : "false";
    return "<other>";
}

/// The entry's correlation id: top-level (a UUID) or in "context" (any other
/// string, as the library writes one); "<absent>".
std::string cid(const Line& line) {
    if (const rapidjson::Value* top = member(line.doc, "correlation_id")) return string_or(top, "<not a string>");
    return string_or(context_field(line, "correlation_id"), "<absent>");
}

/// The entries with this message.
std::vector<const Line*> with_message(const std::vector<Line>& all, std::string_view message) {
    std::vector<const Line*> out;
    for (const auto& l : all)
        if (l.entry.message == message) out.push_back(&l);
    return out;
}

/// The one entry with this message; fails the test (and returns null) if
/// there is not exactly one.
const Line* one(const std::vector<Line>& all, std::string_view message) {
    auto found = with_message(all, message);
    BOOST_TEST(found.size() == 1u, "entries '" << message << "': " << found.size());
    return found.size() == 1 ? found.front() : nullptr;
}

/// The interceptor's entry `message` ("RPC started" or "RPC completed") of the call with this id.
const Line* rpc_entry(const std::vector<Line>& all, std::string_view message, const std::string& id) {
    const Line* found = nullptr;
    int count = 0;
    for (const Line* l : with_message(all, message))
        if (cid(*l) == id) {
            found = l;
            ++count;
        }
    BOOST_TEST(count == 1, "'" << message << "' entries with correlation id " << id << ": " << count);
    return count == 1 ? found : nullptr;
}

/// Checks the "RPC completed" entry of the call `id`.
void check_completed(const std::vector<Line>& all, const std::string& id, const std::string& method, int code,
                     const std::string& code_name, const std::string& level) {
    const Line* done = rpc_entry(all, "RPC completed", id);
    BOOST_TEST_REQUIRE(done != nullptr);
    BOOST_TEST(done->entry.logger_name == "agora.grpc");
    BOOST_TEST(done->entry.level == level);
    BOOST_TEST(context_text(*done, "method") == method);
    BOOST_TEST(context_text(*done, "status_code") == std::to_string(code));
    BOOST_TEST(context_text(*done, "status_name") == code_name);
    const rapidjson::Value* duration = context_field(*done, "duration_ms");
    BOOST_TEST_REQUIRE(duration != nullptr);
    BOOST_TEST_REQUIRE(duration->IsNumber());
    BOOST_TEST(duration->GetDouble() >= 0.0);
}

struct Logged {
    agora_test::TempDir dir;
    std::string path = dir.file("grpc.log");
    agora_test::ShutdownGuard guard;
    Logged() {
        auto ok = agora::log::initialize(agora_test::quiet_config(path));
        BOOST_TEST_REQUIRE(ok.has_value(), agora_test::error_text(ok));
    }
};

void check_no_failures(Observed& observed) {
    std::lock_guard lock(observed.mutex);
    BOOST_TEST(observed.failures.empty(), observed.failures.size() << " failures, first: "
                                                                     << (observed.failures.empty() ? ""
                                                                                                   : observed.failures[0]));
}

const std::string kSay = "/agora.test.Echo/Say";

}  // namespace

BOOST_AUTO_TEST_CASE(correlation_id_from_metadata) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    const std::string id = agora::log::generate_correlation_id();
    auto stub = server.echo_stub();
    CallResult r = say(*stub, request_for("first"), id);
    server.stop();
    BOOST_TEST(integrations::active_call_count() == 0u);
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(r.code) == 0);
    BOOST_TEST(r.reply == "first");
    BOOST_TEST(r.echoed_id == id);  // sent back in the initial metadata

    auto all = shutdown_and_read(logged.path);
    const Line* started = one(all, "RPC started");
    BOOST_TEST_REQUIRE(started != nullptr);
    BOOST_TEST(started->entry.level == "INFO");
    BOOST_TEST(started->entry.logger_name == "agora.grpc");
    BOOST_TEST(cid(*started) == id);
    BOOST_TEST(context_text(*started, "method") == kSay);
    BOOST_TEST(context_text(*started, "rpc_type") == "unary");
    BOOST_TEST(context_text(*started, "correlation_id_source") == "metadata");

    // The handler's own entries, in order between the two.
    const Line* handling = one(all, "Handling first");
    const Line* finishing = one(all, "Finishing first");
    BOOST_TEST_REQUIRE((handling != nullptr && finishing != nullptr));
    BOOST_TEST(cid(*handling) == id);
    BOOST_TEST(cid(*finishing) == id);
    BOOST_TEST(handling->entry.logger_name == "agora.test.handler");
    BOOST_TEST(handling > started);
    {
        std::lock_guard lock(server.observed.mutex);
        BOOST_TEST(server.observed.correlation_ids["first"] == id);  // correlation_id(ctx) in the handler
    }
    check_completed(all, id, kSay, 0, "OK", "INFO");
    BOOST_TEST(rpc_entry(all, "RPC completed", id) > finishing);
}

BOOST_AUTO_TEST_CASE(generated_uuid_without_metadata) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    auto stub = server.echo_stub();
    CallResult r = say(*stub, request_for("anonymous"));
    server.stop();
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(r.code) == 0);

    auto all = shutdown_and_read(logged.path);
    const Line* started = one(all, "RPC started");
    BOOST_TEST_REQUIRE(started != nullptr);
    const std::string id = cid(*started);
    BOOST_TEST(agora::log::is_uuid(id), id);
    BOOST_TEST(context_text(*started, "correlation_id_source") == "generated");
    BOOST_TEST(context_text(*started, "rejected_correlation_id") == "<absent>");
    BOOST_TEST(r.echoed_id == id);  // the client learns the generated id
    const Line* handling = one(all, "Handling anonymous");
    BOOST_TEST_REQUIRE(handling != nullptr);
    BOOST_TEST(cid(*handling) == id);
    check_completed(all, id, kSay, 0, "OK", "INFO");
}

BOOST_AUTO_TEST_CASE(error_statuses_are_logged_with_their_code_and_level) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    auto stub = server.echo_stub();
    const std::string not_found_id = agora::log::generate_correlation_id();
    const std::string internal_id = agora::log::generate_correlation_id();
    EchoRequest not_found = request_for("missing order");
    not_found.set_fail_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
    EchoRequest internal = request_for("broken order");
    internal.set_fail_code(static_cast<int>(grpc::StatusCode::INTERNAL));
    CallResult r1 = say(*stub, not_found, not_found_id);
    CallResult r2 = say(*stub, internal, internal_id);
    server.stop();
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(r1.code) == static_cast<int>(grpc::StatusCode::NOT_FOUND));
    BOOST_TEST(static_cast<int>(r2.code) == static_cast<int>(grpc::StatusCode::INTERNAL));
    BOOST_TEST(r1.echoed_id == not_found_id);  // initial metadata goes out with a failure too

    auto all = shutdown_and_read(logged.path);
    check_completed(all, not_found_id, kSay, 5, "NOT_FOUND", "WARNING");
    check_completed(all, internal_id, kSay, 13, "INTERNAL", "ERROR");
    const Line* done = rpc_entry(all, "RPC completed", internal_id);
    BOOST_TEST_REQUIRE(done != nullptr);
    BOOST_TEST(context_text(*done, "status_message") == "failure requested");
    const Line* handler = one(all, "Finishing broken order");
    BOOST_TEST_REQUIRE(handler != nullptr);
    BOOST_TEST(cid(*handler) == internal_id);
}

BOOST_AUTO_TEST_CASE(status_levels_and_names) {
    BOOST_TEST(integrations::level_for_status(grpc::StatusCode::OK) == Level::info);
    for (auto code : {grpc::StatusCode::CANCELLED, grpc::StatusCode::INVALID_ARGUMENT,
                      grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::NOT_FOUND,
                      grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::PERMISSION_DENIED,
                      grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::FAILED_PRECONDITION,
                      grpc::StatusCode::ABORTED, grpc::StatusCode::OUT_OF_RANGE, grpc::StatusCode::UNAUTHENTICATED})
        BOOST_TEST(integrations::level_for_status(code) == Level::warning, static_cast<int>(code));
    for (auto code : {grpc::StatusCode::UNKNOWN, grpc::StatusCode::UNIMPLEMENTED, grpc::StatusCode::INTERNAL,
                      grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DATA_LOSS, static_cast<grpc::StatusCode>(20)})
        BOOST_TEST(integrations::level_for_status(code) == Level::error, static_cast<int>(code));
    BOOST_TEST(integrations::status_code_name(grpc::StatusCode::OK) == "OK");
    BOOST_TEST(integrations::status_code_name(grpc::StatusCode::DEADLINE_EXCEEDED) == "DEADLINE_EXCEEDED");
    BOOST_TEST(integrations::status_code_name(grpc::StatusCode::UNAUTHENTICATED) == "UNAUTHENTICATED");
    BOOST_TEST(integrations::status_code_name(static_cast<grpc::StatusCode>(20)) == "UNRECOGNIZED");
}

BOOST_AUTO_TEST_CASE(concurrent_calls_keep_their_ids_apart) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    const std::string id_a = agora::log::generate_correlation_id();
    const std::string id_b = agora::log::generate_correlation_id();
    auto stub = server.echo_stub();
    // Both handlers wait for each other: each logs while the other call is in flight.
    EchoRequest a = request_for("call a");
    a.set_rendezvous(2);
    EchoRequest b = request_for("call b");
    b.set_rendezvous(2);
    CallResult ra, rb;
    std::thread ta([&] { ra = say(*stub, a, id_a); });
    std::thread tb([&] { rb = say(*stub, b, id_b); });
    ta.join();
    tb.join();
    server.stop();
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(ra.code) == 0);
    BOOST_TEST(static_cast<int>(rb.code) == 0);
    BOOST_TEST(ra.echoed_id == id_a);
    BOOST_TEST(rb.echoed_id == id_b);

    auto all = shutdown_and_read(logged.path);
    for (const auto& [text, id] : {std::pair{std::string("call a"), id_a}, std::pair{std::string("call b"), id_b}}) {
        const Line* handling = one(all, "Handling " + text);
        const Line* finishing = one(all, "Finishing " + text);
        BOOST_TEST_REQUIRE((handling != nullptr && finishing != nullptr));
        BOOST_TEST(cid(*handling) == id, text);
        BOOST_TEST(cid(*finishing) == id, text);
        check_completed(all, id, kSay, 0, "OK", "INFO");
        BOOST_TEST(context_text(*rpc_entry(all, "RPC started", id), "method") == kSay);
    }
}

BOOST_AUTO_TEST_CASE(server_streaming_handler_keeps_the_id_across_writes) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    const std::string id = agora::log::generate_correlation_id();
    auto stub = server.echo_stub();
    int replies = 0;
    grpc::StatusCode code;
    std::string echoed;
    {
        grpc::ClientContext ctx;
        ctx.AddMetadata("x-correlation-id", id);
        ctx.set_deadline(std::chrono::system_clock::now() + kWaitLimit);
        EchoRequest request = request_for("stream");
        request.set_repeat(3);
        auto reader = stub->Repeat(&ctx, request);
        EchoReply reply;
        while (reader->Read(&reply)) ++replies;
        code = reader->Finish().error_code();
        echoed = echoed_id(ctx);
    }
    server.stop();
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(code) == 0);
    BOOST_TEST(replies == 3);
    BOOST_TEST(echoed == id);

    auto all = shutdown_and_read(logged.path);
    const Line* started = rpc_entry(all, "RPC started", id);
    BOOST_TEST_REQUIRE(started != nullptr);
    BOOST_TEST(context_text(*started, "rpc_type") == "server_streaming");
    for (int i = 0; i < 3; ++i) {
        const Line* send = one(all, "Sending reply " + std::to_string(i));
        BOOST_TEST_REQUIRE(send != nullptr);
        BOOST_TEST(cid(*send) == id, i);  // after the first Write (PRE_SEND_MESSAGE) too
    }
    const Line* done_entry = one(all, "Stream done");
    BOOST_TEST_REQUIRE(done_entry != nullptr);
    BOOST_TEST(cid(*done_entry) == id);
    check_completed(all, id, "/agora.test.Echo/Repeat", 0, "OK", "INFO");
}

BOOST_AUTO_TEST_CASE(unusable_metadata_is_replaced_and_other_ids_are_kept) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    auto stub = server.echo_stub();
    const std::string too_long(200, 'x');
    const std::string with_space = "two words";
    const std::string non_uuid = "order-gateway-42";
    CallResult r1 = say(*stub, request_for("too long"), too_long);
    CallResult r2 = say(*stub, request_for("with space"), with_space);
    CallResult r3 = say(*stub, request_for("non uuid"), non_uuid);
    server.stop();
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(r1.code) == 0);
    BOOST_TEST(static_cast<int>(r2.code) == 0);
    BOOST_TEST(static_cast<int>(r3.code) == 0);

    auto all = shutdown_and_read(logged.path);
    for (const auto& [text, sent] : {std::pair{std::string("too long"), too_long},
                                     std::pair{std::string("with space"), with_space}}) {
        const Line* handling = one(all, "Handling " + text);
        BOOST_TEST_REQUIRE(handling != nullptr);
        const std::string id = cid(*handling);
        BOOST_TEST(agora::log::is_uuid(id), text << ": " << id);
        const Line* started = rpc_entry(all, "RPC started", id);
        BOOST_TEST_REQUIRE(started != nullptr);
        BOOST_TEST(context_text(*started, "correlation_id_source") == "generated");
        BOOST_TEST(context_text(*started, "rejected_correlation_id") ==
                   sent.substr(0, integrations::kMaxCorrelationIdLength));
    }
    BOOST_TEST(r1.echoed_id != too_long);
    // A visible-ASCII id that is not a UUID is the call's id; the library
    // writes it inside "context" (the schema wants a UUID top-level).
    BOOST_TEST(r3.echoed_id == non_uuid);
    const Line* handling = one(all, "Handling non uuid");
    BOOST_TEST_REQUIRE(handling != nullptr);
    BOOST_TEST(cid(*handling) == non_uuid);
    BOOST_TEST(member(handling->doc, "correlation_id") == nullptr);
    const Line* started = rpc_entry(all, "RPC started", non_uuid);
    BOOST_TEST_REQUIRE(started != nullptr);
    BOOST_TEST(context_text(*started, "correlation_id_source") == "metadata");
    check_completed(all, non_uuid, kSay, 0, "OK", "INFO");
}

BOOST_AUTO_TEST_CASE(callback_api_handlers_find_the_id_through_the_context) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    const std::string id = agora::log::generate_correlation_id();
    auto stub = server.callback_stub();
    grpc::StatusCode code;
    std::string echoed;
    {
        grpc::ClientContext ctx;
        ctx.AddMetadata("x-correlation-id", id);
        ctx.set_deadline(std::chrono::system_clock::now() + kWaitLimit);
        EchoReply reply;
        code = stub->Say(&ctx, request_for("callback"), &reply).error_code();
        echoed = echoed_id(ctx);
    }
    server.stop();
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(code) == 0);
    BOOST_TEST(echoed == id);
    {
        std::lock_guard lock(server.observed.mutex);
        BOOST_TEST(server.observed.correlation_ids["callback"] == id);  // correlation_id(ctx) on the worker
    }

    auto all = shutdown_and_read(logged.path);
    const Line* started = rpc_entry(all, "RPC started", id);
    BOOST_TEST_REQUIRE(started != nullptr);
    BOOST_TEST(context_text(*started, "method") == "/agora.test.CallbackEcho/Say");
    // The handler method itself runs inside the interceptor's scope; the
    // worker thread opened its own.
    const Line* inline_entry = one(all, "Callback inline callback");
    const Line* worker_entry = one(all, "Callback worker callback");
    BOOST_TEST_REQUIRE((inline_entry != nullptr && worker_entry != nullptr));
    BOOST_TEST(cid(*inline_entry) == id);
    BOOST_TEST(cid(*worker_entry) == id);
    check_completed(all, id, "/agora.test.CallbackEcho/Say", 0, "OK", "INFO");
}

BOOST_AUTO_TEST_CASE(cancelled_call_leaves_no_scope_behind) {
    Logged logged;
    TestServer server;
    BOOST_TEST_REQUIRE(server.running());
    const std::string id = agora::log::generate_correlation_id();
    auto stub = server.echo_stub();
    // The handler holds until the client has given up on the call.
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-correlation-id", id);
    EchoRequest held = request_for("held");
    held.set_hold(true);
    EchoReply reply;
    grpc::StatusCode code = grpc::StatusCode::OK;
    std::thread client([&] { code = stub->Say(&ctx, held, &reply).error_code(); });
    const bool entered = server.gates.wait_until_held();
    ctx.TryCancel();
    client.join();
    server.gates.release();
    // A later call on the same server, and this thread, carry no stale id.
    CallResult after = say(*stub, request_for("after"));
    agora::log::get_logger("agora.test.main").info("Main thread after the calls");
    server.stop();
    BOOST_TEST(integrations::active_call_count() == 0u);
    check_no_failures(server.observed);
    BOOST_TEST(entered);
    BOOST_TEST(static_cast<int>(code) == static_cast<int>(grpc::StatusCode::CANCELLED));
    BOOST_TEST(static_cast<int>(after.code) == 0);

    auto all = shutdown_and_read(logged.path);
    // The handler went on after the cancellation, under the call's id, and
    // its status (what the handler returned) was still logged.
    const Line* finishing = one(all, "Finishing held");
    BOOST_TEST_REQUIRE(finishing != nullptr);
    BOOST_TEST(cid(*finishing) == id);
    check_completed(all, id, kSay, 0, "OK", "INFO");
    const Line* later = one(all, "Handling after");
    BOOST_TEST_REQUIRE(later != nullptr);
    BOOST_TEST(cid(*later) == after.echoed_id);
    BOOST_TEST(cid(*later) != id);
    const Line* main_entry = one(all, "Main thread after the calls");
    BOOST_TEST_REQUIRE(main_entry != nullptr);
    BOOST_TEST(cid(*main_entry) == "<absent>");
}

BOOST_AUTO_TEST_CASE(options_name_the_logger_and_turn_the_echo_off) {
    Logged logged;
    TestServer server(integrations::GrpcLoggingOptions{.logger_name = "agora.test.rpc", .echo_correlation_id = false});
    BOOST_TEST_REQUIRE(server.running());
    const std::string id = agora::log::generate_correlation_id();
    auto stub = server.echo_stub();
    CallResult r = say(*stub, request_for("quiet"), id);
    server.stop();
    check_no_failures(server.observed);
    BOOST_TEST(static_cast<int>(r.code) == 0);
    BOOST_TEST(r.echoed_id == "<absent>");

    auto all = shutdown_and_read(logged.path);
    const Line* started = rpc_entry(all, "RPC started", id);
    const Line* done = rpc_entry(all, "RPC completed", id);
    BOOST_TEST_REQUIRE((started != nullptr && done != nullptr));
    BOOST_TEST(started->entry.logger_name == "agora.test.rpc");
    BOOST_TEST(done->entry.logger_name == "agora.test.rpc");
    const Line* handling = one(all, "Handling quiet");
    BOOST_TEST_REQUIRE(handling != nullptr);
    BOOST_TEST(cid(*handling) == id);
}
