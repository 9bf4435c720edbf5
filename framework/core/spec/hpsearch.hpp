// Hyperparameter search over a pipeline ([hpsearch], see hpsearch_spec.hpp): checking the
// section against the stage schemas, the trials it records, and how a trial's point becomes
// parameter values of a copy of the pipeline.
#pragma once

#include "core/spec/pipeline_spec.hpp"

#include <optional>
#include <string>
#include <vector>

namespace graft {

// One finished trial, as the journal records it.
struct HpTrial {
    enum class Status { Ok, Failed };
    std::size_t number = 0;
    json params = json::object();  // HpParam::name -> value
    Status status = Status::Ok;
    std::optional<double> metric;  // Ok: the finite metric value
    std::string run_id;            // the run record of the trial ("" when none was written)
    double seconds = 0;
    std::string error;             // Failed: why
};

// Checks [hpsearch] against a validated pipeline (descriptors filled): the metric stage and every
// searched stage exist (did-you-mean), each param is in its stage's schema with a space that fits
// its type and range, the metric stage depends on every searched stage, and there is no [sweep]
// beside it. Fills in the seed (the pipeline's when [hpsearch] has none). Throws PipelineError
// listing every problem. No-op without [hpsearch].
void validate_hpsearch(PipelineSpec& spec);

// What identifies a search: every [hpsearch] key but `trials` (raising the budget continues the
// same search) and the resolved pipeline as `graft config` prints it (another base pipeline makes
// the recorded metrics incomparable). Canonical JSON; the journal is named after its digest.
json hpsearch_identity(const PipelineSpec& spec);

// The point's values written into the stages' params of `spec` (a copy of the validated
// pipeline), located at the [hpsearch.params] keys; validate_pipeline then resolves them.
void apply_hpsearch_point(PipelineSpec& spec, const json& point);

// The point as --set arguments: "stages.train.params.lr=0.001", "stages.f.params.env.X=3".
std::vector<std::string> hpsearch_point_sets(const HpSearchSpec& search, const json& point);

// "0.001", "4", "\"full\"" for tables and messages.
std::string hpsearch_value_text(const json& v);

// The best finished trial (maximum or minimum metric; ties go to the earlier trial), if any.
std::optional<std::size_t> hpsearch_best(const HpSearchSpec& search,
                                         const std::vector<HpTrial>& trials);

// A fixed-width table of the trials (one column per param, the metric, the status, the run id)
// with the best one marked, and a "best:" line.
std::string format_hpsearch_table(const HpSearchSpec& search, const std::vector<HpTrial>& trials);

}  // namespace graft
