// `graft config`: the resolved pipeline printed back as TOML. The output parses back to the same
// spec (same stages, inputs and, after validation, the same resolved parameters), so it can be
// saved and run as a pipeline file of its own.
#include "core/spec/spec_detail.hpp"
#include "core/spec/pipeline_spec.hpp"
#include "core/spec/toml_detail.hpp"

#include <fmt/format.h>

#include <cmath>

namespace graft {
namespace {

std::string toml_key(const std::string& key) {
    return detail::is_simple_name(key) ? key : detail::toml_quote(key);
}

// Floats must keep a '.' or exponent, or TOML reads them back as integers.
std::string toml_float(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
    std::string s = fmt::format("{}", x);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
}

// TOML has no null: a null inside a table is left out (a top-level null param is written as a
// comment by the caller, and validation restores it from the default).
std::string toml_value(const json& v) {
    switch (v.type()) {
        case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
        case json::value_t::number_integer: return std::to_string(v.get<std::int64_t>());
        case json::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
        case json::value_t::number_float: return toml_float(v.get<double>());
        case json::value_t::string: return detail::toml_quote(v.get_ref<const std::string&>());
        case json::value_t::array: {
            std::string out = "[";
            for (const auto& e : v) {
                if (e.is_null()) continue;
                if (out.size() > 1) out += ", ";
                out += toml_value(e);
            }
            return out + "]";
        }
        case json::value_t::object: {
            std::string out;
            for (const auto& [k, e] : v.items()) {
                if (e.is_null()) continue;
                out += out.empty() ? "{ " : ", ";
                out += toml_key(k) + " = " + toml_value(e);
            }
            return out.empty() ? "{}" : out + " }";
        }
        default: return "\"\"";
    }
}

void print_stage(std::string& out, const StageSpec& st) {
    out += fmt::format("\n[stages.{}]\n", toml_key(st.id));
    out += fmt::format("uses = {}\n", detail::toml_quote(st.uses));
    if (st.exclusive) out += fmt::format("exclusive = {}\n", *st.exclusive ? "true" : "false");
    if (st.seed) out += fmt::format("seed = {}\n", *st.seed);
    if (!st.inputs.empty()) {
        std::string inputs;
        for (const auto& b : st.inputs) {
            inputs += inputs.empty() ? "{ " : ", ";
            inputs += toml_key(b.port) + " = " + detail::toml_quote(b.raw);
        }
        out += "inputs = " + inputs + " }\n";
    }
    // After validation: every parameter, defaults included; before: what was written.
    const json& params = st.descriptor ? st.resolved_params : st.params;
    if (params.empty()) return;
    out += fmt::format("\n[stages.{}.params]\n", toml_key(st.id));
    for (const auto& [name, value] : params.items()) {
        if (value.is_null())
            out += fmt::format("# {} is unset (null)\n", name);
        else
            out += fmt::format("{} = {}\n", toml_key(name), toml_value(value));
    }
}

}  // namespace

std::string pipeline_to_toml(const PipelineSpec& spec) {
    std::string out = "[pipeline]\n";
    out += fmt::format("name = {}\n", detail::toml_quote(spec.name));
    out += fmt::format("seed = {}\n", spec.seed);
    if (spec.sweep) {
        // The stages below are the sweep's variants; ids with '@' are generated, so this text is
        // for reading: run the original file.
        const SweepSpec& sw = *spec.sweep;
        out += fmt::format("\n# [sweep] expanded: {} variants of {} ranked by {}.{} ({})\n",
                           sw.variants.size(), sw.metric_stage, sw.metric_stage, sw.metric,
                           sw.maximize ? "max" : "min");
        for (const auto& v : sw.variants) out += "#   " + v.id + "\n";
    }
    for (const auto& st : spec.stages) print_stage(out, st);
    if (spec.report) {
        const ReportSpec& r = *spec.report;
        auto list = [](const std::vector<std::string>& xs) {
            std::string s = "[";
            for (const auto& x : xs) s += (s.size() > 1 ? ", " : "") + detail::toml_quote(x);
            return s + "]";
        };
        out += "\n[report]\n";
        if (!r.title.empty()) out += fmt::format("title = {}\n", detail::toml_quote(r.title));
        out += fmt::format("stages = {}\nmetrics = {}\n", list(r.stages), list(r.metrics));
    }
    return out;
}

}  // namespace graft
