// Unstructured pruning: masks hit the requested sparsity exactly (global and per matrix), grow
// monotonically along the cubic schedule, and stay applied through fine-tuning with the trainer,
// whose clipping norm and AdamW moments never see a pruned weight's gradient.
#include "masks.hpp"
#include "prune_task.hpp"
#include "schedule.hpp"
#include "tiny_classifier.hpp"

#include "ml/train/trainer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

using namespace graft;
using namespace graft::prune;

namespace {

int64_t zeros(const torch::Tensor& t) { return t.numel() - t.count_nonzero().item<int64_t>(); }

}  // namespace

TEST_CASE("prunable weights are the layers' attention and feed-forward matrices", "[prune][masks]") {
    auto model = testing::tiny_classifier();
    const auto names = prunable_weight_names(*model, {});
    REQUIRE(names.size() == 12);  // 2 layers x (query, key, value, output, intermediate, output)
    for (const auto& n : names) {
        CHECK(n.rfind("encoder.layers.", 0) == 0);
        CHECK(n.size() > 7);
        CHECK(n.substr(n.size() - 7) == ".weight");
    }
    const auto all = prunable_weight_names(*model, {true, true});
    CHECK(all.size() == 15);
    CHECK(std::find(all.begin(), all.end(), "head.classifier.weight") != all.end());
    CHECK(std::find(all.begin(), all.end(), "encoder.embeddings.token.weight") != all.end());
    CHECK(layer_of("encoder.layers.1.attention.query.weight") == 1);
    CHECK(layer_of("head.classifier.weight") == -1);
}

TEST_CASE("global masks prune exactly round(s * N) of the smallest weights", "[prune][masks]") {
    for (const double s : {0.1, 0.37, 0.5, 0.9}) {
        auto model = testing::tiny_classifier();
        const auto names = prunable_weight_names(*model, {});
        MaskSet masks(*model, names);
        const int64_t n = masks.total();
        REQUIRE(n == 2 * (4 * 16 * 16 + 2 * 16 * 32));
        std::vector<torch::Tensor> before;
        for (const auto& e : masks.entries()) before.push_back(e.weight.detach().abs().reshape({-1}).clone());

        masks.prune_to(s, Scope::global);
        const auto k = static_cast<int64_t>(std::llround(s * static_cast<double>(n)));
        CHECK(masks.pruned() == k);
        const auto report = measure_sparsity(*model, names);
        CHECK(report.zeros == k);
        CHECK(report.overall == Approx(static_cast<double>(k) / static_cast<double>(n)));
        // Every pruned weight was at most as large as every kept one, across all matrices.
        double largest_pruned = 0, smallest_kept = 1e9;
        for (size_t i = 0; i < masks.entries().size(); ++i) {
            const auto mask = masks.entries()[i].mask.reshape({-1});
            if (zeros(mask) > 0)
                largest_pruned = std::max(largest_pruned, before[i].masked_select(mask.eq(0)).max().item<double>());
            if (zeros(mask) < mask.numel())
                smallest_kept = std::min(smallest_kept, before[i].masked_select(mask.ne(0)).min().item<double>());
        }
        CHECK(largest_pruned <= smallest_kept);
    }
}

TEST_CASE("layer scope prunes every matrix to the target on its own", "[prune][masks]") {
    auto model = testing::tiny_classifier();
    MaskSet masks(*model, prunable_weight_names(*model, {}));
    masks.prune_to(0.3, Scope::layer);
    for (const auto& e : masks.entries())
        CHECK(zeros(e.weight) == std::llround(0.3 * static_cast<double>(e.weight.numel())));
    const auto report = measure_sparsity(*model, prunable_weight_names(*model, {}));
    CHECK(report.by_group.at("layer_0") == Approx(0.3).margin(1e-3));
    CHECK(report.by_group.at("layer_1") == Approx(0.3).margin(1e-3));
}

TEST_CASE("ties are broken by position, so exactly k of equal weights are pruned", "[prune][masks]") {
    auto model = testing::tiny_classifier();
    const std::string name = "encoder.layers.0.attention.query.weight";
    {
        torch::NoGradGuard no_grad;
        for (const auto& item : model->named_parameters())
            if (item.key() == name) item.value().fill_(0.5);  // 256 equal weights
    }
    MaskSet masks(*model, {name});
    masks.prune_to(0.25, Scope::global);
    const auto mask = masks.entries()[0].mask.reshape({-1});
    CHECK(zeros(mask) == 64);
    CHECK(zeros(mask.narrow(0, 0, 64)) == 64);  // the first 64 positions
}

TEST_CASE("masks only grow along the cubic schedule", "[prune][masks][schedule]") {
    CHECK(cubic_sparsity(0.0, 0.8, 1, 1) == 0.8);
    CHECK(cubic_sparsity(0.0, 0.8, 1, 4) == Approx(0.8 - 0.8 * std::pow(0.75, 3)));
    CHECK(cubic_sparsity(0.1, 0.8, 2, 4) == Approx(0.8 - 0.7 * 0.125));
    CHECK(cubic_sparsity(0.0, 0.8, 4, 4) == 0.8);
    CHECK_THROWS(cubic_sparsity(0.0, 0.8, 0, 4));

    auto model = testing::tiny_classifier();
    MaskSet masks(*model, prunable_weight_names(*model, {}));
    torch::Tensor previous;
    for (int64_t t = 1; t <= 4; ++t) {
        masks.prune_to(cubic_sparsity(0.0, 0.8, t, 4), Scope::global);
        const auto flat = torch::cat({masks.entries()[0].mask.reshape({-1}), masks.entries()[5].mask.reshape({-1})});
        if (previous.defined()) {
            CHECK(zeros(flat) > zeros(previous));
            CHECK(zeros(previous * flat) == zeros(flat));  // what was pruned is still pruned
        }
        previous = flat;
    }
    CHECK(masks.pruned() == std::llround(0.8 * static_cast<double>(masks.total())));
    CHECK_THROWS_WITH(masks.prune_to(0.5, Scope::global), Catch::Contains("a schedule must not decrease"));
    CHECK_THROWS_WITH(masks.prune_to(1.0, Scope::global), Catch::Contains("sparsity must be in [0, 1)"));
}

TEST_CASE("pruned weights stay exactly zero and the sparsity exact through fine-tuning", "[prune][masks][trainer]") {
    auto model = testing::tiny_classifier();
    const auto names = prunable_weight_names(*model, {});
    MaskSet masks(*model, names);
    masks.prune_to(0.6, Scope::global);
    const int64_t k = masks.pruned();
    std::vector<torch::Tensor> kept_before;
    for (const auto& e : masks.entries()) kept_before.push_back(e.weight.detach().clone());

    model->train();
    PruneTask task(model, &masks);
    ml::TrainerOptions o;
    o.epochs = 3;
    o.batch_size = 8;
    o.lr = 1e-2;  // large steps and weight decay: without the masks the zeros would move
    o.weight_decay = 0.1;
    o.threads = 1;
    o.collate.label_kind = ml::LabelKind::sequence;
    o.selection_metric = "accuracy";
    o.selection_mode = ml::MetricMode::max;
    ml::Trainer trainer(task, o);
    const auto r = trainer.fit(testing::tiny_examples(32), testing::tiny_examples(8));
    REQUIRE(r.steps == 12);

    const auto report = measure_sparsity(*model, names);
    CHECK(report.zeros == k);
    int64_t moved = 0;
    for (size_t i = 0; i < masks.entries().size(); ++i) {
        const auto& e = masks.entries()[i];
        CHECK(e.weight.detach().masked_select(e.mask.eq(0)).count_nonzero().item<int64_t>() == 0);
        moved += (e.weight.detach() != kept_before[i]).logical_and(e.mask.ne(0)).sum().item<int64_t>();
    }
    CHECK(moved > 0);  // the kept weights did train
}

// A 60 % pruned classifier fine-tuned for 4 steps of 2 accumulated micro-batches with AdamW, weight
// decay and clip_norm = 0 (the norm is measured, not scaled); the trainer keeps the last gradients
// and moments to look at.
namespace {

struct MaskedFit {
    ml::TaskModelPtr model = testing::tiny_classifier();
    MaskSet masks{*model, prunable_weight_names(*model, {})};
    PruneTask task{model, &masks};
    std::filesystem::path log = std::filesystem::temp_directory_path() / "graft_prune_masked_fit.jsonl";
    std::unique_ptr<ml::Trainer> trainer;

    MaskedFit() {
        masks.prune_to(0.6, Scope::global);
        model->train();
        ml::TrainerOptions o;
        o.epochs = 2;
        o.batch_size = 8;
        o.grad_accum_steps = 2;
        o.lr = 1e-2;
        o.weight_decay = 0.1;
        o.clip_norm = 0;
        o.threads = 1;
        o.log_path = log;
        o.collate.label_kind = ml::LabelKind::sequence;
        std::filesystem::remove(log);
        trainer = std::make_unique<ml::Trainer>(task, o);
        REQUIRE(trainer->fit(testing::tiny_examples(32)).steps == 4);
    }
    ~MaskedFit() { std::filesystem::remove(log); }

    double last_logged_grad_norm() const {
        std::ifstream in(log);
        std::string line, last;
        while (std::getline(in, line)) last = line;
        return nlohmann::json::parse(last).at("grad_norm").get<double>();
    }
};

}  // namespace

TEST_CASE("pruned weights' gradients are zeroed before clipping and the optimizer step", "[prune][masks][trainer]") {
    MaskedFit fit;
    // The last step's gradients (kept by the trainer) are zero wherever the mask is.
    double squares = 0;
    for (const auto& p : fit.model->parameters())
        if (p.grad().defined()) squares += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
    for (const auto& e : fit.masks.entries()) {
        REQUIRE(e.weight.grad().defined());
        CHECK(e.weight.grad().masked_select(e.mask.eq(0)).count_nonzero().item<int64_t>() == 0);
        CHECK(e.weight.grad().masked_select(e.mask.ne(0)).count_nonzero().item<int64_t>() > 0);
    }
    // The global norm the trainer measured (and would clip by) is the norm without them.
    CHECK(fit.last_logged_grad_norm() == Approx(std::sqrt(squares)).epsilon(1e-5));
}

TEST_CASE("AdamW momentum and weight decay cannot move a pruned weight off zero", "[prune][masks][trainer]") {
    MaskedFit fit;
    auto& state = fit.trainer->optimizer().state();
    for (const auto& e : fit.masks.entries()) {
        const auto it = state.find(c10::guts::to_string(e.weight.unsafeGetTensorImpl()));
        REQUIRE(it != state.end());
        const auto& adam = static_cast<const torch::optim::AdamWParamState&>(*it->second);
        const auto pruned = e.mask.eq(0);
        CHECK(adam.exp_avg().masked_select(pruned).count_nonzero().item<int64_t>() == 0);
        CHECK(adam.exp_avg_sq().masked_select(pruned).count_nonzero().item<int64_t>() == 0);
        CHECK(adam.exp_avg().masked_select(pruned.logical_not()).count_nonzero().item<int64_t>() > 0);
    }
    // One more raw optimizer step (no after_step re-masking), with the moments, decay and the
    // last masked gradients: the pruned weights are still exactly zero, the kept ones move.
    std::vector<torch::Tensor> before;
    for (const auto& e : fit.masks.entries()) before.push_back(e.weight.detach().clone());
    fit.trainer->optimizer().step();
    int64_t moved = 0;
    for (size_t i = 0; i < fit.masks.entries().size(); ++i) {
        const auto& e = fit.masks.entries()[i];
        CHECK(e.weight.detach().masked_select(e.mask.eq(0)).count_nonzero().item<int64_t>() == 0);
        moved += (e.weight.detach() != before[i]).sum().item<int64_t>();
    }
    CHECK(moved > 0);
}
