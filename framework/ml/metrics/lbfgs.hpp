// Limited-memory BFGS for smooth unconstrained minimization (Nocedal & Wright, Numerical
// Optimization, algorithms 7.4/7.5): the two-loop recursion gives the quasi-Newton direction from
// the last `history` (s, y) pairs; a backtracking line search with the Armijo condition (step 1
// first, then safeguarded quadratic interpolation) accepts a step only if it lowers the objective,
// so the recorded objective never increases.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace graft::ml {

struct LbfgsOptions {
    int max_iter = 1000;
    int history = 10;
    double gtol = 1e-6;        // stop when max |gradient_i| <= gtol
    double ftol = 1e-13;       // ... or when the relative decrease of f is <= ftol (scipy factr)
    int max_line_search = 50;  // objective evaluations per line search
};

struct LbfgsResult {
    std::vector<double> x;
    double f = 0;
    double gradient_max = 0;  // max |gradient_i| at x
    int iterations = 0;
    int evaluations = 0;
    bool converged = false;  // gtol or ftol reached
    std::string stop_reason;
    std::vector<double> f_history;  // objective at the start and after every iteration
};

// f(x, grad) returns the objective at x and writes its gradient into grad (sized like x).
using Objective = std::function<double(const std::vector<double>& x, std::vector<double>& grad)>;

LbfgsResult lbfgs_minimize(const Objective& f, std::vector<double> x0,
                           const LbfgsOptions& opt = {});

}  // namespace graft::ml
