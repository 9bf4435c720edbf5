#include "core/spec/sweep_report.hpp"

#include "core/spec/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace graft {

SweepReport sweep_report(const SweepSpec& sweep,
                         const std::map<std::string, std::map<std::string, double>>& metrics) {
    SweepReport r;
    for (const auto& p : sweep.params) r.labels.push_back(p.label);
    for (const auto& v : sweep.variants) {
        SweepRow row{v.id, v.params, std::nullopt};
        if (auto s = metrics.find(v.id); s != metrics.end())
            if (auto m = s->second.find(sweep.metric); m != s->second.end()) row.value = m->second;
        r.rows.push_back(std::move(row));
    }
    for (std::size_t i = 0; i < r.rows.size(); ++i) {
        const auto& v = r.rows[i].value;
        if (!v || *v != *v) continue;  // not run, or NaN
        if (!r.best) {
            r.best = i;
            continue;
        }
        const double b = *r.rows[*r.best].value;
        if (sweep.maximize ? *v > b : *v < b) r.best = i;
    }
    return r;
}

std::string format_sweep_table(const SweepSpec& sweep, const SweepReport& report) {
    std::vector<std::string> header = {"variant"};
    header.insert(header.end(), report.labels.begin(), report.labels.end());
    header.push_back(fmt::format("{}.{}", sweep.metric_stage, sweep.metric));
    std::vector<std::vector<std::string>> cells = {header};
    for (std::size_t i = 0; i < report.rows.size(); ++i) {
        const SweepRow& row = report.rows[i];
        std::vector<std::string> line = {row.id};
        for (const auto& l : report.labels)
            line.push_back(row.params.contains(l) ? detail::sweep_value_text(row.params[l]) : "*");
        line.push_back(row.value ? fmt::format("{:.6g}", *row.value) : "-");
        if (report.best && *report.best == i) line.push_back("<- best");
        cells.push_back(std::move(line));
    }
    std::vector<std::size_t> width(header.size() + 1, 0);
    for (const auto& line : cells)
        for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
    std::string out = fmt::format("sweep: {} variants, {} {}.{}\n", report.rows.size(),
                                  sweep.maximize ? "max" : "min", sweep.metric_stage, sweep.metric);
    for (const auto& line : cells) {
        std::string text;
        for (std::size_t c = 0; c < line.size(); ++c)
            text += fmt::format("{:<{}}", line[c], c + 1 < line.size() ? width[c] + 2 : 0);
        out += text + "\n";
    }
    out += report.best ? fmt::format("best: {}\n", report.rows[*report.best].id)
                       : std::string("best: none yet (no variant has the metric; run the pipeline)\n");
    return out;
}

}  // namespace graft
