// dump_now(): the crash dump's writer, on demand, with the backend paused
// (not stopped) while the rings are copied.

#include "backend/backend.hpp"
#include "backend/metrics.hpp"
#include "crash/crash.hpp"
#include "crash/dump_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace agora::log::detail {

Expected<void> write_dump_now(const std::string& path, const Config& config, const EntryIdentity& identity,
                              Backend* backend) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return Error{ErrorCode::io_error, "dump_now(): cannot create " + path + ": " + std::strerror(errno)};
    DumpScratch scratch;
    if (!scratch.map()) {
        const int err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return Error{ErrorCode::io_error, std::string("dump_now(): no memory for the dump: ") + std::strerror(err)};
    }
    const DumpIdentity dump_identity = make_dump_identity(config, identity);
    DumpResult result;
    bool paused = false;
    if (Backend::on_a_backend_thread()) result.flags |= kDumpOnBackendThread;
    else if (backend == nullptr) result.flags |= kDumpNoBackend;
    else {
        const Backend::PauseResult pause = backend->pause_for(std::chrono::seconds(1));
        paused = pause == Backend::PauseResult::paused;
        if (pause == Backend::PauseResult::failed) result.flags |= kDumpBackendNotStopped;
    }
    FdSink out{fd, scratch.out(), DumpScratch::kOutBytes};
    write_dump(scratch, dump_identity, FileKind::on_demand_dump, 0, {}, result, out);
    if (paused) backend->resume();
    scratch.unmap();
    const bool synced = ::fsync(fd) == 0;
    const int sync_error = errno;
    ::close(fd);
    if (out.failed || !synced)
        return Error{ErrorCode::io_error, "dump_now(): writing " + path + " failed: " +
                                              std::strerror(out.failed ? out.error : sync_error)};
    count_crash_dump();
    return {};
}

}  // namespace agora::log::detail
