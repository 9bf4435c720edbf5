// Expands `{in.PORT}`, `{out}`, `{scratch}`, `{seed}`, `{threads}` in a shell stage's command.
// `{{` and `}}` stand for literal braces (so shell `${VAR}` is written `${{VAR}}`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace graft::shell {

struct TemplateValues {
    std::map<std::string, std::string> inputs;  // port -> path
    std::string out, scratch;
    std::uint64_t seed = 0;
    int threads = 1;
};

// Throws graft::sdk::StageError naming the unknown placeholder and listing the valid ones.
std::string expand_command(const std::string& cmd, const TemplateValues& v);

}  // namespace graft::shell
