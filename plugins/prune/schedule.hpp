// The gradual pruning schedule of Zhu & Gupta (2017, "To prune, or not to prune"): over n pruning
// events the sparsity rises from s_i towards s_f along a cubic, fast at first (when redundant
// weights are plentiful) and slowly near the end:  s_t = s_f + (s_i - s_f) * (1 - t / n)^3,
// t = 1..n, so s_n = s_f exactly and n = 1 is one-shot pruning.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace graft::prune {

inline double cubic_sparsity(double initial, double final_sparsity, int64_t t, int64_t n) {
    if (n < 1 || t < 1 || t > n)
        throw std::invalid_argument("cubic_sparsity: need 1 <= t <= n, got t = " + std::to_string(t) +
                                    ", n = " + std::to_string(n));
    if (t == n) return final_sparsity;  // exact, whatever the rounding of the cube
    const double left = 1.0 - static_cast<double>(t) / static_cast<double>(n);
    return final_sparsity + (initial - final_sparsity) * left * left * left;
}

}  // namespace graft::prune
