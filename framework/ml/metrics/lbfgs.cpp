#include "ml/metrics/lbfgs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <stdexcept>

namespace graft::ml {
namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

double max_abs(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

struct Pair {
    std::vector<double> s, y;
    double rho;  // 1 / (y . s)
};

// Two-loop recursion: returns -H g, where H approximates the inverse Hessian from the stored
// pairs, starting from the scaled identity (s.y / y.y of the newest pair).
std::vector<double> direction(const std::deque<Pair>& mem, const std::vector<double>& g) {
    std::vector<double> q = g;
    std::vector<double> alpha(mem.size());
    for (std::size_t k = mem.size(); k-- > 0;) {
        alpha[k] = mem[k].rho * dot(mem[k].s, q);
        for (std::size_t i = 0; i < q.size(); ++i) q[i] -= alpha[k] * mem[k].y[i];
    }
    if (!mem.empty()) {
        const Pair& last = mem.back();
        double gamma = 1.0 / (last.rho * dot(last.y, last.y));
        for (double& v : q) v *= gamma;
    }
    for (std::size_t k = 0; k < mem.size(); ++k) {
        double beta = mem[k].rho * dot(mem[k].y, q);
        for (std::size_t i = 0; i < q.size(); ++i) q[i] += mem[k].s[i] * (alpha[k] - beta);
    }
    for (double& v : q) v = -v;
    return q;
}

}  // namespace

LbfgsResult lbfgs_minimize(const Objective& f, std::vector<double> x0, const LbfgsOptions& opt) {
    if (opt.history < 1 || opt.max_iter < 0 || opt.max_line_search < 1) {
        throw std::invalid_argument(
            "lbfgs: history and max_line_search must be >= 1, max_iter >= 0");
    }
    LbfgsResult r;
    r.x = std::move(x0);
    std::vector<double> g(r.x.size()), g_new(r.x.size()), x_new(r.x.size());
    r.f = f(r.x, g);
    r.evaluations = 1;
    if (!std::isfinite(r.f))
        throw std::invalid_argument("lbfgs: objective is not finite at the start");
    r.f_history.push_back(r.f);
    std::deque<Pair> mem;
    const double c1 = 1e-4;  // sufficient-decrease constant (Armijo)

    for (;;) {
        r.gradient_max = max_abs(g);
        if (r.gradient_max <= opt.gtol) {
            r.converged = true;
            r.stop_reason =
                fmt::format("gradient max {:.3g} <= gtol {:.3g}", r.gradient_max, opt.gtol);
            return r;
        }
        if (r.iterations >= opt.max_iter) {
            r.stop_reason = fmt::format("reached max_iter {} (gradient max {:.3g})", opt.max_iter,
                                        r.gradient_max);
            return r;
        }
        std::vector<double> d = direction(mem, g);
        double slope = dot(g, d);
        if (!(slope <
              0)) {  // lost positive-definiteness numerically: restart from steepest descent
            mem.clear();
            d = direction(mem, g);
            slope = dot(g, d);
        }
        // Without curvature information the first step is scaled to length 1.
        double step = mem.empty() ? std::min(1.0, 1.0 / std::sqrt(dot(g, g))) : 1.0;
        double f_new = 0;
        bool accepted = false;
        for (int ls = 0; ls < opt.max_line_search; ++ls) {
            for (std::size_t i = 0; i < x_new.size(); ++i) x_new[i] = r.x[i] + step * d[i];
            f_new = f(x_new, g_new);
            ++r.evaluations;
            if (std::isfinite(f_new) && f_new <= r.f + c1 * step * slope) {
                accepted = true;
                break;
            }
            // Minimizer of the quadratic through f(0), f'(0) and f(step), kept in [0.1, 0.5] step.
            double next = 0.5 * step;
            if (std::isfinite(f_new)) {
                double denom = 2.0 * (f_new - r.f - slope * step);
                if (denom > 0) next = -slope * step * step / denom;
            }
            step = std::clamp(next, 0.1 * step, 0.5 * step);
        }
        if (!accepted) {
            r.stop_reason = fmt::format(
                "line search found no decrease after {} evaluations (gradient max {:.3g}); the "
                "objective is flat at machine precision",
                opt.max_line_search, r.gradient_max);
            return r;
        }
        Pair p;
        p.s.resize(r.x.size());
        p.y.resize(r.x.size());
        for (std::size_t i = 0; i < r.x.size(); ++i) {
            p.s[i] = x_new[i] - r.x[i];
            p.y[i] = g_new[i] - g[i];
        }
        double sy = dot(p.s, p.y);
        // Keep the pair only with positive curvature, so the approximation stays positive definite.
        if (sy > 1e-12 * dot(p.y, p.y)) {
            p.rho = 1.0 / sy;
            mem.push_back(std::move(p));
            if (mem.size() > static_cast<std::size_t>(opt.history)) mem.pop_front();
        }
        double f_old = r.f;
        r.x.swap(x_new);
        g.swap(g_new);
        r.f = f_new;
        ++r.iterations;
        r.f_history.push_back(r.f);
        if (f_old - r.f <= opt.ftol * std::max({std::abs(f_old), std::abs(r.f), 1.0})) {
            r.gradient_max = max_abs(g);
            r.converged = true;
            r.stop_reason =
                fmt::format("relative decrease of the objective <= ftol {:.3g}", opt.ftol);
            return r;
        }
    }
}

}  // namespace graft::ml
