// [hpsearch] against the stage schemas, the search's identity, and points as parameter values.
#include "core/spec/dag.hpp"
#include "core/spec/hpsearch.hpp"
#include "core/spec/spec_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace graft {
namespace {

using detail::join;

const char* kind_word(HpParam::Kind k) {
    switch (k) {
        case HpParam::Kind::Float: return "float";
        case HpParam::Kind::Int: return "int";
        default: return "choice";
    }
}

class HpValidator {
public:
    explicit HpValidator(PipelineSpec& spec) : spec_(spec), search_(*spec.hpsearch) {}

    std::vector<Diagnostic> run() {
        if (spec_.sweep)
            error(search_.loc, "hpsearch",
                  "[hpsearch] and [sweep] cannot share a pipeline file",
                  "one of them", "put the search in a copy of the file without [sweep]");
        const auto ids = spec_.stage_ids();
        const StageGraph graph(spec_);
        std::vector<std::size_t> needed;  // what the metric stage depends on
        if (const StageSpec* m = spec_.find(search_.metric_stage)) {
            if (auto i = graph.index(m->id)) needed = graph.with_upstream({*i});
        } else if (!search_.metric_stage.empty()) {
            std::string hint = did_you_mean_hint(search_.metric_stage, ids);
            error(search_.metric_loc, "hpsearch.metric",
                  fmt::format("no stage '{}' reports the metric", search_.metric_stage),
                  "one of: " + join(ids), hint);
        }
        for (const auto& p : search_.params) check_param(p, ids, graph, needed);
        if (!search_.has_seed) search_.seed = spec_.seed;
        detail::sort_by_location(diags_);
        return std::move(diags_);
    }

private:
    void error(SourceLoc loc, std::string key, std::string message, std::string expected = {},
               std::string hint = {}) {
        diags_.push_back({std::move(loc), std::move(key), std::move(message), std::move(expected),
                          std::move(hint)});
    }

    void check_param(const HpParam& p, const std::vector<std::string>& ids, const StageGraph& graph,
                     const std::vector<std::size_t>& needed) {
        const std::string key = fmt::format("hpsearch.params.\"{}\"", p.name);
        const StageSpec* st = spec_.find(p.stage);
        if (!st) {
            const auto best = did_you_mean(p.stage, ids);
            error(p.loc, key, fmt::format("no stage '{}' in the pipeline", p.stage),
                  "one of: " + join(ids),
                  best ? fmt::format("did you mean '{}{}'?", *best, p.name.substr(p.stage.size())) : "");
            return;
        }
        if (!st->descriptor) return;  // its unknown type is reported by validate_pipeline
        const StageDescriptor& d = *st->descriptor;
        const ParamSpec* ps = d.find_param(p.param);
        if (!ps) {
            std::vector<std::string> names;
            for (const auto& q : d.params) names.push_back(q.name);
            const auto best = did_you_mean(p.param, names);
            error(p.loc, key,
                  fmt::format("stage '{}' (type '{}') has no parameter '{}'", st->id, d.type, p.param),
                  names.empty() ? std::string("a stage with parameters") : "one of: " + join(names),
                  best ? fmt::format("did you mean '{}.{}'?", st->id, *best) : "");
            return;
        }
        if (const auto i = graph.index(st->id);
            i && !needed.empty() && std::find(needed.begin(), needed.end(), *i) == needed.end())
            error(p.loc, key,
                  fmt::format("the metric stage '{}' does not depend on stage '{}', so '{}' "
                              "cannot change the metric",
                              search_.metric_stage, st->id, p.name),
                  fmt::format("a parameter of '{}' or of a stage upstream of it", search_.metric_stage),
                  "search a parameter the metric depends on, or measure another stage's metric");
        if (!p.key.empty()) {
            if (ps->type != "table" && ps->type != "any")
                error(p.loc, key,
                      fmt::format("'{}' is a {} parameter, not a table, so it has no entry '{}'",
                                  p.param, ps->type, p.key),
                      fmt::format("\"{}.{}\"", st->id, p.param), "drop the last part of the name");
            return;  // entries of a table have no schema to check against
        }
        if (ps->type == "table") {
            error(p.loc, key, fmt::format("'{}' is a table parameter", p.param),
                  fmt::format("one entry of it: \"{}.{}.<key>\"", st->id, p.param),
                  fmt::format("e.g. \"{}.{}.NAME\" = {{ min = 1, max = 8, int = true }}", st->id, p.param));
            return;
        }
        if (p.kind == HpParam::Kind::Choice) {
            for (const auto& c : p.choices)
                if (auto problem = detail::check_param_value(*ps, c, nullptr))
                    error(p.value_loc, key,
                          fmt::format("choice {} does not fit parameter '{}' of stage type '{}': {}",
                                      detail::describe_value(c), p.param, d.type, problem->message),
                          problem->expected, problem->hint);
            return;
        }
        const bool numeric = ps->type == "int" || ps->type == "float" || ps->type == "any";
        if (!numeric) {
            error(p.value_loc, key,
                  fmt::format("a numeric range for '{}', a {} parameter", p.param, ps->type),
                  "min/max only for int and float parameters",
                  ps->choices.empty() ? "list the values to try: { choices = [...] }"
                                      : "list the values to try: { choices = [\"" + join(ps->choices, "\", \"") + "\"] }");
            return;
        }
        if (ps->type == "int" && p.kind == HpParam::Kind::Float) {
            error(p.value_loc, key,
                  fmt::format("'{}' of stage type '{}' is an integer parameter but the range is not", p.param, d.type),
                  "int = true", "add int = true to the range");
            return;
        }
        for (const double bound : {p.low, p.high}) {
            const json v = p.kind == HpParam::Kind::Int ? json(static_cast<std::int64_t>(bound)) : json(bound);
            if (auto problem = detail::check_param_value(*ps, v, nullptr)) {
                std::string range = "any value";
                if (ps->min && ps->max) range = fmt::format("[{}, {}]", *ps->min, *ps->max);
                else if (ps->min) range = fmt::format(">= {}", *ps->min);
                else if (ps->max) range = fmt::format("<= {}", *ps->max);
                error(p.value_loc, key,
                      fmt::format("the range [{}, {}] leaves what '{}' of stage type '{}' accepts: {}",
                                  p.low, p.high, p.param, d.type, problem->message),
                      "a range inside " + range, "narrow min/max (`graft stages " + d.type + "` lists the range)");
                return;
            }
        }
    }

    PipelineSpec& spec_;
    HpSearchSpec& search_;
    std::vector<Diagnostic> diags_;
};

json space_json(const HpParam& p) {
    json j = {{"name", p.name}, {"kind", kind_word(p.kind)}};
    if (p.kind == HpParam::Kind::Choice) {
        j["choices"] = p.choices;
    } else {
        j["min"] = p.low;
        j["max"] = p.high;
        j["log"] = p.log;
    }
    return j;
}

}  // namespace

void validate_hpsearch(PipelineSpec& spec) {
    if (!spec.hpsearch) return;
    auto diags = HpValidator(spec).run();
    if (!diags.empty()) throw PipelineError(std::move(diags));
}

json hpsearch_identity(const PipelineSpec& spec) {
    const HpSearchSpec& s = *spec.hpsearch;
    // The searched values as written in the file do not matter: every trial replaces them.
    PipelineSpec base = spec;
    base.hpsearch.reset();
    for (const auto& p : s.params) {
        StageSpec* st = base.find(p.stage);
        if (!st) continue;
        for (json* params : {&st->params, &st->resolved_params}) {
            if (!params->contains(p.param)) continue;
            if (p.key.empty())
                params->erase(p.param);
            else if ((*params)[p.param].is_object())
                (*params)[p.param].erase(p.key);
        }
    }
    json space = json::array();
    for (const auto& p : s.params) space.push_back(space_json(p));
    return json{{"pipeline", pipeline_to_toml(base)},
                {"metric", s.metric_stage + "." + s.metric},
                {"goal", s.maximize ? "max" : "min"},
                {"algorithm", s.algorithm == HpSearchSpec::Algorithm::Tpe ? "tpe" : "random"},
                {"startup_trials", s.startup_trials},
                {"candidates", s.candidates},
                {"gamma", s.gamma},
                {"seed", s.seed},
                {"params", std::move(space)}};
}

void apply_hpsearch_point(PipelineSpec& spec, const json& point) {
    for (const auto& p : spec.hpsearch->params) {
        StageSpec* st = spec.find(p.stage);
        if (!st || !point.contains(p.name)) continue;
        const json& v = point[p.name];
        if (p.key.empty()) {
            st->params[p.param] = v;
        } else {
            json& table = st->params[p.param];
            if (!table.is_object()) {
                auto r = st->resolved_params.find(p.param);
                table = r != st->resolved_params.end() && r->is_object() ? *r : json::object();
            }
            table[p.key] = v;
        }
        st->param_locs[p.param] = p.value_loc;
    }
}

std::string hpsearch_value_text(const json& v) {
    if (v.is_number_float()) return fmt::format("{}", v.get<double>());
    return v.dump();
}

std::vector<std::string> hpsearch_point_sets(const HpSearchSpec& search, const json& point) {
    std::vector<std::string> out;
    for (const auto& p : search.params) {
        if (!point.contains(p.name)) continue;
        std::string key = fmt::format("stages.{}.params.{}", p.stage, p.param);
        if (!p.key.empty()) key += "." + p.key;
        out.push_back(key + "=" + hpsearch_value_text(point[p.name]));
    }
    return out;
}

}  // namespace graft
