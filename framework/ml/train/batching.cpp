#include "ml/train/batching.hpp"

#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace graft::ml {

uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
    if (bound <= 1) return 0;
    // Reject the top partial range so that every residue is equally likely.
    const uint64_t limit = std::mt19937_64::max() - (std::mt19937_64::max() % bound);
    uint64_t draw = rng();
    while (draw >= limit) draw = rng();
    return draw % bound;
}

namespace {

std::vector<std::vector<size_t>> cut_into_batches(const std::vector<size_t>& order,
                                                  size_t batch_size, bool drop_last) {
    std::vector<std::vector<size_t>> batches;
    for (size_t start = 0; start < order.size(); start += batch_size) {
        const size_t end = std::min(order.size(), start + batch_size);
        if (drop_last && end - start < batch_size) break;
        batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                             order.begin() + static_cast<std::ptrdiff_t>(end));
    }
    return batches;
}

void check_example(const Example& example, size_t index, const CollateOptions& options) {
    if (example.ids.empty()) {
        throw std::invalid_argument(fmt::format(
            "example {} has no tokens: remove empty texts before tokenizing (text.clean's "
            "min_chars) or drop them from the dataset",
            index));
    }
    const auto length = static_cast<int64_t>(example.ids.size());
    if (options.max_length > 0 && length > options.max_length) {
        throw std::invalid_argument(fmt::format(
            "example {} has {} tokens but the model takes at most {}: truncate the examples "
            "(truncate_examples / the stage's max_length) or use a model with longer positions",
            index, length, options.max_length));
    }
    switch (options.label_kind) {
        case LabelKind::none:
            break;
        case LabelKind::sequence:
            if (example.labels.size() != 1) {
                throw std::invalid_argument(fmt::format(
                    "example {} has {} labels but sequence classification needs exactly one: "
                    "check the label field of the input data",
                    index, example.labels.size()));
            }
            break;
        case LabelKind::token:
            if (example.labels.size() != example.ids.size()) {
                throw std::invalid_argument(fmt::format(
                    "example {} has {} tokens but {} token labels: token classification needs "
                    "one label per token (use -100 for positions to ignore)",
                    index, example.ids.size(), example.labels.size()));
            }
            break;
    }
}

}  // namespace

std::vector<std::vector<size_t>> plan_batches(std::span<const Example> examples,
                                              const BatchingOptions& options,
                                              std::mt19937_64& rng) {
    if (options.batch_size < 1) {
        throw std::invalid_argument(
            fmt::format("batch_size must be at least 1, got {}", options.batch_size));
    }
    if (options.bucket_size < 0) {
        throw std::invalid_argument(fmt::format(
            "bucket_size must be 0 (no bucketing) or positive, got {}", options.bucket_size));
    }
    std::vector<size_t> order(examples.size());
    std::iota(order.begin(), order.end(), size_t{0});
    if (options.shuffle) deterministic_shuffle(order, rng);

    const auto batch_size = static_cast<size_t>(options.batch_size);
    if (options.bucket_size > 0) {
        const size_t window = batch_size * static_cast<size_t>(options.bucket_size);
        for (size_t start = 0; start < order.size(); start += window) {
            const auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
            const auto last =
                order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + window));
            // Stable: equal lengths keep their shuffled order, so the plan stays seeded.
            std::stable_sort(first, last, [&](size_t a, size_t b) {
                return examples[a].ids.size() < examples[b].ids.size();
            });
        }
    }
    auto batches = cut_into_batches(order, batch_size, options.drop_last);
    // Without a batch shuffle, bucketed batches would grow in length within every window.
    if (options.shuffle && options.bucket_size > 0) deterministic_shuffle(batches, rng);
    return batches;
}

Batch collate(std::span<const Example> examples, std::span<const size_t> indices,
              const CollateOptions& options) {
    if (indices.empty()) throw std::invalid_argument("collate: a batch needs at least one example");
    int64_t longest = 0;
    for (const size_t index : indices) {
        if (index >= examples.size()) {
            throw std::out_of_range(fmt::format("collate: example index {} but the dataset has {}",
                                                index, examples.size()));
        }
        check_example(examples[index], index, options);
        longest = std::max(longest, static_cast<int64_t>(examples[index].ids.size()));
    }
    const auto rows = static_cast<int64_t>(indices.size());
    Batch batch;
    batch.ids = torch::full({rows, longest}, options.pad_id, torch::kInt64);
    batch.attention_mask = torch::zeros({rows, longest}, torch::kInt64);
    if (options.label_kind == LabelKind::sequence) {
        batch.labels = torch::empty({rows}, torch::kInt64);
    } else if (options.label_kind == LabelKind::token) {
        batch.labels = torch::full({rows, longest}, kIgnoreIndex, torch::kInt64);
    }
    auto* ids = batch.ids.data_ptr<int64_t>();
    auto* mask = batch.attention_mask.data_ptr<int64_t>();
    int64_t* labels = batch.labels.defined() ? batch.labels.data_ptr<int64_t>() : nullptr;
    for (int64_t row = 0; row < rows; ++row) {
        const Example& example = examples[indices[static_cast<size_t>(row)]];
        const auto length = static_cast<int64_t>(example.ids.size());
        std::copy(example.ids.begin(), example.ids.end(), ids + row * longest);
        std::fill(mask + row * longest, mask + row * longest + length, int64_t{1});
        if (options.label_kind == LabelKind::sequence) {
            labels[row] = example.labels.front();
        } else if (options.label_kind == LabelKind::token) {
            std::copy(example.labels.begin(), example.labels.end(), labels + row * longest);
        }
        batch.real_tokens += length;
    }
    batch.indices.assign(indices.begin(), indices.end());
    batch.padded_tokens = rows * longest;
    return batch;
}

std::vector<Batch> make_eval_batches(std::span<const Example> examples, int64_t batch_size,
                                     const CollateOptions& options, int64_t bucket_size) {
    BatchingOptions batching;
    batching.batch_size = batch_size;
    batching.bucket_size = bucket_size;
    batching.shuffle = false;
    std::mt19937_64 unused_rng(0);
    std::vector<Batch> batches;
    for (const auto& indices : plan_batches(examples, batching, unused_rng)) {
        batches.push_back(collate(examples, indices, options));
    }
    return batches;
}

size_t truncate_examples(std::vector<Example>& examples, int64_t max_length) {
    if (max_length < 1) {
        throw std::invalid_argument(
            fmt::format("truncate_examples: max_length must be positive, got {}", max_length));
    }
    const auto limit = static_cast<size_t>(max_length);
    size_t cut = 0;
    for (Example& example : examples) {
        if (example.ids.size() <= limit) continue;
        // Token labels follow their tokens; a single sequence label is kept as is.
        if (example.labels.size() == example.ids.size()) example.labels.resize(limit);
        example.ids.resize(limit);
        ++cut;
    }
    return cut;
}

}  // namespace graft::ml
