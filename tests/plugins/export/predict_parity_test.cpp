// export -> graft predict gives the logits of the evaluate stage: the same weights, tokenizer,
// truncation (the manifest's max_len) and forward pass, within 1e-5.
#include "plugins/export/export_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

using namespace graft::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<json> read_jsonl(const std::string& text) {
    std::vector<json> rows;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) rows.push_back(json::parse(line));
    return rows;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
    return d;
}

}  // namespace

TEST_CASE("graft predict on the exported bundle reproduces evaluate's logits within 1e-5", "[export][predict][parity]") {
    auto& f = export_fixture();
    // evaluate and export both cut inputs at 12 tokens; the model itself takes 32.
    const std::string long_text =
        "great wonderful film loved it superb story great wonderful film awful boring film hated it dull "
        "plot terrible acting a superb cast and a moving story loved it";
    const std::vector<std::string> texts = {"great wonderful film loved it", "awful boring film hated it",
                                            "a moving story", "dull", long_text, "terrible acting but a superb cast"};
    std::string rows, stdin_rows;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        rows += json{{"text", texts[i]}, {"label", i % 2 ? "neg" : "pos"}}.dump() + "\n";
        stdin_rows += json{{"text", texts[i]}}.dump() + "\n";
    }
    write_text(f.dir / "parity.jsonl", rows);
    write_text(f.dir / "parity_stdin.jsonl", stdin_rows);

    // Which texts the 12-token cut shortens ([CLS] pieces [SEP]): some, not all.
    const auto tok = graft::ml::Tokenizer::load(f.tokenizer / "tokenizer.json");
    std::vector<bool> cut;
    for (const auto& t : texts) cut.push_back(tok.encode(t).ids.size() + 2 > 12);
    const auto n_cut = std::count(cut.begin(), cut.end(), true);
    REQUIRE(n_cut >= 1);
    REQUIRE(n_cut < static_cast<long>(texts.size()));
    REQUIRE(cut[4]);

    TempDir eval_dir("export-eval");
    const auto ev = run_stage("evaluate", {{"max_len", 12}},
                              {{"model", f.classifier}, {"data", f.dir / "parity.jsonl"}}, eval_dir.path());
    INFO(ev.error);
    REQUIRE(ev.status == 0);
    const std::string cut_log = std::to_string(n_cut) + " rows longer than 12 tokens were truncated";
    CHECK(std::any_of(ev.logs.begin(), ev.logs.end(),
                      [&](const std::string& l) { return l.find(cut_log) != std::string::npos; }));
    const auto evaluated = read_jsonl(read_text(ev.outputs.at("predictions")));
    REQUIRE(evaluated.size() == texts.size());

    const auto ex = run_export({{"max_len", 12}, {"latency_runs", 0}}, {{"model", f.classifier}});
    INFO(ex.error);
    REQUIRE(ex.status == 0);
    const auto bundle = ex.outputs.at("bundle");
    // Batches of 4 + 2 here, one of 6 in evaluate: padding must not matter either.
    const auto p = run_graft_predict("'" + bundle.string() + "' --batch-size 4", f.dir / "parity_stdin.jsonl");
    INFO(p.err);
    REQUIRE(p.rc == 0);
    const auto predicted = read_jsonl(p.out);
    REQUIRE(predicted.size() == texts.size());

    for (std::size_t i = 0; i < texts.size(); ++i) {
        INFO("row " << i << ": " << texts[i]);
        const auto a = evaluated[i].at("logits").get<std::vector<double>>();
        const auto b = predicted[i].at("logits").get<std::vector<double>>();
        CHECK(max_abs_diff(a, b) <= 1e-5);
        CHECK(predicted[i].at("label") == evaluated[i].at("pred"));
        for (const auto& [label, prob] : evaluated[i].at("scores").items())
            CHECK(std::abs(predicted[i].at("probabilities").at(label).get<double>() - prob.get<double>()) <= 1e-6);
    }

    // The truncation is the manifest's: the checkpoint alone (max_len 32) sees the whole of the
    // texts the bundle cuts and scores them differently, by 10x the parity tolerance so that the
    // comparison above would catch a truncation mismatch; the others score the same.
    const auto whole = run_graft_predict("'" + f.classifier.string() + "'", f.dir / "parity_stdin.jsonl");
    REQUIRE(whole.rc == 0);
    const auto untruncated = read_jsonl(whole.out);
    REQUIRE(untruncated.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        INFO("row " << i << ": " << texts[i] << (cut[i] ? " (cut)" : ""));
        const double d = max_abs_diff(untruncated[i].at("logits").get<std::vector<double>>(),
                                      predicted[i].at("logits").get<std::vector<double>>());
        if (cut[i]) CHECK(d > 1e-4);
        else CHECK(d <= 1e-5);
    }
}

TEST_CASE("graft predict cuts long texts the way the classifier was fine-tuned (its truncation)",
          "[export][predict][truncation]") {
    auto& f = export_fixture();
    TempDir dir("predict-truncation");
    const auto ft = run_stage("finetune",
                              {{"strategy", "scratch"}, {"d_model", 16}, {"n_layers", 1}, {"n_heads", 2}, {"d_ff", 32},
                               {"max_len", 32}, {"epochs", 3}, {"batch_size", 8}, {"lr", 1e-2}, {"patience", 0},
                               {"truncation", "head_tail"}},
                              {{"train", f.dir / "train.jsonl"}, {"val", f.dir / "val.jsonl"}, {"tokenizer", f.tokenizer}},
                              dir.path());
    INFO(ft.error);
    REQUIRE(ft.status == 0);
    const auto model = ft.outputs.at("model");
    // A start and an end that differ, far longer than 12 tokens: which end is kept shows.
    const std::string text = "awful boring film hated it dull plot terrible acting awful boring film great wonderful "
                             "film loved it superb story a superb cast and a moving story loved it";
    write_text(dir / "long.jsonl", json{{"text", text}, {"label", "pos"}}.dump() + "\n");
    write_text(dir / "long_stdin.jsonl", json{{"text", text}}.dump() + "\n");

    auto evaluate = [&](const std::string& name, json params) {
        params["max_len"] = 12;
        std::filesystem::create_directories(dir / name);
        const auto ev = run_stage("evaluate", params, {{"model", model}, {"data", dir / "long.jsonl"}}, dir / name);
        INFO(ev.error);
        REQUIRE(ev.status == 0);
        return read_jsonl(read_text(ev.outputs.at("predictions"))).at(0).at("logits").get<std::vector<double>>();
    };
    const auto followed = evaluate("eval-model", json::object());
    const auto head = evaluate("eval-head", {{"truncation", "head"}});
    REQUIRE(max_abs_diff(followed, head) > 1e-4);  // the two cuts score differently

    const auto p = run_graft_predict("'" + model.string() + "' --max-len 12", dir / "long_stdin.jsonl");
    INFO(p.err);
    REQUIRE(p.rc == 0);
    const auto predicted = read_jsonl(p.out).at(0).at("logits").get<std::vector<double>>();
    CHECK(max_abs_diff(predicted, followed) <= 1e-5);
}
