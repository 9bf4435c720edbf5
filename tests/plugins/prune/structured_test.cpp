// Structured pruning: heads and feed-forward units whose contribution is zero are ranked least
// important and removing them leaves the logits unchanged; the pruned model has fewer parameters,
// a smaller checkpoint, and loads on its own; plans respect scope and keep a head per layer.
#include "structured.hpp"
#include "tiny_classifier.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace graft;
using namespace graft::prune;

namespace {

// Zeroes the output-projection columns of (layer, head) pairs and the down-projection columns of
// (layer, unit) pairs: those heads and units then add nothing to the layer's output.
void silence(ml::TaskModelImpl& model, const std::vector<std::pair<size_t, int64_t>>& heads,
             const std::vector<std::pair<size_t, int64_t>>& units) {
    torch::NoGradGuard no_grad;
    const auto& layers = model.encoder()->layers();
    for (const auto& [i, h] : heads) {
        const int64_t hd = layers[i]->attention->head_dim();
        layers[i]->attention->output->weight.narrow(1, h * hd, hd).zero_();
    }
    for (const auto& [i, j] : units) layers[i]->feed_forward->output->weight.select(1, j).zero_();
}

struct Probe {
    torch::Tensor ids, mask;
};
Probe probe() {
    torch::manual_seed(123);
    Probe p{torch::randint(1, 40, {4, 9}, torch::kLong), torch::ones({4, 9}, torch::kLong)};
    p.mask.index_put_({2, torch::indexing::Slice(6)}, 0);
    return p;
}

torch::Tensor logits(ml::TaskModelImpl& model, const Probe& p) {
    torch::NoGradGuard no_grad;
    model.eval();
    return model.forward(p.ids, p.mask);
}

int64_t parameter_count(ml::TaskModelImpl& model) {
    int64_t n = 0;
    for (const auto& t : model.parameters()) n += t.numel();
    return n;
}

}  // namespace

TEST_CASE("removing zero-importance heads and units leaves the logits identical", "[prune][structured]") {
    // With ALiBi the kept heads must keep their own slopes, not the first ones.
    const std::string position_bias = GENERATE("none", "alibi");
    CAPTURE(position_bias);
    torch::manual_seed(7);
    auto architecture = testing::tiny_architecture();
    architecture.encoder.position_bias(position_bias);
    auto model = ml::build_model(architecture);
    model->eval();
    silence(*model, {{0, 1}, {1, 0}, {1, 3}}, {{0, 5}, {0, 6}, {1, 30}, {1, 0}});
    const auto p = probe();
    const auto reference = logits(*model, p);

    const auto scores = magnitude_importance(*model);
    CHECK(scores[0].heads[1] == 0.0);
    CHECK(scores[1].heads[0] == 0.0);
    CHECK(scores[1].heads[3] == 0.0);
    CHECK(scores[0].heads[0] > 0.0);
    CHECK(scores[1].units[30] == 0.0);
    CHECK(scores[0].units[1] > 0.0);

    // 3 of 8 heads and 4 of 64 units, ranked across layers: exactly the silenced ones.
    const auto plan = plan_removal(scores, widths_of(model->architecture().encoder), 3.0 / 8, 4.0 / 64, Scope::global);
    CHECK(plan.heads[0] == std::vector<int64_t>{0, 2, 3});
    CHECK(plan.heads[1] == std::vector<int64_t>{1, 2});
    CHECK(plan.units[0].size() == 30);
    CHECK(plan.units[1].size() == 30);
    auto pruned = shrink(*model, plan);
    CHECK(pruned->architecture().encoder.layer_heads() == std::vector<int64_t>{3, 2});
    CHECK(pruned->architecture().encoder.layer_d_ff() == std::vector<int64_t>{30, 30});
    CHECK(pruned->encoder()->layers()[1]->attention->query->weight.size(0) == 2 * 4);
    if (position_bias == "alibi") {
        CHECK(pruned->encoder()->layers()[0]->attention->alibi_slopes().equal(torch::tensor({1.0f / 4, 1.0f / 64, 1.0f / 256})));
        CHECK(pruned->encoder()->layers()[1]->attention->alibi_slopes().equal(torch::tensor({1.0f / 16, 1.0f / 64})));
    }

    const auto after = logits(*pruned, p);
    INFO("logits up to " << reference.abs().max().item<double>());
    CHECK((after - reference).abs().max().item<double>() < 1e-6);
    CHECK(parameter_count(*pruned) == parameter_count(*model) - 3 * (3 * (4 * 16 + 4) + 4 * 16) - 4 * (16 + 1 + 16));

    // Saved and loaded without the pipeline: same logits, a smaller file.
    testing::TempDir dir("prune-structured");
    ml::save_checkpoint(dir / "before", *model);
    ml::save_checkpoint(dir / "after", *pruned);
    const auto loaded = ml::load_checkpoint(dir / "after");
    CHECK((logits(*loaded.model, p) - reference).abs().max().item<double>() < 1e-6);
    CHECK(std::filesystem::file_size(dir / "after" / ml::kCheckpointWeightsFile) <
          std::filesystem::file_size(dir / "before" / ml::kCheckpointWeightsFile));
}

TEST_CASE("removing a contributing head changes the logits", "[prune][structured]") {
    auto model = testing::tiny_classifier();
    const auto p = probe();
    KeepPlan plan{{{1, 2, 3}, {0, 1, 2, 3}}, {{}, {}}};
    for (int64_t j = 0; j < 32; ++j) {
        plan.units[0].push_back(j);
        plan.units[1].push_back(j);
    }
    auto pruned = shrink(*model, plan);
    CHECK((logits(*pruned, p) - logits(*model, p)).abs().max().item<double>() > 1e-3);
}

TEST_CASE("taylor importance is zero for a head that contributes nothing", "[prune][structured]") {
    auto model = testing::tiny_classifier();
    silence(*model, {{0, 2}}, {{1, 7}});
    auto examples = testing::tiny_examples(16);
    std::vector<ml::Batch> batches;
    for (size_t b = 0; b < 2; ++b) {
        std::vector<size_t> idx;
        for (size_t i = 0; i < 8; ++i) idx.push_back(b * 8 + i);
        batches.push_back(ml::collate(examples, idx, {0, ml::LabelKind::sequence, 0}));
    }
    const auto scores = taylor_importance(*model, batches);
    CHECK(scores[0].heads[2] == 0.0);
    CHECK(scores[1].units[7] == 0.0);
    CHECK(scores[0].heads[0] > 0.0);
    for (const auto& t : model->parameters()) {
        const bool leftover = t.grad().defined() && t.grad().count_nonzero().item<int64_t>() > 0;
        CHECK_FALSE(leftover);  // gradients cleared after scoring
    }
}

TEST_CASE("plans follow the scope, count from the original widths and keep a head per layer", "[prune][structured]") {
    // Layer 0's heads all matter less than layer 1's.
    std::vector<LayerScores> scores = {{{0.1, 0.2, 0.3, 0.4}, {1, 2}}, {{5, 6, 7, 8}, {3, 4}}};
    const Widths original{{4, 4}, {2, 2}};
    const auto global = plan_removal(scores, original, 0.5, 0.0, Scope::global);
    CHECK(global.heads[0] == std::vector<int64_t>{3});  // three from layer 0, one kept; then layer 1
    CHECK(global.heads[1] == std::vector<int64_t>{1, 2, 3});
    CHECK(global.units[0].size() == 2);
    const auto layer = plan_removal(scores, original, 0.5, 0.5, Scope::layer);
    CHECK(layer.heads[0] == std::vector<int64_t>{2, 3});
    CHECK(layer.heads[1] == std::vector<int64_t>{2, 3});
    CHECK(layer.units[0] == std::vector<int64_t>{1});
    // A second step on the pruned model counts what is already gone: 2 of 4 removed in layer 0,
    // the target 75% = 3 removes one more.
    const std::vector<LayerScores> after = {{{0.3, 0.4}, {2}}, {{7, 8}, {4}}};
    const auto next = plan_removal(after, original, 0.75, 0.5, Scope::layer);
    CHECK(next.heads[0] == std::vector<int64_t>{1});
    CHECK(next.heads[1] == std::vector<int64_t>{1});
    CHECK(next.units[0] == std::vector<int64_t>{0});
    CHECK_THROWS_WITH(plan_removal(scores, original, 1.0, 0.0, Scope::global), Catch::Contains("[0, 1)"));
}
