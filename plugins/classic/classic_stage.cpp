// `classic`: a linear classifier (logistic regression or linear SVM) on bag-of-words TF-IDF
// features of text rows (`train`/`test`: the strong classic baseline transfer learning has to
// beat), or on precomputed dense features (`train_features`/`test_features` from `featurize`: the
// feature-extraction recipe). Trains on the train set, reports on the test set, writes the fitted
// model, per-row predictions and a metrics report.
#include "features_file.hpp"

#include "ml/metrics/bow.hpp"
#include "ml/metrics/classification.hpp"
#include "ml/metrics/linear_svm.hpp"
#include "ml/metrics/logistic_regression.hpp"

#include <graft/jsonl.hpp>
#include <graft/stage.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>

namespace graft::classic {

namespace {

struct Dataset {
    std::vector<std::string> texts;
    std::vector<std::string> labels;
};

Dataset read_dataset(const std::filesystem::path& file, const std::string& text_field,
                     const std::string& label_field) {
    Dataset d;
    sdk::for_each_jsonl(file, [&](sdk::json&& row, std::size_t line) {
        auto t = row.find(text_field);
        auto l = row.find(label_field);
        if (t == row.end() || !t->is_string())
            throw sdk::StageError(fmt::format("{}:{}: no string field '{}' (set text_field)",
                                              file.string(), line, text_field));
        if (l == row.end() || l->is_null())
            throw sdk::StageError(fmt::format("{}:{}: no label field '{}' (set label_field, or "
                                              "clean with require_label = true)",
                                              file.string(), line, label_field));
        d.texts.push_back(t->get<std::string>());
        d.labels.push_back(l->is_string() ? l->get<std::string>() : l->dump());
    });
    if (d.texts.empty()) throw sdk::StageError(fmt::format("{} has no rows", file.string()));
    return d;
}

class ClassicStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe() {
        return sdk::Descriptor("classic", "1",
                               "Linear classifier (logistic regression or linear SVM) on "
                               "bag-of-words features of 'train'/'test' text rows (TF-IDF: the "
                               "classic baseline), or on precomputed features from 'featurize' "
                               "('train_features'/'test_features': frozen-encoder embeddings). "
                               "Connect one pair.")
            .input("train", "jsonl", "labelled text rows to fit on", true)
            .input("test", "jsonl", "labelled text rows to evaluate on", true)
            .input("train_features", "features", "featurize output to fit on (instead of 'train')", true)
            .input("test_features", "features", "featurize output to evaluate on (instead of 'test')", true)
            .output_dir("model", "classic-model", "classifier.json (+ vectorizer.json for text input)")
            .output("predictions", "jsonl", "test rows with 'pred' and class 'scores'")
            .output("metrics", "metrics", "classification report (JSON)")
            .param_string("model", "logreg", "classifier", {"logreg", "svm"})
            .param_float("C", 1.0, "inverse regularization strength (as in scikit-learn)", 1e-9)
            .param_bool("standardize", false,
                        "scale each feature to unit variance on the training rows (dense features "
                        "are also centred); recommended for featurize output")
            .param_int("max_features", 20000, "text: vocabulary size cap (most frequent terms)", 1)
            .param_int("min_df", 2, "text: drop terms in fewer documents than this", 1)
            .param_string("weighting", "tfidf", "text: term weighting", {"tfidf", "counts", "binary"})
            .param_bool("sublinear_tf", true, "text: use 1 + log(tf)")
            .param_int("max_iter", 1000, "solver iterations", 1)
            .param_string("text_field", "text", "text: field holding the text")
            .param_string("label_field", "label", "text: field holding the class label");
    }

    void run(sdk::RunContext& ctx) override {
        const auto train_f = ctx.optional_input("train_features");
        const auto test_f = ctx.optional_input("test_features");
        const auto train_t = ctx.optional_input("train");
        const auto test_t = ctx.optional_input("test");
        const bool dense = train_f || test_f;
        if (dense && (train_t || test_t))
            throw sdk::StageError("classic: connect either 'train' and 'test' (text rows) or "
                                  "'train_features' and 'test_features' (featurize output), not both kinds");
        if (dense && !(train_f && test_f))
            throw sdk::StageError(fmt::format("classic: '{}' is connected but '{}' is not; features "
                                              "need both (featurize the train and the test rows)",
                                              train_f ? "train_features" : "test_features",
                                              train_f ? "test_features" : "train_features"));
        if (!dense && !(train_t && test_t))
            throw sdk::StageError("classic: connect 'train' and 'test' (labelled text rows), or "
                                  "'train_features' and 'test_features' (featurize output)");

        // Either sparse bag-of-words rows or dense feature rows, with their labels.
        std::vector<std::string> train_labels, test_labels;
        ml::SparseMatrix sx_train, sx_test;
        FeatureSet dx_train, dx_test;
        Dataset train_text, test_text;
        std::optional<ml::BowVectorizer> vec;
        std::size_t n_features = 0;
        if (dense) {
            dx_train = read_features(*train_f, "train_features");
            dx_test = read_features(*test_f, "test_features");
            if (dx_train.dim != dx_test.dim)
                throw sdk::StageError(fmt::format(
                    "classic: train_features have {} dimensions but test_features {}; featurize "
                    "both sets with the same checkpoint and layer",
                    dx_train.dim, dx_test.dim));
            n_features = dx_train.dim;
            train_labels = dx_train.labels;
            test_labels = dx_test.labels;
        } else {
            const auto text_field = ctx.param<std::string>("text_field");
            const auto label_field = ctx.param<std::string>("label_field");
            train_text = read_dataset(*train_t, text_field, label_field);
            test_text = read_dataset(*test_t, text_field, label_field);
            train_labels = train_text.labels;
            test_labels = test_text.labels;
        }
        ctx.check_cancelled();

        std::vector<std::string> classes = train_labels;
        std::sort(classes.begin(), classes.end());
        classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
        if (classes.size() < 2)
            throw sdk::StageError(fmt::format("the training set has {} class(es); need at least 2",
                                              classes.size()));
        std::map<std::string, int> class_id;
        for (std::size_t i = 0; i < classes.size(); ++i) class_id[classes[i]] = static_cast<int>(i);
        std::vector<int> y;
        for (const auto& l : train_labels) y.push_back(class_id.at(l));

        if (!dense) {
            ml::BowOptions bo;
            bo.max_features = static_cast<std::size_t>(ctx.param<std::int64_t>("max_features"));
            bo.min_df = static_cast<std::size_t>(ctx.param<std::int64_t>("min_df"));
            const auto w = ctx.param<std::string>("weighting");
            bo.weighting = w == "counts" ? ml::BowWeighting::counts
                           : w == "binary" ? ml::BowWeighting::binary
                                           : ml::BowWeighting::tfidf;
            bo.sublinear_tf = ctx.param<bool>("sublinear_tf");
            vec = ml::BowVectorizer::fit(train_text.texts, bo);
            sx_train = vec->transform_sparse(train_text.texts);
            sx_test = vec->transform_sparse(test_text.texts);
            n_features = vec->vocabulary_size();
            ctx.check_cancelled();
        }
        ctx.info("{} training rows, {} classes, {} {}", train_labels.size(), classes.size(),
                 n_features, dense ? "dense features" : "vocabulary terms");

        const auto kind = ctx.param<std::string>("model");
        const double C = ctx.param<double>("C");
        const int max_iter = static_cast<int>(ctx.param<std::int64_t>("max_iter"));
        const bool standardize = ctx.param<bool>("standardize");
        std::vector<double> decision;
        sdk::json classifier;
        bool probabilities = false;
        if (kind == "logreg") {
            ml::LogisticRegressionOptions o;
            o.C = C;
            o.max_iter = max_iter;
            o.standardize = standardize;
            o.n_classes = static_cast<int>(classes.size());
            auto m = dense ? ml::LogisticRegression::fit(dx_train.x, n_features, y, o)
                           : ml::LogisticRegression::fit(sx_train, y, o);
            decision = dense ? m.predict_proba(dx_test.x) : m.predict_proba(sx_test);
            probabilities = true;
            classifier = m.to_json();
            if (!m.training().converged)
                ctx.warn("logistic regression stopped before converging: {}", m.training().stop_reason);
        } else {
            ml::LinearSvmOptions o;
            o.C = C;
            o.max_iter = max_iter;
            o.standardize = standardize;
            o.seed = ctx.seed();
            o.n_classes = static_cast<int>(classes.size());
            auto m = dense ? ml::LinearSvm::fit(dx_train.x, n_features, y, o)
                           : ml::LinearSvm::fit(sx_train, y, o);
            decision = dense ? m.decision_function(dx_test.x) : m.decision_function(sx_test);
            classifier = m.to_json();
        }

        // One score column per class (binary SVM scores come as one margin column).
        const std::size_t k = classes.size(), n = test_labels.size();
        ml::ClassScores scores{classes, {}, probabilities};
        const std::size_t cols = decision.size() / n;
        for (std::size_t i = 0; i < n; ++i) {
            if (cols == 1)
                scores.rows.push_back({-decision[i], decision[i]});
            else
                scores.rows.emplace_back(decision.begin() + static_cast<std::ptrdiff_t>(i * k),
                                         decision.begin() + static_cast<std::ptrdiff_t>((i + 1) * k));
        }
        ml::Labels pred;
        for (const auto& row : scores.rows)
            pred.push_back(classes[static_cast<std::size_t>(
                std::max_element(row.begin(), row.end()) - row.begin())]);

        const auto report = ml::classification_report(test_labels, pred, &scores);
        auto rj = report.to_json();
        rj["model"] = kind;
        rj["input"] = dense ? "features" : "text";
        if (vec) rj["vocabulary"] = vec->vocabulary_size();
        else rj["dim"] = n_features;
        rj["n_train"] = train_labels.size();
        {
            std::ofstream out(ctx.output("metrics"));
            out << rj.dump(2) << '\n';
        }
        sdk::JsonlWriter preds(ctx.output("predictions"));
        for (std::size_t i = 0; i < n; ++i) {
            sdk::json s = sdk::json::object();
            for (std::size_t c = 0; c < k; ++c) s[classes[c]] = scores.rows[i][c];
            preds.write({{"label", test_labels[i]}, {"pred", pred[i]}, {"scores", s}});
        }
        preds.close();
        if (vec) vec->save(ctx.output("model") / "vectorizer.json");
        std::ofstream(ctx.output("model") / "classifier.json")
            << sdk::json{{"kind", kind}, {"classes", classes}, {"input", dense ? "features" : "text"}, {"model", classifier}}.dump() << '\n';

        ctx.metric("accuracy", report.accuracy);
        ctx.metric("macro_f1", report.macro.f1);
        if (report.roc_auc) ctx.metric("roc_auc", *report.roc_auc);
        ctx.metric("n_train", static_cast<double>(train_labels.size()));
        ctx.metric("n_test", static_cast<double>(n));
        ctx.info("test accuracy {:.4f}, macro F1 {:.4f} on {} rows", report.accuracy, report.macro.f1, n);
    }
};

}  // namespace

}  // namespace graft::classic

GRAFT_EXPORT_STAGES(graft::classic::ClassicStage)
