#include "command_template.hpp"

#include <graft/stage.hpp>

#include <cctype>
#include <string_view>

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
        "cmd uses unknown placeholder '{{{}}}'; valid placeholders: {} (a '{{name}}' of letters, digits, "
        "'_', '.', '-' is a placeholder; write '{{{{name}}}}' for the literal text)",
        name, valid_placeholders(v)));
}

}  // namespace

namespace {

bool is_placeholder_name(std::string_view s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
            return false;
    return true;
}

}  // namespace

std::string expand_command(const std::string& cmd, const TemplateValues& v) {
    std::string out;
    out.reserve(cmd.size() + 64);
    for (std::size_t i = 0; i < cmd.size(); ++i) {
        const char c = cmd[i];
        if ((c == '{' || c == '}') && i + 1 < cmd.size() && cmd[i + 1] == c) {
            out += c;  // '{{' / '}}': a literal brace
            ++i;
            continue;
        }
        if (c == '{' && (i == 0 || cmd[i - 1] != '$')) {
            const auto end = cmd.find('}', i + 1);
            if (end != std::string::npos) {
                const std::string name = cmd.substr(i + 1, end - i - 1);
                if (is_placeholder_name(name)) {
                    out += lookup(name, v);
                    i = end;
                    continue;
                }
            }
        }
        out += c;  // shell braces: `f() { ...; }`, `${VAR}`, `{a,b}` pass through
    }
    return out;
}

}  // namespace graft::shell
