// The multitask schedules: round robin alternates the tasks, proportional covers every row once
// per epoch with tasks in proportion to their size, mixed pools the tasks' rows; all seeded.
#include "schedule.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace graft::multitask;
using graft::ml::Example;

namespace {

std::vector<Example> rows(std::size_t n) {
    std::vector<Example> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back({std::vector<std::int64_t>(1 + i % 7, 5), {0}});
    return out;
}

std::vector<std::span<const Example>> spans(const std::vector<std::vector<Example>>& tasks) {
    return {tasks.begin(), tasks.end()};
}

// Every (task, row) seen in the plan, with how often.
std::map<std::pair<std::size_t, std::size_t>, int> coverage(const std::vector<Step>& plan) {
    std::map<std::pair<std::size_t, std::size_t>, int> seen;
    for (const auto& step : plan)
        for (const auto& part : step)
            for (const auto r : part.rows) ++seen[{part.task, r}];
    return seen;
}

}  // namespace

TEST_CASE("round_robin alternates the tasks every step and upsamples the smaller one", "[multitask][schedule]") {
    const std::vector<std::vector<Example>> tasks = {rows(40), rows(100), rows(12)};
    const auto plan = plan_epoch(spans(tasks), {Schedule::round_robin, 10, 64, 7}, 0);
    REQUIRE(plan.size() == 3 * 10);  // 3 tasks x the largest task's 10 batches
    for (std::size_t i = 0; i < plan.size(); ++i) {
        REQUIRE(plan[i].size() == 1);
        CHECK(plan[i][0].task == i % 3);
        CHECK(plan[i][0].rows.size() <= 10);
    }
    const auto seen = coverage(plan);
    for (std::size_t r = 0; r < 100; ++r) CHECK(seen.at({1, r}) == 1);  // the largest: one pass
    for (std::size_t r = 0; r < 40; ++r) CHECK(seen.at({0, r}) >= 2);   // 4 batches, restarted
    for (std::size_t r = 0; r < 12; ++r) CHECK(seen.at({2, r}) >= 5);
}

TEST_CASE("proportional covers every row once and draws tasks in proportion to their batches", "[multitask][schedule]") {
    const std::vector<std::vector<Example>> tasks = {rows(300), rows(100)};
    const auto plan = plan_epoch(spans(tasks), {Schedule::proportional, 10, 64, 7}, 0);
    REQUIRE(plan.size() == 40);
    const auto seen = coverage(plan);
    CHECK(seen.size() == 400);
    for (const auto& [key, count] : seen) CHECK(count == 1);
    // Interleaved, not one task after the other: the first half holds about half of each task.
    std::size_t first_half_a = 0;
    for (std::size_t i = 0; i < 20; ++i) first_half_a += plan[i][0].task == 0;
    CHECK(first_half_a >= 10);
    CHECK(first_half_a <= 19);
    // Over many epochs, a step is task 0 with probability 30/40.
    std::size_t a = 0, n = 0;
    for (std::int64_t e = 0; e < 50; ++e)
        for (const auto& step : plan_epoch(spans(tasks), {Schedule::proportional, 10, 64, 7}, e)) {
            a += step[0].task == 0 && n % 40 < 10;  // the first quarter of each epoch
            ++n;
        }
    CHECK(static_cast<double>(a) / (50 * 10) == Approx(0.75).margin(0.06));
}

TEST_CASE("mixed batches pool the tasks' rows, each row once per epoch", "[multitask][schedule]") {
    const std::vector<std::vector<Example>> tasks = {rows(60), rows(30)};
    const auto plan = plan_epoch(spans(tasks), {Schedule::mixed, 9, 64, 3}, 0);
    REQUIRE(plan.size() == 10);
    std::size_t multi = 0;
    for (const auto& step : plan) {
        std::size_t n = 0;
        for (const auto& part : step) n += part.rows.size();
        CHECK(n == 9);
        multi += step.size() == 2;
        if (step.size() == 2) CHECK(step[0].task < step[1].task);
    }
    CHECK(multi >= 8);
    const auto seen = coverage(plan);
    CHECK(seen.size() == 90);
    for (const auto& [key, count] : seen) CHECK(count == 1);
}

TEST_CASE("a schedule is a function of seed and epoch, and inactive tasks get no rows", "[multitask][schedule]") {
    const std::vector<std::vector<Example>> tasks = {rows(50), rows(0), rows(35)};
    for (const auto kind : {Schedule::round_robin, Schedule::proportional, Schedule::mixed}) {
        INFO(to_string(kind));
        const ScheduleOptions o{kind, 8, 64, 11};
        const auto a = plan_epoch(spans(tasks), o, 2);
        const auto b = plan_epoch(spans(tasks), o, 2);
        const auto other_epoch = plan_epoch(spans(tasks), o, 3);
        auto flat = [](const std::vector<Step>& p) {
            std::vector<std::pair<std::size_t, std::vector<std::size_t>>> out;
            for (const auto& s : p)
                for (const auto& part : s) out.emplace_back(part.task, part.rows);
            return out;
        };
        CHECK(flat(a) == flat(b));
        CHECK(flat(a) != flat(other_epoch));
        for (const auto& [task, r] : flat(a)) CHECK(task != 1);
    }
    CHECK_THROWS_WITH(plan_epoch(spans({rows(0)}), {}, 0), Catch::Contains("no task has training rows"));
    CHECK_THROWS_WITH(schedule_from_string("random"), Catch::Contains("round_robin, proportional or mixed"));
}
