// Expanding a sweep: grid points, and the copies of the affected stages (see sweep.hpp).
#include "core/spec/spec_detail.hpp"
#include "core/spec/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace graft::detail {
namespace {

// A grid larger than this is almost certainly a typo (and would not be run anyway).
constexpr std::size_t kMaxPoints = 10000;

// SplitMix64: fully specified, so a seed draws the same samples on every platform.
std::uint64_t splitmix(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::string safe_text(std::string s) {
    for (char& c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '.' || c == '+' || c == '-';
        if (!ok) c = '_';
    }
    return s;
}

}  // namespace

std::string sweep_value_text(const json& v) {
    if (v.is_string()) return safe_text(v.get<std::string>());
    if (v.is_number_float()) return fmt::format("{}", v.get<double>());
    if (v.is_object()) {  // {X = "1", Y = 2} -> X-1+Y-2
        std::string out;
        for (const auto& [k, e] : v.items())
            out += (out.empty() ? "" : "+") + safe_text(k) + "-" + sweep_value_text(e);
        return out;
    }
    return safe_text(v.dump());
}

std::vector<std::vector<std::size_t>> sweep_points(const SweepSpec& sweep, std::uint64_t seed) {
    std::size_t total = 1;
    for (const auto& p : sweep.params) total *= std::max<std::size_t>(p.values.size(), 1);
    std::vector<std::size_t> chosen(total);
    std::iota(chosen.begin(), chosen.end(), std::size_t{0});
    if (sweep.mode == SweepSpec::Mode::Random && sweep.samples < total) {
        std::uint64_t state = seed ^ 0x5357454550ULL;  // "SWEEP"
        for (std::size_t i = 0; i < sweep.samples; ++i) {  // partial Fisher-Yates
            const std::size_t j = i + static_cast<std::size_t>(splitmix(state) % (total - i));
            std::swap(chosen[i], chosen[j]);
        }
        chosen.resize(sweep.samples);
        std::sort(chosen.begin(), chosen.end());
    }
    std::vector<std::vector<std::size_t>> points;
    for (std::size_t flat : chosen) {
        std::vector<std::size_t> pt(sweep.params.size());
        for (std::size_t k = sweep.params.size(); k-- > 0;) {
            pt[k] = flat % sweep.params[k].values.size();
            flat /= sweep.params[k].values.size();
        }
        points.push_back(std::move(pt));
    }
    return points;
}

void expand_sweep(PipelineSpec& spec, std::vector<Diagnostic>& diags) {
    SweepSpec& sweep = *spec.sweep;
    const std::vector<std::string> ids = spec.stage_ids();
    const std::size_t before = diags.size();
    for (const auto& p : sweep.params)
        if (!spec.find(p.stage))
            diags.push_back({p.loc, fmt::format("sweep.params.\"{}.{}\"", p.stage, p.param),
                             fmt::format("unknown stage '{}'", p.stage),
                             "a stage of this pipeline: " + join(ids), did_you_mean_hint(p.stage, ids)});
    if (!sweep.metric_stage.empty() && !spec.find(sweep.metric_stage))
        diags.push_back({sweep.metric_loc, "sweep.metric",
                         fmt::format("unknown stage '{}'", sweep.metric_stage),
                         "a stage of this pipeline: " + join(ids),
                         did_you_mean_hint(sweep.metric_stage, ids)});
    std::size_t total = 1;
    for (const auto& p : sweep.params) total = std::min(total * p.values.size(), kMaxPoints + 1);
    if (total > kMaxPoints)
        diags.push_back({sweep.loc, "sweep.params", "the grid has more than 10000 points",
                         "at most 10000 combinations", "sweep fewer values, or use mode = \"random\""});
    if (diags.size() != before || sweep.params.empty()) return;

    // Which swept params each stage depends on (its own and its upstream's): a fixpoint over the
    // input bindings, so a cycle (reported by validation) cannot loop.
    std::map<std::string, std::set<std::size_t>> deps;
    for (std::size_t k = 0; k < sweep.params.size(); ++k) deps[sweep.params[k].stage].insert(k);
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& st : spec.stages)
            for (const auto& b : st.inputs) {
                if (b.kind != InputBinding::Kind::StageOutput || !deps.count(b.stage)) continue;
                auto& mine = deps[st.id];
                const std::size_t n = mine.size();
                const auto src = deps[b.stage];
                mine.insert(src.begin(), src.end());
                changed = changed || mine.size() != n;
            }
    }
    if (!sweep.metric_stage.empty() && !deps.count(sweep.metric_stage)) {
        diags.push_back({sweep.metric_loc, "sweep.metric",
                         fmt::format("stage '{}' does not depend on any swept parameter",
                                     sweep.metric_stage),
                         "a swept stage or one downstream of it",
                         "name a metric of a stage that consumes the swept stages' outputs"});
        return;
    }

    const auto points = sweep_points(sweep, spec.seed);
    // The id of stage `id`'s copy for grid point `pt`, and the values it carries.
    auto variant_id = [&](const std::string& id, const std::vector<std::size_t>& pt, json* carried) {
        std::string out = id + "@";
        bool first = true;
        for (std::size_t k : deps.at(id)) {
            const SweepParam& p = sweep.params[k];
            out += fmt::format("{}{}={}", first ? "" : ",", p.label, sweep_value_text(p.values[pt[k]]));
            if (carried) (*carried)[p.label] = p.values[pt[k]];
            first = false;
        }
        return out;
    };

    std::vector<StageSpec> expanded;
    for (const auto& st : spec.stages) {
        if (!deps.count(st.id)) {
            expanded.push_back(st);
            continue;
        }
        std::map<std::string, std::string> made;  // variant id -> the values it carries
        for (const auto& pt : points) {
            StageSpec copy = st;
            copy.variant_of = st.id;
            copy.variant_params = json::object();
            copy.id = variant_id(st.id, pt, &copy.variant_params);
            const auto [it, fresh] = made.emplace(copy.id, copy.variant_params.dump());
            if (!fresh) {
                if (it->second != copy.variant_params.dump())  // strings differing in '_'-ed chars
                    diags.push_back({sweep.loc, "sweep.params",
                                     fmt::format("two variants of stage '{}' get the id '{}'",
                                                 st.id, copy.id),
                                     "swept values that differ in [A-Za-z0-9_.+-]",
                                     "variant ids replace other characters by '_'"});
                continue;
            }
            for (std::size_t k : deps.at(st.id)) {
                const SweepParam& p = sweep.params[k];
                if (p.stage != st.id) continue;
                copy.params[p.param] = p.values[pt[k]];
                copy.param_locs[p.param] = p.value_locs[pt[k]];
            }
            for (auto& b : copy.inputs) {
                if (b.kind != InputBinding::Kind::StageOutput || !deps.count(b.stage)) continue;
                b.stage = variant_id(b.stage, pt, nullptr);
                b.raw = b.stage + "." + b.output;
            }
            if (st.id == sweep.metric_stage) sweep.variants.push_back({copy.id, copy.variant_params});
            expanded.push_back(std::move(copy));
        }
    }
    spec.stages = std::move(expanded);
}

}  // namespace graft::detail
