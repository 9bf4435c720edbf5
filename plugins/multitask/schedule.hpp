// Which task's rows each multitask training step sees. Three schedules over the active tasks
// (those with a nonzero loss weight), all seeded and a pure function of (seed, epoch):
//   round_robin   one batch per step, the tasks in turn (a, b, a, b, ...); an epoch is as many
//                 rounds as the largest task has batches, and a smaller task starts a fresh
//                 shuffled pass over its rows whenever it runs out (so it is upsampled)
//   proportional  one batch per step; an epoch is one pass over every task's batches, the next
//                 task drawn with probability proportional to its batches left (a uniformly random
//                 interleaving, so each task appears in proportion to its size)
//   mixed         the rows of all tasks pooled and shuffled, cut into batches of batch_size: a
//                 step holds rows of several tasks, in proportion to their sizes on average
// A task's batches come from the framework's batch planner (shuffle + length bucketing).
#pragma once

#include "ml/train/batching.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace graft::multitask {

enum class Schedule { round_robin, proportional, mixed };
// "round_robin" | "proportional" | "mixed"; anything else throws std::invalid_argument.
Schedule schedule_from_string(const std::string& name);
const char* to_string(Schedule schedule);

// One task's rows in a step: indices into that task's training examples.
struct Part {
    std::size_t task = 0;
    std::vector<std::size_t> rows;
};
// The parts of one training step: exactly one for round_robin and proportional, one per task
// present in the batch for mixed (in task order).
using Step = std::vector<Part>;

struct ScheduleOptions {
    Schedule kind = Schedule::round_robin;
    std::int64_t batch_size = 16;
    std::int64_t bucket_size = 64;  // length bucketing of a task's batches (0 = off); not for mixed
    std::uint64_t seed = 0;
};

// The steps of epoch `epoch`. tasks[t] holds task t's training examples; an empty span is an
// inactive task that gets no rows. Throws std::invalid_argument when no task is active or
// batch_size < 1.
std::vector<Step> plan_epoch(const std::vector<std::span<const ml::Example>>& tasks,
                             const ScheduleOptions& options, std::int64_t epoch);

}  // namespace graft::multitask
