// Trainer: exact gradient accumulation, exact resume, determinism, early stopping with best-weight
// restore, bf16 autocast, frozen parameters, progress and JSONL log, error messages.
#include "ml/train/runtime.hpp"
#include "ml/train/trainer.hpp"

#include "tiny_task.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <limits>

using namespace graft::ml;
using graft::ml::test::ClassifierTask;
using graft::ml::test::flat_parameters;
using graft::ml::test::TempDir;

namespace {

// Bitwise determinism needs one intra-op thread.
void single_thread() {
    static const RuntimeInfo info = init_runtime(1);
    at::set_num_threads(1);
}

TrainerOptions classifier_options() {
    TrainerOptions o;
    o.epochs = 1;
    o.batch_size = 8;
    o.lr = 1e-2;
    o.weight_decay = 0.01;
    o.schedule = ScheduleKind::constant;
    o.clip_norm = 1.0;
    o.threads = 1;
    o.collate.label_kind = LabelKind::sequence;
    o.selection_metric = "accuracy";
    o.selection_mode = MetricMode::max;
    return o;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

}  // namespace

TEST_CASE("gradient accumulation of 4 micro-batches of 8 equals one batch of 32",
          "[trainer][accumulation]") {
    single_thread();
    // bucket_size 0: both runs see the same 32 examples in every step.
    auto options = classifier_options();
    options.bucket_size = 0;
    options.clip_norm = 0.5;  // clipping acts on the accumulated gradient

    SECTION("per-example mean loss, AdamW and SGD") {
        const auto train = test::classification_data(96, 11);
        for (const auto kind : {OptimizerKind::adamw, OptimizerKind::sgd}) {
            options.optimizer = kind;
            options.lr = kind == OptimizerKind::adamw ? 1e-2 : 0.2;
            ClassifierTask accumulated(3), whole(3);
            const auto initial = flat_parameters(whole.module()).clone();

            auto accumulate = options;
            accumulate.batch_size = 8;
            accumulate.grad_accum_steps = 4;
            Trainer a(accumulated, accumulate);
            const auto ra = a.fit(train);
            auto big = options;
            big.batch_size = 32;
            big.grad_accum_steps = 1;
            Trainer b(whole, big);
            const auto rb = b.fit(train);

            INFO("optimizer " << to_string(kind));
            REQUIRE(ra.steps == 3);
            REQUIRE(rb.steps == 3);
            for (size_t i = 0; i < 3; ++i) CHECK(ra.losses[i] == Approx(rb.losses[i]).margin(1e-6));
            const auto pa = flat_parameters(accumulated.module());
            const auto pb = flat_parameters(whole.module());
            CHECK(max_abs_diff(pa, pb) < 1e-5);
            CHECK(max_abs_diff(pb, initial) > 1e-3);  // the steps did move the weights
        }
    }
    SECTION("per-token mean loss weighted by labelled tokens") {
        const auto train = test::tagging_data(64, 12);
        options.collate.label_kind = LabelKind::token;
        options.lr = 0.05;
        test::TaggerTask accumulated(5), whole(5);
        auto accumulate = options;
        accumulate.grad_accum_steps = 4;
        Trainer a(accumulated, accumulate);
        const auto ra = a.fit(train);
        auto big = options;
        big.batch_size = 32;
        Trainer b(whole, big);
        const auto rb = b.fit(train);
        REQUIRE(ra.steps == 2);
        for (size_t i = 0; i < 2; ++i) CHECK(ra.losses[i] == Approx(rb.losses[i]).margin(1e-6));
        CHECK(max_abs_diff(flat_parameters(accumulated.module()),
                           flat_parameters(whole.module())) < 1e-5);
    }
}

TEST_CASE("N steps straight equal N/2 steps + save + resume in a new trainer + N/2 steps",
          "[trainer][resume]") {
    single_thread();
    TempDir dir;
    const auto train = test::classification_data(64, 21);
    const auto eval = test::classification_data(24, 22);
    // Dropout (global generator), augmentation (task generator), bucketing and shuffling (data
    // RNG), warm-up + decay, clipping, evaluation and best tracking all have state to carry.
    auto options = classifier_options();
    options.epochs = 3;
    options.grad_accum_steps = 2;  // 8 micro-batches, 4 steps per epoch, 12 steps
    options.bucket_size = 4;
    options.schedule = ScheduleKind::linear;
    options.warmup_steps = 2;
    options.eval_every = 3;
    options.restore_best = false;
    options.seed = 17;

    ClassifierTask straight_task(1, 0.1, true);
    auto straight_options = options;
    straight_options.log_path = dir.path / "straight.jsonl";
    Trainer straight(straight_task, straight_options);
    const auto full = straight.fit(train, eval);
    REQUIRE(full.steps == 12);
    REQUIRE(full.losses.size() == 12);

    // Stop after step 5: mid-epoch (epoch 1, one of its four steps done).
    auto first_options = options;
    first_options.checkpoint_dir = dir.path / "ckpt";
    first_options.log_path = dir.path / "resumed.jsonl";
    first_options.stop_after_steps = 5;
    ClassifierTask first_task(1, 0.1, true);
    Trainer first(first_task, first_options);
    const auto part1 = first.fit(train, eval);
    REQUIRE(part1.interrupted);
    REQUIRE(part1.steps == 5);
    REQUIRE(std::filesystem::exists(first.state_path()));

    // A new task whose model starts from different weights: everything comes from the file.
    torch::manual_seed(12345);  // and the global generator is elsewhere too
    ClassifierTask second_task(2, 0.1, true);
    auto second_options = first_options;
    second_options.stop_after_steps = 0;
    second_options.resume_from = first.state_path();
    Trainer second(second_task, second_options);
    const auto part2 = second.fit(train, eval);
    REQUIRE(part2.steps == 12);
    REQUIRE(part2.losses.size() == 7);

    std::vector<double> resumed = part1.losses;
    resumed.insert(resumed.end(), part2.losses.begin(), part2.losses.end());
    CHECK(resumed == full.losses);  // exactly, not approximately
    CHECK(torch::equal(flat_parameters(second_task.module()),
                       flat_parameters(straight_task.module())));
    REQUIRE(part2.best.has_value());
    CHECK(part2.best->step == full.best->step);
    CHECK(part2.best->metrics == full.best->metrics);

    // The log of the interrupted + resumed run has each step once, with the same losses.
    const auto log = read_jsonl(first_options.log_path);
    const auto straight_log = read_jsonl(straight_options.log_path);
    REQUIRE(log.size() == 12);
    for (size_t i = 0; i < log.size(); ++i) {
        CHECK(log[i]["step"] == i + 1);
        CHECK(log[i]["loss"] == straight_log[i]["loss"]);
        CHECK(log[i]["lr"] == straight_log[i]["lr"]);
        CHECK(log[i].contains("eval") == straight_log[i].contains("eval"));
    }
}

TEST_CASE("the same seed gives the same run and another seed another run", "[trainer][determinism]") {
    single_thread();
    const auto train = test::classification_data(48, 31);
    auto options = classifier_options();
    options.epochs = 2;
    options.bucket_size = 2;
    auto run = [&](uint64_t seed) {
        auto o = options;
        o.seed = seed;
        ClassifierTask task(4, 0.2, true);
        Trainer trainer(task, o);
        const auto result = trainer.fit(train);
        return std::make_pair(result.losses, flat_parameters(task.module()).clone());
    };
    const auto [losses_a, weights_a] = run(5);
    const auto [losses_b, weights_b] = run(5);
    const auto [losses_c, weights_c] = run(6);
    CHECK(losses_a == losses_b);
    CHECK(torch::equal(weights_a, weights_b));
    CHECK(losses_a != losses_c);
    CHECK_FALSE(torch::equal(weights_a, weights_c));
}

namespace {

// Returns a scripted selection metric and remembers the weights at every evaluation.
class ScriptedTask : public ClassifierTask {
public:
    explicit ScriptedTask(std::vector<double> script)
        : ClassifierTask(8), script_(std::move(script)) {}

    EvalResult evaluate(const std::vector<Batch>& batches) override {
        auto result = ClassifierTask::evaluate(batches);
        result.metrics["score"] = script_.at(snapshots.size());
        snapshots.push_back(flat_parameters(module()).clone());
        return result;
    }

    std::vector<torch::Tensor> snapshots;

private:
    std::vector<double> script_;
};

}  // namespace

TEST_CASE("early stopping stops after patience evaluations and restores the best weights",
          "[trainer][early-stopping]") {
    single_thread();
    const auto train = test::classification_data(80, 41);
    const auto eval = test::classification_data(16, 42);
    auto options = classifier_options();
    options.epochs = 5;  // 50 steps available
    options.eval_every = 1;
    options.early_stopping_patience = 3;
    options.selection_metric = "score";

    SECTION("max mode") {
        // Best at the 2nd evaluation; the 3rd-5th do not beat it (0.7 + min_delta is needed).
        ScriptedTask task({0.5, 0.7, 0.6, 0.7, 0.65, 0.9, 0.9});
        options.min_delta = 0.001;
        Trainer trainer(task, options);
        const auto result = trainer.fit(train, eval);
        CHECK(result.stopped_early);
        CHECK(result.steps == 5);
        CHECK(result.evals.size() == 5);
        REQUIRE(result.best.has_value());
        CHECK(result.best->step == 2);
        CHECK(result.best->metrics.at("score") == 0.7);
        CHECK(result.restored_best);
        CHECK(torch::equal(flat_parameters(task.module()), task.snapshots.at(1)));
        CHECK_FALSE(torch::equal(flat_parameters(task.module()), task.snapshots.at(4)));
    }
    SECTION("min mode, and improvements reset the patience") {
        ScriptedTask task({3.0, 2.0, 2.5, 2.6, 1.0, 1.5, 1.2, 1.1, 0.1});
        options.selection_mode = MetricMode::min;
        Trainer trainer(task, options);
        const auto result = trainer.fit(train, eval);
        CHECK(result.stopped_early);
        CHECK(result.steps == 8);
        CHECK(result.best->step == 5);
        CHECK(torch::equal(flat_parameters(task.module()), task.snapshots.at(4)));
    }
    SECTION("restore_best = false keeps the last weights") {
        ScriptedTask task({0.5, 0.7, 0.6, 0.6, 0.6});
        options.restore_best = false;
        Trainer trainer(task, options);
        const auto result = trainer.fit(train, eval);
        CHECK(result.steps == 5);
        CHECK_FALSE(result.restored_best);
        CHECK(torch::equal(flat_parameters(task.module()), task.snapshots.at(4)));
    }
}

TEST_CASE("bf16 runs the forward under autocast and stays close to fp32", "[trainer][bf16]") {
    single_thread();
    init_runtime(1, Precision::bf16);
    const auto train = test::classification_data(64, 51);
    auto options = classifier_options();
    options.epochs = 2;
    ClassifierTask fp32_task(6), bf16_task(6);
    Trainer fp32(fp32_task, options);
    const auto reference = fp32.fit(train);
    CHECK(fp32_task.last_logits_dtype == torch::kFloat32);

    options.precision = Precision::bf16;
    Trainer bf16(bf16_task, options);
    const auto result = bf16.fit(train, test::classification_data(16, 52));
    CHECK(bf16_task.last_logits_dtype == torch::kBFloat16);  // the linear layers ran in bf16
    for (const auto& p : bf16_task.module().parameters()) {
        CHECK(p.scalar_type() == torch::kFloat32);  // master weights stay fp32
    }
    REQUIRE(result.losses.size() == reference.losses.size());
    CHECK(result.losses.front() == Approx(reference.losses.front()).epsilon(0.02));
    CHECK(result.losses.back() == Approx(reference.losses.back()).epsilon(0.1));
    CHECK(max_abs_diff(flat_parameters(bf16_task.module()), flat_parameters(fp32_task.module())) <
          0.05);
}

TEST_CASE("frozen parameters stay unchanged even with weight decay", "[trainer][freeze]") {
    single_thread();
    ClassifierTask task(9);
    auto& model = task.model();
    model->embedding->weight.requires_grad_(false);
    model->norm->weight.requires_grad_(false);
    const auto embedding = model->embedding->weight.detach().clone();
    const auto norm = model->norm->weight.detach().clone();
    const auto hidden = model->hidden->weight.detach().clone();
    auto options = classifier_options();
    options.weight_decay = 0.5;
    Trainer trainer(task, options);
    trainer.fit(test::classification_data(32, 61));
    CHECK(torch::equal(model->embedding->weight, embedding));
    CHECK(torch::equal(model->norm->weight, norm));
    CHECK_FALSE(torch::equal(model->hidden->weight, hidden));
}

namespace {

class EpochTask : public ClassifierTask {
public:
    EpochTask() : ClassifierTask(10) {}
    void on_epoch_begin(int64_t epoch) override { epochs.push_back(epoch); }
    std::vector<int64_t> epochs;
};

}  // namespace

TEST_CASE("on_epoch_begin runs per epoch and again for the resumed epoch", "[trainer][resume]") {
    single_thread();
    TempDir dir;
    const auto train = test::classification_data(32, 71);  // 4 steps per epoch
    auto options = classifier_options();
    options.epochs = 3;
    options.checkpoint_dir = dir.path;
    options.stop_after_steps = 6;
    EpochTask first;
    Trainer a(first, options);
    a.fit(train);
    CHECK(first.epochs == std::vector<int64_t>{0, 1});

    options.stop_after_steps = 0;
    options.resume_from = a.state_path();
    EpochTask second;
    Trainer b(second, options);
    const auto result = b.fit(train);
    CHECK(second.epochs == std::vector<int64_t>{1, 2});
    CHECK(result.epochs_completed == 3);
}

TEST_CASE("progress callback and JSONL log report every step", "[trainer][log]") {
    single_thread();
    TempDir dir;
    auto options = classifier_options();
    options.epochs = 2;
    options.schedule = ScheduleKind::linear;
    options.warmup_steps = 1;
    options.log_path = dir.path / "logs" / "train.jsonl";
    ClassifierTask task(12);
    Trainer trainer(task, options);
    std::vector<Progress> seen;
    trainer.set_progress_callback([&](const Progress& p) { seen.push_back(p); });
    const auto train = test::classification_data(24, 81);
    const auto result = trainer.fit(train, test::classification_data(8, 82));

    REQUIRE(result.steps == 6);
    REQUIRE(seen.size() == 6);
    CHECK(seen.back().step == 6);
    CHECK(seen.back().total_steps == 6);
    CHECK(seen.back().eta_s == 0.0);
    CHECK(seen.front().tokens_per_s > 0);
    CHECK(seen.front().lr == Approx(options.lr));  // warm-up of one step: full lr at once

    const auto log = read_jsonl(options.log_path);
    REQUIRE(log.size() == 6);
    int64_t tokens = 0;
    for (const auto& line : log) {
        for (const char* key : {"step", "epoch", "loss", "lr", "tokens", "tokens_per_s",
                                "grad_norm"}) {
            CHECK(line.contains(key));
        }
        tokens += line["tokens"].get<int64_t>();
    }
    int64_t real = 0;
    for (const auto& e : train) real += static_cast<int64_t>(e.ids.size());
    CHECK(tokens == 2 * real);
    CHECK(result.real_tokens == 2 * real);
    // eval_every = 0: evaluation at the end of each epoch.
    CHECK_FALSE(log[1].contains("eval"));
    CHECK(log[2]["eval"].contains("accuracy"));
    CHECK(log[2]["epoch"] == 0);
    CHECK(log[5]["eval"].contains("loss"));
    CHECK(log[5]["epoch"] == 1);
    CHECK(log[5]["lr"].get<double>() == Approx(options.lr * 0.2));
}

namespace {

class NanTask : public ClassifierTask {
public:
    NanTask() : ClassifierTask(13) {}
    torch::Tensor loss(const Batch& batch) override {
        return ClassifierTask::loss(batch) * std::numeric_limits<double>::quiet_NaN();
    }
};

}  // namespace

TEST_CASE("bad runs fail with clear messages", "[trainer][errors]") {
    single_thread();
    const auto train = test::classification_data(16, 91);
    auto options = classifier_options();

    SECTION("empty training set") {
        ClassifierTask task(14);
        Trainer trainer(task, options);
        CHECK_THROWS_WITH(trainer.fit({}), Catch::Contains("training set is empty"));
    }
    SECTION("unknown selection metric") {
        ClassifierTask task(14);
        options.selection_metric = "f1";
        Trainer trainer(task, options);
        CHECK_THROWS_WITH(trainer.fit(train, train),
                          Catch::Contains("'f1'") && Catch::Contains("accuracy, loss"));
    }
    SECTION("nothing to train") {
        ClassifierTask task(14);
        options.epochs = 0;
        CHECK_THROWS_WITH(Trainer(task, options), Catch::Contains("epochs > 0 or max_steps > 0"));
    }
    SECTION("diverging loss") {
        NanTask task;
        Trainer trainer(task, options);
        CHECK_THROWS_WITH(trainer.fit(train), Catch::Contains("loss is nan at step 1") &&
                                                  Catch::Contains("lower the learning rate"));
    }
    SECTION("missing labels") {
        ClassifierTask task(14);
        auto unlabeled = train;
        unlabeled[3].labels.clear();
        Trainer trainer(task, options);
        CHECK_THROWS_WITH(trainer.fit(unlabeled), Catch::Contains("example 3 has 0 labels"));
    }
    SECTION("resume from a missing file or with other data") {
        TempDir dir;
        ClassifierTask task(14);
        options.resume_from = dir.path / "nope.pt";
        Trainer missing(task, options);
        CHECK_THROWS_WITH(missing.fit(train), Catch::Contains("does not exist"));

        options.resume_from.clear();
        options.checkpoint_dir = dir.path;
        Trainer saver(task, options);
        saver.fit(train);
        options.resume_from = saver.state_path();
        ClassifierTask other(15);
        Trainer resumer(other, options);
        CHECK_THROWS_WITH(resumer.fit(test::classification_data(40, 92)),
                          Catch::Contains("saved run had 16 training examples"));
        options.optimizer = OptimizerKind::sgd;
        Trainer wrong_optimizer(other, options);
        CHECK_THROWS_WITH(wrong_optimizer.fit(train), Catch::Contains("optimizer 'adamw'"));
    }
}
