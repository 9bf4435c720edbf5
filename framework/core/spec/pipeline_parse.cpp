// pipeline.toml -> PipelineSpec: TOML syntax, the file's structure and value types, and the
// classification of input references. Checks against the stage catalogue are in
// pipeline_validate.cpp.
#include "core/spec/hpsearch_detail.hpp"
#include "core/spec/spec_detail.hpp"
#include "core/spec/report_detail.hpp"
#include "core/spec/sweep.hpp"
#include "core/spec/toml_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

namespace graft {
namespace {

using detail::loc_of;

// Collects the problems of one file; every diagnostic carries the file name as given.
struct Parser {
    std::string file;
    std::vector<Diagnostic> diags;

    SourceLoc loc(const toml::node& n) const { return loc_of(n, file); }

    void error(const toml::node& n, std::string key, std::string message, std::string expected = {},
               std::string hint = {}) {
        diags.push_back(
            {loc(n), std::move(key), std::move(message), std::move(expected), std::move(hint)});
    }

    void unknown_key(const toml::node& n, const std::string& key, std::string_view name,
                     const std::vector<std::string>& allowed, std::string_view where) {
        error(n, key, fmt::format("unknown key '{}' in {}", name, where),
              "one of: " + detail::join(allowed), did_you_mean_hint(name, allowed));
    }

    // `seed = N` ([pipeline] or a stage): a non-negative integer, else a located error.
    std::optional<std::uint64_t> parse_seed(const toml::node& v, const std::string& key, std::string hint);

    void parse_pipeline_table(const toml::node& node, PipelineSpec& spec);
    void parse_stages(const toml::node& node, PipelineSpec& spec);
    void parse_stage(const std::string& id, const toml::node& node,
                     const std::set<std::string>& ids, const std::filesystem::path& dir,
                     StageSpec& st);
    void parse_inputs(const toml::node& node, const std::string& key,
                      const std::set<std::string>& ids, const std::filesystem::path& dir,
                      StageSpec& st);
};

const char* type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "a list";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        default: return "a date/time";
    }
}

std::optional<std::uint64_t> Parser::parse_seed(const toml::node& v, const std::string& key,
                                                std::string hint) {
    if (v.is_integer() && v.as_integer()->get() >= 0)
        return static_cast<std::uint64_t>(v.as_integer()->get());
    error(v, key,
          v.is_integer() ? "must not be negative" : fmt::format("must be an integer, got {}", type_name(v)),
          "a non-negative integer", std::move(hint));
    return std::nullopt;
}

bool is_stage_id(std::string_view id) {
    if (id.empty()) return false;
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!alpha(id.front()) && id.front() != '_') return false;
    return std::all_of(id.begin() + 1, id.end(),
                       [&](char c) { return alpha(c) || digit(c) || c == '_' || c == '-'; });
}

template <class T>
std::string stream_to_string(const T& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

void Parser::parse_pipeline_table(const toml::node& node, PipelineSpec& spec) {
    const toml::table* t = node.as_table();
    if (!t) {
        error(node, "pipeline", fmt::format("must be a table, got {}", type_name(node)),
              "[pipeline] with name = \"...\"");
        return;
    }
    static const std::vector<std::string> allowed = {"name", "seed", "description"};
    bool have_name = false;
    for (auto&& [k, v] : *t) {
        const std::string key = "pipeline." + std::string(k.str());
        if (k == "name") {
            have_name = true;
            if (!v.is_string())
                error(v, key, fmt::format("must be a string, got {}", type_name(v)), "a string");
            else if (v.as_string()->get().empty())
                error(v, key, "must not be empty", "a non-empty string");
            else
                spec.name = v.as_string()->get();
        } else if (k == "seed") {
            if (const auto seed = parse_seed(v, key, "e.g. seed = 17")) spec.seed = *seed;
        } else if (k == "description") {
            if (!v.is_string())
                error(v, key, fmt::format("must be a string, got {}", type_name(v)), "a string");
        } else {
            unknown_key(v, key, k.str(), allowed, "[pipeline]");
        }
    }
    if (!have_name)
        error(node, "pipeline.name", "missing pipeline name", "a string",
              "add name = \"<pipeline name>\" under [pipeline]");
}

void Parser::parse_inputs(const toml::node& node, const std::string& key,
                          const std::set<std::string>& ids, const std::filesystem::path& dir,
                          StageSpec& st) {
    const toml::table* t = node.as_table();
    if (!t) {
        error(node, key, fmt::format("must be a table, got {}", type_name(node)),
              "a table of port = \"path\" or \"<stage>.<port>\"",
              "e.g. inputs = { data = \"data/raw.jsonl\" }");
        return;
    }
    for (auto&& [k, v] : *t) {
        const std::string port(k.str());
        const std::string pkey = key + "." + port;
        if (!v.is_string() || v.as_string()->get().empty()) {
            error(v, pkey,
                  v.is_string() ? "empty input reference"
                                : fmt::format("must be a string, got {}", type_name(v)),
                  "a file/dir path or \"<stage>.<port>\"",
                  "e.g. data = \"data/raw.jsonl\" or data = \"clean.data\"");
            continue;
        }
        InputBinding b;
        b.port = port;
        b.raw = v.as_string()->get();
        b.loc = loc(v);
        // "X.Y" with X a stage of this pipeline is that stage's output Y; anything else is a
        // path ("data/raw.jsonl" has a dot too, but "data" is not a stage).
        const std::size_t dot = b.raw.find('.');
        const std::string head = b.raw.substr(0, dot);
        if (dot != std::string::npos && ids.count(head)) {
            const std::string tail = b.raw.substr(dot + 1);
            if (detail::is_simple_name(tail)) {
                b.kind = InputBinding::Kind::StageOutput;
                b.stage = head;
                b.output = tail;
            } else if (tail.empty()) {
                error(v, pkey, fmt::format("malformed reference '{}': no output port", b.raw),
                      "\"<stage>.<port>\"", fmt::format("e.g. \"{}.data\"", head));
                continue;
            }
        }
        if (b.kind == InputBinding::Kind::Path) {
            std::filesystem::path p(b.raw);
            b.path = (p.is_absolute() ? p : dir / p).lexically_normal();
        }
        st.inputs.push_back(std::move(b));
    }
    std::sort(st.inputs.begin(), st.inputs.end(),
              [](const InputBinding& a, const InputBinding& b) { return a.port < b.port; });
}

void Parser::parse_stage(const std::string& id, const toml::node& node,
                         const std::set<std::string>& ids, const std::filesystem::path& dir,
                         StageSpec& st) {
    const std::string base = "stages." + id;
    static const std::vector<std::string> allowed = {"uses", "inputs", "params", "exclusive", "seed"};
    st.id = id;
    st.loc = loc(node);
    const toml::table& t = *node.as_table();
    for (auto&& [k, v] : t) {
        const std::string key = base + "." + std::string(k.str());
        if (k == "uses") {
            if (!v.is_string() || v.as_string()->get().empty())
                error(v, key,
                      v.is_string() ? "must not be empty"
                                    : fmt::format("must be a string, got {}", type_name(v)),
                      "a stage type name", "e.g. uses = \"text.clean\"");
            st.uses = v.is_string() ? v.as_string()->get() : std::string();
            st.uses_loc = loc(v);
        } else if (k == "inputs") {
            parse_inputs(v, key, ids, dir, st);
        } else if (k == "exclusive") {
            if (const auto b = v.value<bool>(); b && v.is_boolean())
                st.exclusive = *b;
            else
                error(v, key, fmt::format("must be true or false, got {}", type_name(v)), "a boolean",
                      "e.g. exclusive = true (never run alongside another exclusive stage)");
        } else if (k == "seed") {
            st.seed = parse_seed(v, key, "e.g. seed = 18 (this stage only; [pipeline] seed sets every stage's)");
        } else if (k == "params") {
            const toml::table* params = v.as_table();
            if (!params) {
                error(v, key, fmt::format("must be a table, got {}", type_name(v)),
                      "a table of parameter values", fmt::format("use a [{}] section", key));
                continue;
            }
            for (auto&& [pk, pv] : *params) {
                const std::string name(pk.str());
                st.params[name] = detail::toml_to_json(pv);
                st.param_locs[name] = loc(pv);
            }
        } else {
            unknown_key(v, key, k.str(), allowed, fmt::format("stage '{}'", id));
        }
    }
    if (!t.contains("uses"))
        error(node, base + ".uses", fmt::format("stage '{}' has no 'uses'", id),
              "the stage type to run", fmt::format("add uses = \"<stage type>\" under [{}]", base));
}

void Parser::parse_stages(const toml::node& node, PipelineSpec& spec) {
    const toml::table* t = node.as_table();
    if (!t) {
        error(node, "stages", fmt::format("must be a table, got {}", type_name(node)),
              "[stages.<id>] tables", "e.g. [stages.clean] with uses = \"text.clean\"");
        return;
    }
    std::set<std::string> ids;
    for (auto&& [k, v] : *t) ids.insert(std::string(k.str()));
    // toml++ keeps keys sorted; the spec lists stages in file order, then those that --set
    // created, in command-line order.
    std::vector<std::pair<std::string, const toml::node*>> order;
    for (auto&& [k, v] : *t) order.emplace_back(std::string(k.str()), &v);
    auto rank = [&](const toml::node* n) {
        const SourceLoc l = loc(*n);
        const bool from_cli = l.line == 0;
        return std::make_tuple(from_cli, from_cli ? l.column : l.line, from_cli ? 0 : l.column);
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](const auto& a, const auto& b) { return rank(a.second) < rank(b.second); });
    for (const auto& [id, n] : order) {
        const std::string key = "stages." + id;
        if (!is_stage_id(id)) {
            error(*n, key, fmt::format("invalid stage id '{}'", id),
                  "letters, digits, '_' and '-', starting with a letter or '_'",
                  "stage ids are used in references such as \"<stage>.<port>\", so they cannot "
                  "contain dots");
            continue;
        }
        if (!n->is_table()) {
            error(*n, key, fmt::format("must be a table, got {}", type_name(*n)),
                  "a [stages.<id>] table", fmt::format("write [{}] with uses = \"...\"", key));
            continue;
        }
        StageSpec st;
        parse_stage(id, *n, ids, spec.dir, st);
        spec.stages.push_back(std::move(st));
    }
}

PipelineSpec convert(const toml::table& root, const std::filesystem::path& file,
                     const std::string& display, std::vector<Diagnostic> diags) {
    Parser p{display, std::move(diags)};
    PipelineSpec spec;
    spec.file = std::filesystem::absolute(file).lexically_normal();
    spec.dir = spec.file.parent_path();
    static const std::vector<std::string> allowed = {"pipeline", "stages", "sweep", "hpsearch", "report"};
    for (auto&& [k, v] : root) {
        if (k == "pipeline")
            p.parse_pipeline_table(v, spec);
        else if (k == "stages")
            p.parse_stages(v, spec);
        else if (k == "sweep")
            spec.sweep = detail::parse_sweep(v, display, p.diags);
        else if (k == "report")
            spec.report = detail::parse_report(v, display, p.diags);
        else if (k == "hpsearch")
            spec.hpsearch = detail::parse_hpsearch(v, display, p.diags);
        else
            p.unknown_key(v, std::string(k.str()), k.str(), allowed, "the pipeline file");
    }
    if (!root.contains("pipeline"))
        p.diags.push_back({SourceLoc{display, 1, 1}, "pipeline", "missing [pipeline] table",
                           "a [pipeline] table with name = \"...\"",
                           "start the file with [pipeline] and name = \"<pipeline name>\""});
    // Variants are made from a well-formed file only: stage errors would repeat in every copy.
    if (spec.sweep && p.diags.empty()) detail::expand_sweep(spec, p.diags);
    if (spec.report && p.diags.empty()) detail::validate_report(spec, p.diags);
    if (!p.diags.empty()) {
        detail::sort_by_location(p.diags);
        throw PipelineError(std::move(p.diags));
    }
    return spec;
}

}  // namespace

namespace detail {

json toml_to_json(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table: {
            json obj = json::object();
            for (auto&& [k, v] : *n.as_table()) obj[std::string(k.str())] = toml_to_json(v);
            return obj;
        }
        case toml::node_type::array: {
            json arr = json::array();
            for (const auto& v : *n.as_array()) arr.push_back(toml_to_json(v));
            return arr;
        }
        case toml::node_type::string: return n.as_string()->get();
        case toml::node_type::integer: return n.as_integer()->get();
        case toml::node_type::floating_point: return n.as_floating_point()->get();
        case toml::node_type::boolean: return n.as_boolean()->get();
        case toml::node_type::date: return stream_to_string(n.as_date()->get());
        case toml::node_type::time: return stream_to_string(n.as_time()->get());
        case toml::node_type::date_time: return stream_to_string(n.as_date_time()->get());
        default: return nullptr;
    }
}

}  // namespace detail

bool StageSpec::runs_exclusively() const {
    return exclusive.value_or(descriptor && descriptor->exclusive);
}

const InputBinding* StageSpec::find_input(std::string_view port) const {
    for (const auto& b : inputs)
        if (b.port == port) return &b;
    return nullptr;
}

const StageSpec* PipelineSpec::find(std::string_view id) const {
    for (const auto& s : stages)
        if (s.id == id) return &s;
    return nullptr;
}

StageSpec* PipelineSpec::find(std::string_view id) {
    for (auto& s : stages)
        if (s.id == id) return &s;
    return nullptr;
}

std::vector<std::string> PipelineSpec::stage_ids() const {
    std::vector<std::string> ids;
    ids.reserve(stages.size());
    for (const auto& s : stages) ids.push_back(s.id);
    return ids;
}

PipelineSpec parse_pipeline_text(std::string_view text, const std::filesystem::path& file,
                                 const std::vector<Override>& overrides) {
    const std::string display = file.string();
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(display));
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        throw PipelineError(
            Diagnostic{SourceLoc{display, static_cast<int>(b.line), static_cast<int>(b.column)}, "",
                       fmt::format("TOML syntax error: {}", e.description()), "", ""});
    }
    std::vector<Diagnostic> diags;
    detail::apply_overrides(root, overrides, diags);
    return convert(root, file, display, std::move(diags));
}

PipelineSpec parse_pipeline(const std::filesystem::path& file,
                            const std::vector<Override>& overrides) {
    std::ifstream in(file, std::ios::binary);
    std::error_code ec;
    if (!in || std::filesystem::is_directory(file, ec)) {
        const bool exists = std::filesystem::exists(file, ec);
        throw PipelineError(
            Diagnostic{SourceLoc{file.string(), 0, 0}, "",
                       exists ? "cannot read the pipeline file" : "pipeline file not found", "",
                       exists ? "check that it is a readable file"
                              : "pass the path of a pipeline .toml file (relative to the current "
                                "directory)"});
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_pipeline_text(text.str(), file, overrides);
}

}  // namespace graft
