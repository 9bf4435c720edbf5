#include "schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <stdexcept>

namespace graft::multitask {

namespace {

using Batches = std::deque<std::vector<std::size_t>>;

Batches task_batches(std::span<const ml::Example> rows, const ScheduleOptions& o, std::mt19937_64& rng) {
    ml::BatchingOptions b;
    b.batch_size = o.batch_size;
    b.bucket_size = o.bucket_size;
    b.shuffle = true;
    const auto plan = ml::plan_batches(rows, b, rng);
    return {plan.begin(), plan.end()};
}

}  // namespace

Schedule schedule_from_string(const std::string& name) {
    if (name == "round_robin") return Schedule::round_robin;
    if (name == "proportional") return Schedule::proportional;
    if (name == "mixed") return Schedule::mixed;
    throw std::invalid_argument(
        fmt::format("schedule '{}' is not supported: expected round_robin, proportional or mixed", name));
}

const char* to_string(Schedule schedule) {
    switch (schedule) {
        case Schedule::round_robin: return "round_robin";
        case Schedule::proportional: return "proportional";
        case Schedule::mixed: return "mixed";
    }
    return "?";
}

std::vector<Step> plan_epoch(const std::vector<std::span<const ml::Example>>& tasks,
                             const ScheduleOptions& options, std::int64_t epoch) {
    if (options.batch_size < 1)
        throw std::invalid_argument(fmt::format("batch_size must be >= 1, got {}", options.batch_size));
    std::vector<std::size_t> active;
    for (std::size_t t = 0; t < tasks.size(); ++t)
        if (!tasks[t].empty()) active.push_back(t);
    if (active.empty()) throw std::invalid_argument("no task has training rows and a nonzero loss weight");
    std::seed_seq seq{static_cast<std::uint32_t>(options.seed), static_cast<std::uint32_t>(options.seed >> 32),
                      static_cast<std::uint32_t>(epoch)};
    std::mt19937_64 rng(seq);
    std::vector<Step> steps;

    if (options.kind == Schedule::mixed) {
        std::vector<std::pair<std::size_t, std::size_t>> pool;  // (task, row)
        for (const auto t : active)
            for (std::size_t r = 0; r < tasks[t].size(); ++r) pool.emplace_back(t, r);
        ml::deterministic_shuffle(pool, rng);
        const auto batch = static_cast<std::size_t>(options.batch_size);
        for (std::size_t begin = 0; begin < pool.size(); begin += batch) {
            const std::size_t end = std::min(pool.size(), begin + batch);
            Step step;
            for (const auto t : active) {
                Part part{t, {}};
                for (std::size_t i = begin; i < end; ++i)
                    if (pool[i].first == t) part.rows.push_back(pool[i].second);
                if (!part.rows.empty()) step.push_back(std::move(part));
            }
            steps.push_back(std::move(step));
        }
        return steps;
    }

    std::vector<Batches> queues(tasks.size());
    for (const auto t : active) queues[t] = task_batches(tasks[t], options, rng);
    if (options.kind == Schedule::round_robin) {
        std::size_t rounds = 0;
        for (const auto t : active) rounds = std::max(rounds, queues[t].size());
        for (std::size_t r = 0; r < rounds; ++r) {
            for (const auto t : active) {
                if (queues[t].empty()) queues[t] = task_batches(tasks[t], options, rng);  // next pass
                steps.push_back({Part{t, std::move(queues[t].front())}});
                queues[t].pop_front();
            }
        }
        return steps;
    }
    std::size_t left = 0;
    for (const auto t : active) left += queues[t].size();
    for (; left > 0; --left) {
        auto draw = ml::uniform_below(rng, left);
        std::size_t pick = active.front();
        for (const auto t : active) {
            if (draw < queues[t].size()) {
                pick = t;
                break;
            }
            draw -= queues[t].size();
        }
        steps.push_back({Part{pick, std::move(queues[pick].front())}});
        queues[pick].pop_front();
    }
    return steps;
}

}  // namespace graft::multitask
