// Batch-1 CPU inference latency of the model before and after pruning.
#pragma once

#include "ml/model/heads.hpp"
#include "ml/train/batching.hpp"

#include <cstdint>
#include <vector>

namespace graft::prune {

struct LatencyPair {
    double before_ms = 0;
    double after_ms = 0;
};
// Median milliseconds of `runs` single-example forwards of each model (eval mode, no grad, the
// current intra-op thread count), after `warmup` untimed rounds. The two models run in
// alternation on the same example, so a change in machine load hits both medians alike.
LatencyPair paired_latency_ms(ml::TaskModelImpl& before, ml::TaskModelImpl& after,
                              const std::vector<ml::Example>& examples, int64_t runs, int64_t warmup = 3);

}  // namespace graft::prune
