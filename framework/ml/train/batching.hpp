// Batching for token sequences: a seeded, deterministic batch plan (shuffle, length bucketing)
// and collation with dynamic padding (each batch padded to its own longest sequence).
//
// Length bucketing: the shuffled example order is cut into windows of bucket_size * batch_size
// examples, each window is sorted by length and cut into batches, and the batches of the whole
// epoch are shuffled again. Batches then hold sequences of similar length (little padding) while
// the order stays random. bucket_size = 0 turns bucketing off (batches are consecutive runs of the
// shuffled order).
#pragma once

#include "ml/ignore_index.hpp"
#include <torch/types.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace graft::ml {

// One training or evaluation example. `labels` depends on the task (see LabelKind): empty for
// unlabeled text, one class id for sequence classification, one id per token for token
// classification (-100 = ignored position).
struct Example {
    std::vector<int64_t> ids;
    std::vector<int64_t> labels;
};

enum class LabelKind {
    none,      // Batch::labels undefined
    sequence,  // exactly one label per example -> labels [B] int64
    token,     // one label per token -> labels [B, T] int64, padding positions = ignore_index
};

// Cross-entropy's ignore_index in LibTorch: padded and unselected positions carry it.
// kIgnoreIndex: see ml/ignore_index.hpp

struct Batch {
    torch::Tensor ids;             // [B, T] int64, padded with pad_id
    torch::Tensor attention_mask;  // [B, T] int64, 1 = real token, 0 = padding
    torch::Tensor labels;          // see LabelKind; undefined for LabelKind::none
    std::vector<size_t> indices;   // the examples' positions in the dataset, in batch order
    int64_t real_tokens = 0;       // non-pad tokens (what tokens/s counts)
    int64_t padded_tokens = 0;     // B * T

    int64_t size() const { return static_cast<int64_t>(indices.size()); }
};

struct BatchingOptions {
    int64_t batch_size = 32;
    int64_t bucket_size = 0;  // windows of bucket_size * batch_size examples; 0 = no bucketing
    bool shuffle = true;      // false: dataset order (bucketing still sorts within windows)
    bool drop_last = false;   // drop a final batch smaller than batch_size
};

struct CollateOptions {
    int64_t pad_id = 0;
    LabelKind label_kind = LabelKind::none;
    int64_t max_length = 0;  // > 0: an example longer than this is an error (see truncate_examples)
};

// The batches of one epoch, as lists of example indices. Draws from `rng` only when shuffling;
// the same rng state and inputs always give the same plan (own Fisher-Yates, no
// implementation-defined std::shuffle). Throws std::invalid_argument on batch_size < 1.
std::vector<std::vector<size_t>> plan_batches(std::span<const Example> examples,
                                              const BatchingOptions& options,
                                              std::mt19937_64& rng);

// Pads the chosen examples into one Batch. Throws std::invalid_argument naming the example index
// when an example is empty, longer than max_length, or has labels that do not fit label_kind.
Batch collate(std::span<const Example> examples, std::span<const size_t> indices,
              const CollateOptions& options);

// Convenience for evaluation: a non-shuffled plan (bucketed when bucket_size > 0, which sorts by
// length and so wastes less padding), collated.
std::vector<Batch> make_eval_batches(std::span<const Example> examples, int64_t batch_size,
                                     const CollateOptions& options, int64_t bucket_size = 64);

// Cuts every example longer than max_length to its first max_length tokens (token labels too) and
// returns how many were cut, so the caller can log it: the documented alternative to the error
// collate() raises for over-long examples.
size_t truncate_examples(std::vector<Example>& examples, int64_t max_length);

// Uniform draw in [0, bound) from a 64-bit engine without modulo bias; fixed across platforms.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound);

// Fisher-Yates shuffle with uniform_below(): the same permutation on every standard library.
template <typename T>
void deterministic_shuffle(std::vector<T>& items, std::mt19937_64& rng) {
    for (size_t i = items.size(); i > 1; --i) {
        const size_t j = static_cast<size_t>(uniform_below(rng, i));
        std::swap(items[i - 1], items[j]);
    }
}

}  // namespace graft::ml
