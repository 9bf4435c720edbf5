// [report]: parsing, located errors with did-you-mean, sweep variants, the results table.
#include "core/spec/pipeline_spec.hpp"
#include "core/spec/report.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace graft {
namespace {

std::string pipeline(const std::string& report) {
    return R"([pipeline]
name = "r"
[stages.train]
uses = "shell"
[stages.eval_a]
uses = "shell"
inputs = { t = "train.out" }
[stages.eval_b]
uses = "shell"
inputs = { t = "train.out" }
)" + report;
}

Diagnostic first_error(const std::string& text) {
    try {
        parse_pipeline_text(text, "/tmp/r.toml");
    } catch (const PipelineError& e) {
        return e.diagnostics().at(0);
    }
    FAIL("no error");
    return {};
}

}  // namespace

TEST_CASE("report: stages and metrics in file order, title kept", "[report]") {
    const PipelineSpec s = parse_pipeline_text(pipeline(R"([report]
title = "two evaluations"
stages = ["eval_b", "eval_a"]
metrics = ["accuracy", "macro_f1"]
)"),
                                               "/tmp/r.toml");
    REQUIRE(s.report);
    CHECK(s.report->title == "two evaluations");
    CHECK(s.report->stages == std::vector<std::string>{"eval_b", "eval_a"});
    CHECK(s.report->metrics == std::vector<std::string>{"accuracy", "macro_f1"});
}

TEST_CASE("report: an unknown stage is located with a did-you-mean", "[report]") {
    const Diagnostic d = first_error(pipeline(R"([report]
stages = ["eval_a", "evl_b"]
metrics = ["accuracy"]
)"));
    CHECK(d.key == "report.stages");
    CHECK(d.message == "no stage 'evl_b'");
    CHECK(d.hint == "did you mean 'eval_b'?");
    CHECK(d.loc.line == 12);
    CHECK(d.loc.column == 21);
}

TEST_CASE("report: unknown keys, wrong types and missing lists are errors", "[report]") {
    try {
        parse_pipeline_text(pipeline("[report]\nstages = [\"eval_a\"]\nmetric = [\"accuracy\"]\n"), "/tmp/r.toml");
        FAIL("no error");
    } catch (const PipelineError& e) {  // the missing 'metrics' (at [report]) sorts first
        REQUIRE(e.diagnostics().size() == 2);
        CHECK(e.diagnostics()[0].key == "report.metrics");
        CHECK(e.diagnostics()[1].key == "report.metric");
        CHECK(e.diagnostics()[1].hint == "did you mean 'metrics'?");
    }
    CHECK(first_error(pipeline("[report]\nstages = \"eval_a\"\nmetrics = [\"accuracy\"]\n")).message ==
          "must be a list of strings");
    CHECK(first_error(pipeline("[report]\nstages = [\"eval_a\"]\n")).key == "report.metrics");
    CHECK(first_error(pipeline("[report]\nstages = [\"eval_a\", \"eval_a\"]\nmetrics = [\"x\"]\n")).message ==
          "'eval_a' is listed twice");
}

TEST_CASE("report: a swept stage stands for its variants", "[report]") {
    const PipelineSpec s = parse_pipeline_text(pipeline(R"([sweep]
metric = "eval_a.accuracy"
[sweep.params]
"train.n" = [1, 2]
[report]
stages = ["eval_a"]
metrics = ["accuracy"]
)"),
                                               "/tmp/r.toml");
    REQUIRE(s.report);
    CHECK(s.report->stages == std::vector<std::string>{"eval_a@n=1", "eval_a@n=2"});
}

TEST_CASE("report table: one row per stage, '-' for a missing metric", "[report]") {
    ReportSpec r;
    r.title = "results";
    r.stages = {"eval_pretrained", "bow"};
    r.metrics = {"accuracy", "roc_auc"};
    const std::map<std::string, std::map<std::string, double>> m = {
        {"eval_pretrained", {{"accuracy", 0.75123}, {"roc_auc", 0.8}}}, {"bow", {{"accuracy", 0.8162}}}};
    CHECK(format_report_table(r, m) ==
          "results\n"
          "stage            accuracy   roc_auc\n"
          "eval_pretrained    0.7512       0.8\n"
          "bow                0.8162         -\n");
}

}  // namespace graft

namespace graft {
TEST_CASE("report: graft config prints it back, and the text parses to the same report", "[report]") {
    const PipelineSpec s = parse_pipeline_text(pipeline(R"([report]
title = "t"
stages = ["eval_b", "eval_a"]
metrics = ["accuracy"]
)"),
                                               "/tmp/r.toml");
    const PipelineSpec back = parse_pipeline_text(pipeline_to_toml(s), "/tmp/r2.toml");
    REQUIRE(back.report);
    CHECK(back.report->title == "t");
    CHECK(back.report->stages == s.report->stages);
    CHECK(back.report->metrics == s.report->metrics);
}
}  // namespace graft
