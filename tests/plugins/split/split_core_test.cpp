// Unit tests of the split stage's pure assignment logic (plugins/split/split_core.hpp).
#include "../../../plugins/split/split_core.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

namespace split = graft::split;

namespace {

std::size_t sum(const std::vector<std::size_t>& v) {
    return std::accumulate(v.begin(), v.end(), std::size_t{0});
}

std::vector<std::uint64_t> weights(std::vector<double> ratios) {
    return split::to_weights(ratios);
}

std::string error_of(const std::vector<double>& ratios) {
    try {
        split::check_ratios(ratios);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

split::Units single_rows(std::size_t n) {
    split::Units u;
    u.size.assign(n, 1);
    return u;
}

}  // namespace

TEST_CASE("apportion gives exact largest-remainder sizes", "[split][core]") {
    CHECK(split::apportion(10, weights({0.8, 0.1, 0.1})) == std::vector<std::size_t>{8, 1, 1});
    CHECK(split::apportion(7, weights({0.5, 0.5})) == std::vector<std::size_t>{4, 3});
    CHECK(split::apportion(0, weights({0.8, 0.1, 0.1})) == std::vector<std::size_t>{0, 0, 0});
    CHECK(split::apportion(101, weights({0.7, 0.2, 0.1})) ==
          std::vector<std::size_t>{71, 20, 10});
    CHECK(split::apportion(3, weights({1.0 / 3, 1.0 / 3, 1.0 / 3})) ==
          std::vector<std::size_t>{1, 1, 1});
    // 5 * [.8 .1 .1] = 4, .5, .5: the tie goes to the lower index.
    CHECK(split::apportion(5, weights({0.8, 0.1, 0.1})) == std::vector<std::size_t>{4, 1, 0});
    CHECK(split::apportion(9, weights({1.0, 0.0, 0.0})) == std::vector<std::size_t>{9, 0, 0});
}

TEST_CASE("apportion sums to n and stays within one row of each quota", "[split][core]") {
    const std::vector<std::vector<double>> sets = {
        {0.8, 0.1, 0.1}, {0.5, 0.5}, {0.7, 0.15, 0.15}, {0.6, 0.3, 0.1}, {0.9, 0.1}, {0, 0.5, 0.5}};
    for (const auto& r : sets) {
        for (std::size_t n = 0; n <= 300; ++n) {
            const auto sizes = split::apportion(n, weights(r));
            REQUIRE(sum(sizes) == n);
            for (std::size_t s = 0; s < r.size(); ++s)
                REQUIRE(std::fabs(static_cast<double>(sizes[s]) - static_cast<double>(n) * r[s]) <
                        1.0);
        }
    }
}

TEST_CASE("check_ratios rejects bad ratios with the reason", "[split][core]") {
    CHECK(error_of({0.8, 0.05, 0.05}).find("sum to 0.9;") != std::string::npos);
    CHECK(error_of({0.8, 0.05, 0.05}).find("[0.8, 0.05, 0.05]") != std::string::npos);
    CHECK(error_of({1.1, -0.1}).find("ratios[1] (val) = -0.1 is negative") != std::string::npos);
    CHECK(error_of({0.25, 0.25, 0.25, 0.25}).find("has 4 entries") != std::string::npos);
    CHECK(error_of({1.0}).find("has 1 entries") != std::string::npos);
    CHECK(error_of({NAN, 0.5}).find("not a finite number") != std::string::npos);
    CHECK(error_of({0.8, 0.1, 0.1}).empty());
    CHECK(error_of({0.7, 0.2, 0.1000001}).empty());  // within 1e-6
    CHECK(split::check_ratios({0.9, 0.1}) == std::array<double, 3>{0.9, 0.1, 0.0});
}

TEST_CASE("weights sum to the scale exactly", "[split][core]") {
    for (const auto& w : {weights({1.0 / 3, 1.0 / 3, 1.0 / 3}), weights({0.8, 0.1, 0.1}),
                          weights({0.7, 0.3}), split::equal_weights(7)}) {
        CHECK(std::accumulate(w.begin(), w.end(), std::uint64_t{0}) == split::kWeightScale);
    }
    CHECK(weights({0.8, 0.1, 0.1}) == std::vector<std::uint64_t>{800000000, 100000000, 100000000});
}

TEST_CASE("fisher_yates is a seeded permutation with a fixed sequence", "[split][core]") {
    std::vector<int> a(10);
    std::iota(a.begin(), a.end(), 0);
    auto b = a, c = a;
    split::Rng r1(42), r2(42), r3(43);
    split::fisher_yates(a, r1);
    split::fisher_yates(b, r2);
    split::fisher_yates(c, r3);
    // Pinned: mt19937_64 is fully specified, so this holds on every standard library. A change
    // here changes every user's split (and invalidates caches): do it only deliberately.
    CHECK(a == std::vector<int>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6});
    CHECK(a == b);
    CHECK(a != c);
    std::sort(c.begin(), c.end());
    std::vector<int> expected(10);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(c == expected);
}

TEST_CASE("uniform_below stays in range and reaches every value", "[split][core]") {
    split::Rng rng(1);
    std::vector<int> hits(7, 0);
    for (int i = 0; i < 7000; ++i) {
        const auto x = split::uniform_below(rng, 7);
        REQUIRE(x < 7);
        ++hits[x];
    }
    for (int h : hits) CHECK((h > 800 && h < 1200));
    CHECK(split::uniform_below(rng, 1) == 0);
}

TEST_CASE("stratified_apportion keeps totals exact and classes within one row",
          "[split][core]") {
    // 5 classes of 2 rows: per-class rounding alone would send all 10 rows to train.
    const auto small = split::stratified_apportion({2, 2, 2, 2, 2}, weights({0.8, 0.1, 0.1}));
    std::vector<std::size_t> totals(3, 0);
    for (const auto& row : small)
        for (std::size_t s = 0; s < 3; ++s) totals[s] += row[s];
    CHECK(totals == std::vector<std::size_t>{8, 1, 1});

    split::Rng rng(5);
    const std::vector<std::vector<double>> sets = {
        {0.8, 0.1, 0.1}, {0.5, 0.5}, {0.6, 0.2, 0.2}, {0.9, 0.0, 0.1}, {0.34, 0.33, 0.33}};
    for (int trial = 0; trial < 300; ++trial) {
        const auto& r = sets[static_cast<std::size_t>(trial) % sets.size()];
        std::vector<std::size_t> classes(1 + split::uniform_below(rng, 8));
        for (auto& c : classes) c = split::uniform_below(rng, 30);
        const auto w = weights(r);
        const auto table = split::stratified_apportion(classes, w);
        const auto expected = split::apportion(sum(classes), w);
        std::vector<std::size_t> col(r.size(), 0);
        for (std::size_t c = 0; c < classes.size(); ++c) {
            REQUIRE(sum(table[c]) == classes[c]);
            for (std::size_t s = 0; s < r.size(); ++s) {
                const double quota = static_cast<double>(classes[c]) * r[s];
                REQUIRE(std::fabs(static_cast<double>(table[c][s]) - quota) <= 1.0 + 1e-9);
                if (r[s] == 0) REQUIRE(table[c][s] == 0);
                col[s] += table[c][s];
            }
        }
        REQUIRE(col == expected);
    }
}

TEST_CASE("partition_units cuts single rows exactly and keeps groups whole", "[split][core]") {
    split::Rng rng(3);
    std::vector<std::size_t> members(10);
    std::iota(members.begin(), members.end(), std::size_t{0});
    // No shuffle: a plain cut in input order.
    const auto cut = split::partition_units(single_rows(10), members, weights({0.8, 0.1, 0.1}),
                                            false, rng);
    CHECK(cut == std::vector<std::size_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 2});

    // Ten groups of 10 rows: each group goes where its midpoint falls (80 / 10 / 10 rows).
    split::Units groups;
    groups.size.assign(10, 10);
    const auto g = split::partition_units(groups, members, weights({0.8, 0.1, 0.1}), true, rng);
    CHECK(std::count(g.begin(), g.end(), 0u) == 8);
    CHECK(std::count(g.begin(), g.end(), 1u) == 1);
    CHECK(std::count(g.begin(), g.end(), 2u) == 1);
}

TEST_CASE("plan_split kfold: folds partition the non-test units, test independent of fold",
          "[split][core]") {
    split::Units u = single_rows(53);
    split::SplitOptions opt;
    opt.kfold = true;
    opt.folds = 4;
    opt.seed = 11;
    opt.fold = 1;
    const auto p1 = split::plan_split(u, opt);
    opt.fold = 3;
    const auto p3 = split::plan_split(u, opt);
    opt.folds = 6;
    opt.fold = 0;
    const auto p6 = split::plan_split(u, opt);

    std::vector<std::size_t> fold_sizes(4, 0);
    std::size_t tests = 0;
    for (std::size_t i = 0; i < 53; ++i) {
        CHECK(p1.fold[i] == p3.fold[i]);  // the folds do not depend on which one is val
        CHECK((p1.part[i] == split::kTest) == (p6.part[i] == split::kTest));
        if (p1.part[i] == split::kTest) {
            CHECK(p1.fold[i] == -1);
            ++tests;
            continue;
        }
        REQUIRE(p1.fold[i] >= 0);
        ++fold_sizes[static_cast<std::size_t>(p1.fold[i])];
        CHECK((p1.part[i] == split::kVal) == (p1.fold[i] == 1));
        CHECK((p3.part[i] == split::kVal) == (p3.fold[i] == 3));
    }
    CHECK(tests == 5);  // largest remainder of 53 * [0.9, 0.1] = 47.7 / 5.3 -> 48 / 5
    CHECK(fold_sizes == std::vector<std::size_t>{12, 12, 12, 12});
    opt.fold = 6;
    CHECK_THROWS_AS(split::plan_split(u, opt), std::invalid_argument);
}

TEST_CASE("size weights make exact, integer quotas", "[split][core][sizes]") {
    split::Rng rng(9);
    for (int trial = 0; trial < 500; ++trial) {
        const std::size_t n = split::uniform_below(rng, 400);
        std::vector<std::size_t> sizes(2 + split::uniform_below(rng, 2));
        std::size_t left = n;
        for (auto& s : sizes) {
            s = static_cast<std::size_t>(split::uniform_below(rng, left + 1));
            left -= s;
        }
        const auto [w, scale] = split::size_weights(sizes, n);
        REQUIRE(std::accumulate(w.begin(), w.end(), std::uint64_t{0}) == scale);
        auto expected = sizes;
        expected.push_back(left);
        REQUIRE(split::apportion(n, w, scale) == expected);
        // Stratified: column totals exact, each cell within one row of its quota.
        std::vector<std::size_t> classes(1 + split::uniform_below(rng, 4), 0);
        for (std::size_t i = 0; i < n; ++i) ++classes[split::uniform_below(rng, classes.size())];
        const auto table = split::stratified_apportion(classes, w, scale);
        std::vector<std::size_t> col(w.size(), 0);
        for (std::size_t c = 0; c < classes.size(); ++c)
            for (std::size_t s = 0; s < w.size(); ++s) {
                const double quota = static_cast<double>(classes[c]) * static_cast<double>(w[s]) /
                                     static_cast<double>(scale);
                REQUIRE(std::fabs(static_cast<double>(table[c][s]) - quota) < 1.0);
                col[s] += table[c][s];
            }
        REQUIRE(col == expected);
    }
    CHECK_THROWS_WITH(split::size_weights({6, 5}, 10),
                      Catch::Contains("ask for 11 rows") && Catch::Contains("only 10"));
}

TEST_CASE("check_sizes accepts 2 or 3 non-negative counts", "[split][core][sizes]") {
    CHECK(split::check_sizes({500, 500, 5000}) == std::array<std::size_t, 3>{500, 500, 5000});
    CHECK(split::check_sizes({7, 3}) == std::array<std::size_t, 3>{7, 3, 0});
    CHECK_THROWS_WITH(split::check_sizes({1, 2, 3, 4}), Catch::Contains("has 4 entries"));
    CHECK_THROWS_WITH(split::check_sizes({1, -2}), Catch::Contains("sizes[1] (val) = -2"));
}

TEST_CASE("plan_split with sizes sends the unasked rows to kRest", "[split][core][sizes]") {
    split::Units u = single_rows(20);
    split::SplitOptions opt;
    opt.sizes = std::array<std::size_t, 3>{4, 3, 2};
    opt.seed = 3;
    const auto plan = split::plan_split(u, opt);
    std::vector<std::size_t> counts(4, 0);
    for (auto p : plan.part) ++counts[p];
    CHECK(counts == std::vector<std::size_t>{4, 3, 2, 11});
    opt.sizes = std::array<std::size_t, 3>{10, 10, 1};
    CHECK_THROWS_AS(split::plan_split(u, opt), std::invalid_argument);
}
