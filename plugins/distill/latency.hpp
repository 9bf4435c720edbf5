// Batch-1 CPU inference latency: the median wall time of single-example forwards.
#pragma once

#include "ml/model/heads.hpp"
#include "ml/train/batching.hpp"

#include <cstdint>
#include <vector>

namespace graft::distill {

// Median milliseconds of `runs` forwards of one example each (examples cycled in order), after
// `warmup` untimed forwards; eval mode, no grad, the current intra-op thread count.
double median_latency_ms(ml::TaskModelImpl& model, const std::vector<ml::Example>& examples,
                         int64_t runs, int64_t warmup = 3);

}  // namespace graft::distill
