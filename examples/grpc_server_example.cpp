// docs/grpc.md: every call of a gRPC server logged through libagora-log-grpc.
#include <agora/log.hpp>
#include <agora/log/integrations/grpc_interceptor.hpp>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>
#include <vector>

using agora::log::integrations::GrpcLoggingOptions;
using agora::log::integrations::LoggingInterceptorFactory;

std::unique_ptr<grpc::Server> start_server(grpc::ServerBuilder& builder) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    // "RPC started" / "RPC completed" through the logger agora.orders.grpc,
    // and the call's correlation id on every entry its handler writes.
    creators.push_back(std::make_unique<LoggingInterceptorFactory>(GrpcLoggingOptions{.logger_name = "agora.orders.grpc"}));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    return builder.BuildAndStart();
}

int main() {
    agora::log::Config config;
    config.service_name = "order-gateway";
    config.file_enabled = false;  // console only
    if (auto ok = agora::log::initialize(config); !ok) return 1;

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);  // the OS picks the port
    // builder.RegisterService(&order_service);  // the application's services; here one that
    grpc::CallbackGenericService unimplemented;     // answers every method UNIMPLEMENTED
    builder.RegisterCallbackGenericService(&unimplemented);
    std::unique_ptr<grpc::Server> server = start_server(builder);
    if (server == nullptr) return 1;
    agora::log::get_logger("agora.orders").info("Serving on 127.0.0.1:{port}", port);
    server->Shutdown();  // a real server would server->Wait() instead
    agora::log::shutdown();
}
