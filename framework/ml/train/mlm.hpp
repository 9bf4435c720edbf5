// BERT's masked-language-model corruption: select mask_prob (15%) of the real, non-special
// tokens; of those, replace mask_token_prob (80%) by [MASK], random_token_prob (10%) by a random
// non-special token and leave the rest (10%) unchanged. Labels carry the original id at selected
// positions and -100 (ignored by cross-entropy) everywhere else, padding included.
//
// The masker draws from its own torch::Generator, so its stream does not depend on dropout or
// anything else using the global generator; generator_state()/set_generator_state() let a
// training task save and restore it for exact resume.
#pragma once

#include "ml/train/batching.hpp"

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace graft::ml {

struct MlmOptions {
    int64_t mask_id = -1;               // the [MASK] token id (required)
    int64_t vocab_size = 0;             // ids are in [0, vocab_size) (required)
    std::vector<int64_t> special_ids;   // never selected, never drawn as random replacements
    double mask_prob = 0.15;
    double mask_token_prob = 0.8;
    double random_token_prob = 0.1;
    uint64_t seed = 0;
};

class MlmMasker {
public:
    // Throws std::invalid_argument naming the bad option (mask_id outside the vocabulary,
    // probabilities outside [0, 1], no non-special token to draw from, ...).
    explicit MlmMasker(MlmOptions options);

    // A copy of `batch` with corrupted ids and MLM labels [B, T]; the input is not modified.
    Batch apply(const Batch& batch);
    // Same on bare tensors: ids [B, T] int64, attention_mask [B, T] (nonzero = real) or
    // undefined. Returns {corrupted ids, labels}.
    std::pair<torch::Tensor, torch::Tensor> apply(const torch::Tensor& ids,
                                                  const torch::Tensor& attention_mask);

    torch::Tensor generator_state() const;
    void set_generator_state(const torch::Tensor& state);
    const MlmOptions& options() const { return options_; }

private:
    MlmOptions options_;
    at::Generator generator_;
    torch::Tensor special_ids_;    // [S] int64
    torch::Tensor replacements_;   // [V - S] int64: the ids random replacement draws from
};

}  // namespace graft::ml
