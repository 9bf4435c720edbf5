// Linear support vector machine, one-vs-rest, L2-regularized hinge or squared hinge loss, trained
// by dual coordinate descent (Hsieh et al., "A Dual Coordinate Descent Method for Large-scale
// Linear SVM", ICML 2008 — the algorithm of liblinear and so of scikit-learn's LinearSVC).
//
// Objective per binary subproblem (sklearn LinearSVC(penalty="l2", loss, C, dual=True)):
//   min_w ||w||^2 / 2 + C sum_i loss(y_i (w.x_i + b)),  y_i in {-1, +1}
// hinge: max(0, 1 - m); squared_hinge: max(0, 1 - m)^2. As in liblinear, the intercept is an extra
// feature of constant value intercept_scaling whose weight is regularized too.
// Two classes: one subproblem (class 1 positive); K > 2: K one-vs-rest subproblems.
// Coordinates are visited in a seeded random order each pass, so training is deterministic.
#pragma once

#include "ml/metrics/features.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace graft::ml {

enum class SvmLoss { hinge, squared_hinge };

struct LinearSvmOptions {
    double C = 1.0;
    SvmLoss loss = SvmLoss::squared_hinge;
    bool fit_intercept = true;
    double intercept_scaling = 1.0;
    bool standardize = false;
    int max_iter = 1000;     // passes over the data per subproblem
    double tol = 1e-4;       // stop when (max - min) projected gradient <= tol (liblinear)
    std::uint64_t seed = 0;  // order of coordinate visits
    int n_classes = 0;       // 0: max(y) + 1
};

class LinearSvm {
public:
    static LinearSvm fit(std::span<const float> x, std::size_t n_features, std::span<const int> y,
                         const LinearSvmOptions& options = {});
    static LinearSvm fit(const SparseMatrix& x, std::span<const int> y,
                         const LinearSvmOptions& options = {});

    // rows x outputs() row-major: one column (class 1's margin) for two classes, else one per
    // class. There is no predict_proba: hinge losses do not estimate probabilities.
    std::vector<double> decision_function(std::span<const float> x) const;
    std::vector<double> decision_function(const SparseMatrix& x) const;
    std::vector<int> predict(std::span<const float> x) const;
    std::vector<int> predict(const SparseMatrix& x) const;

    int n_classes() const { return w_.n_classes; }
    std::size_t n_features() const { return w_.n_features; }
    std::size_t outputs() const { return w_.outputs(); }
    const std::vector<double>& coef() const { return w_.coef; }
    const std::vector<double>& intercept() const { return w_.intercept; }
    const LinearSvmOptions& options() const { return options_; }
    // iterations: the most passes any subproblem needed; converged: all reached tol.
    const TrainingInfo& training() const { return info_; }

    nlohmann::json to_json() const;  // {"type": "linear_svm", ...}
    static LinearSvm from_json(const nlohmann::json& j);
    void save(const std::filesystem::path& file) const;
    static LinearSvm load(const std::filesystem::path& file);

private:
    static LinearSvm fit_view(const FeatureView& x, std::span<const int> y,
                              const LinearSvmOptions& options);

    detail::LinearWeights w_;
    LinearSvmOptions options_;
    TrainingInfo info_;
};

}  // namespace graft::ml
