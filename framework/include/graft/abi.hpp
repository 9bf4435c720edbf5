// graft plugin ABI: the only contract between the graft host and a stage plugin.
//
// Everything that crosses the shared-library boundary is a pure-virtual interface whose methods
// are noexcept and take or return only C types (const char*, integers, doubles). Structured data
// (descriptors, parameters) crosses as JSON text. The host checks `graft_abi_version` before it
// calls anything else in a plugin; bump GRAFT_ABI_VERSION on any change to this file.
//
// Plugin authors normally do not implement these interfaces by hand: graft/stage.hpp adapts a
// plain C++ class to them and exports the symbols (GRAFT_EXPORT_STAGES).
#pragma once

#include <boost/config.hpp>

#include <cstddef>
#include <cstdint>

#define GRAFT_ABI_VERSION 1

namespace graft::abi {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4 };

// What the host hands a stage for one run. Owned by the host; valid during Stage::run only.
class BOOST_SYMBOL_VISIBLE Context {
public:
    // The stage's resolved parameters: a JSON object with every schema parameter present
    // (defaults filled in, types already validated against the descriptor).
    virtual const char* params_json() const noexcept = 0;
    // Absolute path of the artifact bound to an input port, or nullptr if the port is unbound.
    virtual const char* input(const char* port) const noexcept = 0;
    // Bound input ports, in name order (lets variadic stages such as `shell` see every port).
    virtual std::size_t input_count() const noexcept = 0;
    virtual const char* input_name(std::size_t index) const noexcept = 0;
    // Where to write an output port: for a port of kind "file" a path that does not exist yet,
    // for kind "dir" an existing empty directory. nullptr for an unknown port.
    virtual const char* output(const char* port) const noexcept = 0;
    // A private scratch directory, removed after the run.
    virtual const char* scratch_dir() const noexcept = 0;
    // The stage id in the pipeline (e.g. "clean"); for messages only.
    virtual const char* stage_id() const noexcept = 0;
    // Directory of the pipeline file (for stages that resolve user paths in params).
    virtual const char* pipeline_dir() const noexcept = 0;
    // Deterministic per-stage seed derived from the pipeline seed and the stage id.
    virtual std::uint64_t seed() const noexcept = 0;
    // Threads this stage may use.
    virtual int threads() const noexcept = 0;
    // True once the user interrupted the run; long loops should poll it and return early.
    virtual bool cancelled() const noexcept = 0;
    virtual void log(LogLevel level, const char* message) noexcept = 0;
    // Progress of the current phase: `done` of `total` (0 = unknown) items of `unit`.
    virtual void progress(std::uint64_t done, std::uint64_t total, const char* unit) noexcept = 0;
    // A scalar result (accuracy, rows_dropped...). Recorded in the run record and graft.lock.
    virtual void metric(const char* name, double value) noexcept = 0;
    // Reason for a failure; the stage then returns non-zero from run().
    virtual void fail(const char* message) noexcept = 0;

protected:
    ~Context() = default;
};

// One instance runs one stage once. Created by Plugin::create, released with destroy() so that
// memory is freed by the library that allocated it.
class BOOST_SYMBOL_VISIBLE Stage {
public:
    // 0 on success. On failure the stage has called ctx.fail() with the reason.
    virtual int run(Context& ctx) noexcept = 0;
    virtual void destroy() noexcept = 0;

protected:
    ~Stage() = default;
};

// The plugin's entry object; a static object inside the library, never freed by the host.
class BOOST_SYMBOL_VISIBLE Plugin {
public:
    // JSON array of stage descriptors, one per stage type the library provides:
    // {"type","version","doc","inputs":[port],"outputs":[port],"params":[param],
    //  "variadic_inputs":bool}; port = {"name","type","kind":"file"|"dir","doc","optional"};
    // param = {"name","type","doc","default"?,"required","min"?,"max"?,"choices"?}.
    virtual const char* descriptors_json() const noexcept = 0;
    // A new stage of `type`, or nullptr with a reason written to `error` (NUL-terminated).
    virtual Stage* create(const char* type, char* error, std::size_t error_size) noexcept = 0;

protected:
    ~Plugin() = default;
};

using PluginEntry = Plugin*() noexcept;

}  // namespace graft::abi

// Exported symbol names (Boost.DLL aliases).
#define GRAFT_ABI_SYMBOL "graft_abi_version"
#define GRAFT_PLUGIN_SYMBOL "graft_plugin"
