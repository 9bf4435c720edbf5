// Batch-1 CPU inference latency of two models (teacher vs student, before vs after pruning): the
// median wall time of single-example forwards, shared by the distill and prune stages.
#pragma once

#include "ml/model/heads.hpp"
#include "ml/train/batching.hpp"

#include <cstdint>
#include <vector>

namespace graft::transfer {

struct PairedLatency {
    double first_ms = 0;
    double second_ms = 0;
};
// Median milliseconds of `runs` single-example forwards of each model (examples cycled in order,
// after `warmup` untimed ones; eval mode, no grad, the current intra-op thread count). Both models
// are timed in alternation (first, second, first, ... on the same example), so a change in
// machine load during the measurement hits both medians alike.
PairedLatency paired_median_latency_ms(ml::TaskModelImpl& first, ml::TaskModelImpl& second,
                                       const std::vector<ml::Example>& examples, int64_t runs,
                                       int64_t warmup = 3);

}  // namespace graft::transfer
