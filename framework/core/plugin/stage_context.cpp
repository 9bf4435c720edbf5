#include "core/plugin/stage_context.hpp"

namespace graft {

StageContext::StageContext(StageRunSpec spec, LogSink log, ProgressSink progress)
    : spec_(std::move(spec)), log_(std::move(log)), progress_(std::move(progress)) {
    // Keep the strings alive for the whole run: the plugin receives raw pointers into them.
    for (const auto& [port, path] : spec_.inputs) {
        input_strs_[port] = path.string();
        input_names_.push_back(port);
    }
    for (const auto& [port, path] : spec_.outputs) output_strs_[port] = path.string();
    scratch_str_ = spec_.scratch_dir.string();
    pipeline_dir_str_ = spec_.pipeline_dir.string();
}

const char* StageContext::params_json() const noexcept { return spec_.params_json.c_str(); }

const char* StageContext::input(const char* port) const noexcept {
    if (!port) return nullptr;
    auto it = input_strs_.find(port);
    return it == input_strs_.end() ? nullptr : it->second.c_str();
}

std::size_t StageContext::input_count() const noexcept { return input_names_.size(); }

const char* StageContext::input_name(std::size_t index) const noexcept {
    return index < input_names_.size() ? input_names_[index].c_str() : nullptr;
}

const char* StageContext::output(const char* port) const noexcept {
    if (!port) return nullptr;
    auto it = output_strs_.find(port);
    return it == output_strs_.end() ? nullptr : it->second.c_str();
}

const char* StageContext::scratch_dir() const noexcept { return scratch_str_.c_str(); }
const char* StageContext::stage_id() const noexcept { return spec_.stage_id.c_str(); }
const char* StageContext::pipeline_dir() const noexcept { return pipeline_dir_str_.c_str(); }
std::uint64_t StageContext::seed() const noexcept { return spec_.seed; }
int StageContext::threads() const noexcept { return spec_.threads; }

bool StageContext::cancelled() const noexcept {
    return spec_.cancel && spec_.cancel->load(std::memory_order_relaxed);
}

void StageContext::log(abi::LogLevel level, const char* message) noexcept {
    try {
        if (log_) log_(level, message ? message : "");
    } catch (...) {  // a sink failure must not reach the plugin
    }
}

void StageContext::progress(std::uint64_t done, std::uint64_t total, const char* unit) noexcept {
    try {
        if (progress_) progress_(done, total, unit ? unit : "");
    } catch (...) {
    }
}

void StageContext::metric(const char* name, double value) noexcept {
    try {
        std::lock_guard lock(mu_);
        if (name) metrics_[name] = value;
    } catch (...) {
    }
}

void StageContext::fail(const char* message) noexcept {
    try {
        std::lock_guard lock(mu_);
        error_ = message ? message : "stage failed";
    } catch (...) {
    }
}

std::map<std::string, double> StageContext::metrics() const {
    std::lock_guard lock(mu_);
    return metrics_;
}

std::string StageContext::error() const {
    std::lock_guard lock(mu_);
    return error_;
}

nlohmann::json apply_param_defaults(const StageDescriptor& d, const nlohmann::json& params) {
    nlohmann::json out = params.is_object() ? params : nlohmann::json::object();
    for (const auto& p : d.params)
        if (!out.contains(p.name) && p.default_value) out[p.name] = *p.default_value;
    return out;
}

}  // namespace graft
