// L2-regularized logistic regression with scikit-learn's objective, trained with L-BFGS (the
// classic model of the feature-extraction recipe and the bag-of-words baseline).
//
// Objective (sklearn LogisticRegression(penalty="l2", C), solver lbfgs, multi_class="auto"):
//   two classes:  sum_i log(1 + exp(-y_i (w.x_i + b))) + ||w||^2 / (2C), y_i in {-1, +1}
//   K > 2:        sum_i -log softmax(W x_i + b)[y_i]  + ||W||_F^2 / (2C)   (multinomial)
// The intercept is not penalized. Internally the objective is divided by n (same minimizer,
// better conditioned); loss_history is in that scale: mean loss + penalty / n.
#pragma once

#include "ml/metrics/features.hpp"
#include "ml/metrics/lbfgs.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace graft::ml {

struct LogisticRegressionOptions {
    double C = 1.0;  // inverse regularization strength, > 0
    bool fit_intercept = true;
    bool standardize = false;  // learn (x - mean) / std on the training rows (see Standardizer)
    int max_iter = 1000;       // L-BFGS iterations
    double tol = 1e-6;         // stop when max |gradient| of the mean objective <= tol
    int n_classes = 0;         // 0: max(y) + 1; classes without examples are allowed
};

class LogisticRegression {
public:
    // x: rows x n_features, row-major; y: class ids in [0, n_classes). Throws std::invalid_argument
    // on empty data, mismatched sizes, non-finite features, out-of-range ids or a single class.
    static LogisticRegression fit(std::span<const float> x, std::size_t n_features,
                                  std::span<const int> y,
                                  const LogisticRegressionOptions& options = {});
    static LogisticRegression fit(const SparseMatrix& x, std::span<const int> y,
                                  const LogisticRegressionOptions& options = {});

    // Raw scores, rows x outputs() row-major: one column (the logit of class 1) for two classes,
    // n_classes columns otherwise (as sklearn's decision_function).
    std::vector<double> decision_function(std::span<const float> x) const;
    std::vector<double> decision_function(const SparseMatrix& x) const;
    // rows x n_classes row-major; each row sums to 1.
    std::vector<double> predict_proba(std::span<const float> x) const;
    std::vector<double> predict_proba(const SparseMatrix& x) const;
    std::vector<int> predict(std::span<const float> x) const;
    std::vector<int> predict(const SparseMatrix& x) const;

    int n_classes() const { return w_.n_classes; }
    std::size_t n_features() const { return w_.n_features; }
    std::size_t outputs() const { return w_.outputs(); }
    // Coefficients in standardized space (outputs() x n_features) and intercepts.
    const std::vector<double>& coef() const { return w_.coef; }
    const std::vector<double>& intercept() const { return w_.intercept; }
    const LogisticRegressionOptions& options() const { return options_; }
    const TrainingInfo& training() const { return info_; }

    // {"type": "logistic_regression", "options": {...}, "training": {...}, "n_classes", ...}
    nlohmann::json to_json() const;
    static LogisticRegression from_json(const nlohmann::json& j);
    void save(const std::filesystem::path& file) const;
    static LogisticRegression load(const std::filesystem::path& file);

private:
    static LogisticRegression fit_view(const FeatureView& x, std::span<const int> y,
                                       const LogisticRegressionOptions& options);
    std::vector<double> proba(const std::vector<double>& scores) const;

    detail::LinearWeights w_;
    LogisticRegressionOptions options_;
    TrainingInfo info_;
};

}  // namespace graft::ml
