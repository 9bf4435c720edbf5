// graft stage SDK: write a stage as a plain C++ class; this header adapts it to the plugin ABI
// (graft/abi.hpp). Everything here is inline and compiled into the plugin, so the host never sees
// a C++ type from the plugin, only the ABI interfaces.
//
//   class Upper final : public graft::sdk::StageImpl {
//   public:
//       static graft::sdk::Descriptor describe() {
//           return graft::sdk::Descriptor("text.upper", "1", "Upper-cases every line.")
//               .input("data", "jsonl", "rows to transform")
//               .output("data", "jsonl", "transformed rows")
//               .param_bool("strip", false, "strip surrounding whitespace");
//       }
//       void run(graft::sdk::RunContext& ctx) override { ... throw graft::sdk::StageError("...") }
//   };
//   GRAFT_EXPORT_STAGES(Upper)
#pragma once

#include <graft/abi.hpp>

#include <boost/dll/alias.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace graft::sdk {

using json = nlohmann::json;

// Thrown by a stage to fail with a message; any other exception fails the stage too.
class StageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by RunContext::check_cancelled() when the user interrupted the run.
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

// Builds the JSON descriptor the host validates pipelines against.
class Descriptor {
public:
    Descriptor(std::string type, std::string version, std::string doc) {
        j_ = {{"type", std::move(type)}, {"version", std::move(version)}, {"doc", std::move(doc)},
              {"inputs", json::array()},  {"outputs", json::array()},     {"params", json::array()},
              {"variadic_inputs", false}};
    }
    // Port types are free-form names ("jsonl", "model", "tokenizer", "metrics", "any"); an input
    // accepts an output of the same type, and "any" matches everything. kind: "file" or "dir".
    Descriptor& input(std::string name, std::string type, std::string doc, bool optional = false,
                      std::string kind = "file") {
        j_["inputs"].push_back(port(std::move(name), std::move(type), std::move(doc), optional,
                                    std::move(kind)));
        return *this;
    }
    Descriptor& input_dir(std::string name, std::string type, std::string doc,
                          bool optional = false) {
        return input(std::move(name), std::move(type), std::move(doc), optional, "dir");
    }
    Descriptor& output(std::string name, std::string type, std::string doc,
                       std::string kind = "file") {
        j_["outputs"].push_back(port(std::move(name), std::move(type), std::move(doc), false,
                                     std::move(kind)));
        return *this;
    }
    Descriptor& output_dir(std::string name, std::string type, std::string doc) {
        return output(std::move(name), std::move(type), std::move(doc), "dir");
    }
    // Leakage guard. augmented_output() marks the last declared output as carrying augmented
    // (synthetic) rows; refuses_augmented_input() marks the last declared input as one whose rows
    // must not derive from augmented rows (e.g. a split's input, whose rows end up in validation
    // and test sets). The validator rejects a pipeline in which such an input is downstream of
    // an augmented output, however many stages lie between them. In the descriptor JSON these
    // are the port fields "augmented" and "refuses_augmented" (absent = false).
    Descriptor& augmented_output() {
        if (j_["outputs"].empty())
            throw std::logic_error("augmented_output(): declare the output port first");
        j_["outputs"].back()["augmented"] = true;
        return *this;
    }
    Descriptor& refuses_augmented_input() {
        if (j_["inputs"].empty())
            throw std::logic_error("refuses_augmented_input(): declare the input port first");
        j_["inputs"].back()["refuses_augmented"] = true;
        return *this;
    }
    // The stage uses process-wide state that concurrent stages would share: LibTorch's global
    // random generator (dropout, initialisation) and its intra-op thread pool. graft never runs two
    // exclusive stages at once in one process, so a seeded result does not depend on `-j`, and a
    // running exclusive stage gets the whole thread budget. Descriptor JSON field "exclusive"
    // (absent = false).
    Descriptor& exclusive(bool on = true) {
        j_["exclusive"] = on;
        return *this;
    }
    // Accept input ports of any name (each bound to a file or directory of any type).
    Descriptor& variadic_inputs(bool on = true) {
        j_["variadic_inputs"] = on;
        return *this;
    }

    Descriptor& param_bool(std::string name, bool def, std::string doc) {
        return param(std::move(name), "bool", json(def), std::move(doc));
    }
    Descriptor& param_int(std::string name, std::int64_t def, std::string doc,
                          std::optional<double> min = {}, std::optional<double> max = {}) {
        return param(std::move(name), "int", json(def), std::move(doc), min, max);
    }
    Descriptor& param_float(std::string name, double def, std::string doc,
                            std::optional<double> min = {}, std::optional<double> max = {}) {
        return param(std::move(name), "float", json(def), std::move(doc), min, max);
    }
    Descriptor& param_string(std::string name, std::string def, std::string doc,
                             std::vector<std::string> choices = {}) {
        param(std::move(name), "string", json(std::move(def)), std::move(doc));
        if (!choices.empty()) j_["params"].back()["choices"] = std::move(choices);
        return *this;
    }
    // type: "bool" "int" "float" "string" "list<int>" "list<float>" "list<string>" "table" "any".
    // A param with no default (def = nullopt) is required.
    Descriptor& param(std::string name, std::string type, std::optional<json> def,
                      std::string doc, std::optional<double> min = {},
                      std::optional<double> max = {}) {
        json p = {{"name", std::move(name)}, {"type", std::move(type)}, {"doc", std::move(doc)},
                  {"required", !def.has_value()}};
        if (def) p["default"] = std::move(*def);
        if (min) p["min"] = *min;
        if (max) p["max"] = *max;
        j_["params"].push_back(std::move(p));
        return *this;
    }
    Descriptor& required(std::string name, std::string type, std::string doc) {
        return param(std::move(name), std::move(type), std::nullopt, std::move(doc));
    }

    const json& to_json() const { return j_; }
    const std::string& type() const { return j_["type"].get_ref<const std::string&>(); }

private:
    static json port(std::string name, std::string type, std::string doc, bool optional,
                     std::string kind) {
        return {{"name", std::move(name)}, {"type", std::move(type)}, {"doc", std::move(doc)},
                {"optional", optional},     {"kind", std::move(kind)}};
    }
    json j_;
};

// Typed, exception-based view of the ABI context for stage code.
class RunContext {
public:
    explicit RunContext(abi::Context& ctx) : ctx_(ctx), params_(json::parse(ctx.params_json())) {}

    const json& params() const { return params_; }
    template <class T>
    T param(const std::string& name) const {
        auto it = params_.find(name);
        if (it == params_.end()) throw StageError(fmt::format("missing parameter '{}'", name));
        try {
            return it->template get<T>();
        } catch (const json::exception& e) {
            throw StageError(fmt::format("parameter '{}': {}", name, e.what()));
        }
    }
    bool has_param(const std::string& name) const {
        auto it = params_.find(name);
        return it != params_.end() && !it->is_null();
    }

    std::filesystem::path input(const char* port) const {
        const char* p = ctx_.input(port);
        if (!p) throw StageError(fmt::format("input port '{}' is not connected", port));
        return p;
    }
    std::optional<std::filesystem::path> optional_input(const char* port) const {
        const char* p = ctx_.input(port);
        if (!p) return std::nullopt;
        return std::filesystem::path(p);
    }
    std::vector<std::string> input_names() const {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < ctx_.input_count(); ++i) names.emplace_back(ctx_.input_name(i));
        return names;
    }
    std::filesystem::path output(const char* port) const {
        const char* p = ctx_.output(port);
        if (!p) throw StageError(fmt::format("stage has no output port '{}'", port));
        return p;
    }
    std::filesystem::path scratch_dir() const { return ctx_.scratch_dir(); }
    std::filesystem::path pipeline_dir() const { return ctx_.pipeline_dir(); }
    std::string stage_id() const { return ctx_.stage_id(); }
    std::uint64_t seed() const { return ctx_.seed(); }
    int threads() const { return ctx_.threads(); }
    bool cancelled() const { return ctx_.cancelled(); }
    void check_cancelled() const {
        if (ctx_.cancelled()) throw Cancelled();
    }

    template <class... Args>
    void info(fmt::format_string<Args...> f, Args&&... args) {
        ctx_.log(abi::LogLevel::info, fmt::format(f, std::forward<Args>(args)...).c_str());
    }
    template <class... Args>
    void warn(fmt::format_string<Args...> f, Args&&... args) {
        ctx_.log(abi::LogLevel::warn, fmt::format(f, std::forward<Args>(args)...).c_str());
    }
    template <class... Args>
    void debug(fmt::format_string<Args...> f, Args&&... args) {
        ctx_.log(abi::LogLevel::debug, fmt::format(f, std::forward<Args>(args)...).c_str());
    }
    void progress(std::uint64_t done, std::uint64_t total, const char* unit) {
        ctx_.progress(done, total, unit);
    }
    void metric(const std::string& name, double value) { ctx_.metric(name.c_str(), value); }

    abi::Context& raw() { return ctx_; }

private:
    abi::Context& ctx_;
    json params_;
};

// Base class of a stage implementation. One instance runs once.
class StageImpl {
public:
    virtual ~StageImpl() = default;
    virtual void run(RunContext& ctx) = 0;
};

namespace detail {

inline void copy_error(char* dst, std::size_t size, std::string_view msg) noexcept {
    if (!dst || size == 0) return;
    std::size_t n = std::min(size - 1, msg.size());
    std::memcpy(dst, msg.data(), n);
    dst[n] = '\0';
}

template <class Impl>
class StageAdapter final : public abi::Stage {
public:
    int run(abi::Context& ctx) noexcept override {
        try {
            RunContext rc(ctx);
            Impl impl;
            impl.run(rc);
            return 0;
        } catch (const Cancelled&) {
            ctx.fail("cancelled");
        } catch (const std::exception& e) {
            ctx.fail(e.what());
        } catch (...) {
            ctx.fail("unknown exception");
        }
        return 1;
    }
    void destroy() noexcept override { delete this; }
};

struct Entry {
    std::string type;
    json descriptor;
    abi::Stage* (*make)();
};

template <class... Impls>
class PluginImpl final : public abi::Plugin {
public:
    PluginImpl() noexcept {
        try {
            json all = json::array();
            (add<Impls>(all), ...);
            descriptors_ = all.dump();
        } catch (const std::exception& e) {
            descriptors_.clear();
            init_error_ = e.what();
        }
    }
    const char* descriptors_json() const noexcept override {
        return descriptors_.empty() ? nullptr : descriptors_.c_str();
    }
    abi::Stage* create(const char* type, char* error, std::size_t error_size) noexcept override {
        try {
            if (!init_error_.empty()) {
                copy_error(error, error_size, init_error_);
                return nullptr;
            }
            for (const auto& e : entries_)
                if (type && e.type == type) return e.make();
            copy_error(error, error_size,
                       fmt::format("plugin provides no stage type '{}'", type ? type : ""));
        } catch (const std::exception& ex) {
            copy_error(error, error_size, ex.what());
        } catch (...) {
            copy_error(error, error_size, "unknown exception");
        }
        return nullptr;
    }

private:
    template <class Impl>
    void add(json& all) {
        Descriptor d = Impl::describe();
        all.push_back(d.to_json());
        entries_.push_back({d.type(), d.to_json(), +[]() -> abi::Stage* {
                                return new StageAdapter<Impl>();
                            }});
    }
    std::vector<Entry> entries_;
    std::string descriptors_;
    std::string init_error_;
};

}  // namespace detail
}  // namespace graft::sdk

// Exports the ABI version and the plugin entry for the listed StageImpl classes.
// Use exactly once per plugin library.
#define GRAFT_EXPORT_STAGES(...)                                                       \
    namespace graft_plugin_exports {                                                   \
    inline const int graft_abi_version_value = GRAFT_ABI_VERSION;                      \
    inline ::graft::abi::Plugin* graft_plugin_entry() noexcept {                       \
        static ::graft::sdk::detail::PluginImpl<__VA_ARGS__> plugin;                   \
        return &plugin;                                                                \
    }                                                                                  \
    }                                                                                  \
    BOOST_DLL_ALIAS(graft_plugin_exports::graft_abi_version_value, graft_abi_version)  \
    BOOST_DLL_ALIAS(graft_plugin_exports::graft_plugin_entry, graft_plugin)
