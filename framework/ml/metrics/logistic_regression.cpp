#include "ml/metrics/logistic_regression.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace graft::ml {
namespace {

constexpr const char* kWhat = "logistic regression";

double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    double e = std::exp(z);
    return e / (1.0 + e);
}

void check_options(const LogisticRegressionOptions& o) {
    if (!(o.C > 0) || !std::isfinite(o.C)) {
        throw std::invalid_argument(
            fmt::format("{}: C must be a positive number (inverse regularization strength), got {}",
                        kWhat, o.C));
    }
    if (o.max_iter < 1) {
        throw std::invalid_argument(
            fmt::format("{}: max_iter must be >= 1, got {}", kWhat, o.max_iter));
    }
    if (!(o.tol > 0)) {
        throw std::invalid_argument(fmt::format("{}: tol must be > 0, got {}", kWhat, o.tol));
    }
    if (o.n_classes < 0) {
        throw std::invalid_argument(
            fmt::format("{}: n_classes must be >= 0 (0 = infer), got {}", kWhat, o.n_classes));
    }
}

// The objective of the header divided by n. theta holds outputs rows of [w (d), b].
struct LogisticObjective {
    const detail::Design& x;
    std::span<const int> y;
    std::size_t outputs;
    double C;
    bool fit_intercept;

    double operator()(const std::vector<double>& theta, std::vector<double>& grad) const {
        std::size_t d = x.cols(), stride = d + 1;
        std::fill(grad.begin(), grad.end(), 0.0);
        std::vector<double> z(outputs);
        double loss = 0;
        for (std::size_t i = 0; i < x.rows(); ++i) {
            for (std::size_t r = 0; r < outputs; ++r) {
                z[r] = x.dot(i, theta.data() + r * stride) + theta[r * stride + d];
            }
            if (outputs == 1) {
                double t = y[i] == 1 ? 1.0 : 0.0;
                loss += softplus(z[0]) - t * z[0];
                z[0] = sigmoid(z[0]) - t;  // residual
            } else {
                double zmax = *std::max_element(z.begin(), z.end());
                double sum = 0;
                for (double v : z) sum += std::exp(v - zmax);
                double lse = zmax + std::log(sum);
                loss += lse - z[static_cast<std::size_t>(y[i])];
                for (std::size_t r = 0; r < outputs; ++r) {
                    z[r] = std::exp(z[r] - lse) - (static_cast<std::size_t>(y[i]) == r ? 1.0 : 0.0);
                }
            }
            for (std::size_t r = 0; r < outputs; ++r) {
                x.axpy(i, z[r], grad.data() + r * stride);
                grad[r * stride + d] += z[r];
            }
        }
        double n = static_cast<double>(x.rows());
        double penalty = 0;
        for (std::size_t r = 0; r < outputs; ++r) {
            for (std::size_t j = 0; j < d; ++j) {
                double w = theta[r * stride + j];
                penalty += w * w;
                grad[r * stride + j] = grad[r * stride + j] / n + w / (C * n);
            }
            // Without an intercept its parameter stays 0: a zero gradient never moves it.
            grad[r * stride + d] = fit_intercept ? grad[r * stride + d] / n : 0.0;
        }
        return loss / n + penalty / (2 * C * n);
    }
};

}  // namespace

LogisticRegression LogisticRegression::fit(std::span<const float> x, std::size_t n_features,
                                           std::span<const int> y,
                                           const LogisticRegressionOptions& options) {
    return fit_view(FeatureView::of(x, n_features, kWhat), y, options);
}

LogisticRegression LogisticRegression::fit(const SparseMatrix& x, std::span<const int> y,
                                           const LogisticRegressionOptions& options) {
    return fit_view(FeatureView::of(x, kWhat), y, options);
}

LogisticRegression LogisticRegression::fit_view(const FeatureView& x, std::span<const int> y,
                                                const LogisticRegressionOptions& options) {
    check_options(options);
    LogisticRegression m;
    m.options_ = options;
    m.w_.n_classes = detail::check_labels(y, x.rows, options.n_classes, kWhat);
    m.w_.n_features = x.cols;
    if (options.standardize) m.w_.standardizer = detail::Standardizer::fit(x);
    detail::Design design(x, m.w_.standardizer);

    std::size_t outputs = m.w_.outputs(), stride = x.cols + 1;
    LogisticObjective objective{design, y, outputs, options.C, options.fit_intercept};
    LbfgsOptions lo;
    lo.max_iter = options.max_iter;
    lo.gtol = options.tol;
    LbfgsResult res = lbfgs_minimize(objective, std::vector<double>(outputs * stride, 0.0), lo);

    m.w_.coef.resize(outputs * x.cols);
    m.w_.intercept.resize(outputs);
    for (std::size_t r = 0; r < outputs; ++r) {
        std::copy_n(res.x.begin() + static_cast<std::ptrdiff_t>(r * stride), x.cols,
                    m.w_.coef.begin() + static_cast<std::ptrdiff_t>(r * x.cols));
        m.w_.intercept[r] = res.x[r * stride + x.cols];
    }
    m.info_.iterations = res.iterations;
    m.info_.converged = res.converged;
    m.info_.stop_reason = res.stop_reason;
    m.info_.loss_history = std::move(res.f_history);
    return m;
}

std::vector<double> LogisticRegression::proba(const std::vector<double>& scores) const {
    std::size_t k = static_cast<std::size_t>(w_.n_classes), m = w_.outputs();
    std::size_t rows = scores.size() / m;
    std::vector<double> p(rows * k);
    for (std::size_t i = 0; i < rows; ++i) {
        double* out = p.data() + i * k;
        if (m == 1) {
            out[1] = sigmoid(scores[i]);
            out[0] = 1.0 - out[1];
            continue;
        }
        const double* z = scores.data() + i * m;
        double zmax = *std::max_element(z, z + m), sum = 0;
        for (std::size_t r = 0; r < m; ++r) sum += (out[r] = std::exp(z[r] - zmax));
        for (std::size_t r = 0; r < m; ++r) out[r] /= sum;
    }
    return p;
}

std::vector<double> LogisticRegression::decision_function(std::span<const float> x) const {
    return w_.scores(FeatureView::of(x, w_.n_features, kWhat));
}
std::vector<double> LogisticRegression::decision_function(const SparseMatrix& x) const {
    return w_.scores(FeatureView::of(x, kWhat));
}
std::vector<double> LogisticRegression::predict_proba(std::span<const float> x) const {
    return proba(decision_function(x));
}
std::vector<double> LogisticRegression::predict_proba(const SparseMatrix& x) const {
    return proba(decision_function(x));
}
std::vector<int> LogisticRegression::predict(std::span<const float> x) const {
    return w_.argmax(decision_function(x));
}
std::vector<int> LogisticRegression::predict(const SparseMatrix& x) const {
    return w_.argmax(decision_function(x));
}

nlohmann::json LogisticRegression::to_json() const {
    nlohmann::json j = w_.to_json();
    j["type"] = "logistic_regression";
    j["options"] = {{"C", options_.C},
                    {"fit_intercept", options_.fit_intercept},
                    {"standardize", options_.standardize},
                    {"max_iter", options_.max_iter},
                    {"tol", options_.tol},
                    {"n_classes", options_.n_classes}};
    j["training"] = {{"iterations", info_.iterations},
                     {"converged", info_.converged},
                     {"stop_reason", info_.stop_reason},
                     {"loss_history", info_.loss_history}};
    return j;
}

LogisticRegression LogisticRegression::from_json(const nlohmann::json& j) {
    if (!j.is_object() || j.value("type", "") != "logistic_regression") {
        throw std::invalid_argument(
            fmt::format("{}: JSON is not a saved logistic regression (its \"type\" must be "
                        "\"logistic_regression\")",
                        kWhat));
    }
    LogisticRegression m;
    m.w_ = detail::LinearWeights::from_json(j, kWhat);
    try {
        const auto& o = j.at("options");
        m.options_.C = o.at("C").get<double>();
        m.options_.fit_intercept = o.at("fit_intercept").get<bool>();
        m.options_.standardize = o.at("standardize").get<bool>();
        m.options_.max_iter = o.at("max_iter").get<int>();
        m.options_.tol = o.at("tol").get<double>();
        m.options_.n_classes = o.at("n_classes").get<int>();
        const auto& t = j.at("training");
        m.info_.iterations = t.at("iterations").get<int>();
        m.info_.converged = t.at("converged").get<bool>();
        m.info_.stop_reason = t.at("stop_reason").get<std::string>();
        m.info_.loss_history = t.at("loss_history").get<std::vector<double>>();
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(
            fmt::format("{}: saved model lacks a field: {}", kWhat, e.what()));
    }
    return m;
}

void LogisticRegression::save(const std::filesystem::path& file) const {
    detail::save_json(file, to_json());
}

LogisticRegression LogisticRegression::load(const std::filesystem::path& file) {
    try {
        return from_json(detail::load_json(file, kWhat));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(fmt::format("{} (file {})", e.what(), file.string()));
    }
}

}  // namespace graft::ml
