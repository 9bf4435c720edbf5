// The [report] section: the stages and metrics that make a pipeline's results table, printed at
// the end of `graft run` and by `graft metrics`.
//
//   [report]
//   title = "IMDb, 500 labelled reviews"          # optional
//   stages = ["eval_pretrained", "eval_scratch", "bow"]
//   metrics = ["accuracy", "macro_f1", "roc_auc"]
#pragma once

#include "core/spec/pipeline_spec.hpp"

#include <map>
#include <string>

namespace graft {

// Fixed-width table: a title line when set, then one row per report stage and one column per
// metric ("-" where a stage has no such metric yet). `metrics`: stage id -> name -> value.
std::string format_report_table(const ReportSpec& report,
                                const std::map<std::string, std::map<std::string, double>>& metrics);

}  // namespace graft
