#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace graft::shell {

namespace {

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

// Splits a byte stream into lines for a sink; flushes the remainder at the end.
class LineBuffer {
public:
    explicit LineBuffer(const LineSink& sink) : sink_(sink) {}
    void feed(std::string_view data) {
        buf_.append(data);
        std::size_t start = 0, nl;
        while ((nl = buf_.find('\n', start)) != std::string::npos) {
            if (sink_) sink_(buf_.substr(start, nl - start));
            start = nl + 1;
        }
        buf_.erase(0, start);
    }
    void flush() {
        if (!buf_.empty() && sink_) sink_(buf_);
        buf_.clear();
    }

private:
    const LineSink& sink_;
    std::string buf_;
};

std::vector<std::string> build_env(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string_view::npos && extra.count(std::string(kv.substr(0, eq)))) continue;
        env.emplace_back(kv);
    }
    for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
    return env;
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    return -1;
#endif
}

}  // namespace

SubprocessResult run_subprocess(const SubprocessSpec& spec, const LineSink& on_stdout,
                                const LineSink& on_stderr, const CancelCheck& cancelled) {
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw std::runtime_error("pipe failed");
    }
    Fd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), STDERR_FILENO);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own process group: cancellation kills the command and everything it started.
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK);

    std::vector<std::string> env = build_env(spec.env);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string shell = spec.shell, dash_c = "-c", command = spec.command;
    char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};

    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, shell.c_str(), &fa, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        throw std::runtime_error("cannot start '" + spec.shell + "': " + std::strerror(rc) +
                                 (spec.cwd.empty() ? "" : " (in " + spec.cwd + ")"));
    out_w.reset();
    err_w.reset();

    Fd pidfd(open_pidfd(pid));
    LineBuffer out_lines(on_stdout), err_lines(on_stderr);
    SubprocessResult result;
    bool out_open = true, err_open = true, exited = false;
    int status = 0;
    auto kill_deadline = std::chrono::steady_clock::time_point::max();
    auto reap_wait = std::chrono::microseconds(20);
    char buf[65536];

    while (!exited || out_open || err_open) {
        if (!result.cancelled && cancelled && cancelled()) {
            result.cancelled = true;
            ::kill(-pid, SIGTERM);
            kill_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        }
        if (result.cancelled && std::chrono::steady_clock::now() > kill_deadline) {
            ::kill(-pid, SIGKILL);
            kill_deadline = std::chrono::steady_clock::time_point::max();
        }
        pollfd fds[3];
        int n = 0, out_i = -1, err_i = -1, pid_i = -1;
        if (out_open) fds[out_i = n++] = {out_r.get(), POLLIN, 0};
        if (err_open) fds[err_i = n++] = {err_r.get(), POLLIN, 0};
        if (!exited && pidfd.get() >= 0) fds[pid_i = n++] = {pidfd.get(), POLLIN, 0};
        // Without a pidfd, poll briefly so a child whose grandchildren keep the pipes open is
        // still noticed; with one, the timeout only bounds the cancellation check.
        const int timeout_ms = pidfd.get() >= 0 ? 100 : 5;
        const int pr = n > 0 ? ::poll(fds, static_cast<nfds_t>(n), timeout_ms) : 0;
        if (n == 0) {
            // Pipes closed, no pidfd: the command is exiting; reap it within microseconds
            // rather than a fixed 5 ms nap per stage, backing off to 5 ms if it lingers.
            std::this_thread::sleep_for(reap_wait);
            reap_wait = std::min(reap_wait * 2, std::chrono::microseconds(5000));
        }
        if (pr < 0 && errno != EINTR) break;
        auto drain = [&](int idx, Fd& fd, LineBuffer& lines, bool& open) {
            if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
            const ssize_t got = ::read(fd.get(), buf, sizeof buf);
            if (got > 0) {
                lines.feed(std::string_view(buf, static_cast<std::size_t>(got)));
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                open = false;
                lines.flush();
            }
        };
        if (pr > 0) {
            drain(out_i, out_r, out_lines, out_open);
            drain(err_i, err_r, err_lines, err_open);
        }
        if (!exited) {
            const pid_t w = ::waitpid(pid, &status, WNOHANG);
            if (w == pid) exited = true;
        }
        // The command exited but a background grandchild still holds the pipes: stop reading once
        // nothing arrives, rather than hang.
        if (exited && pr == 0) break;
    }
    if (!exited) ::waitpid(pid, &status, 0);
    out_lines.flush();
    err_lines.flush();
    if (WIFSIGNALED(status)) {
        result.signaled = true;
        result.signal = WTERMSIG(status);
    } else {
        result.exit_code = WEXITSTATUS(status);
    }
    return result;
}

}  // namespace graft::shell
