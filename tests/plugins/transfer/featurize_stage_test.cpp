// The `featurize` stage through the real plugin host, on a tiny checkpoint pretrained in the test
// (tokenizer + pretrain stages, a few steps): shape, determinism, padding-free mean pooling,
// layers, clear errors, and the feature-extraction recipe (featurize -> classic).
#include "tiny_checkpoint.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using Catch::Matchers::Contains;
using graft::testing::read_text;
using graft::testing::rows_text;
using graft::testing::run_stage;
using graft::testing::tiny_checkpoint;
using graft::testing::StageRun;
using graft::testing::TempDir;
using graft::testing::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

StageRun featurize(const TempDir& dir, const std::string& name, const fs::path& data, json params = json::object()) {
    fs::create_directories(dir / name);
    return run_stage("featurize", params, {{"model", tiny_checkpoint()}, {"data", data}}, dir / name);
}

std::vector<json> lines(const fs::path& file) {
    std::ifstream in(file);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}

}  // namespace

TEST_CASE("featurize writes a header and one d_model-wide row per input, deterministically", "[featurize]") {
    TempDir dir;
    const auto data = dir.write("data.jsonl", rows_text(10, 0));
    const auto a = featurize(dir, "a", data);
    const auto b = featurize(dir, "b", data);
    INFO(a.error);
    REQUIRE(a.status == 0);
    REQUIRE(b.status == 0);
    const auto rows = lines(a.outputs.at("features"));
    REQUIRE(rows.size() == 11);
    CHECK(rows[0]["format"] == "graft.features/1");
    CHECK(rows[0]["dim"] == 16);
    CHECK(rows[0]["rows"] == 10);
    CHECK(rows[0]["layer"] == 1);
    CHECK(rows[0]["pooling"] == "mean");
    for (std::size_t i = 1; i < rows.size(); ++i) {
        CHECK(rows[i]["features"].size() == 16);
        CHECK(rows[i]["label"] == ((i - 1) % 2 == 0 ? "pos" : "neg"));
    }
    CHECK(a.metrics.at("dim") == 16);
    CHECK(read_text(a.outputs.at("features")) == read_text(b.outputs.at("features")));
}

TEST_CASE("featurize mean pooling ignores padding", "[featurize]") {
    TempDir dir;
    // A short row next to a long one: in one batch of 2 the short row is padded.
    const auto data = dir.write("data.jsonl",
                                json{{"text", "film"}, {"label", "a"}}.dump() + "\n" +
                                    json{{"text", "great wonderful film loved it great great"}, {"label", "b"}}.dump() + "\n");
    for (const char* pooling : {"mean", "cls"}) {
        const auto padded = featurize(dir, std::string("padded-") + pooling, data, {{"batch_size", 2}, {"pooling", pooling}});
        const auto alone = featurize(dir, std::string("alone-") + pooling, data, {{"batch_size", 1}, {"pooling", pooling}});
        REQUIRE(padded.status == 0);
        REQUIRE(alone.status == 0);
        const auto p = lines(padded.outputs.at("features"))[1]["features"].get<std::vector<double>>();
        const auto q = lines(alone.outputs.at("features"))[1]["features"].get<std::vector<double>>();
        REQUIRE(p.size() == q.size());
        for (std::size_t i = 0; i < p.size(); ++i) CHECK(p[i] == Approx(q[i]).margin(1e-5));
    }
}

TEST_CASE("featurize pools the requested layer and rejects one the checkpoint lacks", "[featurize]") {
    TempDir dir;
    const auto data = dir.write("data.jsonl", rows_text(4, 0));
    const auto emb = featurize(dir, "emb", data, {{"layer", 0}});
    const auto last = featurize(dir, "last", data);
    REQUIRE(emb.status == 0);
    REQUIRE(last.status == 0);
    const auto e = lines(emb.outputs.at("features"));
    CHECK(e[0]["layer"] == 0);
    CHECK(e[1]["features"] != lines(last.outputs.at("features"))[1]["features"]);
    const auto bad = featurize(dir, "bad", data, {{"layer", 2}});
    CHECK(bad.status != 0);
    CHECK_THAT(bad.error, Contains("layer = 2") && Contains("has 1 layer(s)"));
    const auto notext = featurize(dir, "notext", dir.write("notext.jsonl", "{\"body\": \"x\"}\n"));
    CHECK(notext.status != 0);
    CHECK_THAT(notext.error, Contains("notext.jsonl:1: no string field 'text'"));
}

TEST_CASE("featurize then classic: the feature-extraction recipe learns a separable set", "[featurize][classic]") {
    TempDir dir;
    const auto train = featurize(dir, "train", dir.write("train.jsonl", rows_text(40, 0)));
    const auto test = featurize(dir, "test", dir.write("test.jsonl", rows_text(20, 1)));
    REQUIRE(train.status == 0);
    REQUIRE(test.status == 0);
    fs::create_directories(dir / "classic");
    const auto r = run_stage("classic", {{"standardize", true}},
                             {{"train_features", train.outputs.at("features")},
                              {"test_features", test.outputs.at("features")}},
                             dir / "classic");
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(r.metrics.at("accuracy") == Approx(1.0));
    CHECK(r.metrics.at("n_test") == 20);
}
