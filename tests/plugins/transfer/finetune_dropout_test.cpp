// finetune's dropout and attention_dropout: -1 keeps the checkpoint's rates, a rate overrides them
// for fine-tuning (transfer and scratch alike), and the fine-tuned checkpoint records what it
// trained with.
#include "tiny_checkpoint.hpp"

#include <catch2/catch.hpp>

using namespace graft::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json encoder_config(const fs::path& model) {
    return json::parse(read_text(model / "config.json"))["architecture"]["encoder"];
}

json finetune(TempDir& dir, const char* name, json params) {
    const auto train = dir.write(std::string(name) + "-train.jsonl", rows_text(24, 0));
    const auto val = dir.write(std::string(name) + "-val.jsonl", rows_text(8, 1));
    params.update({{"epochs", 1}, {"batch_size", 8}, {"max_len", 16}, {"patience", 0}});
    fs::create_directories(dir / name);
    const auto r = run_stage("finetune", params, {{"train", train}, {"val", val}, {"model", tiny_checkpoint()}},
                             dir / name);
    INFO(r.error);
    REQUIRE(r.status == 0);
    return encoder_config(r.outputs.at("model"));
}

}  // namespace

TEST_CASE("finetune keeps the checkpoint's dropout unless told otherwise", "[finetune][dropout]") {
    TempDir dir;
    const json pretrained = encoder_config(tiny_checkpoint());
    SECTION("default -1: the checkpoint's rates") {
        const json e = finetune(dir, "keep", json::object());
        CHECK(e["dropout"] == pretrained["dropout"]);
        CHECK(e["attention_dropout"] == pretrained["attention_dropout"]);
    }
    SECTION("a rate overrides the pretrained encoder's") {
        const json e = finetune(dir, "set", {{"dropout", 0.25}, {"attention_dropout", 0.0}});
        CHECK(e["dropout"].get<double>() == Approx(0.25));
        CHECK(e["attention_dropout"].get<double>() == 0.0);
        CHECK(pretrained["dropout"].get<double>() != Approx(0.25));  // the override is visible
    }
    SECTION("and the scratch baseline built from the checkpoint's architecture") {
        const json e = finetune(dir, "scratch", {{"strategy", "scratch"}, {"dropout", 0.25}});
        CHECK(e["dropout"].get<double>() == Approx(0.25));
        CHECK(e["attention_dropout"] == pretrained["attention_dropout"]);
    }
}
