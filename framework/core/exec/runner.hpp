// Runs a validated pipeline: selects stages, asks the planner what is out of date, runs what is
// on the executor (independent stages in parallel), publishes results, and writes the lock file
// and a run record. A failing stage stops its dependents; with keep_going unrelated branches
// finish. On interruption nothing half-written is published.
#pragma once

#include "core/cache/disk.hpp"
#include "core/cache/workspace.hpp"
#include "core/exec/clock.hpp"
#include "core/exec/status.hpp"
#include "core/plugin/plugin_host.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <atomic>
#include <string>
#include <vector>

namespace graft {

struct RunOptions {
    std::vector<std::string> targets;  // run these and their upstream (empty = every stage)
    bool only = false;                 // run the targets alone; upstream outputs come from the cache
    std::vector<std::string> force;    // rerun these even when cached
    bool force_all = false;
    int jobs = 1;                      // stages at once
    int threads = 0;                   // total thread budget (0 = hardware threads)
    bool keep_going = false;
    bool dry_run = false;
    std::vector<std::string> argv;     // for the run record
};

struct RunResult {
    int exit_code = 0;  // 0 ok, 1 a stage failed, 130 interrupted
    std::vector<StageReport> reports;
    std::string run_id;  // empty for a dry run
};

// graft.lock for pipeline.toml; <stem>.graft.lock for any other pipeline file name, so several
// pipelines can share a directory (and its workspace).
fs::path lock_path_for(const fs::path& pipeline_file);
// .graft beside the pipeline file.
fs::path default_workspace_for(const fs::path& pipeline_file);

class Runner {
public:
    Runner(PipelineSpec& spec, const PluginHost& plugins, WorkspacePaths ws, Disk& disk,
           Clock& clock, StatusSink& status, const std::atomic<bool>* cancel);
    // Throws PipelineError for unknown targets / missing cached upstream (exit 2).
    RunResult run(const RunOptions& opts);

private:
    PipelineSpec& spec_;
    const PluginHost& plugins_;
    WorkspacePaths ws_;
    Disk& disk_;
    Clock& clock_;
    StatusSink& status_;
    const std::atomic<bool>* cancel_;
};

}  // namespace graft
