// graft config / stages / dag: inspect a pipeline and the available stage types.
#include "cli_common.hpp"

#include "core/spec/dag.hpp"

#include <fmt/format.h>

#include <iostream>

namespace graft::cli {

int cmd_config(const std::vector<std::string>& args) {
    GlobalOptions g;
    std::string file;
    std::vector<std::string> sets;
    po::options_description d("graft config options");
    d.add_options()("help,h", "show this help")("file", po::value(&file)->required(), "pipeline file")
        ("set", po::value(&sets)->composing()->value_name("KEY=VALUE"), "override a pipeline value");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse_args(args, d, pos, vm, "graft config FILE [--set KEY=VALUE...]")) return kOk;
    auto plugins = load_plugins(g);
    PipelineSpec spec = load_pipeline(file, sets, *plugins);
    std::cout << "# " << spec.file.string()
              << " fully resolved (precedence: stage defaults < file < --set)\n"
              << pipeline_to_toml(spec);
    return kOk;
}

namespace {

std::string param_line(const ParamSpec& p) {
    std::string s = fmt::format("  {:<18} {:<13}", p.name, p.type);
    if (p.required)
        s += " required";
    else if (p.default_value)
        s += " = " + p.default_value->dump();
    if (p.min || p.max)
        s += fmt::format("  [{}..{}]", p.min ? fmt::format("{}", *p.min) : "",
                         p.max ? fmt::format("{}", *p.max) : "");
    if (!p.choices.empty()) {
        std::string c;
        for (const auto& x : p.choices) c += (c.empty() ? "" : "|") + x;
        s += "  {" + c + "}";
    }
    s += "\n      " + p.doc;
    return s;
}

}  // namespace

int cmd_stages(const std::vector<std::string>& args) {
    GlobalOptions g;
    std::string type;
    po::options_description d("graft stages options");
    d.add_options()("help,h", "show this help")("type", po::value(&type), "a stage type")
        ("json", "print descriptors as JSON");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("type", 1);
    po::variables_map vm;
    if (!parse_args(args, d, pos, vm, "graft stages [TYPE] [--json]")) return kOk;
    auto plugins = load_plugins(g);
    if (type.empty()) {
        if (vm.count("json")) {
            nlohmann::json all = nlohmann::json::array();
            for (const auto& t : plugins->types()) all.push_back(descriptor_to_json(*plugins->find(t)));
            std::cout << all.dump(2) << "\n";
            return kOk;
        }
        for (const auto& t : plugins->types()) {
            const auto* desc = plugins->find(t);
            std::string doc = desc->doc.substr(0, desc->doc.find(". ") == std::string::npos
                                                      ? desc->doc.size()
                                                      : desc->doc.find(". ") + 1);
            fmt::print("{:<16} v{:<4} {}\n", t, desc->version, doc);
            fmt::print("{:<22} {}\n", "", plugins->library_path(t).filename().string());
        }
        for (const auto& p : plugins->problems())
            fmt::print("refused: {}: {}\n", p.file.string(), p.reason);
        return kOk;
    }
    const StageDescriptor* desc = plugins->find(type);
    if (!desc) {
        throw UsageError(fmt::format("no stage type '{}'{}", type,
                                     [&] {
                                         auto h = did_you_mean_hint(type, plugins->types());
                                         return h.empty() ? std::string() : "; " + h;
                                     }()));
    }
    if (vm.count("json")) {
        std::cout << descriptor_to_json(*desc).dump(2) << "\n";
        return kOk;
    }
    fmt::print("{} (version {}) from {}\n{}\n\n", desc->type, desc->version,
               plugins->library_path(type).string(), desc->doc);
    if (desc->exclusive)
        fmt::print("runs exclusively: never alongside another exclusive stage in one process (it uses "
                   "process-wide state such as LibTorch's random generator); gets the whole thread budget\n\n");
    fmt::print("inputs:{}\n", desc->variadic_inputs ? " any port names (files or directories)" : "");
    for (const auto& p : desc->inputs)
        fmt::print("  {:<18} {:<13} {}{}\n", p.name, p.type + " " + p.kind, p.doc,
                   p.optional ? " (optional)" : "");
    fmt::print("outputs:\n");
    for (const auto& p : desc->outputs) fmt::print("  {:<18} {:<13} {}\n", p.name, p.type + " " + p.kind, p.doc);
    fmt::print("params:\n");
    for (const auto& p : desc->params) fmt::print("{}\n", param_line(p));
    return kOk;
}

int cmd_dag(const std::vector<std::string>& args) {
    GlobalOptions g;
    std::string file;
    std::vector<std::string> sets;
    po::options_description d("graft dag options");
    d.add_options()("help,h", "show this help")("file", po::value(&file)->required(), "pipeline file")
        ("mermaid", "print a mermaid flowchart instead of Graphviz dot")
        ("set", po::value(&sets)->composing()->value_name("KEY=VALUE"), "override a pipeline value");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse_args(args, d, pos, vm, "graft dag FILE [--mermaid]")) return kOk;
    auto plugins = load_plugins(g);
    PipelineSpec spec = load_pipeline(file, sets, *plugins);
    StageGraph graph(spec);
    std::cout << (vm.count("mermaid") ? graph.to_mermaid(spec) : graph.to_dot(spec));
    return kOk;
}

}  // namespace graft::cli
