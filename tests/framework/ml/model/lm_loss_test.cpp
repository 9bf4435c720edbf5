// LanguageModel::forward_loss: the masked LM projects only the predicted positions, and must give
// exactly what loss(forward(...)) gives on the full logits, gradients included.
#include "ml/model/heads.hpp"
#include "ml/train/runtime.hpp"

#include <cmath>

#include <catch2/catch.hpp>

using namespace graft::ml;

namespace {

ModelArchitecture lm_arch(HeadKind head) {
    ModelArchitecture a;
    a.head = head;
    a.encoder = TransformerEncoderOptions(40).max_len(12).d_model(16).n_layers(2).n_heads(2).d_ff(32)
                    .dropout(0.0).attention_dropout(0.0);
    return a;
}

// Labels: -100 everywhere except a few positions, and padding at the end of row 1.
struct LmBatch {
    torch::Tensor ids, mask, labels;
};
LmBatch batch() {
    torch::manual_seed(3);
    LmBatch b;
    b.ids = torch::randint(1, 40, {3, 10}, torch::kLong);
    b.mask = torch::ones({3, 10}, torch::kLong);
    b.mask.index_put_({1, torch::indexing::Slice(6)}, 0);
    b.labels = torch::full({3, 10}, kIgnoreIndex, torch::kLong);
    b.labels.index_put_({0, 2}, 7);
    b.labels.index_put_({0, 9}, 39);
    b.labels.index_put_({1, 0}, 1);
    b.labels.index_put_({2, 5}, 12);
    return b;
}

std::vector<torch::Tensor> grads(torch::nn::Module& m) {
    std::vector<torch::Tensor> g;
    for (auto& p : m.parameters()) g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return g;
}

}  // namespace

TEST_CASE("masked LM forward_loss equals the loss on full logits, gradients too", "[ml][model]") {
    torch::manual_seed(11);
    auto model = build_model(lm_arch(HeadKind::mlm));
    const auto b = batch();

    auto full = model->loss(model->forward(b.ids, b.mask), b.labels);
    full.backward();
    const auto g_full = grads(*model);
    model->zero_grad();

    auto cheap = model->forward_loss(b.ids, b.mask, b.labels);
    cheap.backward();
    const auto g_cheap = grads(*model);

    CHECK(cheap.item<double>() == Approx(full.item<double>()).epsilon(1e-6));
    REQUIRE(g_full.size() == g_cheap.size());
    for (std::size_t i = 0; i < g_full.size(); ++i) CHECK(torch::allclose(g_full[i], g_cheap[i], 1e-4, 1e-6));
}

TEST_CASE("masked LM forward_loss with nothing to predict is a differentiable zero", "[ml][model]") {
    auto model = build_model(lm_arch(HeadKind::mlm));
    auto b = batch();
    b.labels.fill_(kIgnoreIndex);
    auto loss = model->forward_loss(b.ids, b.mask, b.labels);
    CHECK(loss.item<double>() == 0.0);
    loss.backward();  // must not throw
}

TEST_CASE("masked LM forward_loss rejects labels out of the vocabulary", "[ml][model]") {
    auto model = build_model(lm_arch(HeadKind::mlm));
    auto b = batch();
    b.labels.index_put_({2, 1}, 40);
    CHECK_THROWS_WITH(model->forward_loss(b.ids, b.mask, b.labels), Catch::Contains("labels must be in [0, 40)"));
}

TEST_CASE("causal LM forward_loss is the shifted loss on full logits", "[ml][model]") {
    auto model = build_model(lm_arch(HeadKind::clm));
    const auto b = batch();
    auto labels = b.ids.masked_fill(b.mask == 0, kIgnoreIndex);
    CHECK(model->forward_loss(b.ids, b.mask, labels).item<double>() ==
          Approx(model->loss(model->forward(b.ids, b.mask), labels).item<double>()).epsilon(1e-6));
}

TEST_CASE("masked LM learns to read the masked token from its context", "[ml][model]") {
    // Every row repeats one random token; one position is replaced by the mask id (1). Only
    // attention to the other positions can recover it: a model that cannot attend stays at the
    // unigram loss log(38) = 3.6.
    torch::manual_seed(5);
    auto arch = lm_arch(HeadKind::mlm);
    arch.encoder.pre_ln(true);
    auto model = build_model(arch);
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(3e-3));
    double last = 0;
    for (int step = 0; step < 400; ++step) {
        auto tok = torch::randint(2, 40, {32, 1}, torch::kLong);
        auto ids = tok.expand({32, 8}).clone();
        auto pos = torch::randint(0, 8, {32}, torch::kLong);
        auto rows = torch::arange(32, torch::kLong);
        auto labels = torch::full({32, 8}, kIgnoreIndex, torch::kLong);
        labels.index_put_({rows, pos}, tok.squeeze(1));
        ids.index_put_({rows, pos}, torch::full({32}, 1, torch::kLong));
        opt.zero_grad();
        auto loss = model->forward_loss(ids, torch::ones({32, 8}, torch::kLong), labels);
        loss.backward();
        opt.step();
        last = loss.item<double>();
    }
    CHECK(last < 0.5);
}

// CPU autocast in LibTorch 1.13 casts matmuls to bf16 but leaves layer_norm alone, and
// layer_norm_cpu refuses a bf16 input with fp32 weights: the MLM head's dense -> gelu -> norm
// hit exactly that, so bf16 pretraining died on its first step.
TEST_CASE("LM heads train under bf16 autocast and stay close to fp32", "[ml][model][bf16]") {
    init_runtime(1, Precision::bf16);
    for (const auto head : {HeadKind::mlm, HeadKind::clm}) {
        torch::manual_seed(11);
        auto model = build_model(lm_arch(head));
        const auto b = batch();
        auto labels = head == HeadKind::clm ? b.ids.masked_fill(b.mask.eq(0), kIgnoreIndex) : b.labels;
        const double fp32 = model->forward_loss(b.ids, b.mask, labels).item<double>();
        torch::Tensor loss;
        {
            AutocastScope autocast(true);
            loss = model->forward_loss(b.ids, b.mask, labels);
        }
        loss.backward();
        CHECK(std::isfinite(loss.item<double>()));
        CHECK(loss.item<double>() == Approx(fp32).epsilon(0.02));
        for (auto& p : model->parameters()) {
            CHECK(p.scalar_type() == torch::kFloat32);
            if (p.grad().defined()) CHECK(p.grad().scalar_type() == torch::kFloat32);
        }
    }
}
