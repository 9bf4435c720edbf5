// [hpsearch] -> HpSearchSpec: metric, goal, budget, algorithm and the search spaces.
#include "core/spec/hpsearch_detail.hpp"
#include "core/spec/spec_detail.hpp"
#include "core/spec/sweep.hpp"  // toml_to_json
#include "core/spec/toml_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

namespace graft::detail {
namespace {

const std::vector<std::string>& space_keys() {
    static const std::vector<std::string> keys = {"min", "max", "log", "int", "choices"};
    return keys;
}

bool looks_like_space(const toml::table& t) {
    for (const auto& k : space_keys())
        if (t.contains(k)) return true;
    return false;
}

struct HpParser {
    std::string file;
    std::vector<Diagnostic>& diags;
    HpSearchSpec search;

    SourceLoc loc(const toml::node& n) const { return loc_of(n, file); }
    SourceLoc key_loc(const toml::key& k) const {
        if (k.source().begin.line == 0) return SourceLoc{file, 0, 0};
        return SourceLoc{file, static_cast<int>(k.source().begin.line),
                         static_cast<int>(k.source().begin.column)};
    }
    void error(SourceLoc l, std::string key, std::string message, std::string expected,
               std::string hint = {}) {
        diags.push_back({std::move(l), std::move(key), std::move(message), std::move(expected),
                         std::move(hint)});
    }

    // A positive integer key; 0 when wrong (reported).
    std::size_t positive(const toml::node& v, const std::string& key, long long min,
                         const std::string& example) {
        if (!v.is_integer() || v.as_integer()->get() < min) {
            error(loc(v), key,
                  v.is_integer() ? fmt::format("must be at least {}", min) : "must be an integer",
                  fmt::format("an integer >= {}", min), "e.g. " + example);
            return 0;
        }
        return static_cast<std::size_t>(v.as_integer()->get());
    }

    void parse_space(HpParam& p, const std::string& key, const toml::node& v) {
        p.value_loc = loc(v);
        if (const toml::array* arr = v.as_array()) {  // "s.p" = ["a", "b"]: shorthand for choices
            parse_choices(p, key, *arr);
            return;
        }
        const toml::table* t = v.as_table();
        if (!t) {
            error(loc(v), key, "must be a search space",
                  "{ min = ..., max = ... [, log = true] [, int = true] } or { choices = [...] }",
                  "e.g. { min = 1e-5, max = 1e-2, log = true }");
            return;
        }
        const toml::node* min = nullptr;
        const toml::node* max = nullptr;
        const toml::node* choices = nullptr;
        bool is_int = false;
        for (auto&& [k, sv] : *t) {
            const std::string sk = key + "." + std::string(k.str());
            if (k == "min") {
                min = &sv;
            } else if (k == "max") {
                max = &sv;
            } else if (k == "choices") {
                choices = &sv;
            } else if (k == "log" || k == "int") {
                if (!sv.is_boolean()) {
                    error(loc(sv), sk, "must be true or false", "a boolean",
                          fmt::format("e.g. {} = true", k.str()));
                    continue;
                }
                (k == "log" ? p.log : is_int) = sv.as_boolean()->get();
            } else {
                error(loc(sv), sk, fmt::format("unknown key '{}' in a search space", k.str()),
                      "one of: " + join(space_keys()), did_you_mean_hint(k.str(), space_keys()));
            }
        }
        if (choices) {
            if (min || max || p.log || is_int)
                error(loc(v), key, "a space has either choices or a range, not both",
                      "{ choices = [...] } or { min = ..., max = ... }",
                      "remove choices, or min/max/log/int");
            else if (const toml::array* arr = choices->as_array())
                parse_choices(p, key + ".choices", *arr);
            else
                error(loc(*choices), key + ".choices", "must be a list", "a non-empty list",
                      "e.g. choices = [\"full\", \"freeze_lower\"]");
            return;
        }
        if (!min || !max) {
            error(loc(v), key, fmt::format("the range has no {}", !min && !max ? "min and max" : !min ? "min" : "max"),
                  "{ min = ..., max = ... } or { choices = [...] }",
                  "e.g. { min = 1e-5, max = 1e-2, log = true }");
            return;
        }
        auto number = [&](const toml::node& n, const char* which) -> std::optional<double> {
            if (n.is_integer()) return static_cast<double>(n.as_integer()->get());
            if (n.is_floating_point() && std::isfinite(n.as_floating_point()->get()) && !is_int)
                return n.as_floating_point()->get();
            error(loc(n), fmt::format("{}.{}", key, which),
                  is_int ? "an int = true range needs integer bounds" : "must be a finite number",
                  is_int ? "an integer" : "a number",
                  is_int ? "write whole numbers, e.g. min = 1, max = 8" : "");
            return std::nullopt;
        };
        const auto lo = number(*min, "min");
        const auto hi = number(*max, "max");
        if (!lo || !hi) return;
        p.kind = is_int ? HpParam::Kind::Int : HpParam::Kind::Float;
        p.low = *lo;
        p.high = *hi;
        if (!(p.low < p.high)) {
            error(loc(*max), key + ".max",
                  fmt::format("the range is empty: max {} is not above min {}", p.high, p.low),
                  "min < max", "a fixed value belongs in the stage's [stages.<id>.params]");
            return;
        }
        if (p.log && p.low <= 0)
            error(loc(*min), key + ".min", "a log = true range must start above 0", "min > 0",
                  is_int ? "e.g. min = 1" : "e.g. min = 1e-5");
    }

    void parse_choices(HpParam& p, const std::string& key, const toml::array& arr) {
        p.kind = HpParam::Kind::Choice;
        if (arr.empty()) {
            error(loc(arr), key, "no choices", "a non-empty list", "e.g. [\"full\", \"freeze_lower\"]");
            return;
        }
        for (const auto& e : arr) {
            json v = toml_to_json(e);
            if (std::find(p.choices.begin(), p.choices.end(), v) != p.choices.end()) {
                error(loc(e), key, fmt::format("choice {} listed twice", describe_value(v)),
                      "distinct choices", "remove the repeated value");
                continue;
            }
            p.choices.push_back(std::move(v));
        }
    }

    void add_param(const std::string& name, const SourceLoc& kloc, const toml::node& v) {
        const std::string key = fmt::format("hpsearch.params.\"{}\"", name);
        std::vector<std::string> parts;
        std::size_t start = 0;
        for (;;) {
            const std::size_t dot = name.find('.', start);
            parts.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
            if (dot == std::string::npos) break;
            start = dot + 1;
        }
        const bool empty_part =
            std::any_of(parts.begin(), parts.end(), [](const std::string& s) { return s.empty(); });
        if (parts.size() < 2 || parts.size() > 3 || empty_part) {
            error(kloc, key, "a searched parameter is named \"<stage>.<param>\"",
                  "\"<stage>.<param>\" (or \"<stage>.<param>.<key>\" inside a table param)",
                  "e.g. \"train.lr\" = { min = 1e-5, max = 1e-2, log = true }");
            return;
        }
        for (const auto& q : search.params)
            if (q.name == name) {
                error(kloc, key, "parameter searched twice", "each \"<stage>.<param>\" once");
                return;
            }
        HpParam p;
        p.name = name;
        p.stage = parts[0];
        p.param = parts[1];
        if (parts.size() == 3) p.key = parts[2];
        p.loc = kloc;
        parse_space(p, key, v);
        search.params.push_back(std::move(p));
    }

    // Quoted "train.lr" keys, or dotted keys (train.lr = {...}) that TOML turns into nested tables.
    void collect(const toml::table& t, const std::string& prefix, int depth) {
        for (auto&& [k, v] : t) {
            const std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
            const toml::table* sub = v.as_table();
            if (sub && !looks_like_space(*sub) && depth < 2 && !sub->empty()) {
                collect(*sub, name, depth + 1);
                continue;
            }
            add_param(name, key_loc(k), v);
        }
    }
};

}  // namespace

HpSearchSpec parse_hpsearch(const toml::node& node, const std::string& file,
                            std::vector<Diagnostic>& diags) {
    HpParser p{file, diags, {}};
    p.search.loc = p.loc(node);
    const toml::table* t = node.as_table();
    if (!t) {
        p.error(p.search.loc, "hpsearch", "must be a table", "an [hpsearch] table");
        return p.search;
    }
    static const std::vector<std::string> allowed = {"metric", "goal", "trials", "startup_trials",
                                                     "algorithm", "seed", "gamma", "candidates",
                                                     "params"};
    for (auto&& [k, v] : *t) {
        const std::string key = "hpsearch." + std::string(k.str());
        if (k == "metric") {
            p.search.metric_loc = p.loc(v);
            const auto* s = v.as_string();
            const std::string text = s ? s->get() : std::string();
            const std::size_t dot = text.find('.');
            if (dot == std::string::npos || dot == 0 || dot + 1 == text.size())
                p.error(p.loc(v), key, "must name \"<stage>.<metric>\"",
                        "a string \"<stage>.<metric>\"", "e.g. metric = \"evaluate.accuracy\"");
            else {
                p.search.metric_stage = text.substr(0, dot);
                p.search.metric = text.substr(dot + 1);
            }
        } else if (k == "goal") {
            const auto* s = v.as_string();
            if (s && (s->get() == "max" || s->get() == "min"))
                p.search.maximize = s->get() == "max";
            else
                p.error(p.loc(v), key, "unknown goal", "\"max\" or \"min\"",
                        s ? did_you_mean_hint(s->get(), {"max", "min"}) : "");
        } else if (k == "algorithm") {
            const auto* s = v.as_string();
            if (s && (s->get() == "tpe" || s->get() == "random"))
                p.search.algorithm = s->get() == "tpe" ? HpSearchSpec::Algorithm::Tpe
                                                       : HpSearchSpec::Algorithm::Random;
            else
                p.error(p.loc(v), key, "unknown search algorithm", "\"tpe\" or \"random\"",
                        s ? did_you_mean_hint(s->get(), {"tpe", "random"}) : "");
        } else if (k == "trials") {
            if (auto n = p.positive(v, key, 1, "trials = 20")) p.search.trials = n;
        } else if (k == "startup_trials") {
            if (!v.is_integer() || v.as_integer()->get() < 0)
                p.error(p.loc(v), key, "must be a non-negative integer", "an integer >= 0",
                        "e.g. startup_trials = 5");
            else
                p.search.startup_trials = static_cast<std::size_t>(v.as_integer()->get());
        } else if (k == "candidates") {
            if (auto n = p.positive(v, key, 1, "candidates = 24")) p.search.candidates = n;
        } else if (k == "seed") {
            if (!v.is_integer() || v.as_integer()->get() < 0)
                p.error(p.loc(v), key, "must be a non-negative integer", "an integer >= 0",
                        "e.g. seed = 17");
            else {
                p.search.has_seed = true;
                p.search.seed = static_cast<std::uint64_t>(v.as_integer()->get());
            }
        } else if (k == "gamma") {
            const double g = v.is_floating_point() ? v.as_floating_point()->get()
                             : v.is_integer()      ? static_cast<double>(v.as_integer()->get())
                                                   : -1.0;
            if (!(g > 0 && g < 1))
                p.error(p.loc(v), key, "must be a fraction between 0 and 1", "0 < gamma < 1",
                        "e.g. gamma = 0.25 (the best quarter of the trials count as good)");
            else
                p.search.gamma = g;
        } else if (k == "params") {
            if (const toml::table* params = v.as_table())
                p.collect(*params, "", 0);
            else
                p.error(p.loc(v), key, "must be a table",
                        "[hpsearch.params] with \"<stage>.<param>\" = { ... }");
        } else {
            p.error(p.loc(v), key, fmt::format("unknown key '{}' in [hpsearch]", k.str()),
                    "one of: " + join(allowed), did_you_mean_hint(k.str(), allowed));
        }
    }
    const toml::node* params = t->get("params");
    if (!params || (params->is_table() && params->as_table()->empty()))
        p.error(p.search.loc, "hpsearch.params", "nothing to search",
                "[hpsearch.params] with \"<stage>.<param>\" = { ... }",
                "e.g. \"train.lr\" = { min = 1e-5, max = 1e-2, log = true }");
    if (!t->contains("metric"))
        p.error(p.search.loc, "hpsearch.metric", "missing the metric the search optimizes",
                "metric = \"<stage>.<metric>\"", "e.g. metric = \"evaluate.accuracy\"");
    // toml++ keeps keys sorted; the spec keeps the file's order.
    std::stable_sort(p.search.params.begin(), p.search.params.end(), [](const auto& a, const auto& b) {
        return std::tie(a.loc.line, a.loc.column) < std::tie(b.loc.line, b.loc.column);
    });
    return p.search;
}

}  // namespace graft::detail
