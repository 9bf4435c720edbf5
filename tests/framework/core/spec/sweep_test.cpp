// Sweeps: grid and seeded random expansion, variant ids, shared upstream, located errors, ranking.
#include "core/spec/pipeline_spec.hpp"
#include "core/spec/sweep_report.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace graft {
namespace {

std::string chain(const std::string& sweep) {
    return R"([pipeline]
name = "s"
seed = 7
[stages.prep]
uses = "shell"
[stages.train]
uses = "shell"
inputs = { p = "prep.out" }
[stages.eval]
uses = "shell"
inputs = { t = "train.out" }
)" + sweep;
}

const std::string kGrid = R"([sweep]
metric = "eval.accuracy"
[sweep.params]
"train.lr" = [1e-4, 3e-4]
"train.epochs" = [4, 8]
)";

}  // namespace

TEST_CASE("grid sweep: one variant per combination, upstream shared", "[sweep]") {
    const PipelineSpec s = parse_pipeline_text(chain(kGrid), "/tmp/p.toml");
    REQUIRE(s.stages.size() == 9);  // prep + 4 train + 4 eval
    CHECK(s.stages[0].id == "prep");
    CHECK(s.stages[1].id == "train@lr=0.0001,epochs=4");
    CHECK(s.stages[4].id == "train@lr=0.0003,epochs=8");
    CHECK(s.stages[1].inputs[0].stage == "prep");
    CHECK(s.stages[5].inputs[0].stage == "train@lr=0.0001,epochs=4");
    CHECK(s.stages[1].params["epochs"] == 4);
    REQUIRE(s.sweep->variants.size() == 4);
    CHECK(s.sweep->variants[0].id == "eval@lr=0.0001,epochs=4");
}

TEST_CASE("random sweep draws the same samples for a seed", "[sweep]") {
    const std::string sw = R"([sweep]
mode = "random"
samples = 3
metric = "eval.accuracy"
[sweep.params]
"train.lr" = [1, 2, 3, 4, 5]
"train.epochs" = [1, 2, 3]
)";
    const auto a = parse_pipeline_text(chain(sw), "/tmp/p.toml").stage_ids();
    const auto b = parse_pipeline_text(chain(sw), "/tmp/p.toml").stage_ids();
    CHECK(a.size() == 7);
    CHECK(a == b);
}

TEST_CASE("unknown swept stage is located with a did-you-mean", "[sweep]") {
    std::string sw = kGrid;
    sw.replace(sw.find("\"train.lr\""), 10, "\"trian.lr\"");
    try {
        parse_pipeline_text(chain(sw), "/tmp/p.toml");
        FAIL("no error");
    } catch (const PipelineError& e) {
        const auto& d = e.diagnostics().at(0);
        CHECK(d.message == "unknown stage 'trian'");
        CHECK(d.hint == "did you mean 'train'?");
        CHECK(d.loc.line == 15);
    }
}

TEST_CASE("the report names the best variant by goal", "[sweep]") {
    const PipelineSpec s = parse_pipeline_text(chain(kGrid), "/tmp/p.toml");
    std::map<std::string, std::map<std::string, double>> m = {
        {"eval@lr=0.0001,epochs=4", {{"accuracy", 0.6}}},
        {"eval@lr=0.0003,epochs=4", {{"accuracy", 0.9}}}};
    const SweepReport r = sweep_report(*s.sweep, m);
    REQUIRE(r.best);
    CHECK(r.rows[*r.best].id == "eval@lr=0.0003,epochs=4");
    CHECK_FALSE(r.rows[1].value);
}

}  // namespace graft
