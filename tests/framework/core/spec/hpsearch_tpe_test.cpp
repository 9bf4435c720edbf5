// Proposals of the hyperparameter search: deterministic for seed and history, inside every space
// (log, int, choices), Parzen estimators that are densities, and TPE finding the optimum of a
// simple function with fewer trials than random search, over several seeds.
#include "core/spec/hpsearch_tpe.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <set>

namespace graft {
namespace {

HpParam float_param(std::string name, double lo, double hi, bool log) {
    HpParam p;
    p.name = std::move(name);
    p.kind = HpParam::Kind::Float;
    p.low = lo;
    p.high = hi;
    p.log = log;
    return p;
}

HpParam int_param(std::string name, double lo, double hi, bool log = false) {
    HpParam p = float_param(std::move(name), lo, hi, log);
    p.kind = HpParam::Kind::Int;
    return p;
}

HpParam choice_param(std::string name, std::vector<json> choices) {
    HpParam p;
    p.name = std::move(name);
    p.kind = HpParam::Kind::Choice;
    p.choices = std::move(choices);
    return p;
}

HpSearchSpec search_of(std::vector<HpParam> params, std::uint64_t seed, bool tpe = true) {
    HpSearchSpec s;
    s.metric_stage = "eval";
    s.metric = "loss";
    s.maximize = false;
    s.seed = seed;
    s.startup_trials = 5;
    s.algorithm = tpe ? HpSearchSpec::Algorithm::Tpe : HpSearchSpec::Algorithm::Random;
    s.params = std::move(params);
    return s;
}

// Runs `n` trials of the search against `loss` and returns them.
std::vector<HpTrial> simulate(const HpSearchSpec& s, const std::function<double(const json&)>& loss,
                              std::size_t n) {
    std::vector<HpTrial> history;
    for (std::size_t i = 0; i < n; ++i) {
        HpTrial t;
        t.number = i;
        t.params = hpsearch_propose(s, history, i);
        t.metric = loss(t.params);
        history.push_back(std::move(t));
    }
    return history;
}

// (log10 x + 2)^2: minimum 0 at x = 0.01, on a range spanning four decades.
double bowl(const json& p) {
    const double d = std::log10(p["x"].get<double>()) + 2.0;
    return d * d;
}

double best_loss(const std::vector<HpTrial>& h) {
    double b = INFINITY;
    for (const auto& t : h) b = std::min(b, *t.metric);
    return b;
}

}  // namespace

TEST_CASE("hpsearch propose: the same seed and history give the same point", "[hpsearch]") {
    const auto s = search_of({float_param("x", 1e-4, 1, true), int_param("n", 1, 8),
                              choice_param("c", {"a", "b", "c"})},
                             11);
    const auto h1 = simulate(s, [](const json& p) { return p["n"].get<double>(); }, 12);
    const auto h2 = simulate(s, [](const json& p) { return p["n"].get<double>(); }, 12);
    for (std::size_t i = 0; i < h1.size(); ++i) CHECK(h1[i].params == h2[i].params);
    // Proposing again for a recorded history (what a resumed search does) repeats the point.
    const std::vector<HpTrial> first8(h1.begin(), h1.begin() + 8);
    CHECK(hpsearch_propose(s, first8, 8) == h1[8].params);
    const auto other = simulate(search_of(s.params, 12), [](const json& p) { return p["n"].get<double>(); }, 12);
    CHECK(other[0].params != h1[0].params);
}

TEST_CASE("hpsearch propose: every value stays inside its space", "[hpsearch]") {
    for (const bool tpe : {false, true}) {
        const auto s = search_of({float_param("x", 1e-5, 1e-2, true), float_param("y", -3, 2, false),
                                  int_param("n", 1, 8), int_param("m", 2, 512, true),
                                  choice_param("c", {"full", "freeze_lower", 3})},
                                 5, tpe);
        // The loss prefers an edge of each range, pulling TPE to the bounds.
        const auto h = simulate(s, [](const json& p) {
            return -std::log(p["x"].get<double>()) + p["y"].get<double>() + p["n"].get<double>() - p["m"].get<double>();
        }, 40);
        std::set<std::int64_t> ns;
        for (const auto& t : h) {
            const json& p = t.params;
            CHECK(p["x"].get<double>() >= 1e-5);
            CHECK(p["x"].get<double>() <= 1e-2);
            CHECK(p["y"].get<double>() >= -3);
            CHECK(p["y"].get<double>() <= 2);
            CHECK(hpsearch_value_text(p["y"]).size() <= 13);  // six significant digits at most
            REQUIRE(p["n"].is_number_integer());
            CHECK(p["n"].get<std::int64_t>() >= 1);
            CHECK(p["n"].get<std::int64_t>() <= 8);
            ns.insert(p["n"].get<std::int64_t>());
            REQUIRE(p["m"].is_number_integer());
            CHECK(p["m"].get<std::int64_t>() >= 2);
            CHECK(p["m"].get<std::int64_t>() <= 512);
            CHECK((p["c"] == "full" || p["c"] == "freeze_lower" || p["c"] == 3));
        }
        CHECK(ns.count(1) == 1);  // the lower end is reached
    }
}

TEST_CASE("hpsearch propose: log = true draws evenly per decade, integers cover their ends", "[hpsearch]") {
    const auto s = search_of({float_param("x", 1e-4, 1, true), int_param("n", 1, 4)}, 3, false);
    std::size_t below = 0;
    std::map<std::int64_t, int> counts;
    const std::size_t n = 2000;
    for (std::size_t i = 0; i < n; ++i) {
        const json p = hpsearch_propose(s, {}, i);
        if (p["x"].get<double>() < 1e-2) ++below;
        ++counts[p["n"].get<std::int64_t>()];
    }
    // Half the decades lie below 1e-2 (1% of the range on a linear scale).
    CHECK(static_cast<double>(below) / n == Approx(0.5).margin(0.05));
    REQUIRE(counts.size() == 4);
    for (const auto& [v, c] : counts) CHECK(c == Approx(500).margin(80));
}

TEST_CASE("hpsearch parzen: a density over its range, mass of the whole range is one", "[hpsearch]") {
    const auto p = detail::fit_parzen({0.1, 0.15, 0.9}, 0.0, 1.0);
    REQUIRE(p.mus.size() == 4);  // three observations and the prior
    CHECK(p.sigmas.back() == 1.0);
    double integral = 0;
    const int steps = 20000;
    for (int i = 0; i < steps; ++i)
        integral += std::exp(detail::parzen_log_pdf(p, (i + 0.5) / steps)) / steps;
    CHECK(integral == Approx(1.0).margin(1e-3));
    CHECK(detail::parzen_log_mass(p, 0.0, 1.0) == Approx(0.0).margin(1e-9));
    CHECK(detail::parzen_log_pdf(p, 0.12) > detail::parzen_log_pdf(p, 0.5));
    CHECK(std::isinf(detail::parzen_log_pdf(p, 1.5)));
}

TEST_CASE("hpsearch propose: TPE favours the choice that did well", "[hpsearch]") {
    const auto s = search_of({choice_param("c", {"a", "b", "c"}), float_param("x", 0, 1, false)}, 8);
    std::vector<HpTrial> history;
    for (std::size_t i = 0; i < 12; ++i) {
        HpTrial t;
        t.number = i;
        const char* c = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c";
        t.params = {{"c", c}, {"x", 0.05 * static_cast<double>(i)}};
        t.metric = std::string(c) == "b" ? 0.0 : 1.0;
        history.push_back(t);
    }
    int b = 0;
    for (std::size_t i = 12; i < 42; ++i)
        if (hpsearch_propose(s, history, i)["c"] == "b") ++b;
    CHECK(b >= 24);  // of 30; random would give about 10
}

TEST_CASE("hpsearch propose: failed trials count as bad", "[hpsearch]") {
    // x < 0.5 always fails; the finished trials are all equally good. TPE should stay right.
    const auto s = search_of({float_param("x", 0, 1, false)}, 21);
    std::vector<HpTrial> history;
    for (std::size_t i = 0; i < 10; ++i) {
        HpTrial t;
        t.number = i;
        const double x = 0.05 + 0.1 * static_cast<double>(i);
        t.params = {{"x", x}};
        if (x < 0.5)
            t.status = HpTrial::Status::Failed;
        else
            t.metric = 1.0;
        history.push_back(t);
    }
    int right = 0;
    for (std::size_t i = 10; i < 40; ++i)
        if (hpsearch_propose(s, history, i)["x"].get<double>() >= 0.5) ++right;
    CHECK(right >= 24);
}

TEST_CASE("hpsearch propose: TPE beats random search on a log-scale bowl", "[hpsearch]") {
    // Deterministic (fixed seeds), averaged over ten of them so that no single lucky draw decides.
    const std::size_t budget = 25;
    double tpe_best = 0, random_best = 0, tpe_late = 0, random_late = 0;
    const int seeds = 10;
    for (int seed = 1; seed <= seeds; ++seed) {
        const auto p = std::vector<HpParam>{float_param("x", 1e-4, 1, true)};
        const auto t = simulate(search_of(p, seed, true), bowl, budget);
        const auto r = simulate(search_of(p, seed, false), bowl, budget);
        tpe_best += best_loss(t) / seeds;
        random_best += best_loss(r) / seeds;
        // After the random start-up, the model's proposals sit near the optimum.
        for (std::size_t i = 10; i < budget; ++i) {
            tpe_late += *t[i].metric / (seeds * (budget - 10));
            random_late += *r[i].metric / (seeds * (budget - 10));
        }
    }
    INFO("mean best loss: tpe " << tpe_best << ", random " << random_best);
    INFO("mean loss of trials 10..24: tpe " << tpe_late << ", random " << random_late);
    CHECK(tpe_best < random_best);
    CHECK(tpe_late < 0.5 * random_late);
}

TEST_CASE("hpsearch propose: TPE prefers points not tried yet", "[hpsearch]") {
    // Three integers only: after they are all tried, repeats are allowed, before that not.
    auto s = search_of({int_param("n", 1, 3)}, 2);
    s.candidates = 200;  // so that some candidate lands on the untried 3
    std::vector<HpTrial> history;
    for (std::size_t i = 0; i < 5; ++i) {
        HpTrial t;
        t.number = i;
        t.params = {{"n", i < 3 ? 1 : 2}};
        t.metric = i < 3 ? 0.0 : 1.0;
        history.push_back(t);
    }
    CHECK(hpsearch_propose(s, history, 5)["n"] == 3);
}

}  // namespace graft
