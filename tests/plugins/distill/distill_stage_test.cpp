// The distill stage through the real host: a tiny teacher fine-tuned by the finetune stage is
// distilled into a student that loads as a checkpoint and evaluates with the evaluate stage.
#include "support/stage_runner.hpp"

#include "ml/model/checkpoint.hpp"
#include "ml/tokenizer/tokenizer.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace graft::testing;
using nlohmann::json;

namespace {

// Two classes told apart by their words.
void write_set(const std::filesystem::path& p, int n, int offset, bool labelled = true) {
    std::ofstream out(p);
    for (int i = 0; i < n; ++i) {
        const bool pos = (i + offset) % 2 == 0;
        const std::string text = pos ? "great wonderful film loved it" : "awful boring film hated it";
        json row = {{"text", text}};
        if (labelled) row["label"] = pos ? "pos" : "neg";
        out << row.dump() << '\n';
    }
}

bool has_log(const StageRun& r, const std::string& needle) {
    for (const auto& l : r.logs)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

// A 4-layer teacher, fine-tuned from scratch; built once per test binary.
struct Fixture {
    TempDir dir;
    std::filesystem::path teacher;
    Fixture() {
        write_set(dir / "train.jsonl", 48, 0);
        write_set(dir / "val.jsonl", 16, 1);
        write_set(dir / "more.jsonl", 16, 0, false);
        std::filesystem::create_directories(dir / "tok");
        graft::ml::WordPieceTrainerOptions to;
        to.vocab_size = 60;
        to.min_frequency = 1;
        graft::ml::train_wordpiece(std::vector<std::string>{"great wonderful film loved it", "awful boring film hated it"}, to)
            .save(dir / "tok" / "tokenizer.json");
        std::filesystem::create_directories(dir / "ft");
        const auto r = run_stage("finetune",
                                 {{"strategy", "scratch"}, {"d_model", 16}, {"n_layers", 4}, {"n_heads", 2}, {"d_ff", 32},
                                  {"max_len", 16}, {"epochs", 6}, {"batch_size", 8}, {"lr", 3e-3}, {"pooling", "mean"}},
                                 {{"train", dir / "train.jsonl"}, {"val", dir / "val.jsonl"}, {"tokenizer", dir / "tok"}},
                                 dir / "ft");
        if (r.status != 0) throw std::runtime_error("teacher fine-tuning failed: " + r.error);
        teacher = r.outputs.at("model");
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

StageRun distill(const json& params, bool unlabelled = false) {
    auto& f = fixture();
    std::map<std::string, std::filesystem::path> in = {
        {"teacher", f.teacher}, {"train", f.dir / "train.jsonl"}, {"val", f.dir / "val.jsonl"}};
    if (unlabelled) in["unlabelled"] = f.dir / "more.jsonl";
    static int n = 0;
    const auto out = f.dir / ("distill" + std::to_string(++n));
    std::filesystem::create_directories(out);
    json p = {{"epochs", 4}, {"batch_size", 8}, {"lr", 3e-3}, {"latency_runs", 5}};
    p.update(params);
    return run_stage("distill", p, in, out);
}

}  // namespace

TEST_CASE("distill turns the teacher into a smaller student checkpoint that evaluates", "[distill][stage]") {
    const auto r = distill({{"d_model", 8}, {"n_layers", 1}, {"hidden_mse", 0.5}}, true);
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(r.metrics.at("student_parameters") < r.metrics.at("teacher_parameters"));
    CHECK(r.metrics.at("parameter_ratio") == Approx(r.metrics.at("student_parameters") / r.metrics.at("teacher_parameters")));
    CHECK(r.metrics.at("teacher_val_accuracy") == Approx(1.0));
    CHECK(r.metrics.at("val_accuracy") == Approx(1.0));
    CHECK(r.metrics.at("teacher_latency_ms") > 0);
    CHECK(r.metrics.at("speedup") == Approx(r.metrics.at("teacher_latency_ms") / r.metrics.at("student_latency_ms")));
    CHECK(has_log(r, "transfer set: 48 labelled"));
    CHECK(has_log(r, "+ 16 teacher-labelled rows"));

    const auto model_dir = r.outputs.at("model");
    const auto loaded = graft::ml::load_checkpoint(model_dir);
    CHECK(loaded.model->architecture().encoder.n_layers() == 1);
    CHECK(loaded.model->architecture().encoder.d_model() == 8);
    CHECK(loaded.config.extra.at("distillation").at("unlabelled_rows") == 16);
    CHECK(std::filesystem::exists(model_dir / "tokenizer.json"));

    TempDir eval;
    const auto e = run_stage("evaluate", {{"max_len", 16}}, {{"model", model_dir}, {"data", fixture().dir / "val.jsonl"}}, eval.path());
    INFO(e.error);
    REQUIRE(e.status == 0);
    CHECK(e.metrics.at("accuracy") == Approx(r.metrics.at("val_accuracy")));
}

TEST_CASE("distill with teacher_layers init and the default shape", "[distill][stage]") {
    const auto r = distill({{"init", "teacher_layers"}, {"epochs", 1}, {"alpha", 0.0}, {"max_unlabelled", 5}}, true);
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(graft::ml::load_checkpoint(r.outputs.at("model")).model->architecture().encoder.n_layers() == 2);
    CHECK(has_log(r, "transfer set: 48 labelled + 5 teacher-labelled rows"));
}

TEST_CASE("distill reports bad params clearly", "[distill][stage]") {
    auto r = distill({{"init", "teacher_layers"}, {"d_model", 8}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("d_model student 8 vs teacher 16") && Catch::Contains("init = \"random\""));
    r = distill({{"n_heads", 3}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("n_heads = 3 does not divide d_model = 16"));
    r = distill({{"init", "teacher_layers"}, {"n_layers", 3}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("at least 5 layers"));
}

TEST_CASE("distill warns, but runs, when the student is not smaller", "[distill][stage]") {
    const auto r = distill({{"n_layers", 5}, {"epochs", 1}, {"latency_runs", 0}});
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(has_log(r, "warn: the student has"));
    CHECK(r.metrics.at("parameter_ratio") > 1.0);
    CHECK(r.metrics.count("speedup") == 0);
}

TEST_CASE("distill rejects labels the teacher does not predict", "[distill][stage]") {
    auto& f = fixture();
    std::ofstream(f.dir / "odd.jsonl") << json{{"text", "great film"}, {"label", "meh"}}.dump() << '\n';
    TempDir out;
    const auto r = run_stage("distill", {{"epochs", 1}},
                             {{"teacher", f.teacher}, {"train", f.dir / "odd.jsonl"}}, out.path());
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("odd.jsonl: row 1 has label 'meh'") && Catch::Contains("neg, pos"));
}

TEST_CASE("distill cuts long rows the way the teacher was fine-tuned and the student inherits it",
          "[distill][stage][truncation]") {
    auto& f = fixture();
    TempDir dir("distill-truncation");
    const auto ft = run_stage("finetune",
                              {{"strategy", "scratch"}, {"d_model", 16}, {"n_layers", 2}, {"n_heads", 2}, {"d_ff", 32},
                               {"max_len", 16}, {"epochs", 1}, {"batch_size", 8}, {"truncation", "head_tail"}},
                              {{"train", f.dir / "train.jsonl"}, {"val", f.dir / "val.jsonl"}, {"tokenizer", f.dir / "tok"}},
                              dir.path());
    INFO(ft.error);
    REQUIRE(ft.status == 0);
    TempDir out;
    // Every row has 5 words: max_len 6 cuts each of the 48 + 16 rows.
    const auto r = run_stage("distill", {{"epochs", 1}, {"n_layers", 1}, {"max_len", 6}, {"latency_runs", 0}},
                             {{"teacher", ft.outputs.at("model")}, {"train", f.dir / "train.jsonl"}, {"val", f.dir / "val.jsonl"}},
                             out.path());
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(has_log(r, "64 rows longer than max_len = 6 tokens were truncated (truncation = head_tail, the teacher's)"));
    CHECK(graft::ml::load_checkpoint(r.outputs.at("model")).model->architecture().truncation ==
          graft::ml::Truncation::head_tail);
}
