// End to end: a pipeline fine-tunes a tiny classifier, evaluates and exports it; `graft predict`
// (the graft binary execs graft-predict) serves the bundle from the cache and agrees with the
// evaluate stage's predictions; a second run restores everything from the cache.
#include "e2e/e2e_support.hpp"

#include <cmath>
#include <sstream>

namespace graft::e2e {
namespace {

constexpr const char* kPipeline = R"(
[pipeline]
name = "export-e2e"
seed = 5

[stages.tok]
uses = "tokenizer"
inputs = { data = "train.jsonl" }
[stages.tok.params]
kind = "wordpiece"
vocab_size = 60
min_frequency = 1

[stages.ft]
uses = "finetune"
inputs = { train = "train.jsonl", val = "val.jsonl", tokenizer = "tok.tokenizer" }
[stages.ft.params]
strategy = "scratch"
d_model = 16
n_layers = 1
n_heads = 2
d_ff = 32
max_len = 32
epochs = 6
batch_size = 8
lr = 1e-2

[stages.eval]
uses = "evaluate"
inputs = { model = "ft.model", data = "test.jsonl" }
[stages.eval.params]
max_len = 16

[stages.export]
uses = "export"
inputs = { model = "ft.model", data = "test.jsonl" }
[stages.export.params]
max_len = 16
latency_runs = 5
)";

std::string rows(int n, int offset) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        const bool pos = (i + offset) % 2 == 0;
        std::string text = pos ? "great wonderful film loved it" : "awful boring film hated it";
        for (int k = 0; k < i % 3; ++k) text += pos ? " superb" : " dull";
        out += nlohmann::json{{"text", text}, {"label", pos ? "pos" : "neg"}}.dump() + "\n";
    }
    return out;
}

TEST_CASE("export in a pipeline: graft predict serves the cached bundle like evaluate scores it", "[e2e][export]") {
    Project p(kPipeline);
    p.write("train.jsonl", rows(32, 0));
    p.write("val.jsonl", rows(8, 1));
    p.write("test.jsonl", rows(2, 0));  // one of each class; every predict call starts LibTorch
    const auto r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    const auto metrics = nlohmann::json::parse(p.graft("metrics", {"--json"}).out);
    CHECK(metrics.at("export").at("latency_p50_ms").get<double>() > 0);
    CHECK(metrics.at("export").at("parameters").get<double>() > 0);

    const fs::path bundle = p.output_of("export", "bundle");
    REQUIRE(fs::exists(bundle / "manifest.json"));
    std::istringstream evaluated(read_text(p.output_of("eval", "predictions")));
    std::string line;
    std::vector<std::string> texts;
    std::istringstream test_rows(p.read("test.jsonl"));
    while (std::getline(test_rows, line)) texts.push_back(nlohmann::json::parse(line).at("text"));
    for (const auto& text : texts) {
        REQUIRE(std::getline(evaluated, line));
        const auto ev = nlohmann::json::parse(line);
        // graft predict BUNDLE --text: the label, then "  <label>\t<probability to 6 places>" lines.
        const auto pr = run_graft({"predict", bundle.string(), "--text", text}, p.dir());
        INFO(text << "\n" << describe(pr));
        REQUIRE(pr.code == 0);
        std::istringstream out(pr.out);
        std::string label;
        REQUIRE(std::getline(out, label));
        CHECK(label == ev.at("pred").get<std::string>());
        std::string cls;
        double prob = 0;
        int classes = 0;
        while (out >> cls >> prob) {
            ++classes;
            CHECK(std::abs(prob - ev.at("scores").at(cls).get<double>()) <= 1e-6);
        }
        CHECK(classes == 2);
    }

    const auto again = p.run();
    INFO(describe(again));
    REQUIRE(again.code == 0);
    CHECK(again.err.find("running export") == std::string::npos);
}

}  // namespace
}  // namespace graft::e2e
