// Helpers for the end-to-end tests: run the real `graft` binary (posix_spawn, captured output,
// a time limit so a hung graft fails the test instead of hanging it), start it in the background,
// and lay out a project (pipeline file + data) in a temporary directory.
#pragma once

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

extern char** environ;

namespace graft::e2e {

namespace fs = std::filesystem;
using graft::testing::read_text;
using graft::testing::TempDir;
using graft::testing::write_text;

// A graft run that takes longer than this is treated as hung: it is killed and the test fails.
inline constexpr std::chrono::seconds kRunLimit{30};

struct RunResult {
    int code = -1;     // exit status, or 128 + signal when killed by a signal
    std::string out;   // stdout
    std::string err;   // stderr
    std::string all() const { return out + err; }
};

// What a failed check prints: the command's exit code and output.
inline std::string describe(const RunResult& r) {
    return "exit " + std::to_string(r.code) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" +
           r.err;
}

// The environment of the test process, without GRAFT_PLUGIN_PATH (graft finds the plugins of
// its own build tree; the same directory twice would make it warn about duplicate types), plus
// `extra` (NAME -> value; replaces an inherited value).
inline std::vector<std::string> child_environment(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        const std::string name = kv.substr(0, kv.find('='));
        if (name == "GRAFT_PLUGIN_PATH" || extra.count(name)) continue;
        env.push_back(std::move(kv));
    }
    for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
    return env;
}

// Exit code of a wait status: 128 + signal for a killed process, like a shell reports it.
inline int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Starts GRAFT_BINARY with `args` in `cwd`, stdin from /dev/null, stdout/stderr appended to the
// given files. Throws if it cannot be started.
inline pid_t spawn_graft(const std::vector<std::string>& args, const fs::path& cwd,
                         const fs::path& out_file, const fs::path& err_file,
                         const std::map<std::string, std::string>& env_extra = {}) {
    std::vector<std::string> argv_s;
    argv_s.push_back(GRAFT_BINARY);
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = child_environment(env_extra);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    // Default signal dispositions and an empty mask, whatever the test runner set up.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        throw std::runtime_error(std::string("cannot start ") + GRAFT_BINARY + ": " +
                                 std::strerror(rc));
    return pid;
}

// Waits for `pid` up to `limit`; nullopt if it is still running then.
inline std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    auto nap = std::chrono::microseconds(100);
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return exit_code_of(status);
        if (r < 0 && errno != EINTR) return std::nullopt;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(nap);
        nap = std::min<std::chrono::microseconds>(nap * 2, std::chrono::milliseconds(5));
    }
}

// Output files of spawned runs live in their own temp dir, away from the project under test.
class OutputFiles {
public:
    std::pair<fs::path, fs::path> next() {
        const int n = counter_++;
        return {dir_ / ("out-" + std::to_string(n)), dir_ / ("err-" + std::to_string(n))};
    }

private:
    TempDir dir_;
    int counter_ = 0;
};

inline OutputFiles& output_files() {
    static OutputFiles files;
    return files;
}

// Runs graft to completion. A run past kRunLimit is killed and reported as exit 124.
inline RunResult run_graft(const std::vector<std::string>& args, const fs::path& cwd,
                           const std::map<std::string, std::string>& env_extra = {}) {
    auto [out, err] = output_files().next();
    const pid_t pid = spawn_graft(args, cwd, out, err, env_extra);
    RunResult r;
    if (auto code = wait_for_exit(pid, kRunLimit)) {
        r.code = *code;
    } else {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        r.code = 124;
    }
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
}

// A graft started in the background. Killed and reaped on destruction if still running, so a
// failing test leaves nothing behind.
class BackgroundGraft {
public:
    BackgroundGraft(const std::vector<std::string>& args, const fs::path& cwd,
                    const std::map<std::string, std::string>& env_extra = {}) {
        std::tie(out_, err_) = output_files().next();
        pid_ = spawn_graft(args, cwd, out_, err_, env_extra);
    }
    ~BackgroundGraft() {
        if (!reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    BackgroundGraft(const BackgroundGraft&) = delete;
    BackgroundGraft& operator=(const BackgroundGraft&) = delete;

    pid_t pid() const { return pid_; }
    bool running() {
        if (reaped_) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            code_ = exit_code_of(status);
        }
        return !reaped_;
    }
    // Waits for the exit; a run past `limit` is killed and reported as 124.
    RunResult wait(std::chrono::milliseconds limit = kRunLimit) {
        RunResult r;
        if (!reaped_) {
            if (auto code = wait_for_exit(pid_, limit)) {
                code_ = *code;
            } else {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                code_ = 124;
            }
            reaped_ = true;
        }
        r.code = code_;
        r.out = read_text(out_);
        r.err = read_text(err_);
        return r;
    }
    std::string err_so_far() const { return read_text(err_); }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int code_ = -1;
    fs::path out_, err_;
};

// Polls `done` every few milliseconds until it holds or `limit` passes.
inline bool wait_until(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

// A project in a temp dir: <root>/proj/<pipeline file> with its data; shell stages count their
// executions in files under <root> (outside the project and its workspace), written by the
// commands as ../<name>.
class Project {
public:
    explicit Project(const std::string& pipeline_toml, std::string file_name = "pipeline.toml")
        : file_name_(std::move(file_name)) {
        fs::create_directories(dir());
        set_pipeline(pipeline_toml);
    }

    fs::path root() const { return tmp_.path(); }
    fs::path dir() const { return tmp_.path() / "proj"; }
    fs::path pipeline() const { return dir() / file_name_; }
    const std::string& file_name() const { return file_name_; }
    fs::path workspace() const { return dir() / ".graft"; }
    fs::path lock_file() const {
        const auto stem = fs::path(file_name_).stem().string();
        return dir() / (stem == "pipeline" ? "graft.lock" : stem + ".graft.lock");
    }

    void set_pipeline(const std::string& text) const { write_text(pipeline(), text); }
    void write(const std::string& rel, const std::string& text) const {
        write_text(dir() / rel, text);
    }
    std::string read(const std::string& rel) const { return read_text(dir() / rel); }

    // `graft VERB <pipeline file> ARGS...`, run in the project directory.
    RunResult graft(const std::string& verb, const std::vector<std::string>& args = {},
                    const std::map<std::string, std::string>& env = {}) const {
        std::vector<std::string> all = {verb, file_name_};
        all.insert(all.end(), args.begin(), args.end());
        return run_graft(all, dir(), env);
    }
    RunResult run(const std::vector<std::string>& args = {}) const { return graft("run", args); }

    // Lines of a counter file under root() (empty if it does not exist yet).
    std::vector<std::string> lines(const std::string& name) const {
        std::vector<std::string> out;
        std::string text = read_text(root() / name), line;
        for (char c : text) {
            if (c == '\n') {
                out.push_back(line);
                line.clear();
            } else {
                line += c;
            }
        }
        if (!line.empty()) out.push_back(line);
        return out;
    }
    // How often `id` was appended to the counter file `name`.
    long count(const std::string& name, const std::string& id) const {
        auto l = lines(name);
        return std::count(l.begin(), l.end(), id);
    }

    nlohmann::json lock() const {
        return nlohmann::json::parse(read_text(lock_file()), nullptr, false);
    }

    // Every regular file below .graft/objects, as paths relative to it.
    std::vector<fs::path> object_files() const {
        std::vector<fs::path> out;
        std::error_code ec;
        const fs::path objects = workspace() / "objects";
        if (!fs::exists(objects, ec)) return out;
        for (auto it = fs::recursive_directory_iterator(objects, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), objects));
        return out;
    }
    // Entries (files) below .graft/<sub> (e.g. "actions", "tmp"), recursively.
    std::size_t entries_under(const std::string& sub) const {
        std::size_t n = 0;
        std::error_code ec;
        const fs::path p = workspace() / sub;
        if (!fs::exists(p, ec)) return 0;
        for (auto it = fs::recursive_directory_iterator(p, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_regular_file(ec)) ++n;
        return n;
    }
    // The object path of a digest, as graft lays it out (objects/ab/cdef...).
    fs::path object_path(const std::string& hex) const {
        return workspace() / "objects" / hex.substr(0, 2) / hex.substr(2);
    }
    // Where the current lock says `stage`'s output `port` is stored.
    fs::path output_of(const std::string& stage, const std::string& port = "out") const {
        return object_path(lock()["stages"][stage]["outputs"][port].get<std::string>());
    }

private:
    TempDir tmp_;
    std::string file_name_;
};

// A pipeline committed under tests/e2e/pipelines/.
inline std::string golden_pipeline(const std::string& name) {
    const fs::path p = fs::path(GRAFT_SOURCE_DIR) / "tests" / "e2e" / "pipelines" / name;
    if (!fs::exists(p)) throw std::runtime_error("missing test pipeline " + p.string());
    return read_text(p);
}

// `text` with the first `from` replaced by `to`; throws if `from` is not there (a test edit
// that silently changes nothing would make the test meaningless).
inline std::string replace_once(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    if (pos == std::string::npos) throw std::runtime_error("test edit: '" + from + "' not found");
    return text.replace(pos, from.size(), to);
}

// How many lines of `text` contain `needle`.
inline std::size_t count_lines_with(const std::string& text, const std::string& needle) {
    std::size_t n = 0, pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (text.substr(pos, end - pos).find(needle) != std::string::npos) ++n;
        pos = end + 1;
    }
    return n;
}

// The lines of `text` that start with `prefix`.
inline std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        if (line.rfind(prefix, 0) == 0) out.push_back(line);
        pos = end + 1;
    }
    return out;
}

// The status word graft printed for `stage` ("[i/n] STATUS stage ..."), or "" if none.
inline std::string status_of(const std::string& err, const std::string& stage) {
    for (const auto& line : lines_starting(err, "[")) {
        if (line.rfind("[graft]", 0) == 0) continue;
        // "[2/3] cached    split  rows=..."
        const auto close = line.find("] ");
        if (close == std::string::npos) continue;
        std::string rest = line.substr(close + 2);
        const auto sp = rest.find(' ');
        if (sp == std::string::npos) continue;
        const std::string status = rest.substr(0, sp);
        std::size_t b = rest.find_first_not_of(' ', sp);
        if (b == std::string::npos) continue;
        std::size_t e = rest.find(' ', b);
        if (rest.substr(b, e == std::string::npos ? std::string::npos : e - b) == stage)
            return status;
    }
    return {};
}

}  // namespace graft::e2e
