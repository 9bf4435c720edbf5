// The `truncation` param: finetune records it in the classifier's checkpoint, evaluate and
// featurize follow the checkpoint's by default ("model") and can be told otherwise, and token
// classification refuses anything but the head.
#include "tiny_checkpoint.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using Catch::Matchers::Contains;
using namespace graft::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

StageRun finetune(TempDir& dir, const std::string& name, json params) {
    const auto train = dir.write(name + "-train.jsonl", rows_text(24, 0));
    const auto val = dir.write(name + "-val.jsonl", rows_text(8, 1));
    params.update({{"epochs", 1}, {"batch_size", 8}, {"max_len", 16}, {"patience", 0}});
    fs::create_directories(dir / name);
    return run_stage("finetune", params, {{"train", train}, {"val", val}, {"model", tiny_checkpoint()}},
                     dir / name);
}

// Rows far longer than max_len = 16 whose start and end differ, so that which end is kept shows.
std::string long_rows() {
    std::string out;
    for (int i = 0; i < 6; ++i) {
        std::string text;
        for (int k = 0; k < 12 + i; ++k) text += i % 2 ? "great wonderful " : "awful boring ";
        for (int k = 0; k < 12; ++k) text += i % 2 ? "hated it " : "loved it ";
        out += json{{"text", text}, {"label", i % 2 ? "pos" : "neg"}}.dump() + "\n";
    }
    return out;
}

std::vector<json> lines(const fs::path& file) {
    std::ifstream in(file);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}

json head_options(const fs::path& model) {
    return json::parse(read_text(model / "config.json"))["architecture"]["head_options"];
}

}  // namespace

TEST_CASE("finetune records its truncation and evaluate and featurize follow it", "[finetune][truncation]") {
    TempDir dir;
    const auto plain = finetune(dir, "plain", json::object());
    INFO(plain.error);
    REQUIRE(plain.status == 0);
    CHECK_FALSE(head_options(plain.outputs.at("model")).contains("truncation"));  // head, the default

    const auto both = finetune(dir, "both", {{"truncation", "head_tail"}});
    INFO(both.error);
    REQUIRE(both.status == 0);
    const fs::path model = both.outputs.at("model");
    CHECK(head_options(model)["truncation"] == "head_tail");
    const auto scratch = finetune(dir, "scratch", {{"strategy", "scratch"}, {"truncation", "tail"}});
    REQUIRE(scratch.status == 0);
    CHECK(head_options(scratch.outputs.at("model"))["truncation"] == "tail");

    const auto data = dir.write("long.jsonl", long_rows());
    auto stage = [&](const std::string& type, const std::string& name, json params) {
        params["max_len"] = 16;
        fs::create_directories(dir / name);
        auto r = run_stage(type, params, {{"model", model}, {"data", data}}, dir / name);
        INFO(r.error);
        REQUIRE(r.status == 0);
        return r;
    };
    SECTION("featurize") {
        const auto follow = stage("featurize", "f-model", json::object());
        const auto told = stage("featurize", "f-both", {{"truncation", "head_tail"}});
        const auto head = stage("featurize", "f-head", {{"truncation", "head"}});
        const auto rows = lines(follow.outputs.at("features"));
        CHECK(rows[0]["truncation"] == "head_tail");
        CHECK(read_text(follow.outputs.at("features")) == read_text(told.outputs.at("features")));
        const auto head_rows = lines(head.outputs.at("features"));
        CHECK(head_rows[0]["truncation"] == "head");
        CHECK(head_rows[1]["features"] != rows[1]["features"]);  // another window of the text
    }
    SECTION("evaluate") {
        const auto follow = stage("evaluate", "e-model", json::object());
        const auto told = stage("evaluate", "e-both", {{"truncation", "head_tail"}});
        const auto tail = stage("evaluate", "e-tail", {{"truncation", "tail"}});
        CHECK(read_text(follow.outputs.at("predictions")) == read_text(told.outputs.at("predictions")));
        CHECK(lines(follow.outputs.at("predictions"))[0]["logits"] != lines(tail.outputs.at("predictions"))[0]["logits"]);
    }
}

TEST_CASE("token classification keeps the head and says so", "[finetune][truncation]") {
    TempDir dir;
    const auto r = finetune(dir, "tags", {{"task", "token_classification"}, {"truncation", "tail"}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Contains("truncation = \"tail\"") && Contains("token classification"));
}

TEST_CASE("an unknown truncation name is refused with the choices", "[finetune][truncation]") {
    TempDir dir;
    const auto r = finetune(dir, "typo", {{"truncation", "head_tial"}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Contains("head_tail"));
}
