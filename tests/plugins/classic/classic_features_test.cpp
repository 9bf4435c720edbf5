// `classic` on precomputed features (featurize's file format): learns a separable set, and fails
// clearly on mismatched dimensions, missing labels, a file that is not a features file and
// half-connected inputs.
#include "support/stage_runner.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace graft::testing;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// Two Gaussian blobs in `dim` dimensions, centred at -2 and +2 on feature 0 (the rest noise).
std::string blobs(int n, std::size_t dim, unsigned seed, bool labels = true) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 0.5f);
    std::string out = json{{"format", "graft.features/1"}, {"dim", dim}, {"rows", n}}.dump() + "\n";
    for (int i = 0; i < n; ++i) {
        const bool pos = i % 2 == 0;
        std::vector<float> x(dim);
        for (auto& v : x) v = noise(rng);
        x[0] += pos ? 2.0f : -2.0f;
        json row = {{"features", x}};
        if (labels) row["label"] = pos ? "pos" : "neg";
        out += row.dump() + "\n";
    }
    return out;
}

StageRun classic_on(const TempDir& dir, const std::string& train, const std::string& test, json params = json::object()) {
    TempDir out;
    return run_stage("classic", params,
                     {{"train_features", dir.write("train.features", train)},
                      {"test_features", dir.write("test.features", test)}},
                     out.path());
}

}  // namespace

TEST_CASE("classic fits logistic regression and the SVM on precomputed features", "[classic][features]") {
    TempDir dir;
    for (const char* model : {"logreg", "svm"}) {
        for (bool standardize : {false, true}) {
            TempDir out;
            auto r = run_stage("classic", {{"model", model}, {"standardize", standardize}},
                               {{"train_features", dir.write("train.features", blobs(60, 5, 1))},
                                {"test_features", dir.write("test.features", blobs(40, 5, 2))}},
                               out.path());
            INFO(model << " standardize " << standardize << ": " << r.error);
            REQUIRE(r.status == 0);
            CHECK(r.metrics.at("accuracy") == Approx(1.0));
            CHECK(r.metrics.at("n_train") == 60);
            CHECK(r.metrics.at("n_test") == 40);
            const json report = json::parse(read_text(r.outputs.at("metrics")));
            CHECK(report["input"] == "features");
            CHECK(report["dim"] == 5);
            CHECK(std::filesystem::exists(r.outputs.at("model") / "classifier.json"));
            CHECK_FALSE(std::filesystem::exists(r.outputs.at("model") / "vectorizer.json"));
        }
    }
}

TEST_CASE("classic on features rejects mismatched dimensions and missing labels", "[classic][features]") {
    TempDir dir;
    const auto dims = classic_on(dir, blobs(10, 5, 1), blobs(10, 4, 2));
    CHECK(dims.status != 0);
    CHECK_THAT(dims.error, Contains("train_features have 5 dimensions but test_features 4"));
    const auto nolabel = classic_on(dir, blobs(10, 5, 1, false), blobs(10, 5, 2));
    CHECK(nolabel.status != 0);
    CHECK_THAT(nolabel.error, Contains("input 'train_features'") && Contains("train.features:2: no \"label\""));
    std::string short_row = blobs(4, 3, 1);
    short_row += json{{"features", {1.0, 2.0}}, {"label", "pos"}}.dump() + "\n";
    const auto width = classic_on(dir, short_row, blobs(4, 3, 2));
    CHECK(width.status != 0);
    CHECK_THAT(width.error, Contains("train.features:6: 2 features, but the header says dim = 3"));
}

TEST_CASE("classic names the fix for a non-features file and half-connected inputs", "[classic][features]") {
    TempDir dir;
    const auto text = classic_on(dir, "{\"text\": \"a b\", \"label\": \"x\"}\n", blobs(4, 3, 2));
    CHECK(text.status != 0);
    CHECK_THAT(text.error, Contains("not a features file") && Contains("graft.features/1"));
    TempDir out1, out2;
    const auto half = run_stage("classic", {}, {{"train_features", dir.write("t.features", blobs(4, 3, 1))}}, out1.path());
    CHECK(half.status != 0);
    CHECK_THAT(half.error, Contains("'train_features' is connected but 'test_features' is not"));
    const auto mixed = run_stage("classic", {},
                                 {{"train_features", dir / "t.features"}, {"test", dir.write("x.jsonl", "{}\n")}},
                                 out2.path());
    CHECK(mixed.status != 0);
    CHECK_THAT(mixed.error, Contains("not both kinds"));
}
