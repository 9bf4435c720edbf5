// finetune (task = token_classification) and evaluate on tagged rows, on the tiny checkpoint: the
// tagger learns a word -> tag toy task, predictions come one per word (first sub-word labelling),
// and malformed rows fail naming file and line.
#include "tiny_checkpoint.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <random>

using namespace graft::testing;
using Catch::Matchers::Contains;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Sentences over the checkpoint's vocabulary; each word's tag follows from the word.
std::string tagged_rows(int n, unsigned seed) {
    static const std::pair<const char*, const char*> kWords[] = {
        {"great", "jj"}, {"wonderful", "jj"}, {"awful", "jj"}, {"boring", "jj"},
        {"film", "nn"},  {"loved", "vbd"},    {"hated", "vbd"}, {"it", "pps"}};
    std::mt19937 rng(seed);
    std::string out;
    for (int i = 0; i < n; ++i) {
        json tokens = json::array(), tags = json::array();
        for (unsigned k = 0, len = 3 + rng() % 6; k < len; ++k) {
            const auto& [w, t] = kWords[rng() % 8];
            tokens.push_back(w);
            tags.push_back(t);
        }
        out += json{{"tokens", tokens}, {"tags", tags}}.dump() + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("finetune and evaluate a token classifier with first-subword labels", "[finetune][tagging]") {
    TempDir dir;
    const auto train = dir.write("train.jsonl", tagged_rows(80, 1));
    const auto val = dir.write("val.jsonl", tagged_rows(20, 2));
    const auto test = dir.write("test.jsonl", tagged_rows(20, 3));
    fs::create_directories(dir / "ft");
    const auto ft = run_stage("finetune",
                              {{"task", "token_classification"}, {"epochs", 6}, {"batch_size", 8},
                               {"lr", 3e-2}, {"max_len", 16}, {"patience", 0}, {"classifier_dropout", 0.0}},
                              {{"train", train}, {"val", val}, {"model", tiny_checkpoint()}}, dir / "ft");
    INFO(ft.error);
    REQUIRE(ft.status == 0);
    const json config = json::parse(read_text(ft.outputs.at("model") / "config.json"));
    CHECK(config["architecture"]["head"] == "token_classification");
    CHECK(config["architecture"]["labels"] == json::array({"jj", "nn", "pps", "vbd"}));
    CHECK(ft.metrics.at("val_accuracy") > 0.9);

    fs::create_directories(dir / "ev");
    const auto ev = run_stage("evaluate", {{"max_len", 16}}, {{"model", ft.outputs.at("model")}, {"data", test}}, dir / "ev");
    INFO(ev.error);
    REQUIRE(ev.status == 0);
    CHECK(ev.metrics.at("token_accuracy") > 0.9);
    CHECK(ev.metrics.count("macro_f1") == 1);
    // One prediction per word (long sentences cut at max_len lose their tail words).
    std::ifstream preds(ev.outputs.at("predictions"));
    std::size_t predicted = 0;
    for (std::string line; std::getline(preds, line);) {
        const auto row = json::parse(line);
        CHECK(row["pred"].size() <= row["tokens"].size());
        predicted += row["pred"].size();
    }
    CHECK(static_cast<double>(predicted) == ev.metrics.at("words"));
    const json report = json::parse(read_text(ev.outputs.at("metrics")));
    CHECK(report["task"] == "token_classification");
}

TEST_CASE("token classification rejects rows whose tokens and tags disagree", "[finetune][tagging]") {
    TempDir dir;
    const auto bad = dir.write("bad.jsonl", "{\"tokens\": [\"great\", \"film\"], \"tags\": [\"jj\"]}\n");
    const auto notags = dir.write("notags.jsonl", "{\"text\": \"great film\"}\n");
    fs::create_directories(dir / "a");
    fs::create_directories(dir / "b");
    const auto a = run_stage("finetune", {{"task", "token_classification"}},
                             {{"train", bad}, {"val", bad}, {"model", tiny_checkpoint()}}, dir / "a");
    CHECK(a.status != 0);
    CHECK_THAT(a.error, Contains("bad.jsonl:1: 2 tokens but 1 tags"));
    const auto b = run_stage("finetune", {{"task", "token_classification"}},
                             {{"train", notags}, {"val", notags}, {"model", tiny_checkpoint()}}, dir / "b");
    CHECK(b.status != 0);
    CHECK_THAT(b.error, Contains("notags.jsonl:1: no non-empty array field 'tokens'"));
}
