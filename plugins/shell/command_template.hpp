// Expands `{in.PORT}`, `{out}`, `{scratch}`, `{seed}`, `{threads}` in a shell stage's command.
// Only a brace pair around a name (letters, digits, _ . -) is a placeholder, and an unknown one is
// an error; other braces are shell syntax and pass through (`f() { ...; }`, `${VAR}`, `{a,b}`).
// `{{` and `}}` are literal braces, for the rare literal `{name}`.
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
