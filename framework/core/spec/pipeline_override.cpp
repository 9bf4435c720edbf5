// `--set KEY=VALUE` overrides.
//
// Precedence of a parameter's value, lowest first:
//   1. the stage type's default (descriptor), filled in by validate_pipeline;
//   2. the value written in pipeline.toml;
//   3. --set overrides, applied in command-line order (a later --set of the same key wins).
//
// Overrides are applied to the parsed TOML table *before* it is converted into a PipelineSpec, so
// an overridden value goes through exactly the same checks as one written in the file. Every node
// an override creates is parsed by toml++ with the source path "<command line>#N", which is how
// loc_of() tells it apart from the file's nodes and reports it as `<command line>: --set #N`.
#include "core/spec/toml_detail.hpp"

#include <fmt/format.h>

#include "core/spec/spec_detail.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace graft {
namespace detail {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

namespace {

constexpr std::string_view kOverridePrefix = "<command line>#";

SourceLoc override_loc(int index) { return SourceLoc{"<command line>", 0, index}; }

std::vector<std::string> split_key(std::string_view key) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = key.find('.', start);
        parts.emplace_back(trim(key.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start)));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return parts;
}

// The one-entry document `"a"."b"."c" = <value>`, or nullopt when it does not parse as exactly
// that (a value such as `fast` or `1 x = 2`).
std::optional<toml::table> parse_assignment(const std::vector<std::string>& path,
                                            std::string_view value, const std::string& source) {
    std::string doc;
    for (const auto& seg : path) {
        if (!doc.empty()) doc += '.';
        doc += toml_quote(seg);
    }
    doc += " = ";
    doc += value;
    toml::table t;
    try {
        t = toml::parse(doc, std::string_view(source));
    } catch (const toml::parse_error&) {
        return std::nullopt;
    }
    // Exactly one key at every level: a value must not smuggle in extra assignments.
    const toml::table* level = &t;
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (level->size() != 1 || !level->contains(path[i])) return std::nullopt;
        if (i + 1 < path.size()) level = level->get(path[i])->as_table();
    }
    return t;
}

const char* type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table: return "table";
        case toml::node_type::array: return "list";
        case toml::node_type::string: return "string";
        case toml::node_type::integer: return "integer";
        case toml::node_type::floating_point: return "float";
        case toml::node_type::boolean: return "boolean";
        default: return "date/time";
    }
}

void apply_one(toml::table& root, const Override& ov, std::vector<Diagnostic>& diags) {
    const std::vector<std::string> path = split_key(ov.key);
    const std::string dotted = fmt::format("{}", fmt::join(path, "."));
    for (const auto& seg : path) {
        if (seg.empty()) {
            diags.push_back({override_loc(ov.index), ov.key, "malformed key: empty part",
                             "a dotted key such as stages.<id>.params.<name>", ""});
            return;
        }
    }
    const std::string source = fmt::format("{}{}", kOverridePrefix, ov.index);
    std::optional<toml::table> assigned = parse_assignment(path, trim(ov.value), source);
    if (!assigned) assigned = parse_assignment(path, toml_quote(ov.value), source);
    if (!assigned) {  // only when the text is not valid UTF-8
        diags.push_back({override_loc(ov.index), dotted, "value is not valid UTF-8 text", "", ""});
        return;
    }
    // Walk down both tables; at the first level the file lacks, or at the leaf, move the
    // override's node in (moving keeps its source, so its location says "--set #N").
    toml::table* target = &root;
    toml::table* from = &*assigned;
    for (std::size_t i = 0; i < path.size(); ++i) {
        toml::node* existing = target->get(path[i]);
        toml::node* incoming = from->get(path[i]);
        if (!existing || i + 1 == path.size()) {
            target->insert_or_assign(path[i], std::move(*incoming));
            return;
        }
        if (!existing->is_table()) {
            const std::string prefix = fmt::format(
                "{}", fmt::join(path.begin(), path.begin() + static_cast<long>(i) + 1, "."));
            diags.push_back({override_loc(ov.index), dotted,
                             fmt::format("cannot set a key inside '{}': it is a {}, not a table",
                                         prefix, type_name(*existing)),
                             "", ""});
            return;
        }
        target = existing->as_table();
        from = incoming->as_table();
    }
}

}  // namespace

SourceLoc loc_of(const toml::node& node, const std::string& file) {
    const toml::source_region& src = node.source();
    if (src.path) {
        std::string_view p = *src.path;
        if (p.substr(0, kOverridePrefix.size()) == kOverridePrefix) {
            p.remove_prefix(kOverridePrefix.size());
            int index = 0;
            std::from_chars(p.data(), p.data() + p.size(), index);
            return override_loc(index);
        }
    }
    return SourceLoc{file, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
}

void apply_overrides(toml::table& root, const std::vector<Override>& overrides,
                     std::vector<Diagnostic>& diags) {
    // `--set stages.X.params.p=1` for a stage X the file lacks is far more likely a misspelt id
    // than a new stage; a new stage is one whose `uses` is set (in any order on the line).
    std::vector<std::string> ids;
    if (const toml::table* stages = root["stages"].as_table())
        for (auto&& [k, v] : *stages) ids.emplace_back(k.str());
    std::set<std::string> created;
    for (const auto& ov : overrides) {
        const auto path = split_key(ov.key);
        if (path.size() == 3 && path[0] == "stages" && path[2] == "uses") created.insert(path[1]);
    }
    for (const auto& ov : overrides) {
        const auto path = split_key(ov.key);
        if (path.size() >= 3 && path[0] == "stages" && !created.count(path[1]) &&
            std::find(ids.begin(), ids.end(), path[1]) == ids.end()) {
            std::string hint = did_you_mean_hint(path[1], ids);
            if (hint.empty())
                hint =
                    fmt::format("to add a stage, also --set stages.{}.uses=<stage type>", path[1]);
            diags.push_back({override_loc(ov.index), ov.key,
                             fmt::format("no stage '{}' in the pipeline", path[1]),
                             ids.empty() ? std::string() : "one of: " + join(ids), hint});
            continue;
        }
        apply_one(root, ov, diags);
    }
}

std::string toml_quote(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\f': out += "\\f"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
                else
                    out += ch;
        }
    }
    out += '"';
    return out;
}

}  // namespace detail

Override parse_override(std::string_view text, int index) {
    const std::size_t eq = text.find('=');
    const std::string_view key =
        eq == std::string_view::npos ? text : detail::trim(text.substr(0, eq));
    if (eq == std::string_view::npos || key.empty())
        throw PipelineError(Diagnostic{SourceLoc{"<command line>", 0, index}, "",
                                       fmt::format("malformed --set '{}'", text), "KEY=VALUE",
                                       "e.g. --set stages.split.params.ratios=[0.7,0.15,0.15] or "
                                       "--set stages.clean.params.mode=fast"});
    return Override{std::string(key), std::string(text.substr(eq + 1)), index};
}

}  // namespace graft
