#include "ml/metrics/features.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

namespace graft::ml {

void SparseMatrix::validate(const char* what) const {
    if (indptr.size() != rows + 1 || indptr.front() != 0 || indptr.back() != indices.size() ||
        indices.size() != values.size()) {
        throw std::invalid_argument(fmt::format(
            "{}: malformed sparse matrix (rows {}, indptr {}, indices {}, values {}); indptr must "
            "have rows + 1 entries from 0 to the number of values",
            what, rows, indptr.size(), indices.size(), values.size()));
    }
    for (std::size_t i = 0; i < rows; ++i) {
        if (indptr[i] > indptr[i + 1]) {
            throw std::invalid_argument(
                fmt::format("{}: sparse indptr decreases at row {}", what, i));
        }
    }
    for (std::size_t k = 0; k < indices.size(); ++k) {
        if (indices[k] >= cols) {
            throw std::invalid_argument(fmt::format(
                "{}: sparse column index {} is out of range (the matrix has {} columns)", what,
                indices[k], cols));
        }
        if (!std::isfinite(values[k])) {
            throw std::invalid_argument(fmt::format("{}: a sparse value is not finite", what));
        }
    }
}

FeatureView FeatureView::of(std::span<const float> x, std::size_t n_features, const char* what) {
    if (n_features == 0) throw std::invalid_argument(fmt::format("{}: n_features is 0", what));
    if (x.size() % n_features != 0) {
        throw std::invalid_argument(
            fmt::format("{}: {} feature values are not a whole number of rows of {} features", what,
                        x.size(), n_features));
    }
    for (std::size_t k = 0; k < x.size(); ++k) {
        if (!std::isfinite(x[k])) {
            throw std::invalid_argument(fmt::format(
                "{}: feature {} of row {} is not finite ({}); clean or impute the features", what,
                k % n_features, k / n_features, x[k]));
        }
    }
    return FeatureView{x, nullptr, x.size() / n_features, n_features};
}

FeatureView FeatureView::of(const SparseMatrix& x, const char* what) {
    x.validate(what);
    if (x.cols == 0) throw std::invalid_argument(fmt::format("{}: the matrix has 0 columns", what));
    return FeatureView{{}, &x, x.rows, x.cols};
}

namespace detail {

Standardizer Standardizer::fit(const FeatureView& x) {
    // Two passes (mean, then squared deviations) to avoid the cancellation of E[x^2] - E[x]^2.
    std::vector<double> mean(x.cols, 0.0), dev(x.cols, 0.0);
    std::vector<std::size_t> nonzero(x.cols, 0);
    double n = static_cast<double>(x.rows);
    if (x.sparse) {
        const SparseMatrix& s = *x.sparse;
        for (std::size_t k = 0; k < s.values.size(); ++k) mean[s.indices[k]] += s.values[k];
        for (double& m : mean) m /= n;
        for (std::size_t k = 0; k < s.values.size(); ++k) {
            double d = s.values[k] - mean[s.indices[k]];
            dev[s.indices[k]] += d * d;
            ++nonzero[s.indices[k]];
        }
        // The implicit zeros each deviate by -mean.
        for (std::size_t j = 0; j < x.cols; ++j) {
            dev[j] += static_cast<double>(x.rows - nonzero[j]) * mean[j] * mean[j];
        }
    } else {
        for (std::size_t k = 0; k < x.dense.size(); ++k) mean[k % x.cols] += x.dense[k];
        for (double& m : mean) m /= n;
        for (std::size_t k = 0; k < x.dense.size(); ++k) {
            double d = x.dense[k] - mean[k % x.cols];
            dev[k % x.cols] += d * d;
        }
    }
    Standardizer st;
    st.mean.assign(x.cols, 0.0);
    st.scale.assign(x.cols, 1.0);
    for (std::size_t j = 0; j < x.cols; ++j) {
        double sd = std::sqrt(dev[j] / n);
        // As sklearn: a (near-)constant feature is left unscaled instead of divided by ~0.
        st.scale[j] = sd < 10 * DBL_EPSILON * std::max(1.0, std::abs(mean[j])) ? 1.0 : sd;
        if (!x.sparse) st.mean[j] = mean[j];
    }
    return st;
}

Design::Design(const FeatureView& x, const Standardizer& st) : rows_(x.rows), cols_(x.cols) {
    auto transform = [&](std::size_t j, float v) {
        return st.active() ? static_cast<float>((v - st.mean[j]) / st.scale[j]) : v;
    };
    if (x.sparse) {
        sparse_ = true;
        indptr_ = x.sparse->indptr;
        indices_ = x.sparse->indices;
        values_.resize(x.sparse->values.size());
        for (std::size_t k = 0; k < values_.size(); ++k) {
            values_[k] = transform(indices_[k], x.sparse->values[k]);
        }
        return;
    }
    std::size_t nonzero = static_cast<std::size_t>(
        std::count_if(x.dense.begin(), x.dense.end(), [](float v) { return v != 0.0f; }));
    bool centred = st.active() &&
                   std::any_of(st.mean.begin(), st.mean.end(), [](double m) { return m != 0.0; });
    if (!centred && nonzero * 3 < x.dense.size()) {
        sparse_ = true;
        indptr_.assign(1, 0);
        indices_.reserve(nonzero);
        values_.reserve(nonzero);
        for (std::size_t i = 0; i < rows_; ++i) {
            for (std::size_t j = 0; j < cols_; ++j) {
                float v = x.dense[i * cols_ + j];
                if (v == 0.0f) continue;
                indices_.push_back(static_cast<std::uint32_t>(j));
                values_.push_back(transform(j, v));
            }
            indptr_.push_back(indices_.size());
        }
        return;
    }
    dense_.resize(x.dense.size());
    for (std::size_t k = 0; k < dense_.size(); ++k) dense_[k] = transform(k % cols_, x.dense[k]);
}

double Design::dot(std::size_t i, const double* w) const {
    double s = 0;
    if (sparse_) {
        for (std::size_t k = indptr_[i]; k < indptr_[i + 1]; ++k) s += values_[k] * w[indices_[k]];
    } else {
        const float* row = dense_.data() + i * cols_;
        for (std::size_t j = 0; j < cols_; ++j) s += row[j] * w[j];
    }
    return s;
}

void Design::axpy(std::size_t i, double a, double* out) const {
    if (sparse_) {
        for (std::size_t k = indptr_[i]; k < indptr_[i + 1]; ++k)
            out[indices_[k]] += a * values_[k];
    } else {
        const float* row = dense_.data() + i * cols_;
        for (std::size_t j = 0; j < cols_; ++j) out[j] += a * row[j];
    }
}

double Design::squared_norm(std::size_t i) const {
    double s = 0;
    if (sparse_) {
        for (std::size_t k = indptr_[i]; k < indptr_[i + 1]; ++k) {
            s += static_cast<double>(values_[k]) * values_[k];
        }
    } else {
        const float* row = dense_.data() + i * cols_;
        for (std::size_t j = 0; j < cols_; ++j) s += static_cast<double>(row[j]) * row[j];
    }
    return s;
}

int check_labels(std::span<const int> y, std::size_t rows, int n_classes, const char* what) {
    if (rows == 0) {
        throw std::invalid_argument(
            fmt::format("{}: no training examples (the dataset is empty)", what));
    }
    if (y.size() != rows) {
        throw std::invalid_argument(fmt::format(
            "{}: {} feature rows but {} labels; pass one class id per row", what, rows, y.size()));
    }
    int max_id = *std::max_element(y.begin(), y.end());
    int k = n_classes > 0 ? n_classes : max_id + 1;
    std::set<int> present;
    for (std::size_t i = 0; i < y.size(); ++i) {
        if (y[i] < 0 || y[i] >= k) {
            throw std::invalid_argument(fmt::format(
                "{}: class id {} of row {} is outside [0, {}); class ids must be 0..n_classes-1",
                what, y[i], i, k));
        }
        present.insert(y[i]);
    }
    if (present.size() < 2) {
        throw std::invalid_argument(fmt::format(
            "{}: all {} training examples have class {}; a classifier needs at least two classes",
            what, rows, *present.begin()));
    }
    return k;
}

std::vector<double> LinearWeights::scores(const FeatureView& x) const {
    if (x.cols != n_features) {
        throw std::invalid_argument(
            fmt::format("linear model: input has {} features but the model was trained on {}",
                        x.cols, n_features));
    }
    // Fold the standardizer into the weights once: w . (x - m) / s = (w / s) . x - (w / s) . m.
    std::size_t m = outputs();
    std::vector<double> w = coef, b = intercept;
    if (standardizer.active()) {
        for (std::size_t r = 0; r < m; ++r) {
            for (std::size_t j = 0; j < n_features; ++j) {
                double& wj = w[r * n_features + j];
                wj /= standardizer.scale[j];
                b[r] -= wj * standardizer.mean[j];
            }
        }
    }
    std::vector<double> out(x.rows * m);
    for (std::size_t i = 0; i < x.rows; ++i) {
        for (std::size_t r = 0; r < m; ++r) {
            const double* wr = w.data() + r * n_features;
            double s = b[r];
            if (x.sparse) {
                for (std::size_t k = x.sparse->indptr[i]; k < x.sparse->indptr[i + 1]; ++k) {
                    s += wr[x.sparse->indices[k]] * x.sparse->values[k];
                }
            } else {
                const float* row = x.dense.data() + i * n_features;
                for (std::size_t j = 0; j < n_features; ++j) s += wr[j] * row[j];
            }
            out[i * m + r] = s;
        }
    }
    return out;
}

std::vector<int> LinearWeights::argmax(const std::vector<double>& s) const {
    std::size_t m = outputs();
    std::vector<int> out(s.size() / m);
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (m == 1) {
            out[i] = s[i] > 0 ? 1 : 0;
            continue;
        }
        const double* row = s.data() + i * m;
        out[i] = static_cast<int>(std::max_element(row, row + m) - row);  // first max on ties
    }
    return out;
}

nlohmann::json LinearWeights::to_json() const {
    nlohmann::json j = {{"n_classes", n_classes},
                        {"n_features", n_features},
                        {"coef", coef},
                        {"intercept", intercept}};
    if (standardizer.active()) {
        j["standardize"] = {{"mean", standardizer.mean}, {"scale", standardizer.scale}};
    } else {
        j["standardize"] = nullptr;
    }
    return j;
}

LinearWeights LinearWeights::from_json(const nlohmann::json& j, const char* what) {
    LinearWeights w;
    try {
        w.n_classes = j.at("n_classes").get<int>();
        w.n_features = j.at("n_features").get<std::size_t>();
        w.coef = j.at("coef").get<std::vector<double>>();
        w.intercept = j.at("intercept").get<std::vector<double>>();
        const auto& st = j.at("standardize");
        if (!st.is_null()) {
            w.standardizer.mean = st.at("mean").get<std::vector<double>>();
            w.standardizer.scale = st.at("scale").get<std::vector<double>>();
        }
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(fmt::format(
            "{}: not a saved model ({}); expected keys n_classes, n_features, coef, intercept, "
            "standardize",
            what, e.what()));
    }
    if (w.n_classes < 2 || w.n_features == 0 || w.coef.size() != w.outputs() * w.n_features ||
        w.intercept.size() != w.outputs() ||
        (w.standardizer.active() && (w.standardizer.scale.size() != w.n_features ||
                                     w.standardizer.mean.size() != w.n_features))) {
        throw std::invalid_argument(fmt::format(
            "{}: inconsistent model sizes (n_classes {}, n_features {}, coef {}, intercept {})",
            what, w.n_classes, w.n_features, w.coef.size(), w.intercept.size()));
    }
    return w;
}

void save_json(const std::filesystem::path& file, const nlohmann::json& j) {
    std::filesystem::path tmp = file;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(fmt::format("cannot write model file {}", tmp.string()));
        out << j.dump(1) << '\n';
        out.flush();
        if (!out)
            throw std::runtime_error(fmt::format("failed writing model file {}", tmp.string()));
    }
    std::filesystem::rename(tmp, file);
}

nlohmann::json load_json(const std::filesystem::path& file, const char* what) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw std::runtime_error(
            fmt::format("{}: cannot open model file {} (does it exist?)", what, file.string()));
    }
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        throw std::runtime_error(
            fmt::format("{}: model file {} is not valid JSON: {}", what, file.string(), e.what()));
    }
}

}  // namespace detail
}  // namespace graft::ml
