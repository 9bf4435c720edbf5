// The multitask stage through the real host, on the transfer tests' tiny pretrained checkpoint:
// a sentiment task and a tagging task share the encoder; each output is an ordinary checkpoint
// that the evaluate stage scores as the stage did; bad task declarations fail naming the param.
#include "plugins/transfer/tiny_checkpoint.hpp"

#include "ml/model/checkpoint.hpp"

#include <catch2/catch.hpp>

using namespace graft::testing;
using Catch::Matchers::Contains;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Tagging over the checkpoint's words: adjectives vs the rest.
std::string tagged(int n, int offset) {
    static const std::vector<std::string> words = {"great", "film", "awful", "it", "boring", "loved", "wonderful", "hated"};
    std::string out;
    for (int i = 0; i < n; ++i) {
        json tokens = json::array(), tags = json::array();
        for (int k = 0; k < 2 + (i + offset) % 4; ++k) {
            const auto& w = words[static_cast<std::size_t>(i * 3 + k + offset) % words.size()];
            tokens.push_back(w);
            tags.push_back(w == "great" || w == "awful" || w == "boring" || w == "wonderful" ? "adj" : "other");
        }
        out += json{{"tokens", tokens}, {"tags", tags}}.dump() + "\n";
    }
    return out;
}

struct Data {
    TempDir dir;
    fs::path sent_train, sent_val, pos_train, pos_val;
    Data()
        : sent_train(dir.write("s_train.jsonl", rows_text(32, 0))), sent_val(dir.write("s_val.jsonl", rows_text(12, 1))),
          pos_train(dir.write("p_train.jsonl", tagged(40, 0))), pos_val(dir.write("p_val.jsonl", tagged(12, 5))) {}
};

Data& data() {
    static Data d;
    return d;
}

std::map<std::string, fs::path> two_task_inputs() {
    auto& d = data();
    return {{"model", tiny_checkpoint()}, {"train_a", d.sent_train}, {"val_a", d.sent_val},
            {"train_b", d.pos_train},    {"val_b", d.pos_val}};
}

StageRun multitask(const json& params, const std::map<std::string, fs::path>& inputs = two_task_inputs()) {
    static int n = 0;
    const auto out = data().dir / ("mt" + std::to_string(++n));
    fs::create_directories(out);
    json p = {{"tasks", {"sentiment", "pos"}}, {"kinds", {"sequence_classification", "token_classification"}},
              {"epochs", 3}, {"batch_size", 8}, {"lr", 1e-2}, {"max_len", 16}, {"patience", 0},
              {"classifier_dropout", 0.0}};
    p.update(params);
    return run_stage("multitask", p, inputs, out);
}

}  // namespace

TEST_CASE("multitask trains two heads on one encoder into checkpoints evaluate accepts", "[multitask][stage]") {
    const auto r = multitask({{"schedule", "round_robin"}, {"loss_weights", {1.0, 0.5}}});
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(r.metrics.count("sentiment_val_accuracy") == 1);
    CHECK(r.metrics.count("pos_val_accuracy") == 1);
    CHECK(r.metrics.at("val_score") ==
          Approx((r.metrics.at("sentiment_val_accuracy") + 0.5 * r.metrics.at("pos_val_accuracy")) / 1.5));
    CHECK(r.metrics.at("pos_val_accuracy") > 0.6);
    CHECK(r.metrics.at("sentiment_batches_trained") == r.metrics.at("pos_batches_trained"));  // round robin

    const auto a = graft::ml::load_checkpoint(r.outputs.at("model_a"));
    const auto b = graft::ml::load_checkpoint(r.outputs.at("model_b"));
    CHECK(a.model->head_kind() == graft::ml::HeadKind::sequence_classification);
    CHECK(b.model->head_kind() == graft::ml::HeadKind::token_classification);
    CHECK(b.model->architecture().labels == std::vector<std::string>{"adj", "other"});
    CHECK(a.config.extra.at("multitask").at("task") == "sentiment");
    CHECK(fs::exists(r.outputs.at("model_b") / "tokenizer.json"));
    CHECK(fs::is_empty(r.outputs.at("model_c")));
    // One encoder: identical saved encoder weights in both checkpoints, and trained (not the
    // pretrained ones).
    const auto sa = graft::ml::state_dict(*a.model), sb = graft::ml::state_dict(*b.model);
    const auto pre = graft::ml::state_dict(*graft::ml::load_checkpoint(tiny_checkpoint()).model);
    std::size_t encoder_tensors = 0, moved = 0;
    for (const auto& [name, t] : sa) {
        if (name.rfind("encoder.", 0) != 0) continue;
        ++encoder_tensors;
        CHECK(torch::equal(t, sb.at(name)));
        moved += !torch::equal(t, pre.at(name));
    }
    CHECK(encoder_tensors > 10);
    CHECK(moved > 0);

    // evaluate on each task's validation rows reproduces the stage's own validation accuracy.
    TempDir ea, eb;
    const auto va = run_stage("evaluate", {{"max_len", 16}}, {{"model", r.outputs.at("model_a")}, {"data", data().sent_val}}, ea.path());
    const auto vb = run_stage("evaluate", {{"max_len", 16}}, {{"model", r.outputs.at("model_b")}, {"data", data().pos_val}}, eb.path());
    INFO(va.error << vb.error);
    REQUIRE(va.status == 0);
    REQUIRE(vb.status == 0);
    CHECK(va.metrics.at("accuracy") == Approx(r.metrics.at("sentiment_val_accuracy")));
    CHECK(vb.metrics.at("token_accuracy") == Approx(r.metrics.at("pos_val_accuracy")));
}

TEST_CASE("multitask is deterministic for a seed, and the other schedules and a fresh encoder run", "[multitask][stage]") {
    const auto first = multitask({{"schedule", "mixed"}, {"epochs", 2}});
    const auto again = multitask({{"schedule", "mixed"}, {"epochs", 2}});
    INFO(first.error);
    REQUIRE(first.status == 0);
    REQUIRE(again.status == 0);
    for (const auto* port : {"model_a", "model_b"})
        CHECK(read_text(first.outputs.at(port) / "model.safetensors") == read_text(again.outputs.at(port) / "model.safetensors"));
    CHECK(first.metrics.at("sentiment_val_accuracy") == again.metrics.at("sentiment_val_accuracy"));

    auto inputs = two_task_inputs();
    inputs.erase("model");
    inputs["tokenizer"] = tiny_checkpoint();  // its tokenizer.json; no encoder taken from it
    const auto fresh = multitask({{"schedule", "proportional"}, {"epochs", 1}, {"d_model", 16}, {"n_heads", 2},
                                  {"n_layers", 1}, {"d_ff", 32}}, inputs);
    INFO(fresh.error);
    REQUIRE(fresh.status == 0);
    CHECK(fresh.metrics.at("sentiment_rows_trained") == 32);
    CHECK(fresh.metrics.at("pos_rows_trained") == 40);
}

TEST_CASE("multitask keeps the checkpoint's dropout unless told otherwise", "[multitask][stage][dropout]") {
    const auto encoder = [](const fs::path& model) {
        return json::parse(read_text(model / "config.json"))["architecture"]["encoder"];
    };
    const json pretrained = encoder(tiny_checkpoint());
    SECTION("default -1: every task's checkpoint has the pretrained rates") {
        const auto r = multitask({{"epochs", 1}});
        INFO(r.error);
        REQUIRE(r.status == 0);
        for (const auto* port : {"model_a", "model_b"}) {
            CHECK(encoder(r.outputs.at(port))["dropout"] == pretrained["dropout"]);
            CHECK(encoder(r.outputs.at(port))["attention_dropout"] == pretrained["attention_dropout"]);
        }
    }
    SECTION("a rate overrides them for the shared encoder, and for a fresh one") {
        const auto r = multitask({{"epochs", 1}, {"dropout", 0.25}, {"attention_dropout", 0.0}});
        INFO(r.error);
        REQUIRE(r.status == 0);
        REQUIRE(pretrained["dropout"].get<double>() != Approx(0.25));
        for (const auto* port : {"model_a", "model_b"}) {
            CHECK(encoder(r.outputs.at(port))["dropout"].get<double>() == Approx(0.25));
            CHECK(encoder(r.outputs.at(port))["attention_dropout"].get<double>() == 0.0);
        }
        auto inputs = two_task_inputs();
        inputs.erase("model");
        inputs["tokenizer"] = tiny_checkpoint();
        const auto fresh = multitask({{"epochs", 1}, {"d_model", 16}, {"n_heads", 2}, {"n_layers", 1}, {"d_ff", 32},
                                      {"dropout", 0.3}}, inputs);
        INFO(fresh.error);
        REQUIRE(fresh.status == 0);
        CHECK(encoder(fresh.outputs.at("model_a"))["dropout"].get<double>() == Approx(0.3));
    }
}

TEST_CASE("multitask's truncation goes to its sequence classifiers, position_bias to a fresh encoder",
          "[multitask][stage][truncation]") {
    const auto head_options = [](const fs::path& model) {
        return json::parse(read_text(model / "config.json"))["architecture"]["head_options"];
    };
    const auto r = multitask({{"epochs", 1}, {"truncation", "head_tail"}});
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(head_options(r.outputs.at("model_a"))["truncation"] == "head_tail");
    CHECK_FALSE(head_options(r.outputs.at("model_b")).contains("truncation"));  // the tagger keeps the head

    auto inputs = two_task_inputs();
    inputs.erase("model");
    inputs["tokenizer"] = tiny_checkpoint();
    const auto fresh = multitask({{"epochs", 1}, {"d_model", 16}, {"n_heads", 2}, {"n_layers", 1}, {"d_ff", 32},
                                  {"position_bias", "alibi"}, {"truncation", "tail"}}, inputs);
    INFO(fresh.error);
    REQUIRE(fresh.status == 0);
    const auto a = graft::ml::load_checkpoint(fresh.outputs.at("model_a"));
    CHECK(a.model->architecture().encoder.position_bias() == "alibi");
    CHECK(a.model->architecture().truncation == graft::ml::Truncation::tail);

    // Only taggers: a truncation other than head is refused, saying why.
    auto& d = data();
    const auto tags_only = multitask({{"tasks", {"pos"}}, {"kinds", {"token_classification"}}, {"truncation", "tail"}},
                                     {{"model", tiny_checkpoint()}, {"train_a", d.pos_train}, {"val_a", d.pos_val}});
    CHECK(tags_only.status != 0);
    CHECK_THAT(tags_only.error, Contains("truncation = \"tail\"") && Contains("token classification"));
}

TEST_CASE("multitask rejects bad task declarations, naming the param", "[multitask][stage]") {
    auto r = multitask({{"loss_weights", {1.0}}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Contains("'loss_weights' has 1 entries but tasks names 2"));
    r = multitask({{"kinds", {"sequence_classification", "mlm"}}});
    CHECK_THAT(r.error, Contains("'kinds': 'mlm' (task 'pos')"));
    r = multitask({{"tasks", {"sentiment", "sentiment"}}});
    CHECK_THAT(r.error, Contains("names 'sentiment' twice"));
    r = multitask({{"tasks", {"Sentiment", "pos"}}});
    CHECK_THAT(r.error, Contains("'Sentiment' is not a valid task name"));
    r = multitask({{"loss_weights", {0.0, 0.0}}});
    CHECK_THAT(r.error, Contains("every weight is 0"));
    r = multitask({{"fields", {{"ner", {{"tokens", "words"}}}}}});
    CHECK_THAT(r.error, Contains("'fields' has an entry for 'ner'"));
    r = multitask({{"fields", {{"pos", {{"word", "w"}}}}}});
    CHECK_THAT(r.error, Contains("'fields.pos.word': unknown key"));

    auto inputs = two_task_inputs();
    inputs.erase("val_b");
    r = multitask(json::object(), inputs);
    CHECK_THAT(r.error, Contains("task 'pos' (the second in tasks)") && Contains("connect val_b"));
    inputs = two_task_inputs();
    inputs["train_c"] = data().sent_train;
    r = multitask(json::object(), inputs);
    CHECK_THAT(r.error, Contains("input train_c is connected but tasks names only 2 task(s)"));
}

TEST_CASE("multitask rejects bad task data, naming the task and its file", "[multitask][stage]") {
    TempDir dir;
    auto inputs = two_task_inputs();
    inputs["val_a"] = dir.write("odd.jsonl", json{{"text", "great film"}, {"label", "meh"}}.dump() + "\n");
    auto r = multitask(json::object(), inputs);
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Contains("task 'sentiment' (train_a/val_a)") && Contains("odd.jsonl: row 1 has label 'meh'") &&
                            Contains("neg, pos"));
    inputs = two_task_inputs();
    inputs["train_b"] = dir.write("empty.jsonl", "");
    r = multitask(json::object(), inputs);
    CHECK_THAT(r.error, Contains("task 'pos' (train_b/val_b)") && Contains("empty.jsonl is empty"));
    inputs = two_task_inputs();
    inputs["train_b"] = data().sent_train;  // text rows where tagged rows are expected
    r = multitask(json::object(), inputs);
    CHECK_THAT(r.error, Contains("task 'pos'") && Contains("no non-empty array field 'tokens'"));
}
