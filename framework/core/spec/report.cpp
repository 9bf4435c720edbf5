// [report]: parsing, validation and the results table.
#include "core/spec/report.hpp"
#include "core/spec/report_detail.hpp"
#include "core/spec/toml_detail.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace graft {
namespace detail {
namespace {

// A list of non-empty strings; problems go to `diags`.
std::vector<std::string> string_list(const toml::node& v, const std::string& file, const std::string& key,
                                     const std::string& example, std::vector<SourceLoc>* locs,
                                     std::vector<Diagnostic>& diags) {
    std::vector<std::string> out;
    const toml::array* arr = v.as_array();
    if (!arr || arr->empty()) {
        diags.push_back({loc_of(v, file), key, arr ? "empty list" : "must be a list of strings",
                         "a non-empty list of strings, e.g. " + example, {}});
        return out;
    }
    for (const auto& e : *arr) {
        const auto s = e.value<std::string>();
        if (!s || s->empty()) {
            diags.push_back({loc_of(e, file), key, "every entry must be a non-empty string",
                             "a string, e.g. " + example, {}});
            continue;
        }
        if (std::find(out.begin(), out.end(), *s) != out.end()) {
            diags.push_back({loc_of(e, file), key, fmt::format("'{}' is listed twice", *s),
                             "each entry once", "remove the repeated entry"});
            continue;
        }
        out.push_back(*s);
        if (locs) locs->push_back(loc_of(e, file));
    }
    return out;
}

}  // namespace

ReportSpec parse_report(const toml::node& node, const std::string& file, std::vector<Diagnostic>& diags) {
    ReportSpec r;
    r.loc = loc_of(node, file);
    const toml::table* t = node.as_table();
    if (!t) {
        diags.push_back({r.loc, "report", "must be a table",
                         "[report] with stages = [...] and metrics = [...]", {}});
        return r;
    }
    static const std::vector<std::string> allowed = {"title", "stages", "metrics"};
    for (auto&& [k, v] : *t) {
        const std::string key(k.str());
        const SourceLoc kloc{file, static_cast<int>(k.source().begin.line),
                             static_cast<int>(k.source().begin.column)};
        if (key == "title") {
            if (const auto s = v.value<std::string>())
                r.title = *s;
            else
                diags.push_back({loc_of(v, file), "report.title", "must be a string",
                                 "a string, e.g. title = \"IMDb, 500 labels\"", {}});
        } else if (key == "stages") {
            r.stages = string_list(v, file, "report.stages", "[\"eval_pretrained\", \"bow\"]",
                                   &r.stage_locs, diags);
        } else if (key == "metrics") {
            r.metrics = string_list(v, file, "report.metrics", "[\"accuracy\", \"macro_f1\"]",
                                    nullptr, diags);
        } else {
            diags.push_back({kloc, "report." + key, "unknown key", "one of title, stages, metrics",
                             did_you_mean_hint(key, allowed)});
        }
    }
    if (r.stages.empty() && !t->contains("stages"))
        diags.push_back({r.loc, "report.stages", "missing", "stages = [\"<stage id>\", ...]",
                         "name the stages whose metrics make the table"});
    if (r.metrics.empty() && !t->contains("metrics"))
        diags.push_back({r.loc, "report.metrics", "missing", "metrics = [\"<metric>\", ...]",
                         "e.g. metrics = [\"accuracy\"]"});
    return r;
}

void validate_report(PipelineSpec& spec, std::vector<Diagnostic>& diags) {
    if (!spec.report) return;
    ReportSpec& r = *spec.report;
    const std::vector<std::string> ids = spec.stage_ids();
    std::vector<std::string> resolved;
    for (std::size_t i = 0; i < r.stages.size(); ++i) {
        const std::string& id = r.stages[i];
        if (spec.find(id)) {
            resolved.push_back(id);
            continue;
        }
        std::vector<std::string> variants;  // a swept stage: its variants, in file order
        for (const auto& s : ids)
            if (s.rfind(id + "@", 0) == 0) variants.push_back(s);
        if (!variants.empty()) {
            resolved.insert(resolved.end(), variants.begin(), variants.end());
            continue;
        }
        const SourceLoc loc = i < r.stage_locs.size() ? r.stage_locs[i] : r.loc;
        std::string hint = did_you_mean_hint(id, ids);
        if (hint.empty()) hint = "list a stage defined under [stages]";
        diags.push_back({loc, "report.stages", fmt::format("no stage '{}'", id), "a stage id", hint});
    }
    r.stages = std::move(resolved);
}

}  // namespace detail

std::string format_report_table(const ReportSpec& report,
                                const std::map<std::string, std::map<std::string, double>>& metrics) {
    std::size_t w0 = 5;  // "stage"
    for (const auto& s : report.stages) w0 = std::max(w0, s.size());
    std::vector<std::size_t> widths;
    for (const auto& m : report.metrics) widths.push_back(std::max<std::size_t>(m.size(), 8));
    std::string out;
    if (!report.title.empty()) out += report.title + "\n";
    out += fmt::format("{:<{}}", "stage", w0);
    for (std::size_t c = 0; c < report.metrics.size(); ++c)
        out += fmt::format("  {:>{}}", report.metrics[c], widths[c]);
    out += "\n";
    for (const auto& s : report.stages) {
        out += fmt::format("{:<{}}", s, w0);
        const auto it = metrics.find(s);
        for (std::size_t c = 0; c < report.metrics.size(); ++c) {
            std::string cell = "-";
            if (it != metrics.end()) {
                const auto m = it->second.find(report.metrics[c]);
                if (m != it->second.end()) cell = fmt::format("{:.4g}", m->second);
            }
            out += fmt::format("  {:>{}}", cell, widths[c]);
        }
        out += "\n";
    }
    return out;
}

}  // namespace graft
