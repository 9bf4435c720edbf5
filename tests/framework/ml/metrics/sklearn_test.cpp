// Cross-check against scikit-learn (Debian python3-sklearn): one Python run computes, for fixed
// arrays written to a temp file, every metric of classification_report, the TF-IDF matrix, and
// LogisticRegression / LinearSVC fits; the C++ results must agree (metrics within 1e-9).
#include "ml/metrics/bow.hpp"
#include "ml/metrics/classification.hpp"
#include "ml/metrics/linear_svm.hpp"
#include "ml/metrics/logistic_regression.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

using namespace graft::ml;
using graft::testing::Dataset;
using nlohmann::json;

namespace {

constexpr const char* kScript = R"PY(
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
from sklearn import metrics
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.preprocessing import StandardScaler
from sklearn.feature_extraction.text import TfidfVectorizer, CountVectorizer

inp = json.load(open(sys.argv[1]))
out = {"cases": {}}

def attempt(f):
    try:
        return f()
    except ValueError:
        return None

for name, c in inp["cases"].items():
    yt, yp = c["y_true"], c["y_pred"]
    labels = sorted(set(yt) | set(yp))
    p, r, f, s = metrics.precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
    res = {
        "accuracy": metrics.accuracy_score(yt, yp),
        "labels": labels,
        "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist(),
        "confusion": metrics.confusion_matrix(yt, yp, labels=labels).tolist(),
    }
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = metrics.precision_recall_fscore_support(
            yt, yp, average=avg, zero_division=0)
        res[avg] = [ap, ar, af]
    if "classes" in c:
        order = np.argsort(c["classes"])  # sklearn expects columns in sorted label order
        sc = [c["classes"][i] for i in order]
        S = np.array(c["scores"], dtype=np.float64)[:, order]
        if len(sc) == 2:
            res["roc_auc"] = attempt(lambda: metrics.roc_auc_score(yt, S[:, 1]))
        else:
            res["roc_auc"] = attempt(lambda: metrics.roc_auc_score(
                yt, S, multi_class="ovr", average="macro", labels=sc))
        res["log_loss"] = attempt(lambda: metrics.log_loss(yt, S, labels=sc))
    out["cases"][name] = res

def fit_models(d, standardize):
    Xtr, ytr = np.array(d["x_train"], dtype=np.float64), np.array(d["y_train"])
    Xte, yte = np.array(d["x_test"], dtype=np.float64), np.array(d["y_test"])
    if standardize:
        sc = StandardScaler().fit(Xtr)
        Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    # newton-cg stops on the gradient alone; lbfgs would also stop on scipy's default
    # ftol = 2.2e-9, ~1e-5 short of the optimum. Same objective either way.
    lr = LogisticRegression(C=d["C"], solver="newton-cg", tol=1e-8, max_iter=1000).fit(Xtr, ytr)
    svm = LinearSVC(C=d["C"], tol=1e-8, max_iter=200000, random_state=0).fit(Xtr, ytr)
    return {"lr_proba": lr.predict_proba(Xte).tolist(),
            "lr_accuracy": lr.score(Xte, yte),
            "lr_coef": lr.coef_.tolist(), "lr_intercept": lr.intercept_.tolist(),
            "svm_accuracy": svm.score(Xte, yte),
            "svm_coef": svm.coef_.tolist(), "svm_intercept": svm.intercept_.tolist()}

out["models"] = {name: fit_models(d, d["standardize"]) for name, d in inp["models"].items()}

t = inp["text"]
tf = TfidfVectorizer(min_df=2, max_df=0.9).fit(t["train"])
cv = CountVectorizer().fit(t["train"])
out["tfidf"] = {"vocabulary": tf.get_feature_names_out().tolist(),
                "matrix": tf.transform(t["test"]).toarray().tolist()}
out["counts"] = {"vocabulary": cv.get_feature_names_out().tolist(),
                 "matrix": cv.transform(t["test"]).toarray().tolist()}
print(json.dumps(out))
)PY";

struct MetricCase {
    Labels y_true, y_pred;
    std::optional<ClassScores> scores;
};

// Scores that favour the true class with some noise; rounding to `decimals` creates ties.
ClassScores noisy_probabilities(const Labels& y_true, const Labels& classes, double signal,
                                int decimals, std::uint64_t seed) {
    graft::testing::Rng rng(seed);
    ClassScores s{classes, {}, true};
    double q = std::pow(10.0, decimals);
    for (const auto& y : y_true) {
        std::vector<double> row(classes.size());
        double sum = 0;
        for (std::size_t k = 0; k < classes.size(); ++k) {
            row[k] = rng.uniform() + (classes[k] == y ? signal : 0.0);
            sum += row[k];
        }
        for (auto& v : row) v /= sum;
        if (decimals > 0 && classes.size() == 2) {  // binary: round, keep the pair summing to 1
            row[0] = std::round(row[0] * q) / q;
            row[1] = 1.0 - row[0];
        }
        s.rows.push_back(row);
    }
    return s;
}

Labels argmax_labels(const ClassScores& s) {
    Labels out;
    for (const auto& r : s.rows) {
        out.push_back(
            s.classes[static_cast<std::size_t>(std::max_element(r.begin(), r.end()) - r.begin())]);
    }
    return out;
}

std::map<std::string, MetricCase> metric_cases() {
    std::map<std::string, MetricCase> cases;
    graft::testing::Rng rng(42);
    auto draw = [&](const std::vector<std::pair<std::string, std::size_t>>& counts) {
        Labels y;
        for (const auto& [label, n] : counts) y.insert(y.end(), n, label);
        for (std::size_t i = y.size(); i > 1; --i) std::swap(y[i - 1], y[rng.below(i)]);
        return y;
    };
    {  // binary, probabilities with 2 decimals (some ties)
        Labels y = draw({{"neg", 23}, {"pos", 17}});
        ClassScores s = noisy_probabilities(y, {"pos", "neg"}, 0.4, 2, 1);
        cases["binary"] = {y, argmax_labels(s), s};
    }
    {  // 3 classes, imbalanced, columns in a non-sorted order
        Labels y = draw({{"cat", 40}, {"dog", 15}, {"eel", 5}});
        ClassScores s = noisy_probabilities(y, {"eel", "cat", "dog"}, 0.5, 0, 2);
        cases["imbalanced3"] = {y, argmax_labels(s), s};
    }
    {  // heavy ties: scores on a 0.1 grid
        Labels y = draw({{"no", 30}, {"yes", 30}});
        ClassScores s = noisy_probabilities(y, {"no", "yes"}, 0.3, 1, 3);
        cases["ties"] = {y, argmax_labels(s), s};
    }
    {  // a class never predicted
        Labels y = draw({{"a", 20}, {"b", 20}, {"c", 6}});
        ClassScores s = noisy_probabilities(y, {"a", "b", "c"}, 0.6, 0, 4);
        Labels p = argmax_labels(s);
        for (auto& l : p) {
            if (l == "c") l = "a";
        }
        cases["never_predicted"] = {y, p, s};
    }
    {  // a predicted label that never occurs in y_true; scores cover the true classes only
        Labels y = draw({{"a", 12}, {"b", 12}});
        ClassScores s = noisy_probabilities(y, {"a", "b"}, 0.4, 0, 5);
        Labels p = argmax_labels(s);
        p[0] = p[5] = "zz";
        cases["predicted_unseen"] = {y, p, s};
    }
    {  // one class in y_true: ROC-AUC undefined on both sides
        Labels y(10, "only");
        ClassScores s = noisy_probabilities(y, {"only", "other"}, 0.2, 0, 6);
        cases["single_class"] = {y, argmax_labels(s), s};
    }
    {  // 3 scored classes, one absent from y_true: sklearn raises, we report null
        Labels y = draw({{"a", 8}, {"b", 8}});
        ClassScores s = noisy_probabilities(y, {"a", "b", "c"}, 0.5, 0, 7);
        cases["scored_class_absent"] = {y, argmax_labels(s), s};
    }
    cases["no_scores"] = {{"x", "y", "x", "x"}, {"x", "x", "x", "y"}, std::nullopt};
    return cases;
}

struct ModelCase {
    Dataset train, test;
    double C;
    bool standardize;
};

std::map<std::string, ModelCase> model_cases() {
    std::map<std::string, ModelCase> m;
    // Noisy, overlapping 3-class blobs (different seeds for train and test share the centres).
    Dataset all3 = graft::testing::gaussian_blobs({200, 150, 100}, 6, 1.0, 1.3, 31);
    Dataset all2 = graft::testing::gaussian_blobs({150, 150}, 5, 0.8, 1.0, 32);
    auto split = [](const Dataset& all, std::size_t n_train) {
        Dataset a, b;
        a.d = b.d = all.d;
        a.x.assign(all.x.begin(), all.x.begin() + static_cast<std::ptrdiff_t>(n_train * all.d));
        a.y.assign(all.y.begin(), all.y.begin() + static_cast<std::ptrdiff_t>(n_train));
        b.x.assign(all.x.begin() + static_cast<std::ptrdiff_t>(n_train * all.d), all.x.end());
        b.y.assign(all.y.begin() + static_cast<std::ptrdiff_t>(n_train), all.y.end());
        return std::pair{a, b};
    };
    auto [tr3, te3] = split(all3, 300);
    auto [tr2, te2] = split(all2, 200);
    m["noisy3"] = {tr3, te3, 1.0, false};
    m["noisy3_std_C0.1"] = {tr3, te3, 0.1, true};
    m["binary"] = {tr2, te2, 0.5, false};
    return m;
}

const std::vector<std::string> kTrainTexts = {
    "The movie was great, great acting and a great plot.",
    "A boring movie; the plot was dull and the acting bad.",
    "Great plot! The actors were brilliant.",
    "Dull, boring, bad. I hated the movie.",
    "The acting was fine but the plot was thin.",
    "A brilliant film with a thin plot and fine acting.",
    "I loved the film, the actors, the plot."};
const std::vector<std::string> kTestTexts = {"great great film, bad plot", "nothing known here",
                                             "The ACTING and the movie were fine_ok."};

json matrix_json(const Dataset& ds) {
    json rows = json::array();
    for (std::size_t i = 0; i < ds.rows(); ++i) {
        rows.push_back(
            std::vector<double>(ds.x.begin() + static_cast<std::ptrdiff_t>(i * ds.d),
                                ds.x.begin() + static_cast<std::ptrdiff_t>((i + 1) * ds.d)));
    }
    return rows;
}

// Runs the script; FAILs with the install hint when python3 or sklearn is missing.
json run_sklearn(const graft::testing::TempDir& dir, const json& input) {
    std::ofstream(dir / "input.json") << input.dump();
    std::ofstream(dir / "check.py") << kScript;
    // Debian's interpreter (where python3-sklearn installs); GRAFT_TEST_PYTHON overrides it.
    const char* env = std::getenv("GRAFT_TEST_PYTHON");
    std::string python = env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
    std::string cmd = "'" + python + "' '" + (dir / "check.py").string() + "' '" +
                      (dir / "input.json").string() + "' 2>'" + (dir / "stderr.txt").string() + "'";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    std::array<char, 65536> buf{};
    std::size_t got = 0;
    while ((got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), got);
    int status = ::pclose(pipe);
    std::stringstream err;
    err << std::ifstream(dir / "stderr.txt").rdbuf();
    bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
        bool missing = (WIFEXITED(status) && WEXITSTATUS(status) == 127) ||
                       err.str().find("No module named") != std::string::npos;
        if (missing)
            FAIL(
                "python3 with scikit-learn is not available: install python3-sklearn "
                "(scripts/setup.sh does)\n"
                << err.str());
        FAIL("the scikit-learn reference script failed:\n" << err.str());
    }
    return json::parse(out);
}

void check_close(double ours, const json& ref, double tol, const std::string& what) {
    INFO(what << ": graft " << ours << " vs sklearn " << ref.dump());
    REQUIRE(ref.is_number());
    CHECK(std::abs(ours - ref.get<double>()) <= tol);
}

void check_metric_case(const std::string& name, const MetricCase& c, const json& ref) {
    INFO("case " << name);
    ClassificationReport r =
        classification_report(c.y_true, c.y_pred, c.scores ? &*c.scores : nullptr);
    const double tol = 1e-9;
    check_close(r.accuracy, ref["accuracy"], tol, "accuracy");
    REQUIRE(r.confusion.labels == ref["labels"].get<Labels>());
    CHECK(json(r.confusion.counts) == ref["confusion"]);
    for (std::size_t k = 0; k < r.per_class.size(); ++k) {
        const std::string& l = r.per_class[k].label;
        check_close(r.per_class[k].precision, ref["precision"][k], tol, l + " precision");
        check_close(r.per_class[k].recall, ref["recall"][k], tol, l + " recall");
        check_close(r.per_class[k].f1, ref["f1"][k], tol, l + " f1");
        CHECK(r.per_class[k].support == ref["support"][k].get<std::size_t>());
    }
    for (auto [avg, ours] : {std::pair{"macro", r.macro}, std::pair{"weighted", r.weighted}}) {
        check_close(ours.precision, ref[avg][0], tol, std::string(avg) + " precision");
        check_close(ours.recall, ref[avg][1], tol, std::string(avg) + " recall");
        check_close(ours.f1, ref[avg][2], tol, std::string(avg) + " f1");
    }
    if (!c.scores) {
        CHECK_FALSE(r.roc_auc.has_value());
        return;
    }
    for (auto [key, ours] : {std::pair{"roc_auc", r.roc_auc}, std::pair{"log_loss", r.log_loss}}) {
        INFO(key << (ours ? "" : " is null") << "; notes: " << json(r.notes).dump());
        if (ref[key].is_null()) {
            CHECK_FALSE(ours.has_value());
        } else {
            REQUIRE(ours.has_value());
            check_close(*ours, ref[key], tol, key);
        }
    }
}

void check_model_case(const std::string& name, const ModelCase& c, const json& ref) {
    INFO("model case " << name);
    LogisticRegressionOptions lo;
    lo.C = c.C;
    lo.standardize = c.standardize;
    lo.tol = 1e-10;
    auto lr = LogisticRegression::fit(c.train.x, c.train.d, c.train.y, lo);
    CHECK(lr.training().converged);
    double lr_acc = graft::testing::accuracy(lr.predict(c.test.x), c.test.y);
    INFO("logistic regression accuracy " << lr_acc << " vs sklearn " << ref["lr_accuracy"]);
    CHECK(std::abs(lr_acc - ref["lr_accuracy"].get<double>()) <= 0.02);
    // The optimum is unique (strictly convex), so the fitted model itself must agree.
    auto proba = lr.predict_proba(c.test.x);
    std::size_t k = static_cast<std::size_t>(lr.n_classes());
    double max_diff = 0;
    for (std::size_t i = 0; i < c.test.rows(); ++i) {
        for (std::size_t j = 0; j < k; ++j) {
            max_diff = std::max(max_diff,
                                std::abs(proba[i * k + j] - ref["lr_proba"][i][j].get<double>()));
        }
    }
    INFO("max |probability difference| " << max_diff);
    CHECK(max_diff < 1e-5);
    auto ref_coef = ref["lr_coef"].get<std::vector<std::vector<double>>>();
    REQUIRE(ref_coef.size() == lr.outputs());
    for (std::size_t r = 0; r < lr.outputs(); ++r) {
        for (std::size_t j = 0; j < c.train.d; ++j) {
            CHECK(lr.coef()[r * c.train.d + j] == Approx(ref_coef[r][j]).margin(1e-5));
        }
        CHECK(lr.intercept()[r] == Approx(ref["lr_intercept"][r].get<double>()).margin(1e-5));
    }

    LinearSvmOptions so;
    so.C = c.C;
    so.standardize = c.standardize;
    so.tol = 1e-8;
    so.max_iter = 200000;
    auto svm = LinearSvm::fit(c.train.x, c.train.d, c.train.y, so);
    CHECK(svm.training().converged);
    double svm_acc = graft::testing::accuracy(svm.predict(c.test.x), c.test.y);
    INFO("linear SVM accuracy " << svm_acc << " vs sklearn " << ref["svm_accuracy"]);
    CHECK(std::abs(svm_acc - ref["svm_accuracy"].get<double>()) <= 0.02);
    auto svm_coef = ref["svm_coef"].get<std::vector<std::vector<double>>>();
    REQUIRE(svm_coef.size() == svm.outputs());
    for (std::size_t r = 0; r < svm.outputs(); ++r) {
        for (std::size_t j = 0; j < c.train.d; ++j) {
            CHECK(svm.coef()[r * c.train.d + j] == Approx(svm_coef[r][j]).margin(1e-4));
        }
        CHECK(svm.intercept()[r] == Approx(ref["svm_intercept"][r].get<double>()).margin(1e-4));
    }
}

void check_bow(const BowVectorizer& v, const json& ref, double tol) {
    REQUIRE(v.vocabulary() == ref["vocabulary"].get<std::vector<std::string>>());
    auto x = v.transform_dense(kTestTexts);
    auto m = ref["matrix"].get<std::vector<std::vector<double>>>();
    for (std::size_t i = 0; i < m.size(); ++i) {
        for (std::size_t j = 0; j < m[i].size(); ++j) {
            INFO("text " << i << " term " << v.vocabulary()[j]);
            CHECK(std::abs(x[i * m[i].size() + j] - m[i][j]) <= tol);
        }
    }
}

}  // namespace

TEST_CASE("metrics, TF-IDF and classic models agree with scikit-learn", "[metrics][sklearn]") {
    graft::testing::TempDir dir("metrics-sklearn");
    auto cases = metric_cases();
    auto models = model_cases();
    json input;
    for (const auto& [name, c] : cases) {
        json jc = {{"y_true", c.y_true}, {"y_pred", c.y_pred}};
        if (c.scores) {
            jc["classes"] = c.scores->classes;
            jc["scores"] = c.scores->rows;
        }
        input["cases"][name] = jc;
    }
    for (const auto& [name, m] : models) {
        input["models"][name] = {{"x_train", matrix_json(m.train)},
                                 {"y_train", m.train.y},
                                 {"x_test", matrix_json(m.test)},
                                 {"y_test", m.test.y},
                                 {"C", m.C},
                                 {"standardize", m.standardize}};
    }
    input["text"] = {{"train", kTrainTexts}, {"test", kTestTexts}};

    json ref = run_sklearn(dir, input);

    for (const auto& [name, c] : cases) check_metric_case(name, c, ref["cases"][name]);
    // The undefined cases really are undefined on both sides (not vacuously equal).
    CHECK(ref["cases"]["single_class"]["roc_auc"].is_null());
    CHECK(ref["cases"]["scored_class_absent"]["roc_auc"].is_null());
    CHECK(ref["cases"]["ties"]["roc_auc"].is_number());

    for (const auto& [name, m] : models) check_model_case(name, m, ref["models"][name]);

    BowOptions tfidf;
    tfidf.min_df = 2;
    tfidf.max_df = 0.9;
    check_bow(BowVectorizer::fit(kTrainTexts, tfidf), ref["tfidf"], 1e-6);
    BowOptions counts;
    counts.weighting = BowWeighting::counts;
    counts.l2_normalize = false;
    check_bow(BowVectorizer::fit(kTrainTexts, counts), ref["counts"], 0);
}
