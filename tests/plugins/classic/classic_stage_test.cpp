// The classic baseline stage through the real host: fits, predicts, reports, fails clearly.
#include "support/stage_runner.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace graft::testing;
using nlohmann::json;

namespace {

// Two classes told apart by their words, with a little overlap.
void write_set(const std::filesystem::path& p, int n, int offset) {
    std::ofstream out(p);
    for (int i = 0; i < n; ++i) {
        const bool pos = (i + offset) % 2 == 0;
        std::string text = pos ? "great wonderful film loved it" : "awful boring film hated it";
        if (i % 7 == 0) text += pos ? " boring" : " wonderful";
        out << json{{"text", text + " case" + std::to_string(i)}, {"label", pos ? "pos" : "neg"}}.dump() << '\n';
    }
}

}  // namespace

TEST_CASE("classic fits a bag-of-words classifier and reports on the test set", "[classic]") {
    TempDir dir;
    write_set(dir / "train.jsonl", 60, 0);
    write_set(dir / "test.jsonl", 40, 1);
    for (const char* model : {"logreg", "svm"}) {
        TempDir out;
        auto r = run_stage("classic", {{"model", model}, {"min_df", 1}},
                           {{"train", dir / "train.jsonl"}, {"test", dir / "test.jsonl"}}, out.path());
        INFO(model << ": " << r.error);
        REQUIRE(r.status == 0);
        CHECK(r.metrics.at("accuracy") == Approx(1.0));
        CHECK(r.metrics.at("n_test") == 40);
        CHECK(r.metrics.count("roc_auc") == 1);
        std::ifstream m(r.outputs.at("metrics"));
        const json report = json::parse(m);
        CHECK(report["confusion"]["labels"] == json::array({"neg", "pos"}));
        CHECK(std::filesystem::exists(r.outputs.at("model") / "vectorizer.json"));
        std::ifstream p(r.outputs.at("predictions"));
        std::string first;
        std::getline(p, first);
        CHECK(json::parse(first).contains("scores"));
    }
}

TEST_CASE("classic refuses a training set with one class or without labels", "[classic]") {
    TempDir dir;
    write_text(dir / "one.jsonl", "{\"text\":\"a b c\",\"label\":\"x\"}\n{\"text\":\"d e f\",\"label\":\"x\"}\n");
    write_text(dir / "nolabel.jsonl", "{\"text\":\"a b c\"}\n");
    TempDir out1, out2;
    auto one = run_stage("classic", {{"min_df", 1}}, {{"train", dir / "one.jsonl"}, {"test", dir / "one.jsonl"}}, out1.path());
    CHECK(one.status != 0);
    CHECK_THAT(one.error, Catch::Contains("1 class(es)"));
    auto nol = run_stage("classic", {}, {{"train", dir / "nolabel.jsonl"}, {"test", dir / "one.jsonl"}}, out2.path());
    CHECK(nol.status != 0);
    CHECK_THAT(nol.error, Catch::Contains("nolabel.jsonl:1: no label field 'label'"));
}
