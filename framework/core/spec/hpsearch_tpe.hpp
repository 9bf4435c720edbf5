// Proposing the next point of a hyperparameter search.
//
// Random: every param drawn uniformly (log-uniformly with log = true; integers uniformly among
// the integers; choices uniformly).
//
// TPE (tree-structured Parzen estimator, Bergstra et al. 2011, as Optuna's and hyperopt's
// samplers do it): the first `startup_trials` trials are random. Then the finished trials are
// sorted by the metric and the best ceil(gamma * n) of them are "good", the rest and every failed
// trial "bad". Per param, independently, a Parzen estimator is fitted to each group: for numbers a
// mixture of normals truncated to the range (in log space with log = true), one per observation
// plus a wide prior at the centre, bandwidths from the distances to the neighbours; integers are
// modelled on [min - 0.5, max + 0.5] and scored by the mass of their rounding interval; choices by
// smoothed counts. `candidates` points are drawn from the good density and the one with the
// largest l(x) / g(x) is proposed (the best one not tried yet, when one is).
//
// Deterministic: the same spec, seed, history and trial number give the same point, on every
// platform (own uniform/normal transforms over std::mt19937_64).
#pragma once

#include "core/spec/hpsearch.hpp"

#include <cstdint>
#include <vector>

namespace graft {

// HpParam::name -> value (a double for Float, an integer for Int, the choice itself for Choice),
// every value inside its space.
json hpsearch_propose(const HpSearchSpec& search, const std::vector<HpTrial>& history,
                      std::size_t trial_number);

namespace detail {

// A Parzen estimator over [low, high] (already in model space: log applied): a mixture of
// truncated normals. Exposed for tests.
struct Parzen {
    std::vector<double> mus, sigmas, weights;  // weights sum to 1
    double low = 0, high = 0;
};
Parzen fit_parzen(const std::vector<double>& observations, double low, double high);
// log density at x (continuous), or log mass of [a, b] when interval is true.
double parzen_log_pdf(const Parzen& p, double x);
double parzen_log_mass(const Parzen& p, double a, double b);

}  // namespace detail

}  // namespace graft
