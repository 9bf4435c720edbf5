#include "core/cache/workspace.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace graft {

namespace {

std::string read_all(int fd) {
    std::string out;
    char buf[512];
    off_t off = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        off += n;
    }
    return out;
}

std::string trim(std::string s) {
    const char* ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string::npos) return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

// The holder writes its line right after locking, so an empty file means we looked in between.
std::string describe_holder(int fd) {
    std::string text = trim(read_all(fd));
    return text.empty() ? std::string("another process") : text;
}

int flock_retry(int fd, int op) {
    int rc;
    do {
        rc = ::flock(fd, op);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

}  // namespace

WorkspaceLock::WorkspaceLock(const std::filesystem::path& lock_file, Mode mode,
                             const std::string& what) {
    std::error_code ec;
    if (lock_file.has_parent_path()) {
        std::filesystem::create_directories(lock_file.parent_path(), ec);  // open() reports errors
    }
    fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot open workspace lock " + lock_file.string());
    }
    int op = mode == Mode::Wait ? LOCK_EX : (LOCK_EX | LOCK_NB);
    if (flock_retry(fd_, op) != 0) {
        int err = errno;
        std::string holder = err == EWOULDBLOCK ? describe_holder(fd_) : std::string();
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK) {
            throw std::runtime_error("workspace " + lock_file.parent_path().string() +
                                     " is locked by " + holder +
                                     "; wait for it to finish, or pass --wait");
        }
        throw std::system_error(err, std::generic_category(),
                                "cannot lock workspace " + lock_file.string());
    }
    // The content is informational only (the flock is the lock), so a failed write is not fatal.
    std::string line = "pid " + std::to_string(::getpid()) + ": " + what + "\n";
    if (::ftruncate(fd_, 0) == 0) {
        ssize_t n = ::pwrite(fd_, line.data(), line.size(), 0);
        (void)n;
    }
}

// Closing the only descriptor releases the flock; the kernel does the same when we are killed.
WorkspaceLock::~WorkspaceLock() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> WorkspaceLock::holder(const std::filesystem::path& lock_file) {
    int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;  // never created: nobody holds it
    std::optional<std::string> out;
    // A separate open file description, so this also sees a lock held by our own process.
    if (flock_retry(fd, LOCK_SH | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) out = describe_holder(fd);
    } else {
        flock_retry(fd, LOCK_UN);
    }
    ::close(fd);
    return out;
}

}  // namespace graft
