#include "command_template.hpp"

#include <graft/stage.hpp>

namespace graft::shell {

namespace {

std::string valid_placeholders(const TemplateValues& v) {
    std::string s = "{out}, {scratch}, {seed}, {threads}";
    for (const auto& [port, _] : v.inputs) s += ", {in." + port + "}";
    return s;
}

std::string lookup(const std::string& name, const TemplateValues& v) {
    if (name == "out") return v.out;
    if (name == "scratch") return v.scratch;
    if (name == "seed") return std::to_string(v.seed);
    if (name == "threads") return std::to_string(v.threads);
    if (name.starts_with("in.")) {
        auto it = v.inputs.find(name.substr(3));
        if (it != v.inputs.end()) return it->second;
        throw sdk::StageError(fmt::format(
            "cmd uses '{{{}}}' but the stage has no input port '{}' (declare it under inputs); "
            "valid placeholders: {}",
            name, name.substr(3), valid_placeholders(v)));
    }
    throw sdk::StageError(fmt::format(
        "cmd uses unknown placeholder '{{{}}}'; valid placeholders: {} (write '{{{{' and '}}}}' for "
        "literal braces, e.g. ${{{{HOME}}}})",
        name, valid_placeholders(v)));
}

}  // namespace

std::string expand_command(const std::string& cmd, const TemplateValues& v) {
    std::string out;
    out.reserve(cmd.size() + 64);
    for (std::size_t i = 0; i < cmd.size(); ++i) {
        const char c = cmd[i];
        if (c == '{' && i + 1 < cmd.size() && cmd[i + 1] == '{') {
            out += '{';
            ++i;
        } else if (c == '}' && i + 1 < cmd.size() && cmd[i + 1] == '}') {
            out += '}';
            ++i;
        } else if (c == '{') {
            const auto end = cmd.find('}', i + 1);
            if (end == std::string::npos)
                throw sdk::StageError(fmt::format(
                    "cmd has an unclosed '{{' at character {}; write '{{{{' for a literal brace",
                    i + 1));
            out += lookup(cmd.substr(i + 1, end - i - 1), v);
            i = end;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace graft::shell
