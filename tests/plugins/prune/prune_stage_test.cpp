// The prune stage through the real host: unstructured one-shot and iterative pruning hit the
// target exactly and write a checkpoint that loads; structured pruning writes a smaller one; a
// target the model cannot meet fails the stage with a message naming it.
#include "support/stage_runner.hpp"
#include "tiny_classifier.hpp"

#include "masks.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace graft::testing;
using nlohmann::json;

namespace {

struct Fixture {
    TempDir dir{"prune-stage"};
    std::filesystem::path model;
    Fixture() {
        model = write_tiny_checkpoint(dir.path());
        write_rows(dir / "train.jsonl", 32, 0);
        write_rows(dir / "val.jsonl", 12, 1);
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

StageRun prune(const json& params, bool with_train = true) {
    auto& f = fixture();
    std::map<std::string, std::filesystem::path> in = {{"model", f.model}, {"val", f.dir / "val.jsonl"}};
    if (with_train) in["train"] = f.dir / "train.jsonl";
    static int n = 0;
    const auto out = f.dir / ("prune" + std::to_string(++n));
    std::filesystem::create_directories(out);
    json p = {{"batch_size", 8}, {"lr", 1e-3}, {"latency_runs", 3}};
    p.update(params);
    return run_stage("prune", p, in, out);
}

std::int64_t zero_entries(graft::ml::TaskModelImpl& model) {
    std::int64_t zeros = 0;
    for (const auto& name : graft::prune::prunable_weight_names(model, {}))
        for (const auto& item : model.named_parameters())
            if (item.key() == name) zeros += item.value().numel() - item.value().count_nonzero().item<std::int64_t>();
    return zeros;
}

}  // namespace

TEST_CASE("unstructured one-shot pruning reports exact sparsity and writes a loadable checkpoint",
          "[prune][stage]") {
    const auto r = prune({{"sparsity", 0.7}, {"epochs_per_step", 0}}, /*with_train=*/false);
    REQUIRE(r.status == 0);
    const double n = r.metrics.at("prunable_weights");
    CHECK(n == 2 * (4 * 16 * 16 + 2 * 16 * 32));
    CHECK(r.metrics.at("zero_weights") == std::llround(0.7 * n));
    CHECK(r.metrics.at("sparsity") == Approx(std::llround(0.7 * n) / n));
    CHECK(r.metrics.count("layer_0_sparsity") == 1);
    CHECK(r.metrics.count("layer_1_sparsity") == 1);
    CHECK(r.metrics.at("parameters_after") == r.metrics.at("parameters_before"));  // dense tensors
    CHECK(r.metrics.count("val_accuracy") == 1);
    CHECK(r.metrics.count("latency_after_ms") == 1);
    const auto loaded = graft::ml::load_checkpoint(r.outputs.at("model"));
    CHECK(zero_entries(*loaded.model) == std::llround(0.7 * n));
    CHECK(loaded.tokenizer_path().has_value());
    CHECK(loaded.config.extra.at("pruning").at("method") == "unstructured");
}

TEST_CASE("iterative pruning with fine-tuning between steps ends at the exact target", "[prune][stage]") {
    const auto r = prune({{"sparsity", 0.8}, {"steps", 3}, {"epochs_per_step", 1}, {"scope", "layer"}});
    REQUIRE(r.status == 0);
    CHECK(r.metrics.at("fine_tuning_steps") == 3 * 4);  // 32 rows / 8 per step, 3 rounds
    // scope = layer: each matrix is pruned to round(0.8 x its size) on its own.
    const auto loaded = graft::ml::load_checkpoint(r.outputs.at("model"));
    CHECK(zero_entries(*loaded.model) == 8 * std::llround(0.8 * 256) + 4 * std::llround(0.8 * 512));
    CHECK(r.metrics.at("layer_0_sparsity") == Approx(0.8).margin(1e-3));
    int schedule_lines = 0;
    for (const auto& l : r.logs)
        if (l.find("prunable weights pruned (target") != std::string::npos) ++schedule_lines;
    CHECK(schedule_lines == 3);
}

TEST_CASE("structured pruning removes heads and units and writes a smaller checkpoint", "[prune][stage]") {
    const auto r = prune({{"method", "structured"}, {"heads_fraction", 0.25}, {"ffn_fraction", 0.5},
                          {"steps", 2}, {"epochs_per_step", 1}});
    REQUIRE(r.status == 0);
    CHECK(r.metrics.at("heads_after") == 6);
    CHECK(r.metrics.at("ffn_units_after") == 32);
    CHECK(r.metrics.at("parameters_after") < r.metrics.at("parameters_before"));
    CHECK(r.metrics.at("checkpoint_bytes_after") < r.metrics.at("checkpoint_bytes_before"));
    const auto loaded = graft::ml::load_checkpoint(r.outputs.at("model"));
    const auto& enc = loaded.model->architecture().encoder;
    CHECK(enc.layer_heads()[0] + enc.layer_heads()[1] == 6);
    CHECK(enc.layer_d_ff()[0] + enc.layer_d_ff()[1] == 32);
}

TEST_CASE("structured pruning by taylor importance scores on the train rows", "[prune][stage]") {
    const auto r = prune({{"method", "structured"}, {"importance", "taylor"}, {"importance_batches", 2},
                          {"heads_fraction", 0.5}, {"ffn_fraction", 0.25}, {"scope", "layer"}, {"epochs_per_step", 0}});
    REQUIRE(r.status == 0);
    CHECK(r.metrics.at("layer_0_heads") == 2);
    CHECK(r.metrics.at("layer_1_heads") == 2);
    CHECK(r.metrics.at("layer_0_ffn_units") == 24);
    CHECK(r.metrics.at("fine_tuning_steps") == 0);
    const auto loaded = graft::ml::load_checkpoint(r.outputs.at("model"));
    CHECK(loaded.model->architecture().encoder.layer_heads() == std::vector<std::int64_t>{2, 2});
    CHECK(loaded.config.extra.at("pruning").at("importance") == "taylor");
}

TEST_CASE("a target the model cannot meet fails the stage, and bad setups are named", "[prune][stage]") {
    // 30% of 8 heads: 2 or 3 heads are 25% or 37.5%, more than 0.5 points off.
    auto r = prune({{"method", "structured"}, {"heads_fraction", 0.3}, {"ffn_fraction", 0.0}, {"epochs_per_step", 0}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("missed its target by more than 0.5 points") &&
                            Catch::Contains("removed heads 25.00% against the target 30.00%"));
    r = prune({{"sparsity", 0.5}}, /*with_train=*/false);
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("connect a 'train' input") && Catch::Contains("epochs_per_step = 0"));
    r = prune({{"sparsity", 0.5}, {"initial_sparsity", 0.6}, {"epochs_per_step", 0}});
    CHECK_THAT(r.error, Catch::Contains("initial_sparsity = 0.6 exceeds sparsity = 0.5"));
}

TEST_CASE("prune cuts long rows the way the model was fine-tuned and keeps its truncation", "[prune][stage][truncation]") {
    TempDir dir("prune-truncation");
    const auto model = write_tiny_checkpoint(dir.path(), 7, graft::ml::Truncation::head_tail);
    write_rows(dir / "train.jsonl", 16, 0);
    write_rows(dir / "val.jsonl", 8, 1);
    std::filesystem::create_directories(dir / "out");
    // max_len 6 cuts every row ([CLS] + at least 5 words + [SEP]).
    const auto r = run_stage("prune", {{"sparsity", 0.5}, {"epochs_per_step", 1}, {"batch_size", 8}, {"max_len", 6},
                                       {"latency_runs", 0}},
                             {{"model", model}, {"train", dir / "train.jsonl"}, {"val", dir / "val.jsonl"}}, dir / "out");
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(std::any_of(r.logs.begin(), r.logs.end(), [](const std::string& l) {
        return l.find("24 rows longer than max_len = 6 tokens were truncated (truncation = head_tail, the model's)") !=
               std::string::npos;
    }));
    CHECK(graft::ml::load_checkpoint(r.outputs.at("model")).model->architecture().truncation ==
          graft::ml::Truncation::head_tail);
}
