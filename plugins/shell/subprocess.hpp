// Runs `/bin/sh -c CMD` in its own process group, streaming stdout/stderr lines to callbacks and
// killing the group when cancelled. Waits on a pidfd, so a finished child is noticed at once
// (no polling delay on the per-stage hot path).
#pragma once

#include <functional>
#include <map>
#include <string>

namespace graft::shell {

struct SubprocessSpec {
    std::string shell = "/bin/sh";
    std::string command;
    std::string cwd;
    std::map<std::string, std::string> env;  // added to (or replacing in) the inherited env
};

struct SubprocessResult {
    int exit_code = 0;     // valid when !signaled
    bool signaled = false;
    int signal = 0;
    bool cancelled = false;
};

using LineSink = std::function<void(const std::string&)>;
using CancelCheck = std::function<bool()>;

// Throws std::runtime_error when the process cannot be started.
SubprocessResult run_subprocess(const SubprocessSpec& spec, const LineSink& on_stdout,
                                const LineSink& on_stderr, const CancelCheck& cancelled);

}  // namespace graft::shell
