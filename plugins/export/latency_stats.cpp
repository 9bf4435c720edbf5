#include "latency_stats.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace graft::exporting {

double quantile(std::vector<double> samples, double q) {
    if (samples.empty()) throw std::invalid_argument("quantile of no samples");
    if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("quantile: q must be in [0, 1]");
    std::sort(samples.begin(), samples.end());
    const double pos = q * static_cast<double>(samples.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, samples.size() - 1);
    return samples[lo] + (pos - static_cast<double>(lo)) * (samples[hi] - samples[lo]);
}

}  // namespace graft::exporting
