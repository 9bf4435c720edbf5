#include "latency_stats.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using graft::exporting::quantile;

TEST_CASE("quantile interpolates between the nearest ranks of the sorted samples", "[export][latency]") {
    const std::vector<double> v = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5};  // 1..10, unsorted
    CHECK(quantile(v, 0.0) == Approx(1.0));
    CHECK(quantile(v, 1.0) == Approx(10.0));
    CHECK(quantile(v, 0.5) == Approx(5.5));  // numpy.quantile(range(1, 11), 0.5)
    CHECK(quantile(v, 0.9) == Approx(9.1));  // numpy.quantile(range(1, 11), 0.9)
    CHECK(quantile({4.0}, 0.9) == Approx(4.0));
    CHECK_THROWS_AS(quantile({}, 0.5), std::invalid_argument);
    CHECK_THROWS_AS(quantile(v, 1.5), std::invalid_argument);
}
