// Classification and language-model metrics with scikit-learn's semantics (checked against
// python3-sklearn in tests/framework/ml/metrics/sklearn_test.cpp). Labels are class names
// (strings); the label set of per-class metrics and of the confusion matrix is the sorted union of
// the true and predicted labels (sklearn's unique_labels), sorted byte-wise (= code point order for
// UTF-8).
//
// Ill-defined ratios follow sklearn's zero_division=0: precision of a label that is never
// predicted, recall of a label that never occurs in y_true, and F1 when precision + recall = 0 are
// 0. Where sklearn raises (ROC-AUC with one class present), the functions throw UndefinedMetric and
// classification_report() records null plus a note instead.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace graft::ml {

using Labels = std::vector<std::string>;

// A metric that is mathematically undefined for the given data (sklearn raises ValueError).
class UndefinedMetric : public std::domain_error {
public:
    using std::domain_error::domain_error;
};

// Per-example scores for each class: rows[i][k] is the score of classes[k] for example i.
// probabilities = true: rows are class probabilities (needed for log loss; multiclass ROC-AUC then
// checks that rows sum to 1 like sklearn). false: arbitrary decision scores (higher = more that
// class); only ROC-AUC uses them. A binary decision function d is passed as {-d, d}.
struct ClassScores {
    Labels classes;
    std::vector<std::vector<double>> rows;
    bool probabilities = true;
};

struct ClassStats {
    std::string label;
    double precision = 0;
    double recall = 0;
    double f1 = 0;
    std::size_t support = 0;  // occurrences in y_true
};

struct Averages {
    double precision = 0;
    double recall = 0;
    double f1 = 0;
};

struct ConfusionMatrix {
    Labels labels;                                 // sorted; row/column order
    std::vector<std::vector<std::size_t>> counts;  // counts[true][pred]
};

// All throw std::invalid_argument for empty input or y_true/y_pred of different lengths.
double accuracy(const Labels& y_true, const Labels& y_pred);

// Sorted union of the labels in y_true and y_pred.
Labels label_set(const Labels& y_true, const Labels& y_pred);

ConfusionMatrix confusion_matrix(const Labels& y_true, const Labels& y_pred);

// One entry per label of label_set(), in that order.
std::vector<ClassStats> per_class_stats(const Labels& y_true, const Labels& y_pred);

// Unweighted mean over labels (sklearn average="macro"); labels only predicted count with recall 0.
Averages macro_average(const std::vector<ClassStats>& stats);
// Mean weighted by support (sklearn average="weighted").
Averages weighted_average(const std::vector<ClassStats>& stats);

// Binary ROC-AUC: the trapezoidal area under the ROC curve whose points are taken at each distinct
// score (tied scores form one step, a diagonal segment), as sklearn's roc_curve + auc. Computed
// from integer counts, so exact. Throws UndefinedMetric when only one class is present.
double roc_auc_binary(const std::vector<bool>& positive, const std::vector<double>& scores);

// sklearn roc_auc_score on string labels. Two classes in scores.classes: binary, the positive
// class is the greater label (sklearn's convention) and its column is the score. More classes:
// one-vs-rest, unweighted mean over scores.classes (multi_class="ovr", average="macro"); throws
// UndefinedMetric if one of them never occurs in y_true. Throws std::invalid_argument when y_true
// holds a label that is not in scores.classes, or (probabilities, > 2 classes) rows do not sum
// to 1.
double roc_auc(const Labels& y_true, const ClassScores& scores);

// Mean negative log-likelihood of the true class (natural log), sklearn log_loss with its 1.2
// behaviour: probabilities clipped to [eps, 1 - eps] with eps = DBL_EPSILON, then each row
// renormalized. Requires scores.probabilities.
double log_loss(const Labels& y_true, const ClassScores& scores);

// exp(total_nll / tokens): the perplexity of a language model from the summed token negative
// log-likelihood (natural log) and the number of scored tokens. Throws when tokens == 0.
double perplexity(double total_nll, std::size_t tokens);

struct ClassificationReport {
    std::size_t n = 0;
    double accuracy = 0;
    Averages macro;
    Averages weighted;
    std::optional<double> roc_auc;   // absent: no scores, or undefined (see notes)
    std::optional<double> log_loss;  // absent: no probabilities, or not computable (see notes)
    std::vector<ClassStats> per_class;
    ConfusionMatrix confusion;
    std::vector<std::string> notes;  // why a metric is null, labels only predicted, ...

    // {"accuracy", "macro_f1", "macro_precision", "macro_recall", "weighted_f1",
    //  "weighted_precision", "weighted_recall", "roc_auc" (number|null), "log_loss" (number|null),
    //  "n", "per_class": {label: {"precision","recall","f1","support"}},
    //  "confusion": {"labels": [...], "matrix": [[...]]}, "notes": [...]}
    nlohmann::json to_json() const;
};

// Everything at once. scores (optional) give ROC-AUC and, when they are probabilities, log loss.
// Bad input (empty, length mismatch, score rows of the wrong width, non-finite scores) throws
// std::invalid_argument; metrics that cannot be computed from well-formed scores (one class
// present, a y_true label the scores do not cover, probability rows not summing to 1) are null
// with a note.
ClassificationReport classification_report(const Labels& y_true, const Labels& y_pred,
                                           const ClassScores* scores = nullptr);

}  // namespace graft::ml
