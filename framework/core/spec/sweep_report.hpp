// The variants of a sweep side by side with the metric that ranks them (`graft metrics`).
#pragma once

#include "core/spec/pipeline_spec.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace graft {

struct SweepRow {
    std::string id;
    json params = json::object();  // label -> value
    std::optional<double> value;   // the sweep's metric; absent when the variant has not run
};

struct SweepReport {
    std::vector<std::string> labels;  // param columns, in sweep order
    std::vector<SweepRow> rows;       // in grid order
    std::optional<std::size_t> best;  // index into rows; ties go to the earlier variant
};

// `metrics`: stage id -> metric name -> value (from the lock file).
SweepReport sweep_report(const SweepSpec& sweep,
                         const std::map<std::string, std::map<std::string, double>>& metrics);

// Fixed-width table: one column per label, then the metric, then "best" on the winning row.
std::string format_sweep_table(const SweepSpec& sweep, const SweepReport& report);

}  // namespace graft
