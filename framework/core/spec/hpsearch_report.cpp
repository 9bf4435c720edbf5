// The trials of a search side by side, best marked (`graft hpsearch`, `graft hpsearch --status`).
#include "core/spec/hpsearch.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace graft {

std::optional<std::size_t> hpsearch_best(const HpSearchSpec& search,
                                         const std::vector<HpTrial>& trials) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < trials.size(); ++i) {
        const auto& t = trials[i];
        if (t.status != HpTrial::Status::Ok || !t.metric) continue;
        if (!best) {
            best = i;
            continue;
        }
        const double b = *trials[*best].metric;
        if (search.maximize ? *t.metric > b : *t.metric < b) best = i;
    }
    return best;
}

std::string format_hpsearch_table(const HpSearchSpec& search, const std::vector<HpTrial>& trials) {
    const std::string metric = search.metric_stage + "." + search.metric;
    std::vector<std::string> header = {"trial"};
    for (const auto& p : search.params) header.push_back(p.name);
    header.insert(header.end(), {metric, "status", "run"});
    const auto best = hpsearch_best(search, trials);
    std::vector<std::vector<std::string>> cells = {header};
    for (std::size_t i = 0; i < trials.size(); ++i) {
        const HpTrial& t = trials[i];
        std::vector<std::string> line = {std::to_string(t.number)};
        for (const auto& p : search.params)
            line.push_back(t.params.contains(p.name) ? hpsearch_value_text(t.params[p.name]) : "-");
        line.push_back(t.metric ? fmt::format("{:.6g}", *t.metric) : "-");
        line.push_back(t.status == HpTrial::Status::Ok ? "ok" : "failed");
        line.push_back(t.run_id.empty() ? "-" : t.run_id);
        if (best && *best == i) line.push_back("<- best");
        cells.push_back(std::move(line));
    }
    std::vector<std::size_t> width(header.size() + 1, 0);
    for (const auto& line : cells)
        for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
    std::string out;
    for (const auto& line : cells) {
        std::string text;
        for (std::size_t c = 0; c < line.size(); ++c)
            text += fmt::format("{:<{}}", line[c], c + 1 < line.size() ? width[c] + 2 : 0);
        out += text + "\n";
    }
    if (best) {
        const HpTrial& b = trials[*best];
        std::string params;
        for (const auto& p : search.params)
            if (b.params.contains(p.name))
                params += fmt::format("{}{}={}", params.empty() ? "" : " ", p.name,
                                      hpsearch_value_text(b.params[p.name]));
        out += fmt::format("best: trial {} {} {} = {:.6g}: {}\n", b.number,
                           search.maximize ? "max" : "min", metric, *b.metric, params);
    } else {
        out += "best: none yet (no trial has finished with the metric)\n";
    }
    return out;
}

}  // namespace graft
