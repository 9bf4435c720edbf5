// Metrics on small hand-computed cases and their edge cases (the sklearn cross-check is in
// sklearn_test.cpp).
#include "ml/metrics/classification.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace graft::ml;
using Catch::Matchers::Contains;

namespace {

// y_true / y_pred with 3 classes: a (4), b (3), c (1); c is never predicted.
const Labels kTrue = {"a", "a", "a", "a", "b", "b", "b", "c"};
const Labels kPred = {"a", "a", "b", "a", "b", "b", "a", "a"};

}  // namespace

TEST_CASE("accuracy and the confusion matrix use sorted labels, rows true, columns predicted",
          "[metrics][classification]") {
    CHECK(accuracy(kTrue, kPred) == Approx(5.0 / 8));
    ConfusionMatrix cm = confusion_matrix(kTrue, kPred);
    CHECK(cm.labels == Labels{"a", "b", "c"});
    CHECK(cm.counts == std::vector<std::vector<std::size_t>>{{3, 1, 0}, {1, 2, 0}, {1, 0, 0}});
}

TEST_CASE("per-class precision, recall, F1 and support with zero_division = 0",
          "[metrics][classification]") {
    auto s = per_class_stats(kTrue, kPred);
    REQUIRE(s.size() == 3);
    // a: tp 3, predicted 5, support 4.
    CHECK(s[0].precision == Approx(3.0 / 5));
    CHECK(s[0].recall == Approx(3.0 / 4));
    CHECK(s[0].f1 == Approx(2 * 0.6 * 0.75 / 1.35));
    CHECK(s[0].support == 4);
    // b: tp 2, predicted 3, support 3.
    CHECK(s[1].precision == Approx(2.0 / 3));
    CHECK(s[1].recall == Approx(2.0 / 3));
    // c: never predicted -> precision 0 (0/0), recall 0, F1 0.
    CHECK(s[2].precision == 0);
    CHECK(s[2].recall == 0);
    CHECK(s[2].f1 == 0);
    CHECK(s[2].support == 1);

    Averages macro = macro_average(s);
    CHECK(macro.precision == Approx((0.6 + 2.0 / 3 + 0) / 3));
    Averages weighted = weighted_average(s);
    CHECK(weighted.recall == Approx((4 * 0.75 + 3 * 2.0 / 3) / 8));  // = accuracy
}

TEST_CASE("a label only predicted gets support 0, recall 0 and a note in the report",
          "[metrics][classification]") {
    Labels t = {"x", "x", "y", "y"};
    Labels p = {"x", "z", "y", "y"};
    auto s = per_class_stats(t, p);
    REQUIRE(s.size() == 3);
    CHECK(s[2].label == "z");
    CHECK(s[2].support == 0);
    CHECK(s[2].precision == 0);  // 0 of 1 prediction right
    CHECK(s[2].recall == 0);
    CHECK(macro_average(s).recall == Approx((0.5 + 1.0 + 0.0) / 3));

    ClassificationReport r = classification_report(t, p);
    REQUIRE(r.notes.size() == 1);
    CHECK_THAT(r.notes[0], Contains("'z'") && Contains("never occurs in y_true"));
    CHECK(r.confusion.labels == Labels{"x", "y", "z"});
}

TEST_CASE("binary ROC-AUC counts tied positive/negative pairs as one half", "[metrics][roc_auc]") {
    // Positives 0.8, 0.5; negatives 0.5, 0.2: pairs won 1 + 1 + 0.5 + 1 = 3.5 of 4.
    CHECK(roc_auc_binary({true, true, false, false}, {0.8, 0.5, 0.5, 0.2}) == 0.875);
    // All scores tied: the curve is the diagonal.
    CHECK(roc_auc_binary({true, false, true, false}, {1, 1, 1, 1}) == 0.5);
    // Perfect and reversed rankings.
    CHECK(roc_auc_binary({true, false}, {2, 1}) == 1.0);
    CHECK(roc_auc_binary({true, false}, {1, 2}) == 0.0);
}

TEST_CASE("string-label ROC-AUC: binary scores the greater label, multiclass averages one-vs-rest",
          "[metrics][roc_auc]") {
    ClassScores s{{"pos", "neg"}, {{0.9, 0.1}, {0.4, 0.6}, {0.6, 0.4}, {0.2, 0.8}}, true};
    // The positive class is "pos" (greater than "neg"), scored by column 0 wherever it is.
    Labels t = {"pos", "pos", "neg", "neg"};
    // pos scores 0.9, 0.4; neg scores 0.6, 0.2: pairs won 1 + 1 + 0 + 1 = 3 of 4.
    CHECK(roc_auc(t, s) == 0.75);

    ClassScores m{{"a", "b", "c"},
                  {{0.8, 0.1, 0.1}, {0.2, 0.7, 0.1}, {0.1, 0.2, 0.7}, {0.3, 0.4, 0.3}},
                  true};
    Labels tm = {"a", "b", "c", "a"};
    // a: pos {0.8, 0.3} vs neg {0.2, 0.1} -> 1; b: pos {0.7} vs {0.1, 0.2, 0.4} -> 1;
    // c: pos {0.7} vs {0.1, 0.1, 0.3} -> 1.
    CHECK(roc_auc(tm, m) == 1.0);
    Labels tm2 = {"a", "b", "c", "b"};
    // b: pos {0.7, 0.4} vs neg {0.1, 0.2} -> 1; a: pos {0.8} vs {0.2, 0.1, 0.3} -> 1;
    // c: pos {0.7} vs {0.1, 0.1, 0.3} -> 1.
    CHECK(roc_auc(tm2, m) == 1.0);
    Labels tm3 = {"c", "b", "a", "a"};
    // a: pos {0.1, 0.3} vs neg {0.8, 0.2} -> (0 + 0 + 0 + 1) / 4 = 0.25
    // b: pos {0.7} vs {0.1, 0.2, 0.4} -> 1; c: pos {0.1} vs {0.1, 0.7, 0.3} -> 0.5 / 3
    CHECK(roc_auc(tm3, m) == Approx((0.25 + 1.0 + 0.5 / 3) / 3).epsilon(1e-12));
}

TEST_CASE("ROC-AUC with one class present is undefined: an exception, null in the report",
          "[metrics][roc_auc][edge]") {
    CHECK_THROWS_AS(roc_auc_binary({true, true}, {0.3, 0.4}), UndefinedMetric);
    Labels t = {"a", "a", "a"};
    Labels p = {"a", "b", "a"};
    ClassScores s{{"a", "b"}, {{0.9, 0.1}, {0.4, 0.6}, {0.7, 0.3}}, true};
    CHECK_THROWS_WITH(roc_auc(t, s), Contains("only one class"));
    ClassificationReport r = classification_report(t, p, &s);
    CHECK_FALSE(r.roc_auc.has_value());
    REQUIRE(r.log_loss.has_value());  // defined: the labels are given by the scores
    CHECK(*r.log_loss == Approx(-(std::log(0.9) + std::log(0.4) + std::log(0.7)) / 3));
    auto j = r.to_json();
    CHECK(j["roc_auc"].is_null());
    bool noted = false;
    for (const auto& n : r.notes) noted = noted || n.find("roc_auc is null") != std::string::npos;
    CHECK(noted);

    // Multiclass scores where one class never occurs in y_true: undefined as well.
    ClassScores m{{"a", "b", "c"}, {{0.5, 0.3, 0.2}, {0.2, 0.7, 0.1}}, true};
    CHECK_THROWS_WITH(roc_auc({"a", "b"}, m), Contains("'c' never occurs"));
}

TEST_CASE("bad metric inputs are clear errors", "[metrics][edge]") {
    CHECK_THROWS_WITH(accuracy({}, {}), Contains("empty"));
    CHECK_THROWS_WITH(classification_report({}, {}), Contains("empty"));
    CHECK_THROWS_WITH(accuracy({"a"}, {"a", "b"}), Contains("1 labels but y_pred has 2"));
    ClassScores s{{"a", "b"}, {{0.5, 0.5}}, true};
    CHECK_THROWS_WITH(roc_auc({"a", "b"}, s), Contains("1 score rows for 2 examples"));
    ClassScores wide{{"a", "b"}, {{0.5, 0.3, 0.2}}, true};
    CHECK_THROWS_WITH(log_loss({"a"}, wide), Contains("3 values but there are 2 classes"));
    ClassScores nan{{"a", "b"}, {{NAN, 0.5}}, true};
    CHECK_THROWS_WITH(log_loss({"a"}, nan), Contains("non-finite"));
    // A true label the model was not trained on.
    ClassScores ab{{"a", "b"}, {{0.5, 0.5}, {0.1, 0.9}}, true};
    CHECK_THROWS_WITH(log_loss({"a", "q"}, ab),
                      Contains("'q'") && Contains("not one of the scored"));
    ClassificationReport r = classification_report({"a", "q"}, {"a", "b"}, &ab);
    CHECK_FALSE(r.roc_auc.has_value());
    CHECK_FALSE(r.log_loss.has_value());
    CHECK(r.notes.size() >= 2);
    // Multiclass probabilities must sum to 1 (as sklearn); decision scores need not.
    ClassScores bad{{"a", "b", "c"}, {{0.5, 0.5, 0.5}, {0.1, 0.8, 0.1}, {0.1, 0.1, 0.8}}, true};
    CHECK_THROWS_WITH(roc_auc({"a", "b", "c"}, bad), Contains("sums to 1.5"));
    bad.probabilities = false;
    CHECK(roc_auc({"a", "b", "c"}, bad) == 1.0);
    CHECK_THROWS_WITH(log_loss({"a", "b", "c"}, bad), Contains("needs class probabilities"));
}

TEST_CASE("log loss clips, renormalizes and averages the true-class NLL", "[metrics][log_loss]") {
    ClassScores s{{"a", "b"}, {{0.8, 0.2}, {0.3, 0.7}}, true};
    CHECK(log_loss({"a", "b"}, s) == Approx(-(std::log(0.8) + std::log(0.7)) / 2).epsilon(1e-14));
    // A zero probability for the true class is clipped to machine epsilon, not infinite.
    ClassScores z{{"a", "b"}, {{0.0, 1.0}}, true};
    double ll = log_loss({"a"}, z);
    CHECK(std::isfinite(ll));
    CHECK(ll == Approx(-std::log(2.220446049250313e-16)).epsilon(1e-6));
}

TEST_CASE("perplexity is exp of the mean token NLL", "[metrics][perplexity]") {
    CHECK(perplexity(0.0, 10) == 1.0);
    CHECK(perplexity(10 * std::log(50.0), 10) == Approx(50.0));
    CHECK_THROWS_WITH(perplexity(1.0, 0), Contains("no tokens"));
    CHECK_THROWS(perplexity(NAN, 3));
}

TEST_CASE("report JSON has the documented shape", "[metrics][report]") {
    ClassScores s{{"a", "b", "c"},
                  {{0.7, 0.2, 0.1},
                   {0.6, 0.3, 0.1},
                   {0.5, 0.3, 0.2},
                   {0.8, 0.1, 0.1},
                   {0.2, 0.7, 0.1},
                   {0.1, 0.8, 0.1},
                   {0.6, 0.3, 0.1},
                   {0.6, 0.2, 0.2}},
                  true};
    ClassificationReport r = classification_report(kTrue, kPred, &s);
    auto j = r.to_json();
    for (const char* key : {"accuracy", "macro_f1", "macro_precision", "macro_recall",
                            "weighted_f1", "roc_auc", "log_loss", "per_class", "confusion"}) {
        INFO(key);
        CHECK(j.contains(key));
    }
    CHECK(j["accuracy"].get<double>() == Approx(5.0 / 8));
    CHECK(j["roc_auc"].is_number());
    CHECK(j["per_class"]["a"]["support"].get<int>() == 4);
    CHECK(j["per_class"]["c"]["precision"].get<double>() == 0.0);
    CHECK(j["per_class"]["b"].contains("f1"));
    CHECK(j["per_class"]["b"].contains("recall"));
    CHECK(j["confusion"]["labels"] == nlohmann::json::array({"a", "b", "c"}));
    CHECK(j["confusion"]["matrix"][0] == nlohmann::json::array({3, 1, 0}));
    CHECK(j["macro_f1"].get<double>() == Approx(r.macro.f1));
}
