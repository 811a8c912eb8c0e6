// The gRPC server interceptor (libagora-log-grpc). Uses only the public API
// of libagora-log.
//
// Where grpc 1.51 calls it (src/cpp/server/server_cc.cc, interceptor_common.h):
// a synchronous call's thread runs SyncRequest::Run, which runs the
// interceptors for POST_RECV_INITIAL_METADATA (and POST_RECV_MESSAGE for
// unary and server-streaming methods) as one batch with a continuation; the
// innermost Proceed() calls that continuation, which runs the handler, sends
// the status (the PRE_SEND_* hooks, nested, same thread), waits for the call
// to end and destroys the ServerContext, and with it this interceptor. So:
// the thread scope is a local of the Intercept() call that saw
// POST_RECV_INITIAL_METADATA, and nothing of `this` or `methods` is touched
// after Proceed(). The callback API runs the handler method the same way
// (later reactor callbacks run elsewhere); the async API's continuation only
// queues the call's tag, so there the scope covers nothing of the handler.

#include <agora/log/integrations/grpc_interceptor.hpp>

#include <agora/log/context.hpp>

#include <grpcpp/server_context.h>

#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace agora::log::integrations {

namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

/// The correlation id of every call between its start and the destruction of
/// its interceptor, for correlation_id(ServerContextBase*). Keyed by the
/// call's ServerContext; an entry is erased by the interceptor that added it
/// (it dies before the context's memory can be reused).
struct CallRegistry {
    struct Call {
        const LoggingInterceptor* owner;
        std::string correlation_id;
    };
    std::mutex mutex;
    std::unordered_map<const grpc::ServerContextBase*, Call> calls;
};

CallRegistry& registry() {
    // Never destroyed: a call may end during static destruction.
    static CallRegistry* r = new CallRegistry;
    return *r;
}

bool acceptable_correlation_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > kMaxCorrelationIdLength) return false;
    for (const char c : id)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

const char* rpc_type_name(ServerRpcInfo::Type type) noexcept {
    switch (type) {
        case ServerRpcInfo::Type::UNARY: return "unary";
        case ServerRpcInfo::Type::CLIENT_STREAMING: return "client_streaming";
        case ServerRpcInfo::Type::SERVER_STREAMING: return "server_streaming";
        case ServerRpcInfo::Type::BIDI_STREAMING: return "bidi_streaming";
    }
    return "unknown";
}

double milliseconds_since(std::chrono::steady_clock::time_point start) noexcept {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// ---- LoggingInterceptor ---------------------------------------------------

LoggingInterceptor::LoggingInterceptor(ServerRpcInfo* info, const Logger& logger, bool echo_correlation_id) noexcept
    : logger_(logger),
      server_context_(info->server_context()),
      method_(info->method()),
      type_(info->type()),
      echo_(echo_correlation_id) {}

LoggingInterceptor::~LoggingInterceptor() {
    if (!started_) return;
    {
        CallRegistry& r = registry();
        std::lock_guard lock(r.mutex);
        auto it = r.calls.find(server_context_);
        if (it != r.calls.end() && it->second.owner == this) r.calls.erase(it);
    }
    if (completed_) return;
    // No status was sent through this call (an async handler that never
    // finished it, a server shut down under it).
    try {
        logger_.warning("RPC ended without a status", Context{{"correlation_id", correlation_id_},
                                                                {"method", method_ != nullptr ? method_ : ""},
                                                                {"duration_ms", milliseconds_since(start_time_)}});
    } catch (...) {
        // No memory for the fields: the entry is lost, the call is not affected.
    }
}

void LoggingInterceptor::Intercept(grpc::experimental::InterceptorBatchMethods* methods) {
    // Opened on this thread before Proceed(), closed when this call returns:
    // the handler grpc runs inside Proceed() writes under it.
    std::optional<ScopedContext> scope;
    try {
        if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
            start(methods->GetRecvInitialMetadata());
            scope.emplace(Context{{"correlation_id", correlation_id_}});
        }
        if (echo_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
            echo(methods->GetSendInitialMetadata());
        if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS))
            complete(methods->GetSendStatus());
    } catch (...) {
        // Out of memory: the call proceeds with what was logged so far.
    }
    methods->Proceed();
    // `this` and `methods` may be destroyed by now (see the top of the file).
}

void LoggingInterceptor::start(std::multimap<grpc::string_ref, grpc::string_ref>* client_metadata) {
    start_time_ = std::chrono::steady_clock::now();
    std::string_view received;
    bool has_received = false;
    if (client_metadata != nullptr) {
        auto it = client_metadata->find(grpc::string_ref(kCorrelationIdKey.data(), kCorrelationIdKey.size()));
        if (it != client_metadata->end()) {
            received = std::string_view(it->second.data(), it->second.size());
            has_received = true;
        }
    }
    const bool from_metadata = acceptable_correlation_id(received);
    correlation_id_ = from_metadata ? std::string(received) : generate_correlation_id();
    {
        CallRegistry& r = registry();
        std::lock_guard lock(r.mutex);
        r.calls.insert_or_assign(server_context_, CallRegistry::Call{this, correlation_id_});
    }
    started_ = true;

    Context fields{{"correlation_id", correlation_id_},
                   {"method", method_ != nullptr ? method_ : ""},
                   {"rpc_type", rpc_type_name(type_)},
                   {"correlation_id_source", from_metadata ? "metadata" : "generated"}};
    // What was refused, cut to the longest id that would have been taken.
    if (has_received && !from_metadata)
        fields.emplace("rejected_correlation_id", std::string(received.substr(0, kMaxCorrelationIdLength)));
    logger_.info("RPC started", fields);
}

void LoggingInterceptor::echo(std::multimap<std::string, std::string>* initial_metadata) {
    if (!started_ || initial_metadata == nullptr) return;
    const std::string key(kCorrelationIdKey);
    if (initial_metadata->find(key) == initial_metadata->end()) initial_metadata->emplace(key, correlation_id_);
}

void LoggingInterceptor::complete(const grpc::Status& status) {
    if (!started_ || completed_) return;
    completed_ = true;
    const grpc::StatusCode code = status.error_code();
    Context fields{{"correlation_id", correlation_id_},
                   {"method", method_ != nullptr ? method_ : ""},
                   {"duration_ms", milliseconds_since(start_time_)},
                   {"status_code", static_cast<int>(code)},
                   {"status_name", status_code_name(code)}};
    if (!status.ok() && !status.error_message().empty()) fields.emplace("status_message", status.error_message());
    switch (level_for_status(code)) {
        case Level::info: logger_.info("RPC completed", fields); break;
        case Level::warning: logger_.warning("RPC completed", fields); break;
        default: logger_.error("RPC completed", fields); break;
    }
}

// ---- LoggingInterceptorFactory --------------------------------------------

LoggingInterceptorFactory::LoggingInterceptorFactory() noexcept : LoggingInterceptorFactory(GrpcLoggingOptions{}) {}

LoggingInterceptorFactory::LoggingInterceptorFactory(const GrpcLoggingOptions& options) noexcept
    : logger_(get_logger(options.logger_name)), echo_(options.echo_correlation_id) {}

grpc::experimental::Interceptor* LoggingInterceptorFactory::CreateServerInterceptor(ServerRpcInfo* info) {
    if (info == nullptr) return nullptr;
    return new (std::nothrow) LoggingInterceptor(info, logger_, echo_);
}

// ---- free functions -------------------------------------------------------

std::string correlation_id(const grpc::ServerContextBase* context) {
    if (context == nullptr) return {};
    CallRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    auto it = r.calls.find(context);
    return it == r.calls.end() ? std::string() : it->second.correlation_id;
}

Level level_for_status(grpc::StatusCode code) noexcept {
    switch (code) {
        case grpc::StatusCode::OK: return Level::info;
        case grpc::StatusCode::CANCELLED:
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
        case grpc::StatusCode::NOT_FOUND:
        case grpc::StatusCode::ALREADY_EXISTS:
        case grpc::StatusCode::PERMISSION_DENIED:
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
        case grpc::StatusCode::FAILED_PRECONDITION:
        case grpc::StatusCode::ABORTED:
        case grpc::StatusCode::OUT_OF_RANGE:
        case grpc::StatusCode::UNAUTHENTICATED: return Level::warning;
        default: return Level::error;  // UNKNOWN, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, out of range
    }
}

std::string_view status_code_name(grpc::StatusCode code) noexcept {
    switch (code) {
        case grpc::StatusCode::OK: return "OK";
        case grpc::StatusCode::CANCELLED: return "CANCELLED";
        case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
        case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
        case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
        case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
        case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
        case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
        case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
        case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
        case grpc::StatusCode::ABORTED: return "ABORTED";
        case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
        case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
        case grpc::StatusCode::INTERNAL: return "INTERNAL";
        case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
        case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
        case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
        case grpc::StatusCode::DO_NOT_USE: break;
    }
    return "UNRECOGNIZED";
}

std::size_t active_call_count() noexcept {
    CallRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    return r.calls.size();
}

}  // namespace agora::log::integrations
