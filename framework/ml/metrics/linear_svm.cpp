#include "ml/metrics/linear_svm.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

namespace graft::ml {
namespace {

constexpr const char* kWhat = "linear SVM";

void check_options(const LinearSvmOptions& o) {
    if (!(o.C > 0) || !std::isfinite(o.C)) {
        throw std::invalid_argument(
            fmt::format("{}: C must be a positive number, got {}", kWhat, o.C));
    }
    if (o.max_iter < 1) {
        throw std::invalid_argument(
            fmt::format("{}: max_iter must be >= 1, got {}", kWhat, o.max_iter));
    }
    if (!(o.tol > 0))
        throw std::invalid_argument(fmt::format("{}: tol must be > 0, got {}", kWhat, o.tol));
    if (o.fit_intercept && !(o.intercept_scaling > 0)) {
        throw std::invalid_argument(
            fmt::format("{}: intercept_scaling must be > 0, got {}", kWhat, o.intercept_scaling));
    }
    if (o.n_classes < 0) {
        throw std::invalid_argument(
            fmt::format("{}: n_classes must be >= 0 (0 = infer), got {}", kWhat, o.n_classes));
    }
}

// Seeds of the per-subproblem generators: splitmix64 of (seed, class), so each one-vs-rest
// subproblem gets the same visiting order whatever the others do.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Fisher-Yates on the first n entries with raw mt19937_64 output (std::shuffle and the standard
// distributions differ between library implementations; this order does not).
void shuffle(std::vector<std::size_t>& v, std::size_t n, std::mt19937_64& rng) {
    for (std::size_t k = n; k > 1; --k) std::swap(v[k - 1], v[rng() % k]);
}

struct Binary {
    std::vector<double> w;
    double bias_weight = 0;  // weight of the constant feature B; intercept = B * bias_weight
    int iterations = 0;
    bool converged = false;
};

// Dual coordinate descent with shrinking for
//   min_a  a'(Q + D)a / 2 - sum a,  0 <= a_i <= U,  Q_ij = y_i y_j x_i.x_j
// (hinge: D = 0, U = C; squared hinge: D = I / 2C, U = inf), keeping w = sum a_i y_i x_i so each
// coordinate step costs one sparse dot product and one update.
Binary solve(const detail::Design& x, const std::vector<double>& y, const LinearSvmOptions& o,
             std::uint64_t seed) {
    const std::size_t n = x.rows();
    const double inf = std::numeric_limits<double>::infinity();
    const bool squared = o.loss == SvmLoss::squared_hinge;
    const double diag = squared ? 0.5 / o.C : 0.0;
    const double upper = squared ? inf : o.C;
    const double B = o.fit_intercept ? o.intercept_scaling : 0.0;

    Binary r;
    r.w.assign(x.cols(), 0.0);
    std::vector<double> alpha(n, 0.0), qd(n);
    for (std::size_t i = 0; i < n; ++i) qd[i] = diag + x.squared_norm(i) + B * B;
    std::vector<std::size_t> index(n);
    for (std::size_t i = 0; i < n; ++i) index[i] = i;
    std::mt19937_64 rng(seed);

    std::size_t active = n;
    // Bounds of the projected gradient in the previous pass; a variable at a bound whose gradient
    // lies beyond them is unlikely to move and is shrunk (dropped from the active set).
    double pg_max_old = inf, pg_min_old = -inf;
    while (r.iterations < o.max_iter) {
        ++r.iterations;
        double pg_max = -inf, pg_min = inf;
        shuffle(index, active, rng);
        for (std::size_t s = 0; s < active; ++s) {
            std::size_t i = index[s];
            double g = y[i] * (x.dot(i, r.w.data()) + B * r.bias_weight) - 1.0 + diag * alpha[i];
            double pg = 0;
            if (alpha[i] == 0) {
                if (g > pg_max_old) {
                    std::swap(index[s--], index[--active]);
                    continue;
                }
                pg = std::min(g, 0.0);
            } else if (alpha[i] == upper) {
                if (g < pg_min_old) {
                    std::swap(index[s--], index[--active]);
                    continue;
                }
                pg = std::max(g, 0.0);
            } else {
                pg = g;
            }
            pg_max = std::max(pg_max, pg);
            pg_min = std::min(pg_min, pg);
            if (std::abs(pg) > 1e-12 && qd[i] > 0) {
                double old = alpha[i];
                alpha[i] = std::min(std::max(old - g / qd[i], 0.0), upper);
                double delta = (alpha[i] - old) * y[i];
                x.axpy(i, delta, r.w.data());
                r.bias_weight += delta * B;
            }
        }
        if (pg_max - pg_min <= o.tol) {
            if (active == n) {
                r.converged = true;
                break;
            }
            // Converged on the shrunk set: check again on all variables before stopping.
            active = n;
            pg_max_old = inf;
            pg_min_old = -inf;
            continue;
        }
        pg_max_old = pg_max > 0 ? pg_max : inf;
        pg_min_old = pg_min < 0 ? pg_min : -inf;
    }
    return r;
}

}  // namespace

LinearSvm LinearSvm::fit(std::span<const float> x, std::size_t n_features, std::span<const int> y,
                         const LinearSvmOptions& options) {
    return fit_view(FeatureView::of(x, n_features, kWhat), y, options);
}

LinearSvm LinearSvm::fit(const SparseMatrix& x, std::span<const int> y,
                         const LinearSvmOptions& options) {
    return fit_view(FeatureView::of(x, kWhat), y, options);
}

LinearSvm LinearSvm::fit_view(const FeatureView& x, std::span<const int> y,
                              const LinearSvmOptions& options) {
    check_options(options);
    LinearSvm m;
    m.options_ = options;
    m.w_.n_classes = detail::check_labels(y, x.rows, options.n_classes, kWhat);
    m.w_.n_features = x.cols;
    if (options.standardize) m.w_.standardizer = detail::Standardizer::fit(x);
    detail::Design design(x, m.w_.standardizer);

    std::size_t outputs = m.w_.outputs();
    m.w_.coef.resize(outputs * x.cols);
    m.w_.intercept.resize(outputs);
    m.info_.converged = true;
    std::vector<int> unconverged;
    for (std::size_t r = 0; r < outputs; ++r) {
        int positive = outputs == 1 ? 1 : static_cast<int>(r);
        std::vector<double> yy(x.rows);
        for (std::size_t i = 0; i < x.rows; ++i) yy[i] = y[i] == positive ? 1.0 : -1.0;
        Binary b = solve(design, yy, options, mix(options.seed ^ mix(r)));
        std::copy(b.w.begin(), b.w.end(),
                  m.w_.coef.begin() + static_cast<std::ptrdiff_t>(r * x.cols));
        m.w_.intercept[r] = options.fit_intercept ? options.intercept_scaling * b.bias_weight : 0.0;
        m.info_.iterations = std::max(m.info_.iterations, b.iterations);
        if (!b.converged) unconverged.push_back(positive);
    }
    m.info_.converged = unconverged.empty();
    m.info_.stop_reason =
        unconverged.empty()
            ? fmt::format("projected gradient spread <= tol {} (at most {} passes)", options.tol,
                          m.info_.iterations)
            : fmt::format(
                  "reached max_iter {} before tol {} for class(es) {}; raise max_iter, "
                  "standardize the features or lower C",
                  options.max_iter, options.tol, fmt::join(unconverged, ", "));
    return m;
}

std::vector<double> LinearSvm::decision_function(std::span<const float> x) const {
    return w_.scores(FeatureView::of(x, w_.n_features, kWhat));
}
std::vector<double> LinearSvm::decision_function(const SparseMatrix& x) const {
    return w_.scores(FeatureView::of(x, kWhat));
}
std::vector<int> LinearSvm::predict(std::span<const float> x) const {
    return w_.argmax(decision_function(x));
}
std::vector<int> LinearSvm::predict(const SparseMatrix& x) const {
    return w_.argmax(decision_function(x));
}

nlohmann::json LinearSvm::to_json() const {
    nlohmann::json j = w_.to_json();
    j["type"] = "linear_svm";
    j["options"] = {{"C", options_.C},
                    {"loss", options_.loss == SvmLoss::hinge ? "hinge" : "squared_hinge"},
                    {"fit_intercept", options_.fit_intercept},
                    {"intercept_scaling", options_.intercept_scaling},
                    {"standardize", options_.standardize},
                    {"max_iter", options_.max_iter},
                    {"tol", options_.tol},
                    {"seed", options_.seed},
                    {"n_classes", options_.n_classes}};
    j["training"] = {{"iterations", info_.iterations},
                     {"converged", info_.converged},
                     {"stop_reason", info_.stop_reason}};
    return j;
}

LinearSvm LinearSvm::from_json(const nlohmann::json& j) {
    if (!j.is_object() || j.value("type", "") != "linear_svm") {
        throw std::invalid_argument(fmt::format(
            "{}: JSON is not a saved linear SVM (its \"type\" must be \"linear_svm\")", kWhat));
    }
    LinearSvm m;
    m.w_ = detail::LinearWeights::from_json(j, kWhat);
    try {
        const auto& o = j.at("options");
        m.options_.C = o.at("C").get<double>();
        std::string loss = o.at("loss").get<std::string>();
        if (loss != "hinge" && loss != "squared_hinge") {
            throw std::invalid_argument(
                fmt::format("{}: unknown loss '{}' in saved model; expected hinge or squared_hinge",
                            kWhat, loss));
        }
        m.options_.loss = loss == "hinge" ? SvmLoss::hinge : SvmLoss::squared_hinge;
        m.options_.fit_intercept = o.at("fit_intercept").get<bool>();
        m.options_.intercept_scaling = o.at("intercept_scaling").get<double>();
        m.options_.standardize = o.at("standardize").get<bool>();
        m.options_.max_iter = o.at("max_iter").get<int>();
        m.options_.tol = o.at("tol").get<double>();
        m.options_.seed = o.at("seed").get<std::uint64_t>();
        m.options_.n_classes = o.at("n_classes").get<int>();
        const auto& t = j.at("training");
        m.info_.iterations = t.at("iterations").get<int>();
        m.info_.converged = t.at("converged").get<bool>();
        m.info_.stop_reason = t.at("stop_reason").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(
            fmt::format("{}: saved model lacks a field: {}", kWhat, e.what()));
    }
    return m;
}

void LinearSvm::save(const std::filesystem::path& file) const {
    detail::save_json(file, to_json());
}

LinearSvm LinearSvm::load(const std::filesystem::path& file) {
    try {
        return from_json(detail::load_json(file, kWhat));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(fmt::format("{} (file {})", e.what(), file.string()));
    }
}

}  // namespace graft::ml
