#include "core/exec/stage_job.hpp"

#include <fmt/format.h>

#include <cstring>

namespace graft {

std::uint64_t stage_seed(std::uint64_t pipeline_seed, const std::string& stage_id) {
    Hasher h;
    h.field("seed", pipeline_seed).field("stage", stage_id);
    const Digest d = h.finish();
    std::uint64_t s = 0;
    std::memcpy(&s, d.bytes.data(), sizeof s);
    return s >> 1;  // keep it positive when a plugin stores it in a signed int64
}

namespace {

// Checks what the stage left in its output slots before anything is published.
std::string check_outputs(const StageDescriptor& d, const std::map<std::string, fs::path>& outs) {
    for (const auto& port : d.outputs) {
        const auto& p = outs.at(port.name);
        std::error_code ec;
        const auto st = fs::status(p, ec);
        if (port.kind == "file" && !fs::is_regular_file(st))
            return fmt::format("stage did not write its output '{}' (expected a file at {})",
                               port.name, p.string());
        if (port.kind == "dir" && !fs::is_directory(st))
            return fmt::format("stage removed its output directory '{}' ({})", port.name,
                               p.string());
    }
    return {};
}

}  // namespace

StageJobResult execute_stage(const StageJob& job, StageJobEnv& env) {
    StageJobResult result;
    const StageSpec& stage = *job.stage;
    const auto t0 = env.clock.steady_ns();
    fs::path tmp;
    try {
        tmp = env.temps ? env.temps->acquire(stage.id) : env.objects.make_temp_dir(stage.id);
        StageRunSpec spec;
        spec.stage_id = stage.id;
        spec.params_json = stage.resolved_params.dump();
        spec.inputs = job.inputs;
        spec.scratch_dir = tmp / kScratchSubdir;
        spec.pipeline_dir = job.pipeline_dir;
        spec.seed = job.seed;
        spec.threads = job.threads;
        spec.cancel = env.cancel;
        fs::create_directories(spec.scratch_dir);
        for (const auto& port : stage.descriptor->outputs) {
            auto p = tmp / kOutputsSubdir / port.name;
            if (port.kind == "dir")
                fs::create_directories(p);
            else
                fs::create_directories(p.parent_path());
            spec.outputs[port.name] = p;
        }
        StageContext ctx(spec, env.log, env.progress);
        int status = 0;
        {
            StageHandle handle = env.plugins.create(stage.uses);
            status = handle->run(ctx);
        }  // the stage object is destroyed (by its own library) before we publish
        result.metrics = ctx.metrics();
        if (env.cancel && env.cancel->load()) {
            result.cancelled = true;
            result.error = "cancelled";
        } else if (status != 0) {
            result.error = ctx.error().empty() ? fmt::format("stage returned {}", status)
                                               : ctx.error();
        } else if (auto bad = check_outputs(*stage.descriptor, spec.outputs); !bad.empty()) {
            result.error = bad;
        } else {
            for (const auto& [port, path] : spec.outputs)
                result.outputs[port] = env.objects.publish(path);
            result.seconds = static_cast<double>(env.clock.steady_ns() - t0) / 1e9;
            ActionResult ar;
            ar.stage_type = stage.uses;
            ar.stage_version = stage.descriptor->version;
            ar.outputs = result.outputs;
            ar.metrics = result.metrics;
            ar.seconds = result.seconds;
            ar.created_ns = env.clock.now_ns();
            env.actions.put(job.key, ar);
            result.ok = true;
        }
    } catch (const std::exception& e) {
        result.ok = false;
        result.error = e.what();
    }
    result.seconds = static_cast<double>(env.clock.steady_ns() - t0) / 1e9;
    // What is left is scratch and a failed run's outputs; published outputs were moved out.
    if (!tmp.empty() && env.temps) {
        env.temps->release(tmp);
    } else if (!tmp.empty()) {
        std::error_code ec;
        fs::remove_all(tmp, ec);
    }
    return result;
}

}  // namespace graft
