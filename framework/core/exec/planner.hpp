// Decides, per stage, whether it must run or can be restored from the run-cache, and records why
// (`graft plan --explain`, like ninja -d explain). The reasons compare the stage against its entry
// in the previous graft.lock: "param dedupe false -> true", "input data/raw.jsonl changed",
// "plugin text.clean rebuilt", "no cache entry".
#pragma once

#include "core/cache/action_cache.hpp"
#include "core/cache/lockfile.hpp"
#include "core/cache/object_store.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace graft {

struct Decision {
    enum class Action {
        Run,      // must run (key known)
        Restore,  // outputs restored from the run-cache
        Pending,  // dry run: an upstream stage runs first, so the key is not known yet
    };
    Action action = Action::Run;
    std::optional<Digest> key;
    std::map<std::string, Digest> input_digests;   // port -> artifact digest
    std::map<std::string, fs::path> input_paths;   // port -> where the stage reads it
    std::optional<ActionResult> cached;            // when Restore
    std::vector<std::string> reasons;
    std::uint64_t seed = 0;
    Digest plugin_digest;
};

// Digest of an upstream output once known; nullopt while that stage has yet to run.
using UpstreamLookup =
    std::function<std::optional<Digest>(const std::string& stage, const std::string& port)>;

class Planner {
public:
    struct Env {
        const PipelineSpec& spec;
        std::function<Digest(const std::string& stage_type)> plugin_digest;
        StatCache& stats;
        ActionCache& actions;
        ObjectStore& objects;
        const LockFile* previous = nullptr;  // graft.lock from the last run, if any
        std::string workspace_id;            // recorded in lock entries; see workspace_id()
    };
    explicit Planner(Env env) : env_(std::move(env)) {}

    Decision decide(const StageSpec& stage, const UpstreamLookup& upstream, bool forced);

    // The lock entry for a stage that ran or was restored.
    LockEntry lock_entry(const StageSpec& stage, const Decision& d,
                         const std::map<std::string, Digest>& outputs,
                         const std::map<std::string, double>& metrics) const;

private:
    std::vector<std::string> diff_against_lock(const StageSpec& stage, const Decision& d) const;
    Env env_;
};

}  // namespace graft
