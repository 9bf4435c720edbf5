// Feature matrices for the classic linear models (logistic regression, linear SVM) and the
// bag-of-words vectorizer: dense row-major float rows or CSR sparse rows, plus the parts both
// models share (input checks, standardization, the linear scorer and its JSON form).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace graft::ml {

// Compressed sparse rows: row i holds indices[indptr[i] .. indptr[i+1]) with their values.
struct SparseMatrix {
    std::size_t rows = 0;
    std::size_t cols = 0;
    std::vector<std::size_t> indptr{0};
    std::vector<std::uint32_t> indices;
    std::vector<float> values;

    // Throws std::invalid_argument when the arrays are inconsistent or a value is not finite.
    void validate(const char* what) const;
};

// Read-only view of features given either way; the models take both.
struct FeatureView {
    std::span<const float> dense;          // rows * cols, row-major (when sparse == nullptr)
    const SparseMatrix* sparse = nullptr;  // CSR (when set)
    std::size_t rows = 0;
    std::size_t cols = 0;

    static FeatureView of(std::span<const float> x, std::size_t n_features, const char* what);
    static FeatureView of(const SparseMatrix& x, const char* what);
};

// How training went: solver iterations, whether the stopping tolerance was reached (and why it
// stopped), and, for logistic regression, the objective per iteration (never increases).
struct TrainingInfo {
    int iterations = 0;
    bool converged = false;
    std::string stop_reason;
    std::vector<double> loss_history;
};

namespace detail {

// Per-feature shift and scale learned on training data: x' = (x - mean) / scale. Dense input is
// centred and scaled (sklearn StandardScaler); sparse input is only scaled (with_mean=False, as
// sklearn does for sparse matrices) so it stays sparse. A zero-variance feature keeps scale 1.
struct Standardizer {
    std::vector<double> mean;  // empty: no standardization
    std::vector<double> scale;

    static Standardizer fit(const FeatureView& x);
    bool active() const { return !scale.empty(); }
};

// The training rows after standardization, stored dense or CSR (dense input that is mostly zeros
// and not centred is converted to CSR, which makes bag-of-words training proportional to the
// non-zeros).
class Design {
public:
    Design(const FeatureView& x, const Standardizer& st);
    std::size_t rows() const { return rows_; }
    std::size_t cols() const { return cols_; }
    double dot(std::size_t i, const double* w) const;
    void axpy(std::size_t i, double a, double* out) const;  // out += a * x_i
    double squared_norm(std::size_t i) const;

private:
    std::size_t rows_ = 0, cols_ = 0;
    bool sparse_ = false;
    std::vector<float> dense_;
    std::vector<std::size_t> indptr_;
    std::vector<std::uint32_t> indices_;
    std::vector<float> values_;
};

// Number of classes (n_classes, or max(y) + 1 when 0) after checking y: one id per row, ids in
// [0, classes), at least two distinct classes present.
int check_labels(std::span<const int> y, std::size_t rows, int n_classes, const char* what);

// Weights of a linear multi-class scorer in standardized feature space: outputs() rows of coef
// (n_features each) and an intercept per row. outputs() is 1 for two classes (the score of
// class 1) and n_classes otherwise.
struct LinearWeights {
    int n_classes = 0;
    std::size_t n_features = 0;
    std::vector<double> coef;       // outputs() x n_features, row-major
    std::vector<double> intercept;  // outputs()
    Standardizer standardizer;

    std::size_t outputs() const { return n_classes == 2 ? 1 : static_cast<std::size_t>(n_classes); }
    // Raw scores, rows x outputs() row-major; applies the standardizer on the fly.
    std::vector<double> scores(const FeatureView& x) const;
    // Class with the highest score (for one output: class 1 when the score is > 0).
    std::vector<int> argmax(const std::vector<double>& scores) const;

    nlohmann::json to_json() const;
    static LinearWeights from_json(const nlohmann::json& j, const char* what);
};

// Model files: JSON written through a temporary file and renamed, so a crash never leaves half a
// model; load errors name the file and say what is wrong.
void save_json(const std::filesystem::path& file, const nlohmann::json& j);
nlohmann::json load_json(const std::filesystem::path& file, const char* what);

}  // namespace detail
}  // namespace graft::ml
