// The host's implementation of abi::Context for one stage run. Used by the executor and by the
// plugin tests (which run a stage through exactly the same path the executor uses).
#pragma once

#include <graft/abi.hpp>

#include "core/spec/descriptor.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace graft {

struct StageRunSpec {
    std::string stage_id;
    std::string params_json;  // resolved params
    std::map<std::string, std::filesystem::path> inputs;   // port -> artifact path
    std::map<std::string, std::filesystem::path> outputs;  // port -> where to write
    std::filesystem::path scratch_dir;
    std::filesystem::path pipeline_dir;
    std::uint64_t seed = 0;
    int threads = 1;
    const std::atomic<bool>* cancel = nullptr;  // may be null
};

class StageContext final : public abi::Context {
public:
    using LogSink = std::function<void(abi::LogLevel, const std::string&)>;
    using ProgressSink = std::function<void(std::uint64_t, std::uint64_t, const std::string&)>;

    StageContext(StageRunSpec spec, LogSink log, ProgressSink progress);

    const char* params_json() const noexcept override;
    const char* input(const char* port) const noexcept override;
    std::size_t input_count() const noexcept override;
    const char* input_name(std::size_t index) const noexcept override;
    const char* output(const char* port) const noexcept override;
    const char* scratch_dir() const noexcept override;
    const char* stage_id() const noexcept override;
    const char* pipeline_dir() const noexcept override;
    std::uint64_t seed() const noexcept override;
    int threads() const noexcept override;
    bool cancelled() const noexcept override;
    void log(abi::LogLevel level, const char* message) noexcept override;
    void progress(std::uint64_t done, std::uint64_t total, const char* unit) noexcept override;
    void metric(const char* name, double value) noexcept override;
    void fail(const char* message) noexcept override;

    std::map<std::string, double> metrics() const;
    std::string error() const;

private:
    StageRunSpec spec_;
    std::map<std::string, std::string> input_strs_, output_strs_;
    std::vector<std::string> input_names_;
    std::string scratch_str_, pipeline_dir_str_;
    LogSink log_;
    ProgressSink progress_;
    mutable std::mutex mu_;
    std::map<std::string, double> metrics_;
    std::string error_;
};

// Fills every schema param missing from `params` with its default (no validation). For tests and
// `graft exec`; pipelines go through validate_pipeline, which also checks types.
nlohmann::json apply_param_defaults(const StageDescriptor& d, const nlohmann::json& params);

}  // namespace graft
