#pragma once
// gRPC server interceptor (seed "gRPC Interceptor Integration (C++)"; grpc++
// 1.51 or later): per call, INFO "RPC started" and "RPC completed" (INFO, or
// WARNING/ERROR by status code), and the call's correlation id on every entry
// the handler writes while grpc runs it. Part of the separate library
// agora-log-grpc (meson option grpc, pkg-config agora-log-grpc): libagora-log
// itself does not depend on gRPC. Usage, fields and threading: docs/grpc.md.
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(std::make_unique<agora::log::integrations::LoggingInterceptorFactory>());
//   builder.experimental().SetInterceptorCreators(std::move(creators));

#include <agora/log/context.hpp>
#include <agora/log/detail/export.hpp>
#include <agora/log/level.hpp>
#include <agora/log/logger.hpp>

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace grpc {
class ServerContextBase;
}  // namespace grpc

AGORA_LOG_API_BEGIN

namespace agora::log::integrations {

/// The client metadata key the correlation id is read from, and the server
/// initial metadata key it is echoed back under.
inline constexpr std::string_view kCorrelationIdKey = "x-correlation-id";

/// A correlation id from metadata is used when it is 1 to this many bytes of
/// visible ASCII (0x21-0x7e); otherwise the call gets a generated UUID.
inline constexpr std::size_t kMaxCorrelationIdLength = 128;

struct GrpcLoggingOptions {
    /// The logger "RPC started" and "RPC completed" are written with.
    std::string logger_name = "agora.grpc";
    /// Adds x-correlation-id (the call's id) to the server's initial metadata,
    /// unless the handler set that key itself: a client learns a generated id.
    bool echo_correlation_id = true;
};

/// One call's interceptor (grpc creates it through LoggingInterceptorFactory
/// and destroys it with the call's ServerContext).
///
/// Thread contract: grpc calls Intercept() for the hook points of one call in
/// sequence (the batch carrying POST_RECV_INITIAL_METADATA first), possibly
/// from different threads; the correlation id is written only there, before
/// any other hook of the call runs. The per-thread scope it opens is a local
/// variable of that Intercept() call, around Proceed(): the synchronous API
/// runs the handler (and sends the status) inside that Proceed(), on that
/// thread, so the scope covers exactly the handler, and is closed on the
/// thread that opened it in LIFO order whatever the call does (cancelled,
/// failed, handler exception). Never throws into grpc.
class LoggingInterceptor final : public grpc::experimental::Interceptor {
public:
    LoggingInterceptor(grpc::experimental::ServerRpcInfo* info, const Logger& logger, bool echo_correlation_id) noexcept;
    ~LoggingInterceptor() override;
    LoggingInterceptor(const LoggingInterceptor&) = delete;
    LoggingInterceptor& operator=(const LoggingInterceptor&) = delete;

    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override;

private:
    void start(std::multimap<grpc::string_ref, grpc::string_ref>* client_metadata);
    void echo(std::multimap<std::string, std::string>* initial_metadata);
    void complete(const grpc::Status& status);

    Logger logger_;
    grpc::ServerContextBase* server_context_;  // the call's; outlives this interceptor
    const char* method_;                       // grpc's; lives as long as the call
    grpc::experimental::ServerRpcInfo::Type type_;
    bool echo_;
    bool started_ = false;
    bool completed_ = false;
    std::string correlation_id_;
    std::chrono::steady_clock::time_point start_time_;
};

/// Creates a LoggingInterceptor for every call. Register it with
/// ServerBuilder::experimental().SetInterceptorCreators().
class LoggingInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
    LoggingInterceptorFactory() noexcept;
    explicit LoggingInterceptorFactory(const GrpcLoggingOptions& options) noexcept;

    /// Null (no interceptor for this call, which grpc allows) without memory.
    grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

private:
    Logger logger_;
    bool echo_;
};

/// The correlation id of the call `context` belongs to, from its "RPC
/// started" entry until grpc destroys the context; "" for a call the
/// interceptor does not know. Any thread: for handlers that run elsewhere
/// (callback reactors, the async API, work handed to a pool), e.g.
///   ScopedContext scope{{{"correlation_id", correlation_id(ctx)}}};
std::string correlation_id(const grpc::ServerContextBase* context);

/// The level of "RPC completed": INFO for OK; ERROR for the codes that say
/// the server failed (UNKNOWN, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
/// DATA_LOSS, and a code outside the enum); WARNING for the others (the
/// request or the client: CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED,
/// NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED,
/// FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNAUTHENTICATED).
Level level_for_status(grpc::StatusCode code) noexcept;

/// "OK", "CANCELLED", ..., "UNAUTHENTICATED" (grpc's names); "UNRECOGNIZED"
/// for a value outside the enum.
std::string_view status_code_name(grpc::StatusCode code) noexcept;

/// Calls the interceptors know now: started, and whose ServerContext grpc has
/// not destroyed yet.
std::size_t active_call_count() noexcept;

}  // namespace agora::log::integrations

AGORA_LOG_API_END
