// Per-layer head counts and feed-forward sizes (the shape of structurally pruned models): tensor
// shapes, validation, the optional config.json keys and a checkpoint round trip.
#include "ml/model/checkpoint.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace graft::ml;

namespace {

TransformerEncoderOptions base() {
    return TransformerEncoderOptions(30).max_len(8).d_model(16).n_layers(3).n_heads(4).d_ff(32)
        .dropout(0.0).attention_dropout(0.0);
}

struct TempDir {
    TempDir() {
        std::random_device device;
        path = std::filesystem::temp_directory_path() /
               ("graft-widths-test-" + std::to_string(device()) + std::to_string(device()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::filesystem::path path;
};

}  // namespace

TEST_CASE("per-layer widths shape the attention and feed-forward tensors", "[ml][model][widths]") {
    auto o = base().layer_heads({4, 1, 3}).layer_d_ff({32, 5, 17});
    CHECK_FALSE(o.uniform());
    CHECK(base().uniform());
    CHECK(o.head_dim() == 4);
    TransformerEncoder encoder(o);
    const auto& layers = encoder->layers();
    const std::vector<int64_t> heads = {4, 1, 3}, ff = {32, 5, 17};
    for (size_t i = 0; i < 3; ++i) {
        const auto& a = layers[i]->attention;
        CHECK(a->n_heads() == heads[i]);
        CHECK(a->query->weight.sizes() == torch::IntArrayRef({heads[i] * 4, 16}));
        CHECK(a->value->bias.sizes() == torch::IntArrayRef({heads[i] * 4}));
        CHECK(a->output->weight.sizes() == torch::IntArrayRef({16, heads[i] * 4}));
        CHECK(layers[i]->feed_forward->intermediate->weight.sizes() == torch::IntArrayRef({ff[i], 16}));
        CHECK(layers[i]->feed_forward->output->weight.sizes() == torch::IntArrayRef({16, ff[i]}));
    }
    const auto ids = torch::randint(1, 30, {2, 6}, torch::kLong);
    CHECK(encoder->forward(ids).sizes() == torch::IntArrayRef({2, 6, 16}));
}

TEST_CASE("per-layer widths are validated with the option named", "[ml][model][widths]") {
    CHECK_THROWS_WITH(TransformerEncoder(base().layer_heads({4, 4})),
                      Catch::Contains("layer_heads has 2 entries but the model has n_layers = 3"));
    CHECK_THROWS_WITH(TransformerEncoder(base().layer_heads({4, 5, 4})),
                      Catch::Contains("layer_heads[1] must be in [1, n_heads = 4], got 5"));
    CHECK_THROWS_WITH(TransformerEncoder(base().layer_d_ff({32, 0, 32})),
                      Catch::Contains("layer_d_ff[1] must be in [1"));
}

TEST_CASE("config.json writes layer widths only when set and reads them back", "[ml][model][widths]") {
    const auto uniform = encoder_options_to_json(base());
    CHECK_FALSE(uniform.contains("layer_heads"));
    CHECK_FALSE(uniform.contains("layer_d_ff"));
    CHECK(encoder_options_from_json(uniform, "cfg").layer_heads().empty());

    const auto json = encoder_options_to_json(base().layer_heads({2, 3, 4}).layer_d_ff({8, 9, 10}));
    const auto back = encoder_options_from_json(json, "cfg");
    CHECK(back.layer_heads() == std::vector<int64_t>{2, 3, 4});
    CHECK(back.layer_d_ff() == std::vector<int64_t>{8, 9, 10});

    auto bad = json;
    bad["layer_heads"] = "2,3,4";
    CHECK_THROWS_WITH(encoder_options_from_json(bad, "cfg.encoder"),
                      Catch::Contains("cfg.encoder: \"layer_heads\" must be an array of integers"));
    bad["layer_heads"] = {2, 3};
    CHECK_THROWS_WITH(encoder_options_from_json(bad, "cfg.encoder"),
                      Catch::Contains("cfg.encoder: transformer option layer_heads has 2 entries"));
}

TEST_CASE("a model with per-layer widths round-trips through a checkpoint", "[ml][model][widths]") {
    ModelArchitecture a;
    a.head = HeadKind::sequence_classification;
    a.labels = {"neg", "pos"};
    a.pooling = "mean";
    a.encoder = base().layer_heads({1, 2, 4}).layer_d_ff({3, 32, 7});
    torch::manual_seed(5);
    auto model = build_model(a);
    model->eval();
    TempDir dir;
    save_checkpoint(dir.path, *model);
    auto loaded = load_checkpoint(dir.path);
    CHECK(loaded.model->architecture().encoder.layer_heads() == std::vector<int64_t>{1, 2, 4});
    const auto ids = torch::randint(1, 30, {3, 7}, torch::kLong);
    const auto mask = torch::ones_like(ids);
    torch::NoGradGuard no_grad;
    CHECK(torch::equal(model->forward(ids, mask), loaded.model->forward(ids, mask)));
}
