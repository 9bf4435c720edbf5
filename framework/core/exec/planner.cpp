#include "core/exec/planner.hpp"

#include "core/cache/cache_key.hpp"
#include "core/exec/stage_job.hpp"

#include <fmt/format.h>

#include <set>

namespace graft {

namespace {

std::string compact(const json& j) {
    std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::string input_label(const InputBinding& b) {
    return b.kind == InputBinding::Kind::Path ? "input " + b.raw : "upstream " + b.raw;
}

}  // namespace

Decision Planner::decide(const StageSpec& stage, const UpstreamLookup& upstream, bool forced) {
    Decision d;
    // A sweep variant draws the seed of the stage it was copied from, so variants differ only in
    // their swept params (same initialisation, same data order): a paired comparison.
    d.seed = stage_seed(stage.seed.value_or(env_.spec.seed),
                        stage.variant_of.empty() ? stage.id : stage.variant_of);
    d.plugin_digest = env_.plugin_digest(stage.uses);
    std::vector<std::string> pending;
    for (const auto& b : stage.inputs) {
        if (b.kind == InputBinding::Kind::Path) {
            d.input_digests[b.port] = env_.stats.digest(b.path);
            d.input_paths[b.port] = b.path;
        } else if (auto dig = upstream(b.stage, b.output)) {
            d.input_digests[b.port] = *dig;
            d.input_paths[b.port] = env_.objects.object_path(*dig);
        } else {
            pending.push_back(b.stage);
        }
    }
    if (!pending.empty()) {
        d.action = Decision::Action::Pending;
        std::sort(pending.begin(), pending.end());
        pending.erase(std::unique(pending.begin(), pending.end()), pending.end());
        for (const auto& p : pending)
            d.reasons.push_back(fmt::format(
                "upstream '{}' runs first (this stage is skipped if its output comes out "
                "unchanged)",
                p));
        return d;
    }
    KeyFields f;
    f.stage_type = stage.uses;
    f.stage_version = stage.descriptor ? stage.descriptor->version : "";
    f.plugin_digest = d.plugin_digest;
    f.params = stage.resolved_params;
    f.inputs = d.input_digests;
    f.seed = d.seed;
    d.key = compute_cache_key(f);

    auto diffs = diff_against_lock(stage, d);
    if (forced) {
        d.action = Decision::Action::Run;
        d.reasons.push_back("forced (--force)");
        d.reasons.insert(d.reasons.end(), diffs.begin(), diffs.end());
        return d;
    }
    if (auto hit = env_.actions.get(*d.key)) {
        d.action = Decision::Action::Restore;
        d.cached = std::move(hit);
        const LockEntry* prev = nullptr;
        if (env_.previous) {
            auto it = env_.previous->stages.find(stage.id);
            if (it != env_.previous->stages.end()) prev = &it->second;
        }
        if (prev && prev->key == *d.key) {
            d.reasons.push_back("up to date");
        } else {
            d.reasons.push_back("restored from the run-cache (this exact configuration ran before)");
            d.reasons.insert(d.reasons.end(), diffs.begin(), diffs.end());
        }
        return d;
    }
    d.action = Decision::Action::Run;
    d.reasons = std::move(diffs);
    if (d.reasons.empty()) d.reasons.push_back("no cache entry");
    return d;
}

std::vector<std::string> Planner::diff_against_lock(const StageSpec& stage, const Decision& d) const {
    std::vector<std::string> why;
    const LockEntry* prev = nullptr;
    if (env_.previous) {
        auto it = env_.previous->stages.find(stage.id);
        if (it != env_.previous->stages.end()) prev = &it->second;
    }
    if (!prev) {
        why.push_back("no previous run recorded in the lock file");
        return why;
    }
    if (prev->stage_type != stage.uses)
        why.push_back(fmt::format("stage type {} -> {}", prev->stage_type, stage.uses));
    else if (stage.descriptor && prev->stage_version != stage.descriptor->version)
        why.push_back(fmt::format("stage {} version {} -> {}", stage.uses, prev->stage_version,
                                  stage.descriptor->version));
    if (prev->plugin_digest != d.plugin_digest)
        why.push_back(fmt::format("plugin {} rebuilt", stage.uses));
    std::set<std::string> names;
    for (const auto& [k, _] : prev->params.items()) names.insert(k);
    for (const auto& [k, _] : stage.resolved_params.items()) names.insert(k);
    for (const auto& name : names) {
        const bool had = prev->params.contains(name), has = stage.resolved_params.contains(name);
        if (had && has && prev->params[name] != stage.resolved_params[name])
            why.push_back(fmt::format("param {} {} -> {}", name, compact(prev->params[name]),
                                      compact(stage.resolved_params[name])));
        else if (!had && has)
            why.push_back(fmt::format("param {} added = {}", name, compact(stage.resolved_params[name])));
        else if (had && !has)
            why.push_back(fmt::format("param {} removed", name));
    }
    if (prev->seed != d.seed) why.push_back("seed changed");
    for (const auto& b : stage.inputs) {
        auto it = prev->inputs.find(b.port);
        if (it == prev->inputs.end()) {
            why.push_back(fmt::format("new input {} = {}", b.port, b.raw));
        } else if (it->second.source != b.raw) {
            why.push_back(fmt::format("input {} now {} (was {})", b.port, b.raw, it->second.source));
        } else if (it->second.digest != d.input_digests.at(b.port)) {
            why.push_back(fmt::format("{} changed", input_label(b)));
        }
    }
    for (const auto& [port, _] : prev->inputs)
        if (!stage.find_input(port)) why.push_back(fmt::format("input {} removed", port));
    if (why.empty() && d.key && prev->key == *d.key) {
        if (!prev->workspace.empty() && prev->workspace != env_.workspace_id)
            why.push_back("never run in this workspace (graft.lock's entry is from workspace " +
                          prev->workspace + "; `graft cache import` copies results across)");
        else
            why.push_back("cache entry missing (removed by `graft gc`?)");
    }
    else if (why.empty())
        why.push_back("cache key format changed");
    return why;
}

LockEntry Planner::lock_entry(const StageSpec& stage, const Decision& d,
                              const std::map<std::string, Digest>& outputs,
                              const std::map<std::string, double>& metrics) const {
    LockEntry e;
    e.stage_type = stage.uses;
    e.stage_version = stage.descriptor ? stage.descriptor->version : "";
    e.plugin_digest = d.plugin_digest;
    e.key = d.key.value_or(Digest{});
    e.params = stage.resolved_params;
    e.seed = d.seed;
    for (const auto& b : stage.inputs) e.inputs[b.port] = LockInput{b.raw, d.input_digests.at(b.port)};
    e.outputs = outputs;
    e.metrics = metrics;
    e.workspace = env_.workspace_id;
    return e;
}

}  // namespace graft
