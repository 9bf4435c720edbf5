// Runs one stage of a real plugin library through the host's own loading and context code, for
// plugin tests. Params get their schema defaults; dir-kind output ports get an empty directory.
#pragma once

#include "core/plugin/plugin_host.hpp"
#include "core/plugin/stage_context.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace graft::testing {

struct StageRun {
    int status = -1;
    std::string error;
    std::map<std::string, double> metrics;
    std::vector<std::string> logs;                         // "info: message"
    std::map<std::string, std::filesystem::path> outputs;  // port -> written path
};

// The plugin host over the build tree's plugin directory, loaded once per test binary.
inline PluginHost& test_plugin_host() {
    static PluginHost host = [] {
        PluginHost h;
        h.discover({GRAFT_TEST_PLUGIN_DIR});
        return h;
    }();
    return host;
}

// Runs `type` with `params` (defaults filled in) and `inputs`; outputs are written under `out_dir`
// (one entry per output port, named after the port).
inline StageRun run_stage(const std::string& type, const nlohmann::json& params,
                          const std::map<std::string, std::filesystem::path>& inputs,
                          const std::filesystem::path& out_dir, std::uint64_t seed = 17,
                          const std::atomic<bool>* cancel = nullptr) {
    PluginHost& host = test_plugin_host();
    const StageDescriptor* d = host.find(type);
    if (!d) throw std::runtime_error("no stage type '" + type + "' in " GRAFT_TEST_PLUGIN_DIR);
    StageRunSpec spec;
    spec.stage_id = "test";
    spec.params_json = apply_param_defaults(*d, params).dump();
    spec.inputs = inputs;
    spec.scratch_dir = out_dir / ".scratch";
    spec.pipeline_dir = out_dir;
    spec.seed = seed;
    spec.cancel = cancel;
    std::filesystem::create_directories(spec.scratch_dir);
    for (const auto& port : d->outputs) {
        auto p = out_dir / port.name;
        if (port.kind == "dir") std::filesystem::create_directories(p);
        spec.outputs[port.name] = p;
    }
    StageRun run;
    run.outputs = spec.outputs;
    StageContext ctx(
        spec,
        [&](abi::LogLevel level, const std::string& msg) {
            static const char* names[] = {"trace", "debug", "info", "warn", "error"};
            run.logs.push_back(std::string(names[static_cast<int>(level)]) + ": " + msg);
        },
        [](std::uint64_t, std::uint64_t, const std::string&) {});
    StageHandle stage = host.create(type);
    run.status = stage->run(ctx);
    run.error = ctx.error();
    run.metrics = ctx.metrics();
    std::filesystem::remove_all(spec.scratch_dir);
    return run;
}

}  // namespace graft::testing
