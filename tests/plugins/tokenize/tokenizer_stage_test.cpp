// The `tokenizer` stage run through the real plugin host, as the executor runs it.
#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <random>

using Catch::Matchers::Contains;
using graft::testing::read_text;
using graft::testing::run_stage;
using graft::testing::StageRun;
using graft::testing::TempDir;
using graft::testing::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Review-like rows over a small word list, deterministic.
fs::path dataset(const TempDir& dir, std::size_t rows, const std::string& field = "text") {
    static const char* const kWords[] = {
        "the",   "film",    "films", "was",   "great",  "not",    "good",      "acting", "actor",
        "story", "stories", "loved", "hated", "really", "boring", "wonderful", "café",   "it's"};
    std::mt19937 rng(3);
    std::string text;
    for (std::size_t r = 0; r < rows; ++r) {
        std::string s;
        for (std::size_t i = 0, n = 3 + rng() % 10; i < n; ++i)
            s += (i ? " " : "") + std::string(kWords[rng() % 18]);
        text += json{{field, s + "."}, {"label", r % 2}}.dump() + "\n";
    }
    const auto path = dir / "data.jsonl";
    write_text(path, text);
    return path;
}

StageRun tokenize(const TempDir& dir, const json& params, std::map<std::string, fs::path> inputs,
                  const std::string& out = "out") {
    fs::create_directories(dir / out);
    return run_stage("tokenizer", params, inputs, dir / out);
}

json tokenizer_json(const StageRun& run) {
    return json::parse(read_text(run.outputs.at("tokenizer") / "tokenizer.json"));
}

}  // namespace

TEST_CASE("tokenizer stage trains WordPiece and reports coverage", "[plugin][tokenize]") {
    TempDir dir;
    const auto run =
        tokenize(dir, {{"kind", "wordpiece"}, {"vocab_size", 120}, {"min_frequency", 1}},
                 {{"data", dataset(dir, 300)}});
    REQUIRE(run.status == 0);
    const auto j = tokenizer_json(run);
    CHECK(j["model"]["type"] == "WordPiece");
    CHECK(j["model"]["vocab"]["[PAD]"] == 0);
    CHECK(j["model"]["vocab"]["[MASK]"] == 4);
    CHECK(run.metrics.at("vocab_size") == j["model"]["vocab"].size());
    CHECK(run.metrics.at("vocab_size") <= 120);
    CHECK(run.metrics.at("rows") == 300);
    CHECK(run.metrics.at("unk_rate") == 0);
    CHECK(run.metrics.at("tokens_per_row") > 3);
}

TEST_CASE("tokenizer stage trains byte-level BPE deterministically", "[plugin][tokenize]") {
    TempDir dir;
    const auto data = dataset(dir, 300);
    const json params = {{"kind", "bpe"}, {"vocab_size", 300}, {"min_frequency", 1}};
    const auto a = tokenize(dir, params, {{"data", data}}, "a");
    const auto b = tokenize(dir, params, {{"data", data}}, "b");
    REQUIRE(a.status == 0);
    REQUIRE(b.status == 0);
    CHECK(read_text(a.outputs.at("tokenizer") / "tokenizer.json") ==
          read_text(b.outputs.at("tokenizer") / "tokenizer.json"));
    const auto j = tokenizer_json(a);
    CHECK(j["model"]["type"] == "BPE");
    CHECK(j["added_tokens"][0]["content"] == "<|endoftext|>");
    CHECK(a.metrics.at("vocab_size") == 300);
    CHECK(a.metrics.at("unk_rate") == 0);
}

TEST_CASE("tokenizer stage honours text_field and max_rows", "[plugin][tokenize]") {
    TempDir dir;
    const auto run = tokenize(
        dir,
        {{"kind", "wordpiece"}, {"vocab_size", 100}, {"text_field", "review"}, {"max_rows", 40}},
        {{"data", dataset(dir, 300, "review")}});
    REQUIRE(run.status == 0);
    CHECK(run.metrics.at("rows") == 40);
}

TEST_CASE("tokenizer stage imports GPT-2 files from a directory relative to the pipeline",
          "[plugin][tokenize]") {
    TempDir dir;
    // A tiny GPT-2-format pair under the pipeline directory (the runner's pipeline dir is out/).
    write_text(dir / "out/g2/encoder.json", R"({"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3})");
    write_text(dir / "out/g2/vocab.bpe", "#version: 0.2\na b\n");
    const auto run = tokenize(dir, {{"kind", "gpt2"}, {"gpt2_dir", "g2"}}, {});
    REQUIRE(run.status == 0);
    const auto j = tokenizer_json(run);
    CHECK(j["model"]["merges"] == json::array({"a b"}));
    CHECK(run.metrics.at("vocab_size") == 4);
    CHECK(run.metrics.count("rows") == 0);  // no data, no coverage

    // The same files through input 'gpt2' (hashed by graft), which wins over gpt2_dir.
    const auto via_input =
        tokenize(dir, {{"kind", "gpt2"}, {"gpt2_dir", "nowhere"}}, {{"gpt2", dir / "out/g2"}}, "b");
    REQUIRE(via_input.status == 0);
    CHECK(via_input.metrics.at("vocab_size") == 4);
}

TEST_CASE("tokenizer stage imports the real GPT-2 files and measures coverage",
          "[plugin][tokenize]") {
    const fs::path gpt2 = fs::path(GRAFT_SOURCE_DIR) / "data/gpt2";
    if (!fs::exists(gpt2 / "encoder.json"))
        FAIL(gpt2.string() << " is missing: run scripts/setup.sh");
    TempDir dir;
    const auto run = tokenize(dir, {{"kind", "gpt2"}, {"gpt2_dir", gpt2.string()}},
                              {{"data", dataset(dir, 50)}});
    REQUIRE(run.status == 0);
    CHECK(run.metrics.at("vocab_size") == 50257);
    CHECK(run.metrics.at("unk_rate") == 0);
    CHECK(run.metrics.at("rows") == 50);
}

TEST_CASE("tokenizer stage errors say what to fix", "[plugin][tokenize][errors]") {
    TempDir dir;
    auto run = tokenize(dir, {{"kind", "wordpiece"}}, {});
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Contains("trains on input 'data'"));

    run =
        tokenize(dir, {{"kind", "wordpiece"}, {"text_field", "body"}}, {{"data", dataset(dir, 5)}});
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Contains("data.jsonl:1: no string field 'body'") &&
                              Contains("the row has: label, text"));

    run = tokenize(dir, {{"kind", "gpt2"}}, {});
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Contains("connect input 'gpt2'") && Contains("or set gpt2_dir"));

    run = tokenize(dir, {{"kind", "gpt2"}, {"gpt2_dir", "nowhere"}}, {});
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Contains("gpt2_dir = \"nowhere\": encoder.json not found") &&
                              Contains("scripts/setup.sh"));

    write_text(dir / "empty.jsonl", "");
    run = tokenize(dir, {{"kind", "bpe"}}, {{"data", dir / "empty.jsonl"}});
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Contains("has no rows"));

    run = tokenize(dir, {{"kind", "bpe"}, {"vocab_size", 100}}, {{"data", dataset(dir, 5)}});
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Contains("256 byte symbols"));
}
