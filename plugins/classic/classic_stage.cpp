// `classic`: a linear classifier (logistic regression or linear SVM) on bag-of-words TF-IDF
// features: the strong classic baseline transfer learning has to beat. Trains on `train`,
// reports on `test`, writes the fitted model, per-row predictions and a metrics report.
#include "ml/metrics/bow.hpp"
#include "ml/metrics/classification.hpp"
#include "ml/metrics/linear_svm.hpp"
#include "ml/metrics/logistic_regression.hpp"

#include <graft/jsonl.hpp>
#include <graft/stage.hpp>

#include <algorithm>
#include <fstream>
#include <map>

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
                               "Linear classifier on bag-of-words features (TF-IDF + logistic "
                               "regression or linear SVM): the classic baseline. Trains on "
                               "'train', evaluates on 'test'.")
            .input("train", "jsonl", "labelled rows to fit on")
            .input("test", "jsonl", "labelled rows to evaluate on")
            .output_dir("model", "classic-model", "vectorizer.json + classifier.json")
            .output("predictions", "jsonl", "test rows with 'pred' and class 'scores'")
            .output("metrics", "metrics", "classification report (JSON)")
            .param_string("model", "logreg", "classifier", {"logreg", "svm"})
            .param_float("C", 1.0, "inverse regularization strength (as in scikit-learn)", 1e-9)
            .param_int("max_features", 20000, "vocabulary size cap (most frequent terms)", 1)
            .param_int("min_df", 2, "drop terms in fewer documents than this", 1)
            .param_string("weighting", "tfidf", "term weighting", {"tfidf", "counts", "binary"})
            .param_bool("sublinear_tf", true, "use 1 + log(tf)")
            .param_int("max_iter", 1000, "solver iterations", 1)
            .param_string("text_field", "text", "field holding the text")
            .param_string("label_field", "label", "field holding the class label");
    }

    void run(sdk::RunContext& ctx) override {
        const auto text_field = ctx.param<std::string>("text_field");
        const auto label_field = ctx.param<std::string>("label_field");
        Dataset train = read_dataset(ctx.input("train"), text_field, label_field);
        Dataset test = read_dataset(ctx.input("test"), text_field, label_field);
        ctx.check_cancelled();

        std::vector<std::string> classes = train.labels;
        std::sort(classes.begin(), classes.end());
        classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
        if (classes.size() < 2)
            throw sdk::StageError(fmt::format("the training set has {} class(es); need at least 2",
                                              classes.size()));
        std::map<std::string, int> class_id;
        for (std::size_t i = 0; i < classes.size(); ++i) class_id[classes[i]] = static_cast<int>(i);
        std::vector<int> y;
        for (const auto& l : train.labels) y.push_back(class_id.at(l));

        ml::BowOptions bo;
        bo.max_features = static_cast<std::size_t>(ctx.param<std::int64_t>("max_features"));
        bo.min_df = static_cast<std::size_t>(ctx.param<std::int64_t>("min_df"));
        const auto w = ctx.param<std::string>("weighting");
        bo.weighting = w == "counts" ? ml::BowWeighting::counts
                       : w == "binary" ? ml::BowWeighting::binary
                                       : ml::BowWeighting::tfidf;
        bo.sublinear_tf = ctx.param<bool>("sublinear_tf");
        const auto vec = ml::BowVectorizer::fit(train.texts, bo);
        const auto x_train = vec.transform_sparse(train.texts);
        const auto x_test = vec.transform_sparse(test.texts);
        ctx.info("{} training rows, {} classes, vocabulary {}", train.texts.size(), classes.size(),
                 vec.vocabulary_size());
        ctx.check_cancelled();

        const auto kind = ctx.param<std::string>("model");
        const double C = ctx.param<double>("C");
        const int max_iter = static_cast<int>(ctx.param<std::int64_t>("max_iter"));
        std::vector<double> decision;
        sdk::json classifier;
        bool probabilities = false;
        if (kind == "logreg") {
            ml::LogisticRegressionOptions o;
            o.C = C;
            o.max_iter = max_iter;
            o.n_classes = static_cast<int>(classes.size());
            auto m = ml::LogisticRegression::fit(x_train, y, o);
            decision = m.predict_proba(x_test);
            probabilities = true;
            classifier = m.to_json();
            if (!m.training().converged)
                ctx.warn("logistic regression stopped before converging: {}", m.training().stop_reason);
        } else {
            ml::LinearSvmOptions o;
            o.C = C;
            o.max_iter = max_iter;
            o.seed = ctx.seed();
            o.n_classes = static_cast<int>(classes.size());
            auto m = ml::LinearSvm::fit(x_train, y, o);
            decision = m.decision_function(x_test);
            classifier = m.to_json();
        }

        // One score column per class (binary SVM scores come as one margin column).
        const std::size_t k = classes.size(), n = test.texts.size();
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

        const auto report = ml::classification_report(test.labels, pred, &scores);
        auto rj = report.to_json();
        rj["model"] = kind;
        rj["vocabulary"] = vec.vocabulary_size();
        rj["n_train"] = train.texts.size();
        {
            std::ofstream out(ctx.output("metrics"));
            out << rj.dump(2) << '\n';
        }
        sdk::JsonlWriter preds(ctx.output("predictions"));
        for (std::size_t i = 0; i < n; ++i) {
            sdk::json s = sdk::json::object();
            for (std::size_t c = 0; c < k; ++c) s[classes[c]] = scores.rows[i][c];
            preds.write({{"label", test.labels[i]}, {"pred", pred[i]}, {"scores", s}});
        }
        preds.close();
        vec.save(ctx.output("model") / "vectorizer.json");
        std::ofstream(ctx.output("model") / "classifier.json")
            << sdk::json{{"kind", kind}, {"classes", classes}, {"model", classifier}}.dump() << '\n';

        ctx.metric("accuracy", report.accuracy);
        ctx.metric("macro_f1", report.macro.f1);
        if (report.roc_auc) ctx.metric("roc_auc", *report.roc_auc);
        ctx.metric("n_train", static_cast<double>(train.texts.size()));
        ctx.metric("n_test", static_cast<double>(n));
        ctx.info("test accuracy {:.4f}, macro F1 {:.4f} on {} rows", report.accuracy, report.macro.f1, n);
    }
};

}  // namespace

}  // namespace graft::classic

GRAFT_EXPORT_STAGES(graft::classic::ClassicStage)
