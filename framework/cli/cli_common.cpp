#include "cli_common.hpp"

#include "core/exec/runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace graft::cli {

po::options_description global_options(GlobalOptions& g) {
    po::options_description d("Global options");
    d.add_options()
        ("workspace,w", po::value(&g.workspace)->value_name("DIR"),
         "workspace directory (cache, runs, locks); default: .graft beside the pipeline file")
        ("plugin-path", po::value(&g.plugin_path)->composing()->value_name("DIR"),
         "extra plugin directory, searched before $GRAFT_PLUGIN_PATH (repeatable)")
        ("verbose,v", "show debug output of stages")
        ("quiet,q", "show only errors and the summary of failures");
    return d;
}

std::unique_ptr<PluginHost> load_plugins(const GlobalOptions& g) {
    auto host = std::make_unique<PluginHost>(PluginHost::default_descriptor_cache());
    std::vector<std::filesystem::path> dirs(g.plugin_path.begin(), g.plugin_path.end());
    for (const auto& d : PluginHost::default_search_path()) dirs.push_back(d);
    host->discover(dirs);
    for (const auto& p : host->problems())
        spdlog::get("plugin")->warn("{}: {}", p.file.string(), p.reason);
    if (host->types().empty())
        spdlog::get("plugin")->warn(
            "no stage plugins found (searched --plugin-path, $GRAFT_PLUGIN_PATH, the install prefix, {} and {})",
            dirs.size() > 1 ? dirs[dirs.size() - 2].string() : "", dirs.empty() ? "" : dirs.back().string());
    return host;
}

PipelineSpec load_pipeline(const std::string& file, const std::vector<std::string>& sets,
                           const PluginHost& plugins) {
    std::vector<Override> overrides;
    int index = 0;
    for (const auto& s : sets) overrides.push_back(parse_override(s, ++index));
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        throw PipelineError(Diagnostic{{file, 0, 0}, "", "pipeline file not found", "a pipeline.toml path", ""});
    PipelineSpec spec = parse_pipeline(file, overrides);  // messages show the path as typed
    validate_pipeline(spec, plugins);
    return spec;
}

WorkspacePaths workspace_for(const GlobalOptions& g, const PipelineSpec& spec) {
    if (!g.workspace.empty()) return WorkspacePaths{std::filesystem::absolute(g.workspace)};
    return WorkspacePaths{default_workspace_for(spec.file)};
}

WorkspacePaths workspace_from(const GlobalOptions& g, const std::string& file) {
    if (!g.workspace.empty()) return {std::filesystem::absolute(g.workspace)};
    if (!file.empty()) return {default_workspace_for(std::filesystem::absolute(file))};
    return {std::filesystem::absolute(".graft")};
}

namespace {
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signals{0};

extern "C" void on_signal(int sig) {
    if (g_signals.fetch_add(1) >= 1) {
        // Second interrupt: leave now. Temp dirs are cleaned by the next run; nothing
        // half-written was ever published.
        const char msg[] = "\n[graft] interrupted twice: exiting now\n";
        [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(128 + sig);
    }
    g_interrupted.store(true);
    const char msg[] = "\n[graft] interrupted: stopping running stages (Ctrl-C again to exit at once)\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
}
}  // namespace

const std::atomic<bool>& install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return g_interrupted;
}

bool parse_args(const std::vector<std::string>& args, const po::options_description& visible,
                const po::positional_options_description& positional, po::variables_map& vm,
                const std::string& usage) {
    try {
        po::store(po::command_line_parser(args).options(visible).positional(positional).run(), vm);
    } catch (const po::error& e) {
        throw UsageError(fmt::format("{}\nusage: {}\n(see `graft help`)", e.what(), usage));
    }
    if (vm.count("help")) {
        std::cout << "usage: " << usage << "\n\n" << visible << "\n";
        return false;
    }
    po::notify(vm);
    return true;
}

}  // namespace graft::cli
