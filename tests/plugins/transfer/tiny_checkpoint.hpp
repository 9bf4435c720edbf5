// A tiny checkpoint for the transfer plugin tests: a WordPiece tokenizer and a 1-layer, 16-dim
// masked LM pretrained for 3 steps through the real tokenizer and pretrain stages, built once per
// test binary; plus the review-like rows it was trained on.
#pragma once

#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"

#include <stdexcept>
#include <string>

namespace graft::testing {

// Two classes told apart by their words; lengths vary so batches are padded.
inline std::string rows_text(int n, int offset) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        const bool pos = (i + offset) % 2 == 0;
        std::string text = pos ? "great wonderful film loved it" : "awful boring film hated it";
        for (int k = 0; k < i % 5; ++k) text += pos ? " great" : " awful";
        out += nlohmann::json{{"text", text}, {"label", pos ? "pos" : "neg"}}.dump() + "\n";
    }
    return out;
}

// A tokenizer and a 1-layer, 16-dim masked LM trained for a few steps, built once per binary.
inline const std::filesystem::path& tiny_checkpoint() {
    static TempDir dir("featurize-ckpt");
    static const std::filesystem::path model = [] {
        write_text(dir / "corpus.jsonl", rows_text(40, 0));
        std::filesystem::create_directories(dir / "tok");
        auto tok = run_stage("tokenizer", {{"kind", "wordpiece"}, {"vocab_size", 64}, {"min_frequency", 1}},
                             {{"data", dir / "corpus.jsonl"}}, dir / "tok");
        if (tok.status != 0) throw std::runtime_error("tokenizer: " + tok.error);
        std::filesystem::create_directories(dir / "lm");
        auto lm = run_stage("pretrain",
                            {{"d_model", 16}, {"n_layers", 1}, {"n_heads", 2}, {"d_ff", 32},
                             {"max_len", 16}, {"max_steps", 3}, {"batch_size", 8}, {"val_fraction", 0.1}},
                            {{"data", dir / "corpus.jsonl"}, {"tokenizer", tok.outputs.at("tokenizer")}},
                            dir / "lm");
        if (lm.status != 0) throw std::runtime_error("pretrain: " + lm.error);
        return lm.outputs.at("model");
    }();
    return model;
}

}  // namespace graft::testing
