// [sweep] -> SweepSpec: mode, samples, metric, goal and the swept value lists.
#include "core/spec/spec_detail.hpp"
#include "core/spec/sweep.hpp"
#include "core/spec/toml_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace graft::detail {
namespace {

struct SweepParser {
    std::string file;
    std::vector<Diagnostic>& diags;
    SweepSpec sweep;

    SourceLoc loc(const toml::node& n) const { return loc_of(n, file); }
    void error(SourceLoc l, std::string key, std::string message, std::string expected,
               std::string hint = {}) {
        diags.push_back({std::move(l), std::move(key), std::move(message), std::move(expected),
                         std::move(hint)});
    }

    void add_param(const std::string& stage, const std::string& param, const SourceLoc& kloc,
                   const toml::node& v) {
        const std::string key = fmt::format("sweep.params.\"{}.{}\"", stage, param);
        const toml::array* arr = v.as_array();
        if (!arr || arr->empty()) {
            error(loc(v), key, arr ? "empty list of values" : "must be a list of values",
                  "a non-empty list, e.g. [1e-4, 3e-4]",
                  "a single value belongs in [stages." + stage + ".params]");
            return;
        }
        if (stage.empty() || param.empty()) {
            error(kloc, key, "a swept parameter is named \"<stage>.<param>\"",
                  "\"<stage>.<param>\" = [values]", "e.g. \"finetune.lr\" = [1e-4, 3e-4]");
            return;
        }
        SweepParam p;
        p.stage = stage;
        p.param = param;
        p.loc = kloc;
        for (const auto& e : *arr) {
            p.values.push_back(toml_to_json(e));
            p.value_locs.push_back(loc(e));
        }
        for (const auto& q : sweep.params)
            if (q.stage == stage && q.param == param)
                return error(kloc, key, "parameter swept twice", "each \"<stage>.<param>\" once");
        sweep.params.push_back(std::move(p));
    }

    void parse_params(const toml::node& node) {
        const toml::table* t = node.as_table();
        if (!t) {
            error(loc(node), "sweep.params", "must be a table", "[sweep.params] with \"<stage>.<param>\" = [values]");
            return;
        }
        for (auto&& [k, v] : *t) {
            const std::string name(k.str());
            const SourceLoc kloc{file, static_cast<int>(k.source().begin.line),
                                 static_cast<int>(k.source().begin.column)};
            if (const toml::table* sub = v.as_table()) {  // finetune.lr = [...] without quotes
                for (auto&& [pk, pv] : *sub)
                    add_param(name, std::string(pk.str()),
                              SourceLoc{file, static_cast<int>(pk.source().begin.line),
                                        static_cast<int>(pk.source().begin.column)},
                              pv);
                continue;
            }
            const std::size_t dot = name.find('.');
            if (dot == std::string::npos)
                add_param("", name, kloc, v);
            else
                add_param(name.substr(0, dot), name.substr(dot + 1), kloc, v);
        }
    }
};

}  // namespace

SweepSpec parse_sweep(const toml::node& node, const std::string& file,
                      std::vector<Diagnostic>& diags) {
    SweepParser p{file, diags, {}};
    p.sweep.loc = p.loc(node);
    const toml::table* t = node.as_table();
    if (!t) {
        p.error(p.sweep.loc, "sweep", "must be a table", "a [sweep] table");
        return p.sweep;
    }
    static const std::vector<std::string> allowed = {"mode", "samples", "metric", "goal", "params"};
    bool random = false;
    const toml::node* samples = nullptr;
    for (auto&& [k, v] : *t) {
        const std::string key = "sweep." + std::string(k.str());
        if (k == "mode") {
            const auto* s = v.as_string();
            if (s && (s->get() == "grid" || s->get() == "random"))
                random = s->get() == "random";
            else
                p.error(p.loc(v), key, "unknown sweep mode", "\"grid\" or \"random\"",
                        s ? did_you_mean_hint(s->get(), {"grid", "random"}) : "");
        } else if (k == "samples") {
            samples = &v;
            if (!v.is_integer() || v.as_integer()->get() < 1)
                p.error(p.loc(v), key, "must be a positive integer", "an integer >= 1",
                        "e.g. samples = 8");
            else
                p.sweep.samples = static_cast<std::size_t>(v.as_integer()->get());
        } else if (k == "metric") {
            p.sweep.metric_loc = p.loc(v);
            const auto* s = v.as_string();
            const std::string text = s ? s->get() : std::string();
            const std::size_t dot = text.find('.');
            if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) {
                p.error(p.loc(v), key, "must name \"<stage>.<metric>\"", "a string \"<stage>.<metric>\"",
                        "e.g. metric = \"evaluate.accuracy\"");
            } else {
                p.sweep.metric_stage = text.substr(0, dot);
                p.sweep.metric = text.substr(dot + 1);
            }
        } else if (k == "goal") {
            const auto* s = v.as_string();
            if (s && (s->get() == "max" || s->get() == "min"))
                p.sweep.maximize = s->get() == "max";
            else
                p.error(p.loc(v), key, "unknown goal", "\"max\" or \"min\"",
                        s ? did_you_mean_hint(s->get(), {"max", "min"}) : "");
        } else if (k == "params") {
            p.parse_params(v);
        } else {
            p.error(p.loc(v), key, fmt::format("unknown key '{}' in [sweep]", k.str()),
                    "one of: " + join(allowed), did_you_mean_hint(k.str(), allowed));
        }
    }
    p.sweep.mode = random ? SweepSpec::Mode::Random : SweepSpec::Mode::Grid;
    if (random && !samples)
        p.error(p.sweep.loc, "sweep.samples", "mode \"random\" needs a sample count",
                "samples = <N>", "add samples = 8 under [sweep]");
    if (!random && samples)
        p.error(p.loc(*samples), "sweep.samples", "samples only applies to mode \"random\"",
                "no samples with mode \"grid\"", "add mode = \"random\" or remove samples");
    if (!t->contains("params") || p.sweep.params.empty())
        p.error(p.sweep.loc, "sweep.params", "nothing to sweep",
                "[sweep.params] with \"<stage>.<param>\" = [values]",
                "e.g. \"finetune.lr\" = [1e-4, 3e-4]");
    if (!t->contains("metric"))
        p.error(p.sweep.loc, "sweep.metric", "missing the metric that ranks the variants",
                "metric = \"<stage>.<metric>\"", "e.g. metric = \"evaluate.accuracy\"");
    // toml++ keeps keys sorted; ids and columns follow the file's order.
    std::stable_sort(p.sweep.params.begin(), p.sweep.params.end(), [](const auto& a, const auto& b) {
        return std::tie(a.loc.line, a.loc.column) < std::tie(b.loc.line, b.loc.column);
    });
    // Labels: the param name, unless two swept params share it.
    std::map<std::string, int> uses;
    for (const auto& sp : p.sweep.params) ++uses[sp.param];
    for (auto& sp : p.sweep.params) sp.label = uses[sp.param] > 1 ? sp.stage + ":" + sp.param : sp.param;
    return p.sweep;
}

}  // namespace graft::detail
