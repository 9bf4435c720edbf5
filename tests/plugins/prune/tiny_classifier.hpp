// Tiny sequence classifiers for the prune tests: 2 layers of 4 heads (head_dim 4) and 32
// feed-forward units, random weights ten times the usual scale (so that every head visibly moves
// the logits; nothing here needs a trained model), dropout off so that forwards are comparable; and labelled rows with a WordPiece tokenizer for the stage tests.
#pragma once

#include "ml/model/checkpoint.hpp"
#include "ml/tokenizer/tokenizer.hpp"
#include "ml/train/batching.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace graft::testing {

inline ml::ModelArchitecture tiny_architecture(std::int64_t vocab = 40) {
    ml::ModelArchitecture a;
    a.head = ml::HeadKind::sequence_classification;
    a.labels = {"neg", "pos"};
    a.pooling = "mean";
    a.classifier_dropout = 0.0;
    a.encoder = ml::TransformerEncoderOptions(vocab).max_len(16).d_model(16).n_layers(2).n_heads(4).d_ff(32)
                    .dropout(0.0).attention_dropout(0.0).initializer_range(0.2);
    return a;
}

inline ml::TaskModelPtr tiny_classifier(std::uint64_t seed = 7, std::int64_t vocab = 40) {
    torch::manual_seed(seed);
    auto model = ml::build_model(tiny_architecture(vocab));
    model->eval();
    return model;
}

// Labelled examples whose label follows from the tokens: for fine-tuning in tests.
inline std::vector<ml::Example> tiny_examples(int n, std::int64_t vocab = 40) {
    std::vector<ml::Example> out;
    for (int i = 0; i < n; ++i) {
        ml::Example e;
        const bool high = i % 2 == 0;
        for (int t = 0; t < 4 + i % 5; ++t) e.ids.push_back(high ? vocab / 2 + (i + t) % (vocab / 2) : 1 + (i + t) % (vocab / 2 - 1));
        e.labels = {high ? 1 : 0};
        out.push_back(std::move(e));
    }
    return out;
}

// Review-like rows; the two classes are told apart by their words.
inline void write_rows(const std::filesystem::path& p, int n, int offset) {
    std::ofstream out(p);
    for (int i = 0; i < n; ++i) {
        const bool pos = (i + offset) % 2 == 0;
        std::string text = pos ? "great wonderful film loved it" : "awful boring film hated it";
        for (int k = 0; k < i % 4; ++k) text += pos ? " great" : " boring";
        out << nlohmann::json{{"text", text}, {"label", pos ? "pos" : "neg"}}.dump() << '\n';
    }
}

// A classifier checkpoint with its tokenizer, as finetune would write one (random weights).
inline std::filesystem::path write_tiny_checkpoint(const std::filesystem::path& dir, std::uint64_t seed = 7,
                                                   ml::Truncation truncation = ml::Truncation::head) {
    std::filesystem::create_directories(dir / "tok");
    ml::WordPieceTrainerOptions to;
    to.vocab_size = 60;
    to.min_frequency = 1;
    ml::train_wordpiece(std::vector<std::string>{"great wonderful film loved it", "awful boring film hated it"}, to)
        .save(dir / "tok" / "tokenizer.json");
    const auto tok = ml::Tokenizer::load(dir / "tok" / "tokenizer.json");
    auto arch = tiny_architecture(static_cast<std::int64_t>(tok.vocab_size()));
    arch.encoder.pad_id(tok.pad_id().value_or(0));
    arch.truncation = truncation;
    torch::manual_seed(seed);
    auto model = ml::build_model(arch);
    ml::SaveCheckpointOptions so;
    so.tokenizer = dir / "tok" / "tokenizer.json";
    ml::save_checkpoint(dir / "model", *model, so);
    return dir / "model";
}

}  // namespace graft::testing
