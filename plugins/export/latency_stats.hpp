// Summary statistics of latency samples.
#pragma once

#include <vector>

namespace graft::exporting {

// The q-quantile (0 <= q <= 1) of `samples` with linear interpolation between the two nearest
// ranks (numpy's default "linear" method): position q * (n - 1) in the sorted samples.
// Throws std::invalid_argument for no samples or q outside [0, 1].
double quantile(std::vector<double> samples, double q);

}  // namespace graft::exporting
