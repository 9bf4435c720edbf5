// Batch-1 CPU inference latency: the median wall time of single-example forwards.
#pragma once

#include "ml/model/heads.hpp"
#include "ml/train/batching.hpp"

#include <cstdint>
#include <vector>

namespace graft::distill {

struct PairedLatency {
    double teacher_ms = 0;
    double student_ms = 0;
};
// Median milliseconds of `runs` single-example forwards of each model (examples cycled in order,
// after `warmup` untimed ones; eval mode, no grad, the current intra-op thread count). Both models
// are timed in alternation (teacher, student, teacher, ... on the same example), so a
// change in machine load during the measurement hits both medians alike.
PairedLatency paired_median_latency_ms(ml::TaskModelImpl& teacher, ml::TaskModelImpl& student,
                                       const std::vector<ml::Example>& examples, int64_t runs,
                                       int64_t warmup = 3);

}  // namespace graft::distill
