// Random and TPE proposals (see hpsearch_tpe.hpp).
#include "core/spec/hpsearch_tpe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace graft {
namespace detail {
namespace {

constexpr double kPi = 3.14159265358979323846;

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// Probability that component i lands in [lo, hi]: the truncation constant.
double truncation(const Parzen& p, std::size_t i) {
    const double z = normal_cdf((p.high - p.mus[i]) / p.sigmas[i]) -
                     normal_cdf((p.low - p.mus[i]) / p.sigmas[i]);
    return std::max(z, 1e-300);
}

}  // namespace

Parzen fit_parzen(const std::vector<double>& observations, double low, double high) {
    Parzen p;
    p.low = low;
    p.high = high;
    const double range = high - low;
    // Every observation plus a prior component: wide, centred, so that no region of the range
    // ever gets zero density (the model keeps exploring).
    std::vector<double> mus;
    for (double x : observations) mus.push_back(std::clamp(x, low, high));
    const double prior_mu = 0.5 * (low + high);
    mus.push_back(prior_mu);
    const std::size_t n = mus.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return mus[a] < mus[b]; });
    // Bandwidth of each observation: the larger distance to its sorted neighbours (the range's
    // ends bound the outermost), clipped so that neither a cluster of equal values collapses to
    // a spike nor a lone point spreads beyond the range.
    const double min_sigma = range / std::min(100.0, 1.0 + static_cast<double>(observations.size()));
    std::vector<double> sigmas(n);
    for (std::size_t j = 0; j < n; ++j) {
        const double x = mus[order[j]];
        const double left = j == 0 ? low : mus[order[j - 1]];
        const double right = j + 1 == n ? high : mus[order[j + 1]];
        sigmas[order[j]] = std::clamp(std::max(x - left, right - x), min_sigma, range);
    }
    sigmas[n - 1] = range;  // the prior
    p.mus = std::move(mus);
    p.sigmas = std::move(sigmas);
    p.weights.assign(n, 1.0 / static_cast<double>(n));
    return p;
}

double parzen_log_pdf(const Parzen& p, double x) {
    if (x < p.low || x > p.high) return -std::numeric_limits<double>::infinity();
    double sum = 0;
    for (std::size_t i = 0; i < p.mus.size(); ++i) {
        const double z = (x - p.mus[i]) / p.sigmas[i];
        sum += p.weights[i] * std::exp(-0.5 * z * z) / (p.sigmas[i] * std::sqrt(2 * kPi)) / truncation(p, i);
    }
    return std::log(std::max(sum, 1e-300));
}

double parzen_log_mass(const Parzen& p, double a, double b) {
    a = std::max(a, p.low);
    b = std::min(b, p.high);
    if (!(a < b)) return -std::numeric_limits<double>::infinity();
    double sum = 0;
    for (std::size_t i = 0; i < p.mus.size(); ++i)
        sum += p.weights[i] *
               (normal_cdf((b - p.mus[i]) / p.sigmas[i]) - normal_cdf((a - p.mus[i]) / p.sigmas[i])) /
               truncation(p, i);
    return std::log(std::max(sum, 1e-300));
}

}  // namespace detail

namespace {

using detail::Parzen;

// A fully specified stream: mt19937_64 (standardized) with our own transforms, since the
// <random> distributions may differ between standard libraries.
class Rng {
public:
    Rng(std::uint64_t seed, std::uint64_t trial) : g_(mix(mix(seed ^ 0x48505345415243ULL) ^ trial)) {}
    double uniform() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }  // [0, 1)
    double uniform(double a, double b) { return a + (b - a) * uniform(); }
    double normal() {  // Box-Muller
        const double u1 = 1.0 - uniform();
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
    }
    std::size_t index(const std::vector<double>& weights) {
        const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
        double u = uniform() * total;
        for (std::size_t i = 0; i + 1 < weights.size(); ++i) {
            if (u < weights[i]) return i;
            u -= weights[i];
        }
        return weights.size() - 1;
    }

private:
    static std::uint64_t mix(std::uint64_t z) {  // SplitMix64 finalizer
        z += 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    static constexpr double kPi = 3.14159265358979323846;
    std::mt19937_64 g_;
};

// A numeric param in model space: log applied where asked; integers widened by half a step on
// each side so that every integer owns an interval of the same width (before the log).
struct Axis {
    const HpParam* p;
    double lo, hi;
    explicit Axis(const HpParam& param) : p(&param) {
        const bool is_int = param.kind == HpParam::Kind::Int;
        lo = to_model(param.low - (is_int ? 0.5 : 0.0));
        hi = to_model(param.high + (is_int ? 0.5 : 0.0));
    }
    double to_model(double v) const { return p->log ? std::log(v) : v; }
    // A model-space point as the param's value.
    json value(double x) const {
        const double v = p->log ? std::exp(x) : x;
        if (p->kind == HpParam::Kind::Int)
            return static_cast<std::int64_t>(std::clamp(std::round(v), p->low, p->high));
        return std::clamp(six_digits(v), p->low, p->high);
    }
    // Six significant digits: tables and --set lines stay readable, and what they show is
    // exactly the value that ran.
    static double six_digits(double v) {
        const std::string text = fmt::format("{:.6g}", v);
        double out = v;
        std::from_chars(text.data(), text.data() + text.size(), out);
        return out;
    }
    // log l(v) of a value under a model: density for floats, rounding-interval mass for ints.
    double log_score(const Parzen& m, const json& v) const {
        const double x = v.get<double>();
        if (p->kind == HpParam::Kind::Int)
            return detail::parzen_log_mass(m, to_model(x - 0.5), to_model(x + 0.5));
        return detail::parzen_log_pdf(m, to_model(x));
    }
};

double sample_parzen(const Parzen& m, Rng& rng) {
    const std::size_t i = rng.index(m.weights);
    for (int attempt = 0; attempt < 64; ++attempt) {
        const double x = m.mus[i] + m.sigmas[i] * rng.normal();
        if (x >= m.low && x <= m.high) return x;
    }
    return std::clamp(m.mus[i], m.low, m.high);
}

json random_value(const HpParam& p, Rng& rng) {
    if (p.kind == HpParam::Kind::Choice) {
        const auto k = p.choices.size();
        return p.choices[std::min(k - 1, static_cast<std::size_t>(rng.uniform() * static_cast<double>(k)))];
    }
    const Axis a(p);
    return a.value(rng.uniform(a.lo, a.hi));
}

std::optional<std::size_t> choice_index(const HpParam& p, const json& v) {
    for (std::size_t i = 0; i < p.choices.size(); ++i)
        if (p.choices[i] == v) return i;
    return std::nullopt;
}

// Smoothed frequencies of the choices in a group (one pseudo-count each).
std::vector<double> choice_weights(const HpParam& p, const std::vector<const HpTrial*>& group) {
    std::vector<double> w(p.choices.size(), 1.0);
    for (const HpTrial* t : group)
        if (t->params.contains(p.name))
            if (auto i = choice_index(p, t->params[p.name])) w[*i] += 1.0;
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    for (double& x : w) x /= total;
    return w;
}

Parzen fit_group(const Axis& a, const std::vector<const HpTrial*>& group) {
    std::vector<double> obs;
    for (const HpTrial* t : group) {
        if (!t->params.contains(a.p->name) || !t->params[a.p->name].is_number()) continue;
        obs.push_back(a.to_model(t->params[a.p->name].get<double>()));
    }
    return detail::fit_parzen(obs, a.lo, a.hi);
}

json tpe_point(const HpSearchSpec& s, const std::vector<HpTrial>& history,
               const std::vector<const HpTrial*>& finished, Rng& rng) {
    // Good: the best ceil(gamma * n) finished trials; bad: the other finished ones and every
    // failed trial (so regions that crash are avoided too).
    std::vector<const HpTrial*> sorted = finished;
    std::stable_sort(sorted.begin(), sorted.end(), [&](const HpTrial* a, const HpTrial* b) {
        return s.maximize ? *a->metric > *b->metric : *a->metric < *b->metric;
    });
    const auto n = sorted.size();
    const auto n_good = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::ceil(s.gamma * static_cast<double>(n))), 1, n - 1);
    std::vector<const HpTrial*> good(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(n_good));
    std::vector<const HpTrial*> bad(sorted.begin() + static_cast<std::ptrdiff_t>(n_good), sorted.end());
    for (const auto& t : history)
        if (t.status != HpTrial::Status::Ok) bad.push_back(&t);

    struct Model {
        std::optional<Axis> axis;
        Parzen l, g;
        std::vector<double> lc, gc;  // choices
    };
    std::vector<Model> models;
    for (const auto& p : s.params) {
        Model m;
        if (p.kind == HpParam::Kind::Choice) {
            m.lc = choice_weights(p, good);
            m.gc = choice_weights(p, bad);
        } else {
            m.axis.emplace(p);
            m.l = fit_group(*m.axis, good);
            m.g = fit_group(*m.axis, bad);
        }
        models.push_back(std::move(m));
    }
    // Draw candidates from l, score each by log l - log g summed over the params.
    std::vector<std::pair<double, json>> candidates;
    for (std::size_t c = 0; c < s.candidates; ++c) {
        json point = json::object();
        double score = 0;
        for (std::size_t k = 0; k < s.params.size(); ++k) {
            const HpParam& p = s.params[k];
            const Model& m = models[k];
            if (p.kind == HpParam::Kind::Choice) {
                const std::size_t i = rng.index(m.lc);
                point[p.name] = p.choices[i];
                score += std::log(m.lc[i]) - std::log(m.gc[i]);
            } else {
                const json v = m.axis->value(sample_parzen(m.l, rng));
                score += m.axis->log_score(m.l, v) - m.axis->log_score(m.g, v);
                point[p.name] = v;
            }
        }
        candidates.emplace_back(score, std::move(point));
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    // A point tried before only restores its cached result: prefer one that is new.
    for (const auto& [score, point] : candidates) {
        const bool tried = std::any_of(history.begin(), history.end(),
                                       [&](const HpTrial& t) { return t.params == point; });
        if (!tried) return point;
    }
    return candidates.front().second;
}

}  // namespace

json hpsearch_propose(const HpSearchSpec& search, const std::vector<HpTrial>& history,
                      std::size_t trial_number) {
    Rng rng(search.seed, trial_number);
    std::vector<const HpTrial*> finished;
    for (const auto& t : history)
        if (t.status == HpTrial::Status::Ok && t.metric && std::isfinite(*t.metric)) finished.push_back(&t);
    const bool model = search.algorithm == HpSearchSpec::Algorithm::Tpe &&
                       finished.size() >= std::max<std::size_t>(search.startup_trials, 2) &&
                       search.candidates > 0;
    if (model) return tpe_point(search, history, finished, rng);
    json point = json::object();
    for (const auto& p : search.params) point[p.name] = random_value(p, rng);
    return point;
}

}  // namespace graft
