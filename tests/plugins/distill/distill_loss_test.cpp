// The distillation objective against hand-computed values.
#include "distill_loss.hpp"

#include "ml/ignore_index.hpp"
#include "ml/model/heads.hpp"

#include <catch2/catch.hpp>

using graft::distill::kd_loss;
using graft::distill::KdLossOptions;

namespace {

torch::Tensor rows(std::vector<std::vector<float>> v) {
    std::vector<torch::Tensor> out;
    for (auto& r : v) out.push_back(torch::tensor(r));
    return torch::stack(out);
}

torch::Tensor longs(std::vector<int64_t> v) { return torch::tensor(v, torch::kInt64); }

}  // namespace

TEST_CASE("kd_loss equals the hand-computed value on fixed logits", "[distill][loss]") {
    // T = 2: teacher [0, 2] / 2 -> p_t = softmax([0, 1]) = [0.2689414, 0.7310586];
    // student [1, 0] / 2 -> p_s = softmax([0.5, 0]) = [0.6224593, 0.3775407];
    // KL(p_t || p_s) = 0.2689414 ln(0.2689414 / 0.6224593) + 0.7310586 ln(0.7310586 / 0.3775407)
    //               = 0.2574032;
    // CE(student, label 1) = ln(e^1 + e^0) - 0 = 1.3132617;
    // alpha = 0.5: 0.5 * 2^2 * 0.2574032 + 0.5 * 1.3132617 = 1.1714372.
    const auto parts = kd_loss(rows({{1, 0}}), rows({{0, 2}}), torch::tensor({int64_t{1}}), KdLossOptions{2.0, 0.5});
    CHECK(parts.kl.item<double>() == Approx(0.2574032).epsilon(1e-6));
    CHECK(parts.ce.item<double>() == Approx(1.3132617).epsilon(1e-6));
    CHECK(parts.total.item<double>() == Approx(1.1714372).epsilon(1e-6));
}

TEST_CASE("kd_loss: unlabelled rows add to the KL mean only", "[distill][loss]") {
    // Row 2 is unlabelled and its student and teacher logits agree (KL 0): KL mean = 0.2574032 / 2
    // = 0.1287016; CE over the labelled row alone = 1.3132617;
    // total = 0.5 * 4 * 0.1287016 + 0.5 * 1.3132617 = 0.9140340.
    const auto labels = longs({1, graft::ml::kIgnoreIndex});
    const auto parts = kd_loss(rows({{1, 0}, {0, 0}}), rows({{0, 2}, {3, 3}}), labels, {2.0, 0.5});
    CHECK(parts.kl.item<double>() == Approx(0.1287016).epsilon(1e-6));
    CHECK(parts.ce.item<double>() == Approx(1.3132617).epsilon(1e-6));
    CHECK(parts.total.item<double>() == Approx(0.9140340).epsilon(1e-6));
    // A batch with no labelled row: CE is 0, the KL term still trains.
    const auto none = kd_loss(rows({{1, 0}}), rows({{0, 2}}), longs({graft::ml::kIgnoreIndex}), {2.0, 0.5});
    CHECK(none.ce.item<double>() == 0.0);
    CHECK(none.total.item<double>() == Approx(0.5 * 4 * 0.2574032).epsilon(1e-6));
}

TEST_CASE("kd_loss with alpha = 0 is plain cross-entropy, value and gradient", "[distill][loss]") {
    torch::manual_seed(3);
    const auto s1 = torch::randn({5, 3}).requires_grad_(true);
    const auto s2 = s1.detach().clone().requires_grad_(true);
    const auto teacher = torch::randn({5, 3}) * 4;
    const auto labels = longs({0, 2, 1, 1, 0});
    const auto kd = kd_loss(s1, teacher, labels, {3.0, 0.0}).total;
    const auto ce = graft::ml::classification_loss(s2, labels);
    CHECK(kd.item<double>() == Approx(ce.item<double>()).epsilon(1e-6));
    kd.backward();
    ce.backward();
    CHECK(torch::allclose(s1.grad(), s2.grad(), 1e-5, 1e-6));
}

TEST_CASE("kd_loss with alpha = 1 is zero when the student matches the teacher", "[distill][loss]") {
    const auto logits = rows({{0.3f, -1.0f, 2.0f}, {1.0f, 1.0f, 0.0f}});
    const auto parts = kd_loss(logits, logits, longs({2, 0}), {4.0, 1.0});
    CHECK(parts.total.item<double>() == Approx(0.0).margin(1e-7));
}

TEST_CASE("kd_loss rejects bad options and shapes", "[distill][loss]") {
    const auto l = rows({{1, 0}});
    const auto y = torch::tensor({int64_t{0}});
    CHECK_THROWS_WITH(kd_loss(l, l, y, {0.0, 0.5}), Catch::Contains("temperature must be > 0"));
    CHECK_THROWS_WITH(kd_loss(l, l, y, {1.0, 1.5}), Catch::Contains("alpha must be in [0, 1]"));
    CHECK_THROWS_WITH(kd_loss(l, rows({{1, 0, 0}}), y, {1.0, 0.5}), Catch::Contains("[batch, labels]"));
}

TEST_CASE("masked_hidden_mse averages over real tokens and features", "[distill][loss]") {
    // [1, 2, 2]: position 0 real with differences (1, 3) -> squared 1 + 9; position 1 padding.
    const auto s = torch::tensor({1.0f, 3.0f, 100.0f, 100.0f}).reshape({1, 2, 2});
    const auto t = torch::zeros({1, 2, 2});
    const auto mask = longs({1, 0}).reshape({1, 2});
    CHECK(graft::distill::masked_hidden_mse(s, t, mask).item<double>() == Approx(5.0));
    CHECK_THROWS_WITH(graft::distill::masked_hidden_mse(s, torch::zeros({1, 2, 3}), mask),
                      Catch::Contains("[B, T, d]"));
}
