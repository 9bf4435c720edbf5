// Shared pieces of the graft command line: loading the pipeline and plugins, workspace resolution,
// exit codes, interrupt handling.
#pragma once

#include "core/cache/workspace.hpp"
#include "core/plugin/plugin_host.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <boost/program_options.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace graft::cli {

namespace po = boost::program_options;

enum ExitCode : int { kOk = 0, kStageFailed = 1, kUsage = 2, kInterrupted = 130 };

// Thrown for command-line mistakes (exit 2).
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct GlobalOptions {
    std::string workspace;                 // --workspace (default: .graft beside the pipeline)
    std::vector<std::string> plugin_path;  // --plugin-path (before $GRAFT_PLUGIN_PATH)
    int verbosity = 0;                     // -v / -q
};

po::options_description global_options(GlobalOptions& g);

// Plugins from --plugin-path, $GRAFT_PLUGIN_PATH, the build tree and the install prefix.
std::unique_ptr<PluginHost> load_plugins(const GlobalOptions& g);

// Parses, applies --set overrides, validates. Throws PipelineError (exit 2).
PipelineSpec load_pipeline(const std::string& file, const std::vector<std::string>& sets,
                           const PluginHost& plugins);

WorkspacePaths workspace_for(const GlobalOptions& g, const PipelineSpec& spec);
// For verbs that do not load the pipeline: --workspace, else .graft beside FILE, else ./.graft.
WorkspacePaths workspace_from(const GlobalOptions& g, const std::string& file);

// Installs SIGINT/SIGTERM handlers: the first sets the flag (stages stop, nothing half-written
// is published), the second exits at once.
const std::atomic<bool>& install_interrupt_handler();

// Parses the verb's arguments; prints help and returns false on --help.
bool parse_args(const std::vector<std::string>& args, const po::options_description& visible,
                const po::positional_options_description& positional, po::variables_map& vm,
                const std::string& usage);

// Verbs.
int cmd_run(const std::vector<std::string>& args, bool dry_run_verb, const std::vector<std::string>& argv);
int cmd_exec(const std::vector<std::string>& args, const std::vector<std::string>& argv);
int cmd_config(const std::vector<std::string>& args);
int cmd_stages(const std::vector<std::string>& args);
int cmd_dag(const std::vector<std::string>& args);
int cmd_runs(const std::vector<std::string>& args);
int cmd_metrics(const std::vector<std::string>& args);
int cmd_gc(const std::vector<std::string>& args);
int cmd_cache(const std::vector<std::string>& args);
int cmd_hpsearch(const std::vector<std::string>& args, const std::vector<std::string>& argv);

}  // namespace graft::cli
