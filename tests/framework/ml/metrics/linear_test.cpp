// L-BFGS, logistic regression and linear SVM on synthetic data (sklearn agreement is checked in
// sklearn_test.cpp).
#include "ml/metrics/lbfgs.hpp"
#include "ml/metrics/linear_svm.hpp"
#include "ml/metrics/logistic_regression.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <numeric>

using namespace graft::ml;
using Catch::Matchers::Contains;
using graft::testing::accuracy;
using graft::testing::Dataset;

namespace {

bool non_increasing(const std::vector<double>& v) {
    for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] > v[i - 1]) return false;
    }
    return true;
}

// Row i of a dataset as its own one-row matrix.
std::vector<float> row(const Dataset& ds, std::size_t i) {
    return {ds.x.begin() + static_cast<std::ptrdiff_t>(i * ds.d),
            ds.x.begin() + static_cast<std::ptrdiff_t>((i + 1) * ds.d)};
}

}  // namespace

TEST_CASE("L-BFGS minimizes the Rosenbrock function with a never-increasing objective",
          "[linear][lbfgs]") {
    Objective rosen = [](const std::vector<double>& x, std::vector<double>& g) {
        double a = 1 - x[0], b = x[1] - x[0] * x[0];
        g[0] = -2 * a - 400 * x[0] * b;
        g[1] = 200 * b;
        return a * a + 100 * b * b;
    };
    LbfgsOptions o;
    o.gtol = 1e-9;
    LbfgsResult r = lbfgs_minimize(rosen, {-1.2, 1.0}, o);
    CHECK(r.converged);
    CHECK(r.x[0] == Approx(1.0).margin(1e-6));
    CHECK(r.x[1] == Approx(1.0).margin(1e-6));
    CHECK(non_increasing(r.f_history));
    CHECK(r.f_history.size() == static_cast<std::size_t>(r.iterations) + 1);
    CHECK(r.iterations < 100);  // quasi-Newton, not steepest descent (which needs thousands)
}

TEST_CASE("both classic models separate a separable set perfectly", "[linear][separable]") {
    for (std::size_t k : {2u, 3u}) {
        Dataset train = graft::testing::separable(40, k, 6, 11 + k);
        Dataset test = graft::testing::separable(40, k, 6, 99 + k);
        INFO("classes " << k);
        auto lr = LogisticRegression::fit(train.x, train.d, train.y);
        CHECK(accuracy(lr.predict(train.x), train.y) == 1.0);
        CHECK(accuracy(lr.predict(test.x), test.y) == 1.0);
        auto svm = LinearSvm::fit(train.x, train.d, train.y);
        CHECK(svm.training().converged);
        CHECK(accuracy(svm.predict(train.x), train.y) == 1.0);
        CHECK(accuracy(svm.predict(test.x), test.y) == 1.0);
        LinearSvmOptions hinge;
        hinge.loss = SvmLoss::hinge;
        auto svm1 = LinearSvm::fit(train.x, train.d, train.y, hinge);
        CHECK(accuracy(svm1.predict(test.x), test.y) == 1.0);
    }
}

TEST_CASE("logistic regression: loss never increases, converges, probabilities sum to 1",
          "[linear][logistic]") {
    Dataset ds = graft::testing::gaussian_blobs({120, 60, 30}, 5, 1.0, 1.0, 7);
    auto lr = LogisticRegression::fit(ds.x, ds.d, ds.y);
    const TrainingInfo& t = lr.training();
    CHECK(t.converged);
    REQUIRE(t.loss_history.size() >= 3);
    CHECK(non_increasing(t.loss_history));
    CHECK(t.loss_history.back() < t.loss_history.front());
    CHECK(t.loss_history.front() == Approx(std::log(3.0)));  // all-zero start: uniform softmax

    CHECK(lr.n_classes() == 3);
    CHECK(lr.outputs() == 3);
    auto p = lr.predict_proba(ds.x);
    auto pred = lr.predict(ds.x);
    REQUIRE(p.size() == ds.rows() * 3);
    for (std::size_t i = 0; i < ds.rows(); ++i) {
        double sum = p[3 * i] + p[3 * i + 1] + p[3 * i + 2];
        CHECK(sum == Approx(1.0).epsilon(1e-12));
        auto best = std::max_element(p.begin() + static_cast<std::ptrdiff_t>(3 * i),
                                     p.begin() + static_cast<std::ptrdiff_t>(3 * i + 3)) -
                    (p.begin() + static_cast<std::ptrdiff_t>(3 * i));
        CHECK(pred[i] == best);
    }
    // Binary models have one logit; probabilities still have two columns summing to 1.
    Dataset bin = graft::testing::gaussian_blobs({50, 50}, 4, 1.0, 1.5, 8);
    auto lb = LogisticRegression::fit(bin.x, bin.d, bin.y);
    CHECK(lb.outputs() == 1);
    CHECK(non_increasing(lb.training().loss_history));
    auto pb = lb.predict_proba(row(bin, 0));
    REQUIRE(pb.size() == 2);
    CHECK(pb[0] + pb[1] == Approx(1.0));
    CHECK(lb.decision_function(row(bin, 0)).size() == 1);
}

TEST_CASE(
    "logistic regression gradient vanishes at the solution (the objective is the documented "
    "one)",
    "[linear][logistic]") {
    Dataset ds = graft::testing::gaussian_blobs({30, 20, 25}, 3, 1.0, 1.0, 5);
    LogisticRegressionOptions o;
    o.C = 0.5;
    o.tol = 1e-10;
    auto lr = LogisticRegression::fit(ds.x, ds.d, ds.y, o);
    REQUIRE(lr.training().converged);
    // Stationarity of sum_i CE_i + ||W||^2 / 2C: for each class r and feature j,
    // sum_i (p_ir - [y_i = r]) x_ij + W_rj / C = 0, and sum_i (p_ir - [y_i = r]) = 0.
    auto p = lr.predict_proba(ds.x);
    for (std::size_t r = 0; r < 3; ++r) {
        double gb = 0;
        for (std::size_t i = 0; i < ds.rows(); ++i)
            gb += p[3 * i + r] - (ds.y[i] == static_cast<int>(r));
        CHECK(gb == Approx(0.0).margin(1e-6));
        for (std::size_t j = 0; j < ds.d; ++j) {
            double g = lr.coef()[r * ds.d + j] / o.C;
            for (std::size_t i = 0; i < ds.rows(); ++i) {
                g += (p[3 * i + r] - (ds.y[i] == static_cast<int>(r))) * ds.x[i * ds.d + j];
            }
            CHECK(g == Approx(0.0).margin(1e-6));
        }
    }
}

TEST_CASE("standardization makes predictions invariant to feature scale and shift",
          "[linear][standardize]") {
    Dataset ds = graft::testing::gaussian_blobs({40, 40, 40}, 4, 1.0, 1.0, 21);
    Dataset scaled = ds;
    for (std::size_t i = 0; i < ds.rows(); ++i) {
        scaled.x[i * ds.d + 1] = ds.x[i * ds.d + 1] * 1000.0f + 50.0f;
        scaled.x[i * ds.d + 2] = ds.x[i * ds.d + 2] * 0.001f;
    }
    LogisticRegressionOptions o;
    o.standardize = true;
    o.tol = 1e-9;
    auto a = LogisticRegression::fit(ds.x, ds.d, ds.y, o);
    auto b = LogisticRegression::fit(scaled.x, scaled.d, scaled.y, o);
    auto pa = a.predict_proba(ds.x), pb = b.predict_proba(scaled.x);
    for (std::size_t k = 0; k < pa.size(); ++k) CHECK(pa[k] == Approx(pb[k]).margin(1e-4));
    LinearSvmOptions so;
    so.standardize = true;
    auto sa = LinearSvm::fit(ds.x, ds.d, ds.y, so);
    auto sb = LinearSvm::fit(scaled.x, scaled.d, scaled.y, so);
    CHECK(accuracy(sa.predict(ds.x), sb.predict(scaled.x)) > 0.98);
}

TEST_CASE("sparse and dense inputs train the same model", "[linear][sparse]") {
    // Mostly-zero features: every row has 3 non-zeros among 30 columns.
    graft::testing::Rng rng(3);
    Dataset ds;
    ds.d = 30;
    SparseMatrix sp;
    sp.cols = 30;
    for (std::size_t i = 0; i < 90; ++i) {
        int k = static_cast<int>(i % 3);
        std::vector<float> r(30, 0.0f);
        r[static_cast<std::size_t>(k) * 10 + rng.below(10)] =
            1.0f + static_cast<float>(rng.uniform());
        r[rng.below(30)] += 1.0f;
        r[rng.below(30)] += 0.5f;
        for (std::size_t j = 0; j < 30; ++j) {
            if (r[j] != 0) {
                sp.indices.push_back(static_cast<std::uint32_t>(j));
                sp.values.push_back(r[j]);
            }
        }
        sp.indptr.push_back(sp.values.size());
        ++sp.rows;
        ds.x.insert(ds.x.end(), r.begin(), r.end());
        ds.y.push_back(k);
    }
    auto dense = LogisticRegression::fit(ds.x, ds.d, ds.y);
    auto sparse = LogisticRegression::fit(sp, ds.y);
    REQUIRE(dense.coef().size() == sparse.coef().size());
    for (std::size_t k = 0; k < dense.coef().size(); ++k)
        CHECK(dense.coef()[k] == sparse.coef()[k]);
    CHECK(dense.predict(sp) == dense.predict(ds.x));
    auto sd = LinearSvm::fit(ds.x, ds.d, ds.y), ss = LinearSvm::fit(sp, ds.y);
    CHECK(sd.coef() == ss.coef());
}

TEST_CASE("linear SVM is deterministic for a seed and near-identical across seeds",
          "[linear][svm]") {
    Dataset ds = graft::testing::gaussian_blobs({60, 60, 60}, 5, 1.0, 1.2, 4);
    LinearSvmOptions o;
    o.tol = 1e-6;
    o.seed = 1;
    auto a = LinearSvm::fit(ds.x, ds.d, ds.y, o), b = LinearSvm::fit(ds.x, ds.d, ds.y, o);
    CHECK(a.coef() == b.coef());
    CHECK(a.intercept() == b.intercept());
    o.seed = 2;
    auto c = LinearSvm::fit(ds.x, ds.d, ds.y, o);
    CHECK(c.coef() != a.coef());  // another visiting order...
    for (std::size_t k = 0; k < a.coef().size(); ++k) {
        CHECK(c.coef()[k] == Approx(a.coef()[k]).margin(1e-3));  // ...same convex optimum
    }
    CHECK(a.outputs() == 3);
    CHECK(a.decision_function(row(ds, 0)).size() == 3);
}

TEST_CASE("models save to JSON and load back with identical predictions", "[linear][io]") {
    graft::testing::TempDir dir("metrics-linear");
    Dataset ds = graft::testing::gaussian_blobs({30, 30, 30}, 4, 1.0, 1.0, 12);
    LogisticRegressionOptions o;
    o.standardize = true;
    o.C = 0.3;
    auto lr = LogisticRegression::fit(ds.x, ds.d, ds.y, o);
    lr.save(dir / "lr.json");
    auto lr2 = LogisticRegression::load(dir / "lr.json");
    CHECK(lr2.predict_proba(ds.x) == lr.predict_proba(ds.x));
    CHECK(lr2.options().C == 0.3);
    CHECK(lr2.training().loss_history == lr.training().loss_history);

    LinearSvmOptions so;
    so.loss = SvmLoss::hinge;
    so.seed = 77;
    auto svm = LinearSvm::fit(ds.x, ds.d, ds.y, so);
    svm.save(dir / "svm.json");
    auto svm2 = LinearSvm::load(dir / "svm.json");
    CHECK(svm2.decision_function(ds.x) == svm.decision_function(ds.x));
    CHECK(svm2.options().loss == SvmLoss::hinge);
    CHECK(svm2.options().seed == 77);

    CHECK_THROWS_WITH(LinearSvm::load(dir / "lr.json"), Contains("must be \"linear_svm\""));
    CHECK_THROWS_WITH(LogisticRegression::load(dir / "missing.json"), Contains("cannot open"));
    std::ofstream(dir / "broken.json") << "{\"type\": \"logistic_regression\", \"coef\": [1]}";
    CHECK_THROWS_WITH(LogisticRegression::load(dir / "broken.json"),
                      Contains("broken.json") && Contains("n_classes"));
}

TEST_CASE("bad training inputs are clear errors", "[linear][edge]") {
    std::vector<float> x = {0, 1, 1, 0, 1, 1};
    CHECK_THROWS_WITH(LogisticRegression::fit(std::vector<float>{}, 2, std::vector<int>{}),
                      Contains("dataset is empty"));
    CHECK_THROWS_WITH(LogisticRegression::fit(x, 2, std::vector<int>{0, 1}),
                      Contains("3 feature rows but 2 labels"));
    CHECK_THROWS_WITH(LogisticRegression::fit(x, 4, std::vector<int>{0, 1}),
                      Contains("not a whole number of rows"));
    CHECK_THROWS_WITH(LinearSvm::fit(x, 2, std::vector<int>{1, 1, 1}),
                      Contains("at least two classes"));
    CHECK_THROWS_WITH(LinearSvm::fit(x, 2, std::vector<int>{0, -1, 1}), Contains("outside [0, 2)"));
    std::vector<float> bad = x;
    bad[3] = NAN;
    CHECK_THROWS_WITH(LogisticRegression::fit(bad, 2, std::vector<int>{0, 1, 1}),
                      Contains("feature 1 of row 1 is not finite"));
    LogisticRegressionOptions o;
    o.C = 0;
    CHECK_THROWS_WITH(LogisticRegression::fit(x, 2, std::vector<int>{0, 1, 1}, o),
                      Contains("C must be a positive number"));
    auto lr = LogisticRegression::fit(x, 2, std::vector<int>{0, 1, 1});
    CHECK_THROWS_WITH(lr.predict(std::vector<float>{1, 2, 3}),
                      Contains("not a whole number of rows of 2 features"));
    SparseMatrix wide;
    wide.rows = 1;
    wide.cols = 3;
    wide.indices = {2};
    wide.values = {1.0f};
    wide.indptr = {0, 1};
    CHECK_THROWS_WITH(lr.predict(wide),
                      Contains("input has 3 features but the model was trained on 2"));
    // A class id without examples is allowed (n_classes given): its probability stays small.
    LogisticRegressionOptions four;
    four.n_classes = 4;
    auto lr4 = LogisticRegression::fit(x, 2, std::vector<int>{0, 1, 1}, four);
    CHECK(lr4.n_classes() == 4);
    auto p = lr4.predict_proba(x);
    CHECK(p[3] < 0.25);
}
