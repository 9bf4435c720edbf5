// Pure assignment logic of the `split` stage: ratios (or absolute sizes) -> exact sizes,
// stratified allocation, seeded shuffling, and assigning rows (or whole groups of rows) to
// train/val/test/rest or k folds.
// Header-only and free of I/O so tests can check it directly.
//
// Portability: the result must be the same on every standard library, so this file uses only
// std::mt19937_64 (whose output sequence the standard fixes) plus its own unbiased bounded draw
// and Fisher-Yates shuffle; std::shuffle and std::uniform_int_distribution are
// implementation-defined. Ratios become integer weights so that every quota is computed with
// exact integer arithmetic and no floating rounding can make two runs (or two classes) disagree.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace graft::split {

using Rng = std::mt19937_64;

// kRest holds the rows beyond the absolute `sizes` (never used with ratios).
enum Part : std::size_t { kTrain = 0, kVal = 1, kTest = 2, kRest = 3 };
inline constexpr std::array<const char*, 4> kPartNames = {"train", "val", "test", "rest"};

// Ratio weights sum to exactly this; decimal ratios such as 0.8 or 0.15 are represented exactly.
// Absolute sizes use the row count as their scale instead (see size_weights), which makes every
// quota an exact integer.
inline constexpr std::uint64_t kWeightScale = 1'000'000'000;
// n * weight must fit in 64 bits.
inline constexpr std::uint64_t kMaxRows = std::numeric_limits<std::uint64_t>::max() / kWeightScale;

// Throws when some n * weight could overflow 64 bits.
inline void check_quota_range(std::size_t n, const std::vector<std::uint64_t>& weights) {
    for (std::uint64_t w : weights)
        if (n > 0 && w > std::numeric_limits<std::uint64_t>::max() / n)
            throw std::length_error("split: too many rows");
}

// Unbiased integer in [0, bound): rejects the low 2^64 mod bound draws so every residue is
// equally likely.
inline std::uint64_t uniform_below(Rng& rng, std::uint64_t bound) {
    if (bound <= 1) return 0;
    const std::uint64_t threshold = (std::uint64_t{0} - bound) % bound;
    for (;;) {
        const std::uint64_t x = rng();
        if (x >= threshold) return x % bound;
    }
}

// Fisher-Yates, from the back.
template <class T>
void fisher_yates(std::vector<T>& v, Rng& rng) {
    for (std::size_t i = v.size(); i > 1; --i) {
        const auto j = static_cast<std::size_t>(uniform_below(rng, i));
        std::swap(v[i - 1], v[j]);
    }
}

inline std::string format_ratios(const std::vector<double>& ratios) {
    return fmt::format("[{}]", fmt::join(ratios, ", "));
}

// Checks user ratios and returns them as (train, val, test); 2 entries mean test = 0.
inline std::array<double, 3> check_ratios(const std::vector<double>& ratios) {
    const std::string hint = "e.g. ratios = [0.8, 0.1, 0.1] or ratios = [0.9, 0.1]";
    if (ratios.size() != 2 && ratios.size() != 3)
        throw std::invalid_argument(fmt::format(
            "ratios = {} has {} entries; expected 2 (train, val) or 3 (train, val, test), {}",
            format_ratios(ratios), ratios.size(), hint));
    double sum = 0;
    for (std::size_t i = 0; i < ratios.size(); ++i) {
        if (!std::isfinite(ratios[i]) || ratios[i] < 0)
            throw std::invalid_argument(fmt::format(
                "ratios = {}: ratios[{}] ({}) = {} is {}; every ratio must be a number >= 0, {}",
                format_ratios(ratios), i, kPartNames[i], ratios[i],
                std::isfinite(ratios[i]) ? "negative" : "not a finite number", hint));
        sum += ratios[i];
    }
    if (std::fabs(sum - 1.0) > 1e-6)
        throw std::invalid_argument(
            fmt::format("ratios = {} sum to {:.9g}; they must sum to 1 (within 1e-6), {}",
                        format_ratios(ratios), sum, hint));
    return {ratios[0], ratios[1], ratios.size() == 3 ? ratios[2] : 0.0};
}

// Checks user sizes and returns them as (train, val, test); 2 entries mean test = 0.
inline std::array<std::size_t, 3> check_sizes(const std::vector<std::int64_t>& sizes) {
    const std::string hint = "e.g. sizes = [500, 500, 5000] (train, val, test) or sizes = [800, "
                             "200] (train, val), or sizes = [] to use ratios";
    if (sizes.size() != 2 && sizes.size() != 3)
        throw std::invalid_argument(fmt::format("sizes = [{}] has {} entries; expected 2 or 3, {}",
                                                fmt::join(sizes, ", "), sizes.size(), hint));
    std::array<std::size_t, 3> out{};
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] < 0)
            throw std::invalid_argument(fmt::format(
                "sizes = [{}]: sizes[{}] ({}) = {} is negative; every size must be >= 0, {}",
                fmt::join(sizes, ", "), i, kPartNames[i], sizes[i], hint));
        out[i] = static_cast<std::size_t>(sizes[i]);
    }
    return out;
}

// Exact weights for absolute sizes over `rows` rows: (sizes..., rows - their sum), scaled to
// sum to the returned scale (the row count; 1 for no rows). Throws when the sizes ask for more
// rows than there are.
inline std::pair<std::vector<std::uint64_t>, std::uint64_t> size_weights(
    const std::vector<std::size_t>& sizes, std::size_t rows) {
    std::size_t total = 0;
    for (std::size_t s : sizes) total += s;
    if (total > rows)
        throw std::invalid_argument(fmt::format(
            "sizes = [{}] ask for {} rows but the input has only {}; lower the sizes so they sum "
            "to at most {} (or use ratios = [...] with sizes = [])",
            fmt::join(sizes, ", "), total, rows, rows));
    const std::uint64_t scale = std::max<std::size_t>(rows, 1);
    std::vector<std::uint64_t> w(sizes.begin(), sizes.end());
    w.push_back(scale - total);
    return {w, scale};
}

// Non-negative ratios (sum > 0) -> integer weights summing to exactly kWeightScale.
inline std::vector<std::uint64_t> to_weights(const std::vector<double>& ratios) {
    const double sum = std::accumulate(ratios.begin(), ratios.end(), 0.0);
    if (ratios.empty() || !(sum > 0)) throw std::invalid_argument("ratios must not all be zero");
    std::vector<std::uint64_t> w;
    std::int64_t total = 0;
    for (double r : ratios) {
        w.push_back(static_cast<std::uint64_t>(
            std::llround(r / sum * static_cast<double>(kWeightScale))));
        total += static_cast<std::int64_t>(w.back());
    }
    // Rounding leaves the total a few units off; the largest weight absorbs it.
    auto largest = std::max_element(w.begin(), w.end());
    *largest = static_cast<std::uint64_t>(static_cast<std::int64_t>(*largest) +
                                          static_cast<std::int64_t>(kWeightScale) - total);
    return w;
}

// k equal weights (the first kWeightScale % k get one unit more).
inline std::vector<std::uint64_t> equal_weights(std::size_t k) {
    std::vector<std::uint64_t> w(k, kWeightScale / k);
    for (std::size_t i = 0; i < kWeightScale % k; ++i) ++w[i];
    return w;
}

// Largest-remainder rounding of n * weights / scale (the weights sum to scale): floors first,
// then one more for the parts with the largest remainders (ties: lower index), so the sizes sum
// to exactly n.
inline std::vector<std::size_t> apportion(std::size_t n, const std::vector<std::uint64_t>& weights,
                                          std::uint64_t scale = kWeightScale) {
    if (n > kMaxRows) throw std::length_error("split: too many rows");
    check_quota_range(n, weights);
    std::vector<std::size_t> sizes(weights.size());
    std::vector<std::uint64_t> rem(weights.size());
    std::size_t assigned = 0;
    for (std::size_t s = 0; s < weights.size(); ++s) {
        const std::uint64_t q = n * weights[s];
        sizes[s] = static_cast<std::size_t>(q / scale);
        rem[s] = q % scale;
        assigned += sizes[s];
    }
    std::vector<std::size_t> order(weights.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
    for (std::size_t i = 0; assigned < n; ++i, ++assigned) ++sizes[order[i]];
    return sizes;
}

namespace detail {

// Rounds the table quota[c][s] = class_sizes[c] * weights[s] with fixed row and column totals:
// each cell starts at its floor, and `extra` picks which cells get one more. Rows need
// need_row[c] extras, columns need_col[s]. This is a bipartite b-matching, solved greedily by
// largest remainder and completed with augmenting paths.
class ControlledRounding {
public:
    ControlledRounding(const std::vector<std::size_t>& class_sizes,
                       const std::vector<std::uint64_t>& weights, std::uint64_t scale)
        : classes_(class_sizes.size()), parts_(weights.size()), weights_(weights) {
        std::size_t n = std::accumulate(class_sizes.begin(), class_sizes.end(), std::size_t{0});
        const auto totals = apportion(n, weights, scale);
        cells_.assign(classes_, std::vector<std::size_t>(parts_));
        rem_.assign(classes_, std::vector<std::uint64_t>(parts_));
        extra_.assign(classes_, std::vector<char>(parts_, 0));
        need_row_.assign(classes_, 0);
        need_col_.assign(totals.begin(), totals.end());
        for (std::size_t c = 0; c < classes_; ++c) {
            if (class_sizes[c] > kMaxRows) throw std::length_error("split: too many rows");
            std::size_t row = 0;
            for (std::size_t s = 0; s < parts_; ++s) {
                const std::uint64_t q = class_sizes[c] * weights[s];
                cells_[c][s] = static_cast<std::size_t>(q / scale);
                rem_[c][s] = q % scale;
                row += cells_[c][s];
                need_col_[s] -= cells_[c][s];  // >= 0: sum of floors <= floor of the sum
            }
            need_row_[c] = class_sizes[c] - row;
        }
    }

    std::vector<std::vector<std::size_t>> solve() {
        greedy();
        // Extras go to cells with a fractional quota, so each count is the floor or ceiling of
        // its quota. Should that ever fail to balance the totals (not seen in randomized checks
        // of 300k tables), any cell of a part with weight > 0 may take one: still within one.
        augment_all(/*any_cell=*/false);
        augment_all(/*any_cell=*/true);
        for (std::size_t c = 0; c < classes_; ++c)
            if (need_row_[c] != 0)
                throw std::logic_error("split: could not balance the stratified split sizes");
        for (std::size_t c = 0; c < classes_; ++c)
            for (std::size_t s = 0; s < parts_; ++s) cells_[c][s] += extra_[c][s] ? 1 : 0;
        return cells_;
    }

private:
    void greedy() {
        std::vector<std::pair<std::size_t, std::size_t>> cand;
        for (std::size_t c = 0; c < classes_; ++c)
            for (std::size_t s = 0; s < parts_; ++s)
                if (rem_[c][s] > 0) cand.emplace_back(c, s);
        std::stable_sort(cand.begin(), cand.end(), [&](const auto& a, const auto& b) {
            return rem_[a.first][a.second] > rem_[b.first][b.second];
        });
        for (auto [c, s] : cand) {
            if (need_row_[c] == 0 || need_col_[s] == 0) continue;
            extra_[c][s] = 1;
            --need_row_[c];
            --need_col_[s];
        }
    }

    bool allowed(std::size_t c, std::size_t s, bool any_cell) const {
        return weights_[s] > 0 && (any_cell || rem_[c][s] > 0);
    }

    void augment_all(bool any_cell) {
        while (augment(any_cell)) {
        }
    }

    // One breadth-first augmenting path from a class still needing an extra to a part still
    // needing one; alternates adding (class -> part) and removing (part <- other class) extras.
    bool augment(bool any_cell) {
        constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
        // Nodes: classes 0..C-1, parts C..C+S-1.
        std::vector<std::size_t> parent(classes_ + parts_, none);
        std::vector<char> seen(classes_ + parts_, 0);
        std::vector<std::size_t> queue;
        for (std::size_t c = 0; c < classes_; ++c)
            if (need_row_[c] > 0) {
                queue.push_back(c);
                seen[c] = 1;
            }
        for (std::size_t head = 0; head < queue.size(); ++head) {
            const std::size_t node = queue[head];
            if (node < classes_) {
                for (std::size_t s = 0; s < parts_; ++s) {
                    const std::size_t p = classes_ + s;
                    if (seen[p] || extra_[node][s] || !allowed(node, s, any_cell)) continue;
                    seen[p] = 1;
                    parent[p] = node;
                    if (need_col_[s] > 0) {
                        apply_path(p, parent);
                        return true;
                    }
                    queue.push_back(p);
                }
            } else {
                const std::size_t s = node - classes_;
                for (std::size_t c = 0; c < classes_; ++c) {
                    if (seen[c] || !extra_[c][s]) continue;
                    seen[c] = 1;
                    parent[c] = node;
                    queue.push_back(c);
                }
            }
        }
        return false;
    }

    void apply_path(std::size_t end_part, const std::vector<std::size_t>& parent) {
        --need_col_[end_part - classes_];
        std::size_t node = end_part;
        for (;;) {
            const std::size_t c = parent[node];  // class -> part edge: add the extra
            extra_[c][node - classes_] = 1;
            const std::size_t prev = parent[c];
            if (prev == std::numeric_limits<std::size_t>::max()) {
                --need_row_[c];
                return;
            }
            extra_[c][prev - classes_] = 0;  // part <- class edge: move that extra
            node = prev;
        }
    }

    std::size_t classes_, parts_;
    std::vector<std::uint64_t> weights_;
    std::vector<std::vector<std::size_t>> cells_;
    std::vector<std::vector<std::uint64_t>> rem_;
    std::vector<std::vector<char>> extra_;
    std::vector<std::size_t> need_row_, need_col_;
};

}  // namespace detail

// Sizes per class and part ([class][part]) such that each part's total equals
// apportion(total rows, weights, scale) exactly and each cell is within one row of its quota
// class_size * weight / scale (in practice its floor or ceiling). Parts with weight 0 stay empty.
inline std::vector<std::vector<std::size_t>> stratified_apportion(
    const std::vector<std::size_t>& class_sizes, const std::vector<std::uint64_t>& weights,
    std::uint64_t scale = kWeightScale) {
    return detail::ControlledRounding(class_sizes, weights, scale).solve();
}

// What gets assigned: a row, or (with group_by) a whole group of rows.
struct Units {
    std::vector<std::size_t> size;  // rows in each unit (1 without group_by)
    std::vector<std::size_t> cls;   // class id per unit; empty = not stratified
    std::size_t classes = 0;        // class ids are 0..classes-1, in sorted label order
};

// Assigns each unit of `members` (indices into `units`, in input order) to a part; returns the
// part of each member (parallel to `members`). Per class (ids ascending; one class when not
// stratified) the member units are shuffled, laid end to end, and each goes to the part whose
// row range [start, end) under the class's target sizes contains the unit's midpoint. For
// single rows that is an exact cut at the target sizes; a group lands on the part where most of
// its rows would have gone, so sizes are close to the targets but not exact.
inline std::vector<std::size_t> partition_units(const Units& units,
                                                const std::vector<std::size_t>& members,
                                                const std::vector<std::uint64_t>& weights,
                                                bool shuffle, Rng& rng,
                                                std::uint64_t scale = kWeightScale) {
    const bool stratified = !units.cls.empty();
    const std::size_t classes = stratified ? units.classes : 1;
    std::vector<std::vector<std::size_t>> by_class(classes);
    std::vector<std::size_t> class_rows(classes, 0);
    for (std::size_t i = 0; i < members.size(); ++i) {
        const std::size_t c = stratified ? units.cls[members[i]] : 0;
        by_class[c].push_back(i);
        class_rows[c] += units.size[members[i]];
    }
    const auto targets = stratified_apportion(class_rows, weights, scale);
    std::vector<std::size_t> part(members.size(), 0);
    for (std::size_t c = 0; c < classes; ++c) {
        auto& list = by_class[c];
        if (shuffle) fisher_yates(list, rng);
        std::vector<std::size_t> end(weights.size());
        std::partial_sum(targets[c].begin(), targets[c].end(), end.begin());
        std::size_t start = 0;
        for (std::size_t i : list) {
            const std::size_t rows = units.size[members[i]];
            std::size_t p = 0;
            // Midpoint start + rows/2 < end[p], in integers.
            while (p + 1 < end.size() && 2 * start + rows >= 2 * end[p]) ++p;
            part[i] = p;
            start += rows;
        }
    }
    return part;
}

struct SplitOptions {
    std::array<double, 3> ratios = {0.8, 0.1, 0.1};  // checked (check_ratios)
    // Absolute (train, val, test) row counts (check_sizes); when set, ratios are not used and the
    // rows beyond their sum go to kRest.
    std::optional<std::array<std::size_t, 3>> sizes;
    bool kfold = false;
    std::size_t folds = 5;
    std::size_t fold = 0;
    bool shuffle = true;
    std::uint64_t seed = 0;
};

// Per unit: its part (train/val/test/rest) and, for kfold, its fold (-1 for test and rest
// units).
struct SplitPlan {
    std::vector<std::size_t> part;
    std::vector<std::int64_t> fold;
};

// The parts of the units in `all` under absolute sizes: train, val, test hold exactly
// sizes[0..2] rows (single-row units; groups come close), the remaining rows go to kRest.
// kfold: the step before the folds, with (train + val) in part 0, test in 1 and the rest in 2.
inline std::vector<std::size_t> partition_by_sizes(const Units& units,
                                                   const std::vector<std::size_t>& all,
                                                   const std::array<std::size_t, 3>& sizes,
                                                   bool kfold, bool shuffle, Rng& rng) {
    const std::size_t rows = std::accumulate(units.size.begin(), units.size.end(), std::size_t{0});
    const std::vector<std::size_t> parts =
        kfold ? std::vector<std::size_t>{sizes[0] + sizes[1], sizes[2]}
              : std::vector<std::size_t>{sizes[0], sizes[1], sizes[2]};
    const auto [weights, scale] = size_weights(parts, rows);
    return partition_units(units, all, weights, shuffle, rng, scale);
}

// The whole assignment; depends only on the units (content and order) and the options.
// kfold: first test vs the rest (ratios[2] : 1 - ratios[2]; with sizes: train + val rows, test
// rows, and the remaining rows, which go to kRest), then the train/val pool into `folds` equal
// folds; val = fold `fold`, train = the other folds. One generator serves both steps in that
// order, so the test rows do not depend on `folds` or `fold`.
inline SplitPlan plan_split(const Units& units, const SplitOptions& opt) {
    if (opt.kfold && (opt.folds < 2 || opt.fold >= opt.folds))
        throw std::invalid_argument(fmt::format("fold = {} with folds = {}: need folds >= 2 and "
                                                "0 <= fold < folds",
                                                opt.fold, opt.folds));
    Rng rng(opt.seed);
    const std::size_t n = units.size.size();
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    SplitPlan plan;
    plan.fold.assign(n, -1);
    if (!opt.kfold && opt.sizes) {
        plan.part = partition_by_sizes(units, all, *opt.sizes, false, opt.shuffle, rng);
        return plan;
    }
    if (!opt.kfold) {
        plan.part = partition_units(
            units, all, to_weights({opt.ratios[0], opt.ratios[1], opt.ratios[2]}), opt.shuffle,
            rng);
        return plan;
    }
    plan.part.assign(n, kTest);
    std::vector<std::size_t> pool;  // the train/val rows, cut into folds
    if (opt.sizes) {
        const auto step = partition_by_sizes(units, all, *opt.sizes, true, opt.shuffle, rng);
        for (std::size_t i = 0; i < n; ++i) {
            if (step[i] == 0) pool.push_back(i);
            if (step[i] == 2) plan.part[i] = kRest;
        }
    } else if (opt.ratios[2] > 0) {
        const auto step = partition_units(
            units, all, to_weights({opt.ratios[0] + opt.ratios[1], opt.ratios[2]}), opt.shuffle,
            rng);
        for (std::size_t i = 0; i < n; ++i)
            if (step[i] == 0) pool.push_back(i);
    } else {
        pool = all;
    }
    const auto folds = partition_units(units, pool, equal_weights(opt.folds), opt.shuffle, rng);
    for (std::size_t i = 0; i < pool.size(); ++i) {
        plan.fold[pool[i]] = static_cast<std::int64_t>(folds[i]);
        plan.part[pool[i]] = folds[i] == opt.fold ? kVal : kTrain;
    }
    return plan;
}

}  // namespace graft::split
