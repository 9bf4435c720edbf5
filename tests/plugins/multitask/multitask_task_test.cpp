// MultitaskTask under the framework's Trainer, on two tiny classifiers: the heads share one
// encoder, a task of loss weight 0 keeps its head exactly as initialised, round robin alternates
// the tasks step by step, and a seed fixes the result.
#include "multitask_task.hpp"

#include "ml/model/checkpoint.hpp"

#include <catch2/catch.hpp>

using namespace graft::multitask;
namespace ml = graft::ml;

namespace {

ml::TaskModelPtr tiny(ml::HeadKind head, std::vector<std::string> labels) {
    ml::ModelArchitecture arch;
    arch.encoder = ml::TransformerEncoderOptions(20).max_len(16).d_model(8).n_layers(1).n_heads(2).d_ff(16);
    arch.head = head;
    arch.labels = std::move(labels);
    arch.classifier_dropout = 0.0;
    return ml::build_model(arch);
}

// Sequence task: class = whether token 3 occurs. Token task: tag = token id parity.
std::vector<ml::Example> sequence_rows(int n) {
    std::vector<ml::Example> out;
    for (int i = 0; i < n; ++i) out.push_back({{1, i % 2 ? 3 : 4, 5 + i % 4, 2}, {i % 2}});
    return out;
}
std::vector<ml::Example> token_rows(int n) {
    std::vector<ml::Example> out;
    for (int i = 0; i < n; ++i) {
        ml::Example e{{1}, {ml::kIgnoreIndex}};
        for (int k = 0; k < 3 + i % 3; ++k) {
            const std::int64_t id = 5 + (i + k) % 10;
            e.ids.push_back(id);
            e.labels.push_back(id % 2);
        }
        out.push_back(e);
    }
    return out;
}

struct Run {
    std::vector<TaskSlot> slots;
    std::unique_ptr<MultitaskTask> task;
    ml::TrainResult result;
};

Run train(Schedule schedule, double weight_b, std::uint64_t seed = 5) {
    torch::manual_seed(static_cast<std::int64_t>(seed));
    std::vector<ml::TaskModelPtr> models = {tiny(ml::HeadKind::sequence_classification, {"x", "y"}),
                                            tiny(ml::HeadKind::token_classification, {"even", "odd"})};
    share_encoder(models);
    Run r;
    std::vector<TaskSlot> slots = {{"seq", models[0], sequence_rows(24), sequence_rows(8), 1.0, 1.0},
                                   {"tok", models[1], token_rows(40), token_rows(8), weight_b, 1.0}};
    r.task = std::make_unique<MultitaskTask>(slots, ScheduleOptions{schedule, 8, 0, seed}, 0, 8);
    r.slots = slots;
    ml::TrainerOptions o;
    o.epochs = 2;
    o.batch_size = 1;
    o.bucket_size = 0;
    o.lr = 1e-2;
    o.seed = seed;
    o.threads = 1;
    o.selection_metric = "val_score";
    o.selection_mode = ml::MetricMode::max;
    o.restore_best = false;
    ml::Trainer trainer(*r.task, o);
    r.result = trainer.fit(r.task->placeholder_train(), MultitaskTask::placeholder_val());
    return r;
}

bool same(const ml::TensorMap& a, const ml::TensorMap& b, const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& [name, t] : a) {
        if (name.rfind(prefix, 0) != 0) continue;
        ++n;
        if (!torch::equal(t, b.at(name))) return false;
    }
    return n > 0;
}

}  // namespace

TEST_CASE("the task models share one encoder, and the trained module holds each parameter once", "[multitask][task]") {
    std::vector<ml::TaskModelPtr> models = {tiny(ml::HeadKind::sequence_classification, {"x", "y"}),
                                            tiny(ml::HeadKind::token_classification, {"a", "b", "c"})};
    share_encoder(models);
    CHECK(models[0]->encoder().ptr() == models[1]->encoder().ptr());
    CHECK(models[0]->named_parameters()["encoder.embeddings.token.weight"].data_ptr() ==
          models[1]->named_parameters()["encoder.embeddings.token.weight"].data_ptr());
    MultitaskModule module(std::vector<TaskSlot>{{"seq", models[0], {}, {}, 1, 1}, {"tok", models[1], {}, {}, 1, 1}});
    std::int64_t expected = 0;
    for (const auto& p : models[0]->parameters()) expected += p.numel();
    for (const auto& p : models[1]->head()->parameters()) expected += p.numel();
    std::int64_t counted = 0;
    for (const auto& p : module->parameters()) counted += p.numel();
    CHECK(counted == expected);
    CHECK(module->named_parameters().contains("heads.tok.classifier.weight"));

    auto wider = tiny(ml::HeadKind::sequence_classification, {"x", "y"});
    ml::ModelArchitecture arch = wider->architecture();
    arch.encoder.d_model(16);
    CHECK_THROWS_WITH(share_encoder({wider, ml::build_model(arch)}), Catch::Contains("other encoder options"));
}

TEST_CASE("round robin training alternates the tasks and trains both heads and the encoder", "[multitask][task]") {
    torch::manual_seed(5);
    const auto before_seq = tiny(ml::HeadKind::sequence_classification, {"x", "y"});
    const Run r = train(Schedule::round_robin, 1.0);
    const auto& h = r.task->history();
    REQUIRE(h.size() == 2 * 2 * 5);  // 2 epochs x 2 tasks x 5 batches of the larger task
    for (std::size_t i = 0; i < h.size(); ++i) CHECK(h[i] == std::vector<std::size_t>{i % 2});
    CHECK(r.task->parts_trained() == std::vector<std::int64_t>{10, 10});
    CHECK(r.result.steps == 20);
    CHECK(r.result.best->metrics.count("seq_val_accuracy") == 1);
    CHECK(r.result.best->metrics.count("tok_val_accuracy") == 1);
    CHECK(r.result.best->metrics.at("val_score") ==
          Approx((r.result.best->metrics.at("seq_val_accuracy") + r.result.best->metrics.at("tok_val_accuracy")) / 2));
    // Same seed, same initial weights as a fresh build: the encoder moved.
    const auto initial = ml::state_dict(*before_seq);
    const auto trained = ml::state_dict(*r.slots[0].model);
    CHECK_FALSE(same(initial, trained, "encoder."));
    CHECK_FALSE(same(initial, trained, "head."));
}

TEST_CASE("a task of loss weight 0 leaves its head exactly as initialised", "[multitask][task]") {
    torch::manual_seed(5);
    tiny(ml::HeadKind::sequence_classification, {"x", "y"});  // the draws train() makes first
    const auto untouched = ml::state_dict(*tiny(ml::HeadKind::token_classification, {"even", "odd"}));
    for (const auto kind : {Schedule::round_robin, Schedule::proportional, Schedule::mixed}) {
        INFO(to_string(kind));
        const Run r = train(kind, 0.0);
        const auto tok = ml::state_dict(*r.slots[1].model);
        CHECK(same(untouched, tok, "head."));        // never trained
        CHECK_FALSE(same(untouched, tok, "encoder."));  // the shared encoder was
        CHECK(r.task->rows_trained()[1] == 0);
        CHECK(r.task->rows_trained()[0] == 2 * 24);
    }
    // With weight 1 the same head does move.
    CHECK_FALSE(same(untouched, ml::state_dict(*train(Schedule::mixed, 1.0).slots[1].model), "head."));
}

TEST_CASE("multitask training is deterministic for a seed", "[multitask][task]") {
    const auto a = ml::state_dict(*train(Schedule::proportional, 0.5, 9).slots[1].model);
    const auto b = ml::state_dict(*train(Schedule::proportional, 0.5, 9).slots[1].model);
    const auto c = ml::state_dict(*train(Schedule::proportional, 0.5, 10).slots[1].model);
    CHECK(same(a, b, ""));
    CHECK_FALSE(same(a, c, ""));
}
