// [hpsearch]: parsing the spaces, checking them against the stage schemas (located errors with
// did-you-mean), points as param values, the search's identity, the journal (torn last line,
// order checks) and the trial table.
#include "core/spec/hpsearch.hpp"
#include "core/spec/hpsearch_journal.hpp"
#include "fake_catalog.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

namespace graft {
namespace {

using test::error_of;
using test::FakeCatalog;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char* const kBase = R"([pipeline]
name = "h"
seed = 9

[stages.clean]
uses = "text.clean"
inputs = { data = "raw.jsonl" }

[stages.train]
uses = "train"
inputs = { train = "clean.data" }
[stages.train.params]
lr = 0.1

[stages.side]
uses = "shell"
[stages.side.params]
cmd = "true"
)";

const char* const kSearch = R"(
[hpsearch]
metric = "train.loss"
goal = "min"
trials = 12
[hpsearch.params]
"train.lr" = { min = 1e-4, max = 1.0, log = true }
"train.epochs" = { min = 1, max = 8, int = true }
"clean.mode" = ["fast", "thorough"]
"train.extra.k" = { min = 0, max = 1 }
)";

struct Fixture {
    test::TempDir dir;
    FakeCatalog catalog;
    Fixture() { dir.write("raw.jsonl", "{\"text\": \"a\"}\n"); }

    PipelineSpec parse(const std::string& text, const std::vector<Override>& ovs = {}) const {
        return parse_pipeline_text(text, dir / "h.toml", ovs);
    }
    PipelineSpec load(const std::string& text, const std::vector<Override>& ovs = {}) const {
        PipelineSpec s = parse(text, ovs);
        validate_pipeline(s, catalog);
        validate_hpsearch(s);
        return s;
    }
    std::string search_error(const std::string& hpsearch) const {
        return error_of([&] { load(std::string(kBase) + hpsearch); });
    }
};

}  // namespace

TEST_CASE("hpsearch: spaces parse in file order with their kinds and bounds", "[hpsearch]") {
    Fixture f;
    const PipelineSpec s = f.load(std::string(kBase) + kSearch);
    REQUIRE(s.hpsearch);
    const HpSearchSpec& h = *s.hpsearch;
    CHECK(h.metric_stage == "train");
    CHECK(h.metric == "loss");
    CHECK_FALSE(h.maximize);
    CHECK(h.trials == 12);
    CHECK(h.startup_trials == 5);
    CHECK(h.algorithm == HpSearchSpec::Algorithm::Tpe);
    CHECK(h.seed == 9);  // the pipeline's, none under [hpsearch]
    REQUIRE(h.params.size() == 4);
    CHECK(h.params[0].name == "train.lr");
    CHECK(h.params[0].kind == HpParam::Kind::Float);
    CHECK(h.params[0].log);
    CHECK(h.params[0].low == 1e-4);
    CHECK(h.params[1].name == "train.epochs");
    CHECK(h.params[1].kind == HpParam::Kind::Int);
    CHECK(h.params[1].high == 8);
    CHECK(h.params[2].kind == HpParam::Kind::Choice);
    CHECK(h.params[2].choices == std::vector<json>{"fast", "thorough"});
    CHECK(h.params[3].stage == "train");
    CHECK(h.params[3].param == "extra");
    CHECK(h.params[3].key == "k");
}

TEST_CASE("hpsearch: dotted keys and an explicit seed", "[hpsearch]") {
    Fixture f;
    const PipelineSpec s = f.load(std::string(kBase) + R"(
[hpsearch]
metric = "train.loss"
seed = 3
algorithm = "random"
[hpsearch.params]
train.lr = { min = 0.01, max = 0.1 }
)");
    REQUIRE(s.hpsearch->params.size() == 1);
    CHECK(s.hpsearch->params[0].name == "train.lr");
    CHECK(s.hpsearch->seed == 3);
    CHECK(s.hpsearch->algorithm == HpSearchSpec::Algorithm::Random);
}

TEST_CASE("hpsearch: malformed keys and spaces are located, with did-you-mean", "[hpsearch]") {
    Fixture f;
    const std::string e = error_of([&] {
        f.parse(std::string(kBase) + R"(
[hpsearch]
metric = "train.loss"
trails = 4
goal = "maximum"
[hpsearch.params]
"train.lr" = { min = 1.0, max = 0.5 }
"train.epochs" = { min = 1.5, max = 8, int = true }
"clean.mode" = { choices = ["fast"], min = 1 }
"train.extra.k" = { min = 0, mx = 2 }
"side.cmd" = { min = 0.0, max = 1.0, log = true }
"lr" = { min = 0, max = 1 }
)");
    });
    CHECK(contains(e, "h.toml:22:10: error: hpsearch.trails: unknown key 'trails' in [hpsearch]"));
    CHECK(contains(e, "did you mean 'trials'?"));
    CHECK(contains(e, "hpsearch.goal: unknown goal (expected \"max\" or \"min\")"));
    CHECK(contains(e, "h.toml:25:"));
    CHECK(contains(e, "the range is empty: max 0.5 is not above min 1"));
    CHECK(contains(e, "an int = true range needs integer bounds"));
    CHECK(contains(e, "a space has either choices or a range, not both"));
    CHECK(contains(e, "unknown key 'mx' in a search space"));
    CHECK(contains(e, "did you mean 'max'?"));
    CHECK(contains(e, "a log = true range must start above 0"));
    CHECK(contains(e, "hpsearch.params.\"lr\": a searched parameter is named \"<stage>.<param>\""));
}

TEST_CASE("hpsearch: no metric, nothing to search", "[hpsearch]") {
    Fixture f;
    const std::string e = error_of([&] { f.parse(std::string(kBase) + "\n[hpsearch]\ntrials = 3\n"); });
    CHECK(contains(e, "hpsearch.metric: missing the metric the search optimizes"));
    CHECK(contains(e, "hpsearch.params: nothing to search"));
}

TEST_CASE("hpsearch: unknown stages and params suggest the close name", "[hpsearch]") {
    Fixture f;
    const std::string e = f.search_error(R"(
[hpsearch]
metric = "trian.loss"
[hpsearch.params]
"trian.lr" = { min = 0.1, max = 1.0 }
"train.rl" = { min = 0.1, max = 1.0 }
)");
    CHECK(contains(e, "hpsearch.metric: no stage 'trian' reports the metric"));
    CHECK(contains(e, "hpsearch.params.\"trian.lr\": no stage 'trian' in the pipeline"));
    CHECK(contains(e, "did you mean 'train.lr'?"));
    CHECK(contains(e, "stage 'train' (type 'train') has no parameter 'rl'"));
}

TEST_CASE("hpsearch: a space must fit the param's schema type and range", "[hpsearch]") {
    Fixture f;
    const std::string e = f.search_error(R"(
[hpsearch]
metric = "train.loss"
[hpsearch.params]
"train.epochs" = { min = 1.0, max = 4.0 }
"train.lr" = { min = -1.0, max = 1.0 }
"clean.mode" = ["fast", "slow"]
"clean.dedupe" = { min = 0, max = 1, int = true }
"train.extra" = { min = 0, max = 1 }
"train.lr.x" = { min = 0, max = 1 }
)");
    CHECK(contains(e, "'epochs' of stage type 'train' is an integer parameter but the range is not"));
    CHECK(contains(e, "add int = true"));
    CHECK(contains(e, "the range [-1, 1] leaves what 'lr' of stage type 'train' accepts"));
    CHECK(contains(e, "choice a string \"slow\" does not fit parameter 'mode'"));
    CHECK(contains(e, "a numeric range for 'dedupe', a bool parameter"));
    CHECK(contains(e, "'extra' is a table parameter"));
    CHECK(contains(e, "'lr' is a float parameter, not a table"));
}

TEST_CASE("hpsearch: the metric stage must depend on every searched stage", "[hpsearch]") {
    Fixture f;
    const std::string e = f.search_error(R"(
[hpsearch]
metric = "train.loss"
[hpsearch.params]
"side.cmd" = ["true", "false"]
)");
    CHECK(contains(e, "the metric stage 'train' does not depend on stage 'side'"));
}

TEST_CASE("hpsearch: [sweep] and [hpsearch] in one file are refused", "[hpsearch]") {
    Fixture f;
    const std::string e = f.search_error(std::string(kSearch) + R"(
[sweep]
metric = "train.loss"
[sweep.params]
"train.lr" = [0.1, 0.2]
)");
    CHECK(contains(e, "[hpsearch] and [sweep] cannot share a pipeline file"));
}

TEST_CASE("hpsearch: a point becomes validated stage params, table entries merged", "[hpsearch]") {
    Fixture f;
    PipelineSpec s = f.load(std::string(kBase) + kSearch);
    const json point = {{"train.lr", 0.003}, {"train.epochs", 4}, {"clean.mode", "thorough"},
                        {"train.extra.k", 0.5}};
    PipelineSpec trial = s;
    apply_hpsearch_point(trial, point);
    validate_pipeline(trial, f.catalog);
    CHECK(trial.find("train")->resolved_params["lr"] == 0.003);
    CHECK(trial.find("train")->resolved_params["epochs"] == 4);
    CHECK(trial.find("train")->resolved_params["extra"] == json{{"k", 0.5}});
    CHECK(trial.find("clean")->resolved_params["mode"] == "thorough");
    CHECK(s.find("train")->resolved_params["lr"] == 0.1);  // the base spec is untouched
    const auto sets = hpsearch_point_sets(*s.hpsearch, point);
    REQUIRE(sets.size() == 4);
    CHECK(sets[0] == "stages.train.params.lr=0.003");
    CHECK(sets[2] == "stages.clean.params.mode=\"thorough\"");
    CHECK(sets[3] == "stages.train.params.extra.k=0.5");
}

TEST_CASE("hpsearch: the identity ignores the budget and the searched values in the file", "[hpsearch]") {
    Fixture f;
    const std::string text = std::string(kBase) + kSearch;
    const json id = hpsearch_identity(f.load(text));
    CHECK(hpsearch_identity(f.load(text, {parse_override("hpsearch.trials=50", 1)})) == id);
    CHECK(hpsearch_identity(f.load(text, {parse_override("stages.train.params.lr=0.5", 1)})) == id);
    CHECK(hpsearch_identity(f.load(text, {parse_override("hpsearch.goal=max", 1)})) != id);
    CHECK(hpsearch_identity(f.load(text, {parse_override("stages.clean.params.min_chars=3", 1)})) != id);
    CHECK(hpsearch_identity(f.load(text, {parse_override("hpsearch.seed=4", 1)})) != id);
}

namespace {

HpTrial ok_trial(std::size_t n, double lr, double metric) {
    HpTrial t;
    t.number = n;
    t.params = {{"train.lr", lr}};
    t.metric = metric;
    t.run_id = "run" + std::to_string(n);
    return t;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("hpsearch journal: trials round-trip, appended whole lines", "[hpsearch]") {
    test::TempDir dir;
    const auto path = dir / "hp" / "j.jsonl";
    const json header = {{"format", kHpJournalFormat}, {"search", "abc"}};
    {
        HpJournalWriter w(path, header);
        CHECK(w.contents().trials.empty());
        w.append(ok_trial(0, 0.1, 0.5));
        HpTrial failed;
        failed.number = 1;
        failed.params = {{"train.lr", 0.9}};
        failed.status = HpTrial::Status::Failed;
        failed.error = "stage 'train' failed";
        w.append(failed);
        CHECK_THROWS_WITH(w.append(ok_trial(5, 0.2, 0.1)),
                          Catch::Contains("trial 5 appended where trial 2 belongs"));
    }
    const HpJournalContents c = read_hp_journal(path);
    CHECK(c.header == header);
    CHECK(c.warnings.empty());
    REQUIRE(c.trials.size() == 2);
    CHECK(c.trials[0].params["train.lr"] == 0.1);
    CHECK(*c.trials[0].metric == 0.5);
    CHECK(c.trials[0].run_id == "run0");
    CHECK(c.trials[1].status == HpTrial::Status::Failed);
    CHECK_FALSE(c.trials[1].metric);
    CHECK(c.trials[1].error == "stage 'train' failed");
    // A different search never appends to this journal.
    CHECK_THROWS_WITH(HpJournalWriter(path, json{{"format", kHpJournalFormat}, {"search", "xyz"}}),
                      Catch::Contains("header does not match"));
}

TEST_CASE("hpsearch journal: a torn last line is ignored, then cut off before appending", "[hpsearch]") {
    test::TempDir dir;
    const auto path = dir / "j.jsonl";
    const json header = {{"format", kHpJournalFormat}, {"search", "abc"}};
    {
        HpJournalWriter w(path, header);
        w.append(ok_trial(0, 0.1, 0.5));
    }
    std::ofstream(path, std::ios::binary | std::ios::app) << R"({"trial":1,"params":{"train.l)";
    const HpJournalContents torn = read_hp_journal(path);
    CHECK(torn.trials.size() == 1);
    REQUIRE(torn.warnings.size() == 1);
    CHECK(contains(torn.warnings[0], "ignoring a torn last line"));
    {
        HpJournalWriter w(path, header);
        REQUIRE(w.contents().trials.size() == 1);
        w.append(ok_trial(1, 0.2, 0.7));
    }
    const HpJournalContents c = read_hp_journal(path);
    CHECK(c.warnings.empty());
    REQUIRE(c.trials.size() == 2);
    CHECK(c.trials[1].params["train.lr"] == 0.2);
    const std::string text = slurp(path);
    CHECK(std::count(text.begin(), text.end(), '\n') == 3);  // header and two trials
}

TEST_CASE("hpsearch journal: damage in the middle and repeated trials are errors with the line", "[hpsearch]") {
    test::TempDir dir;
    const std::string head = std::string("{\"format\":\"") + kHpJournalFormat + "\"}\n";
    const std::string t0 = R"({"trial":0,"params":{},"status":"ok","metric":1})" "\n";
    const auto dup = dir.write("dup.jsonl", head + t0 + t0);
    CHECK_THROWS_WITH(read_hp_journal(dup), Catch::Contains("dup.jsonl:3: trial 0 where trial 1 belongs"));
    const auto bad = dir.write("bad.jsonl", head + "{oops\n" + t0);
    CHECK_THROWS_WITH(read_hp_journal(bad), Catch::Contains("bad.jsonl:2: not valid JSON"));
    const auto other = dir.write("other.jsonl", "{\"format\":\"graft.hpsearch/9\"}\n");
    CHECK_THROWS_WITH(read_hp_journal(other), Catch::Contains("is not graft.hpsearch/1"));
    const auto no_metric = dir.write("nm.jsonl", head + R"({"trial":0,"params":{},"status":"ok"})" "\n");
    CHECK_THROWS_WITH(read_hp_journal(no_metric), Catch::Contains("an \"ok\" trial needs its metric"));
    CHECK(read_hp_journal(dir / "missing.jsonl").header.is_null());
}

TEST_CASE("hpsearch table: best by goal, ties to the earlier trial, failures shown", "[hpsearch]") {
    Fixture f;
    const PipelineSpec s = f.load(std::string(kBase) + R"(
[hpsearch]
metric = "train.loss"
goal = "min"
[hpsearch.params]
"train.lr" = { min = 0.01, max = 1.0 }
)");
    std::vector<HpTrial> trials = {ok_trial(0, 0.1, 0.5), ok_trial(1, 0.2, 0.25), ok_trial(2, 0.3, 0.25)};
    HpTrial failed;
    failed.number = 3;
    failed.params = {{"train.lr", 0.9}};
    failed.status = HpTrial::Status::Failed;
    trials.push_back(failed);
    CHECK(hpsearch_best(*s.hpsearch, trials) == 1u);
    const std::string table = format_hpsearch_table(*s.hpsearch, trials);
    CHECK(contains(table, "trial  train.lr  train.loss  status  run"));
    CHECK(contains(table, "1      0.2       0.25        ok      run1  <- best"));
    CHECK(contains(table, "3      0.9       -           failed  -"));
    CHECK(contains(table, "best: trial 1 min train.loss = 0.25: train.lr=0.2"));
    HpSearchSpec max = *s.hpsearch;
    max.maximize = true;
    CHECK(hpsearch_best(max, trials) == 0u);
    CHECK_FALSE(hpsearch_best(max, {failed}));
}

}  // namespace graft
