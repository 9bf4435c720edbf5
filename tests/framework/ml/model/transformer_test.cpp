// Transformer encoder, heads and losses: masks, parameter names, freezing, training signal.
#include "ml/model/heads.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace graft::ml;

namespace {

TransformerEncoderOptions tiny_options(bool pre_ln = false) {
    return TransformerEncoderOptions(32)
        .max_len(16)
        .d_model(16)
        .n_layers(2)
        .n_heads(4)
        .d_ff(32)
        .dropout(0.0)
        .attention_dropout(0.0)
        .pre_ln(pre_ln);
}

ModelArchitecture arch(HeadKind head, bool pre_ln = false) {
    ModelArchitecture a;
    a.head = head;
    a.encoder = tiny_options(pre_ln);
    if (!a.is_language_model()) {
        a.labels = {"neg", "pos", "other"};
    }
    return a;
}

std::vector<std::string> names_of(const torch::nn::Module& module) {
    std::vector<std::string> names;
    for (const auto& item : module.named_parameters(true)) {
        names.push_back(item.key());
    }
    return names;
}

torch::Tensor random_ids(int64_t batch, int64_t length, int64_t low = 1, int64_t high = 32) {
    return torch::randint(low, high, {batch, length}, torch::kLong);
}

bool same(const torch::Tensor& a, const torch::Tensor& b, double atol = 1e-5) {
    return a.sizes() == b.sizes() && torch::allclose(a, b, 1e-4, atol);
}

}  // namespace

TEST_CASE("encoder parameter names are stable", "[ml][model]") {
    torch::manual_seed(0);
    TransformerEncoder encoder(tiny_options());
    std::vector<std::string> expected = {
        "embeddings.token.weight", "embeddings.position.weight",
        "embeddings.norm.weight", "embeddings.norm.bias"};
    for (const std::string layer : {"layers.0.", "layers.1."}) {
        for (const std::string proj : {"query", "key", "value", "output"}) {
            expected.push_back(layer + "attention." + proj + ".weight");
            expected.push_back(layer + "attention." + proj + ".bias");
        }
        for (const std::string rest :
             {"attention_norm.weight", "attention_norm.bias", "feed_forward.intermediate.weight",
              "feed_forward.intermediate.bias", "feed_forward.output.weight",
              "feed_forward.output.bias", "output_norm.weight", "output_norm.bias"}) {
            expected.push_back(layer + rest);
        }
    }
    auto actual = names_of(*encoder);
    CHECK(std::set<std::string>(actual.begin(), actual.end()) ==
          std::set<std::string>(expected.begin(), expected.end()));
    CHECK(actual.size() == expected.size());
    CHECK(encoder->named_parameters()["layers.1.attention.query.weight"].sizes() ==
          torch::IntArrayRef({16, 16}));

    TransformerEncoder pre(tiny_options(true));
    auto pre_names = names_of(*pre);
    CHECK(pre_names.size() == expected.size() + 2);
    CHECK(std::count(pre_names.begin(), pre_names.end(), "final_norm.weight") == 1);
}

TEST_CASE("task models name their heads and tie the LM decoder", "[ml][model]") {
    torch::manual_seed(0);
    LanguageModel lm(arch(HeadKind::mlm));
    auto names = names_of(*lm);
    const std::set<std::string> set(names.begin(), names.end());
    CHECK(set.count("encoder.embeddings.token.weight"));
    CHECK(set.count("head.dense.weight"));
    CHECK(set.count("head.norm.bias"));
    CHECK(set.count("head.decoder_bias"));
    CHECK_FALSE(set.count("head.decoder_weight"));  // tied: stored once, under the encoder
    CHECK(lm->named_parameters()["encoder.embeddings.token.weight"].data_ptr() ==
          std::static_pointer_cast<MaskedLMHeadImpl>(lm->head())->decoder_weight().data_ptr());

    auto untied_arch = arch(HeadKind::clm);
    untied_arch.encoder.tie_embeddings(false);
    LanguageModel untied(untied_arch);
    auto untied_names = names_of(*untied);
    CHECK(std::count(untied_names.begin(), untied_names.end(), "head.decoder_weight") == 1);

    SequenceClassifier classifier(arch(HeadKind::sequence_classification));
    auto cls_names = names_of(*classifier);
    CHECK(std::count(cls_names.begin(), cls_names.end(), "head.classifier.weight") == 1);
    CHECK(classifier->named_parameters()["head.classifier.weight"].sizes() ==
          torch::IntArrayRef({3, 16}));
    TokenClassifier tagger(arch(HeadKind::token_classification));
    CHECK(tagger->forward(random_ids(2, 5), {}).sizes() == torch::IntArrayRef({2, 5, 3}));
    CHECK(build_model(arch(HeadKind::clm))->forward(random_ids(2, 5), {}).sizes() ==
          torch::IntArrayRef({2, 5, 32}));
}

TEST_CASE("padding mask: appended padding leaves real positions unchanged", "[ml][model]") {
    for (bool pre_ln : {false, true}) {
        CAPTURE(pre_ln);
        torch::manual_seed(1);
        TransformerEncoder encoder(tiny_options(pre_ln));
        encoder->eval();
        auto ids = random_ids(2, 5);
        auto mask = torch::ones({2, 5}, torch::kLong);
        auto base = encoder->forward(ids, mask);

        // Padding positions carry arbitrary ids: only the mask may hide them.
        auto padded_ids = torch::cat({ids, random_ids(2, 3)}, 1);
        auto padded_mask = torch::cat({mask, torch::zeros({2, 3}, torch::kLong)}, 1);
        auto padded = encoder->forward(padded_ids, padded_mask.to(torch::kBool));
        CHECK(same(padded.narrow(1, 0, 5), base));
        // Without the mask the extra tokens are attended to and change the outputs.
        auto unmasked = encoder->forward(padded_ids);
        CHECK_FALSE(same(unmasked.narrow(1, 0, 5), base));
    }
    torch::manual_seed(2);
    auto a = arch(HeadKind::sequence_classification);
    a.pooling = "mean";
    SequenceClassifier classifier(a);
    classifier->eval();
    auto ids = random_ids(3, 4);
    auto logits = classifier->forward(ids, torch::ones({3, 4}, torch::kLong));
    auto padded = classifier->forward(torch::cat({ids, random_ids(3, 4)}, 1),
                                      torch::cat({torch::ones({3, 4}), torch::zeros({3, 4})}, 1));
    CHECK(same(padded, logits));
}

TEST_CASE("ALiBi: the paper's slopes, local attention from the start, padding still hidden", "[ml][model]") {
    CHECK(alibi_slopes(1) == std::vector<double>{1.0 / 256});
    CHECK(alibi_slopes(4) == std::vector<double>{1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256});
    // 6 heads: the 4-head slopes, then every other slope of the 8-head sequence (2^-1, 2^-3).
    CHECK(alibi_slopes(6) == std::vector<double>{1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256, 1.0 / 2, 1.0 / 8});

    // Zero query/key projections make every score 0, so only the bias shapes the attention:
    // head h's output at i is sum_j softmax_j(-slope_h |i - j|) v_j, v = x (identity projections).
    auto options = tiny_options().position_bias("alibi");
    MultiHeadSelfAttention attention(options);
    attention->eval();
    {
        torch::NoGradGuard no_grad;
        for (auto* lin : {&attention->query, &attention->key}) {
            (*lin)->weight.zero_();
            (*lin)->bias.zero_();
        }
        for (auto* lin : {&attention->value, &attention->output}) {
            (*lin)->weight.copy_(torch::eye(16));
            (*lin)->bias.zero_();
        }
    }
    torch::manual_seed(5);
    const int64_t T = 6;
    auto x = torch::randn({1, T, 16});
    auto out = attention->forward(x, {});
    const auto slopes = alibi_slopes(4);
    auto positions = torch::arange(T, torch::kFloat);
    auto distance = (positions.unsqueeze(0) - positions.unsqueeze(1)).abs();
    for (int64_t h = 0; h < 4; ++h) {
        CAPTURE(h);
        auto weights = torch::softmax(-slopes[static_cast<size_t>(h)] * distance, -1);  // [T, T]
        auto expected = torch::matmul(weights, x[0].narrow(1, 4 * h, 4));
        CHECK(same(out[0].narrow(1, 4 * h, 4), expected));
    }

    torch::manual_seed(6);
    TransformerEncoder encoder(tiny_options(true).position_bias("alibi"));
    encoder->eval();
    auto ids = random_ids(2, 5);
    auto base = encoder->forward(ids, torch::ones({2, 5}, torch::kLong));
    auto padded = encoder->forward(torch::cat({ids, random_ids(2, 3)}, 1),
                                   torch::cat({torch::ones({2, 5}), torch::zeros({2, 3})}, 1));
    CHECK(same(padded.narrow(1, 0, 5), base));
    CHECK_THROWS_WITH(TransformerEncoder(tiny_options().position_bias("rope")),
                      Catch::Contains("position_bias must be \"none\" or \"alibi\""));
}

TEST_CASE("causal mask: output at t ignores later tokens", "[ml][model]") {
    torch::manual_seed(3);
    TransformerEncoder encoder(tiny_options(true));
    encoder->eval();
    auto ids = random_ids(2, 8);
    auto changed = ids.clone();
    changed.narrow(1, 5, 3).add_(1).remainder_(32);  // positions 5..7 surely differ
    auto a = encoder->forward(ids, {}, true);
    auto b = encoder->forward(changed, {}, true);
    CHECK(same(a.narrow(1, 0, 5), b.narrow(1, 0, 5)));
    CHECK_FALSE(same(a.narrow(1, 5, 1), b.narrow(1, 5, 1)));
    // Bidirectional: earlier positions do see the change.
    CHECK_FALSE(same(encoder->forward(ids).narrow(1, 0, 5),
                     encoder->forward(changed).narrow(1, 0, 5)));
    // Causal with padding: still finite everywhere (fully masked rows cannot produce NaN).
    auto mask = torch::ones({2, 8}, torch::kLong);
    mask.narrow(1, 0, 2).zero_();  // left padding: position 0 sees no real token
    CHECK(torch::isfinite(encoder->forward(ids, mask, true)).all().item<bool>());
}

TEST_CASE("forward_all returns every layer's hidden states", "[ml][model]") {
    torch::manual_seed(4);
    for (bool pre_ln : {false, true}) {
        TransformerEncoder encoder(tiny_options(pre_ln));
        encoder->eval();
        auto ids = random_ids(2, 6);
        auto out = encoder->forward_all(ids, {}, false, true);
        REQUIRE(out.hidden_states.size() == 3);
        CHECK(out.hidden_states.back().equal(out.last_hidden_state));
        CHECK(out.last_hidden_state.equal(encoder->forward(ids)));
        CHECK(encoder->forward_all(ids, {}, false, false).hidden_states.empty());
    }
}

TEST_CASE("pre-LN and post-LN both learn a copy task", "[ml][model]") {
    for (bool pre_ln : {false, true}) {
        CAPTURE(pre_ln);
        torch::manual_seed(5);
        LanguageModel model(arch(HeadKind::mlm, pre_ln));
        model->train();
        torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3));
        auto ids = random_ids(8, 8);
        double first = 0.0;
        double last = 0.0;
        for (int step = 0; step < 30; ++step) {
            optimizer.zero_grad();
            auto loss = model->loss(model->forward(ids, {}), ids);  // predict each input token
            loss.backward();
            optimizer.step();
            (step == 0 ? first : last) = loss.item<double>();
        }
        CHECK(std::isfinite(last));
        CHECK(last < 0.7 * first);
    }
}

TEST_CASE("freeze_lower freezes the embeddings and the lower k layers", "[ml][model]") {
    torch::manual_seed(6);
    TransformerEncoder encoder(tiny_options(true));
    encoder->freeze_lower(1);
    for (const auto& item : encoder->named_parameters()) {
        const auto& name = item.key();
        const bool frozen = name.rfind("embeddings.", 0) == 0 || name.rfind("layers.0.", 0) == 0;
        CAPTURE(name);
        CHECK(item.value().requires_grad() == !frozen);
    }
    encoder->freeze_lower(2);  // all layers: the final norm freezes too
    for (const auto& p : encoder->parameters()) {
        CHECK_FALSE(p.requires_grad());
    }
    encoder->freeze_lower(0);
    for (const auto& p : encoder->parameters()) {
        CHECK(p.requires_grad());
    }
    CHECK(encoder->layers().size() == 2);
}

TEST_CASE("losses ignore -100 and shift for causal LM", "[ml][model]") {
    torch::manual_seed(7);
    auto logits = torch::randn({2, 4, 6});
    auto labels = torch::tensor({{1, -100, 3, -100}, {-100, 5, 0, 2}}, torch::kLong);
    auto keep = labels.ne(-100);
    auto expected = torch::nn::functional::cross_entropy(
        logits.reshape({-1, 6}).index({keep.reshape({-1})}), labels.masked_select(keep));
    CHECK(masked_lm_loss(logits, labels).item<double>() ==
          Approx(expected.item<double>()).epsilon(1e-6));

    auto ids = torch::tensor({{1, 2, 3, 0}, {4, 5, 0, 0}}, torch::kLong);
    auto mask = torch::tensor({{1, 1, 1, 0}, {1, 1, 0, 0}}, torch::kLong);
    auto clm_labels = causal_lm_labels(ids, mask);
    CHECK(clm_labels.equal(torch::tensor({{1, 2, 3, -100}, {4, 5, -100, -100}}, torch::kLong)));
    // Pairs (logit position -> next token): (0,2), (1,3) in row 0; (0,5) in row 1.
    auto picked = torch::stack({logits[0][0], logits[0][1], logits[1][0]});
    auto manual = torch::nn::functional::cross_entropy(picked, torch::tensor({2, 3, 5}));
    CHECK(causal_lm_loss(logits, clm_labels).item<double>() ==
          Approx(manual.item<double>()).epsilon(1e-6));

    auto all_ignored = torch::full({2, 4}, -100, torch::kLong);
    CHECK(masked_lm_loss(logits, all_ignored).item<double>() == 0.0);
    CHECK_THROWS_WITH(classification_loss(torch::randn({2, 3}), torch::tensor({0, 3})),
                      Catch::Contains("labels must be in [0, 3)"));
}

TEST_CASE("mean pooling averages real tokens only", "[ml][model]") {
    auto hidden = torch::arange(12, torch::kFloat).reshape({1, 3, 4}).repeat({2, 1, 1});
    auto mask = torch::tensor({{1, 1, 0}, {1, 0, 0}});
    auto pooled = pool_hidden_states(hidden, mask, "mean");
    CHECK(pooled[0].equal(torch::tensor({2.0f, 3.0f, 4.0f, 5.0f})));
    CHECK(pooled[1].equal(torch::tensor({0.0f, 1.0f, 2.0f, 3.0f})));
    CHECK(pool_hidden_states(hidden, mask, "cls").equal(hidden.select(1, 0)));
    CHECK_THROWS_WITH(pool_hidden_states(hidden, mask, "max"), Catch::Contains("\"mean\""));
}

TEST_CASE("bad inputs and options give clear errors", "[ml][model]") {
    torch::manual_seed(8);
    TransformerEncoder encoder(tiny_options());
    CHECK_THROWS_WITH(encoder->forward(random_ids(1, 17)),
                      Catch::Contains("exceeds the model's max_len 16"));
    CHECK_THROWS_WITH(encoder->forward(torch::full({1, 3}, 32, torch::kLong)),
                      Catch::Contains("vocab_size = 32"));
    CHECK_THROWS_WITH(encoder->forward(random_ids(2, 3), torch::ones({2, 4})),
                      Catch::Contains("attention_mask must have shape [2, 3]"));
    CHECK_THROWS_WITH(encoder->forward(torch::ones({3}, torch::kLong)),
                      Catch::Contains("[batch, length]"));
    CHECK_THROWS_WITH(TransformerEncoder(tiny_options().n_heads(3)),
                      Catch::Contains("n_heads (3) must divide d_model (16)"));
    CHECK_THROWS_WITH(TransformerEncoder(tiny_options().activation("swish")),
                      Catch::Contains("\"gelu\" or \"relu\""));
    auto no_labels = arch(HeadKind::sequence_classification);
    no_labels.labels.clear();
    CHECK_THROWS_WITH(build_model(no_labels), Catch::Contains("at least one label"));
    CHECK_THROWS_WITH(head_kind_from_string("seq2seq"), Catch::Contains("\"mlm\""));
}
