// Runs one stage once: private temp directory, the plugin's run(), then publication of every
// output into the object store and of the result into the run-cache. Used by the runner's workers
// and by `graft exec`. Never throws; a failure is reported in the result.
#pragma once

#include "core/cache/action_cache.hpp"
#include "core/cache/object_store.hpp"
#include "core/exec/clock.hpp"
#include "core/exec/temp_pool.hpp"
#include "core/plugin/plugin_host.hpp"
#include "core/plugin/stage_context.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <atomic>
#include <map>
#include <string>

namespace graft {

// A stage's temp directory holds these two: scratch space and the output slots (out/<port>).
inline constexpr const char* kScratchSubdir = "scratch";
inline constexpr const char* kOutputsSubdir = "out";

struct StageJob {
    const StageSpec* stage = nullptr;                  // validated
    std::map<std::string, fs::path> inputs;            // port -> artifact path
    Digest key;
    std::uint64_t seed = 0;
    int threads = 1;
    fs::path pipeline_dir;
};

struct StageJobResult {
    bool ok = false;
    bool cancelled = false;
    std::string error;
    std::map<std::string, Digest> outputs;
    std::map<std::string, double> metrics;
    double seconds = 0;
};

struct StageJobEnv {
    const PluginHost& plugins;
    ObjectStore& objects;
    ActionCache& actions;
    Clock& clock;
    const std::atomic<bool>* cancel = nullptr;
    StageContext::LogSink log;
    StageContext::ProgressSink progress;
    // Where the stage's temp directory comes from and goes back to; without a pool it is made
    // and removed for this stage alone.
    TempDirPool* temps = nullptr;
};

StageJobResult execute_stage(const StageJob& job, StageJobEnv& env);

// Deterministic per-stage seed: a stage's randomness changes with the pipeline seed and differs
// between stages, but does not depend on which other stages exist.
std::uint64_t stage_seed(std::uint64_t pipeline_seed, const std::string& stage_id);

}  // namespace graft
