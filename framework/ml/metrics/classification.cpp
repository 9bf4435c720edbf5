#include "ml/metrics/classification.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <set>
#include <utility>

namespace graft::ml {
namespace {

void check_pair(const Labels& y_true, const Labels& y_pred, const char* what) {
    if (y_true.empty()) {
        throw std::invalid_argument(fmt::format(
            "{}: y_true is empty; metrics need at least one example (check that the evaluation "
            "split is not empty)",
            what));
    }
    if (y_true.size() != y_pred.size()) {
        throw std::invalid_argument(fmt::format(
            "{}: y_true has {} labels but y_pred has {}; pass one prediction per example", what,
            y_true.size(), y_pred.size()));
    }
}

double safe_div(double num, double den) { return den == 0 ? 0.0 : num / den; }

// Index of each class in scores.classes, after checking the scores are well formed for n rows.
std::map<std::string, std::size_t> check_scores(const ClassScores& s, std::size_t n,
                                                const char* what) {
    if (s.classes.size() < 2) {
        throw std::invalid_argument(
            fmt::format("{}: scores need at least 2 classes, got {}", what, s.classes.size()));
    }
    std::map<std::string, std::size_t> index;
    for (std::size_t k = 0; k < s.classes.size(); ++k) {
        if (!index.emplace(s.classes[k], k).second) {
            throw std::invalid_argument(
                fmt::format("{}: class '{}' appears twice in scores.classes", what, s.classes[k]));
        }
    }
    if (s.rows.size() != n) {
        throw std::invalid_argument(fmt::format(
            "{}: {} score rows for {} examples; pass one row per example", what, s.rows.size(), n));
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (s.rows[i].size() != s.classes.size()) {
            throw std::invalid_argument(
                fmt::format("{}: score row {} has {} values but there are {} classes", what, i,
                            s.rows[i].size(), s.classes.size()));
        }
        for (double v : s.rows[i]) {
            if (!std::isfinite(v)) {
                throw std::invalid_argument(
                    fmt::format("{}: score row {} holds a non-finite value ({})", what, i, v));
            }
        }
    }
    return index;
}

// Column of each example's true label; throws when a label has no column.
std::vector<std::size_t> true_columns(const Labels& y_true,
                                      const std::map<std::string, std::size_t>& index,
                                      const char* what) {
    std::vector<std::size_t> cols(y_true.size());
    for (std::size_t i = 0; i < y_true.size(); ++i) {
        auto it = index.find(y_true[i]);
        if (it == index.end()) {
            throw std::invalid_argument(fmt::format(
                "{}: true label '{}' (example {}) is not one of the scored classes; the model was "
                "not trained on it (evaluate only on labels seen in training, or retrain)",
                what, y_true[i], i));
        }
        cols[i] = it->second;
    }
    return cols;
}

}  // namespace

double accuracy(const Labels& y_true, const Labels& y_pred) {
    check_pair(y_true, y_pred, "accuracy");
    std::size_t hits = 0;
    for (std::size_t i = 0; i < y_true.size(); ++i) hits += y_true[i] == y_pred[i] ? 1 : 0;
    return static_cast<double>(hits) / static_cast<double>(y_true.size());
}

Labels label_set(const Labels& y_true, const Labels& y_pred) {
    std::set<std::string> all(y_true.begin(), y_true.end());
    all.insert(y_pred.begin(), y_pred.end());
    return {all.begin(), all.end()};
}

ConfusionMatrix confusion_matrix(const Labels& y_true, const Labels& y_pred) {
    check_pair(y_true, y_pred, "confusion_matrix");
    ConfusionMatrix cm;
    cm.labels = label_set(y_true, y_pred);
    std::map<std::string, std::size_t> index;
    for (std::size_t k = 0; k < cm.labels.size(); ++k) index[cm.labels[k]] = k;
    cm.counts.assign(cm.labels.size(), std::vector<std::size_t>(cm.labels.size(), 0));
    for (std::size_t i = 0; i < y_true.size(); ++i) ++cm.counts[index[y_true[i]]][index[y_pred[i]]];
    return cm;
}

std::vector<ClassStats> per_class_stats(const Labels& y_true, const Labels& y_pred) {
    ConfusionMatrix cm = confusion_matrix(y_true, y_pred);
    std::size_t k = cm.labels.size();
    std::vector<ClassStats> out(k);
    for (std::size_t c = 0; c < k; ++c) {
        std::size_t tp = cm.counts[c][c];
        std::size_t support = 0, predicted = 0;
        for (std::size_t j = 0; j < k; ++j) {
            support += cm.counts[c][j];
            predicted += cm.counts[j][c];
        }
        ClassStats& s = out[c];
        s.label = cm.labels[c];
        s.support = support;
        s.precision = safe_div(static_cast<double>(tp), static_cast<double>(predicted));
        s.recall = safe_div(static_cast<double>(tp), static_cast<double>(support));
        // sklearn 1.2's formula: 2pr / (p + r) with a zero denominator giving 0.
        s.f1 = safe_div(2 * s.precision * s.recall, s.precision + s.recall);
    }
    return out;
}

Averages macro_average(const std::vector<ClassStats>& stats) {
    Averages a;
    if (stats.empty()) return a;
    for (const auto& s : stats) {
        a.precision += s.precision;
        a.recall += s.recall;
        a.f1 += s.f1;
    }
    double k = static_cast<double>(stats.size());
    return {a.precision / k, a.recall / k, a.f1 / k};
}

Averages weighted_average(const std::vector<ClassStats>& stats) {
    Averages a;
    double total = 0;
    for (const auto& s : stats) {
        double w = static_cast<double>(s.support);
        a.precision += w * s.precision;
        a.recall += w * s.recall;
        a.f1 += w * s.f1;
        total += w;
    }
    if (total == 0) return {};
    return {a.precision / total, a.recall / total, a.f1 / total};
}

double roc_auc_binary(const std::vector<bool>& positive, const std::vector<double>& scores) {
    if (positive.empty()) throw std::invalid_argument("roc_auc: no examples");
    if (positive.size() != scores.size()) {
        throw std::invalid_argument(
            fmt::format("roc_auc: {} labels but {} scores", positive.size(), scores.size()));
    }
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (double s : scores) {
        if (!std::isfinite(s)) throw std::invalid_argument("roc_auc: a score is not finite");
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    // Walk thresholds from high to low; each group of tied scores moves the curve from
    // (fp, tp) to (fp', tp') in one straight segment. Twice the trapezoid area in count units is
    // (fp' - fp) * (tp + tp'), an integer, so the result is exact up to the final division.
    std::uint64_t tp = 0, fp = 0, area2 = 0;
    for (std::size_t i = 0; i < order.size();) {
        std::uint64_t tp_next = tp, fp_next = fp;
        std::size_t j = i;
        for (; j < order.size() && scores[order[j]] == scores[order[i]]; ++j) {
            if (positive[order[j]])
                ++tp_next;
            else
                ++fp_next;
        }
        area2 += (fp_next - fp) * (tp + tp_next);
        tp = tp_next;
        fp = fp_next;
        i = j;
    }
    if (tp == 0 || fp == 0) {
        throw UndefinedMetric(fmt::format(
            "ROC-AUC is undefined: only one class is present in y_true ({} examples, all {})",
            positive.size(), tp == 0 ? "negative" : "positive"));
    }
    return static_cast<double>(area2) / (2.0 * static_cast<double>(tp) * static_cast<double>(fp));
}

double roc_auc(const Labels& y_true, const ClassScores& scores) {
    if (y_true.empty()) throw std::invalid_argument("roc_auc: y_true is empty");
    auto index = check_scores(scores, y_true.size(), "roc_auc");
    std::vector<std::size_t> cols = true_columns(y_true, index, "roc_auc");
    std::size_t n = y_true.size();
    auto column_auc = [&](std::size_t k) {
        std::vector<bool> pos(n);
        std::vector<double> s(n);
        for (std::size_t i = 0; i < n; ++i) {
            pos[i] = cols[i] == k;
            s[i] = scores.rows[i][k];
        }
        try {
            return roc_auc_binary(pos, s);
        } catch (const UndefinedMetric&) {
            throw UndefinedMetric(fmt::format(
                "ROC-AUC is undefined: class '{}' {} in y_true ({} examples), so its "
                "one-vs-rest curve has a single class",
                scores.classes[k],
                std::count(cols.begin(), cols.end(), k) == 0 ? "never occurs" : "is the only label",
                n));
        }
    };
    if (scores.classes.size() == 2) {
        // Binary: sklearn scores the greater label (np.unique(y_true)[1]) as positive.
        std::size_t positive = scores.classes[1] > scores.classes[0] ? 1 : 0;
        std::size_t n_pos =
            static_cast<std::size_t>(std::count(cols.begin(), cols.end(), positive));
        if (n_pos == 0 || n_pos == n) {
            throw UndefinedMetric(fmt::format(
                "ROC-AUC is undefined: only one class ('{}') is present in y_true ({} examples)",
                y_true[0], n));
        }
        return column_auc(positive);
    }
    if (scores.probabilities) {
        for (std::size_t i = 0; i < n; ++i) {
            double sum = std::accumulate(scores.rows[i].begin(), scores.rows[i].end(), 0.0);
            if (std::abs(sum - 1.0) > 1e-8 + 1e-5) {  // np.allclose's tolerances, as sklearn
                throw std::invalid_argument(fmt::format(
                    "roc_auc: probability row {} sums to {}, not 1; pass probabilities (softmax) "
                    "or set probabilities = false for decision scores",
                    i, sum));
            }
        }
    }
    double total = 0;
    for (std::size_t k = 0; k < scores.classes.size(); ++k) total += column_auc(k);
    return total / static_cast<double>(scores.classes.size());
}

double log_loss(const Labels& y_true, const ClassScores& scores) {
    if (y_true.empty()) throw std::invalid_argument("log_loss: y_true is empty");
    if (!scores.probabilities) {
        throw std::invalid_argument(
            "log_loss: needs class probabilities, got decision scores (probabilities = false)");
    }
    auto index = check_scores(scores, y_true.size(), "log_loss");
    std::vector<std::size_t> cols = true_columns(y_true, index, "log_loss");
    const double eps = DBL_EPSILON;
    double total = 0;
    for (std::size_t i = 0; i < y_true.size(); ++i) {
        double sum = 0;
        for (double p : scores.rows[i]) sum += std::clamp(p, eps, 1 - eps);
        double p_true = std::clamp(scores.rows[i][cols[i]], eps, 1 - eps) / sum;
        total -= std::log(p_true);
    }
    return total / static_cast<double>(y_true.size());
}

double perplexity(double total_nll, std::size_t tokens) {
    if (tokens == 0) {
        throw std::invalid_argument(
            "perplexity: no tokens were scored (the evaluation text is empty or every position "
            "was padding)");
    }
    if (!std::isfinite(total_nll)) {
        throw std::invalid_argument(fmt::format("perplexity: summed NLL is {}", total_nll));
    }
    return std::exp(total_nll / static_cast<double>(tokens));
}

nlohmann::json ClassificationReport::to_json() const {
    using nlohmann::json;
    auto number_or_null = [](const std::optional<double>& v) {
        return v && std::isfinite(*v) ? json(*v) : json(nullptr);
    };
    json per = json::object();
    for (const auto& s : per_class) {
        per[s.label] = {
            {"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
    }
    return {{"n", n},
            {"accuracy", accuracy},
            {"macro_precision", macro.precision},
            {"macro_recall", macro.recall},
            {"macro_f1", macro.f1},
            {"weighted_precision", weighted.precision},
            {"weighted_recall", weighted.recall},
            {"weighted_f1", weighted.f1},
            {"roc_auc", number_or_null(roc_auc)},
            {"log_loss", number_or_null(log_loss)},
            {"per_class", per},
            {"confusion", {{"labels", confusion.labels}, {"matrix", confusion.counts}}},
            {"notes", notes}};
}

ClassificationReport classification_report(const Labels& y_true, const Labels& y_pred,
                                           const ClassScores* scores) {
    check_pair(y_true, y_pred, "classification_report");
    ClassificationReport r;
    r.n = y_true.size();
    r.accuracy = accuracy(y_true, y_pred);
    r.confusion = confusion_matrix(y_true, y_pred);
    r.per_class = per_class_stats(y_true, y_pred);
    r.macro = macro_average(r.per_class);
    r.weighted = weighted_average(r.per_class);
    for (const auto& s : r.per_class) {
        if (s.support == 0) {
            r.notes.push_back(fmt::format(
                "label '{}' is predicted but never occurs in y_true: its recall and F1 are 0 "
                "(zero_division=0) and it counts in the macro averages",
                s.label));
        }
    }
    if (scores == nullptr) return r;

    check_scores(*scores, r.n, "classification_report");  // malformed scores are an error
    try {
        r.roc_auc = graft::ml::roc_auc(y_true, *scores);
    } catch (const UndefinedMetric& e) {
        r.notes.push_back(std::string("roc_auc is null: ") + e.what());
    } catch (const std::invalid_argument& e) {
        r.notes.push_back(std::string("roc_auc is null: ") + e.what());
    }
    if (scores->probabilities) {
        try {
            r.log_loss = graft::ml::log_loss(y_true, *scores);
        } catch (const std::invalid_argument& e) {
            r.notes.push_back(std::string("log_loss is null: ") + e.what());
        }
    }
    return r;
}

}  // namespace graft::ml
