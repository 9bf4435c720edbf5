#include "ml/train/mlm.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace graft::ml {

namespace {

void check_probability(double value, const char* name) {
    if (!(value >= 0.0 && value <= 1.0)) {
        throw std::invalid_argument(
            fmt::format("MLM option {} must be in [0, 1], got {}", name, value));
    }
}

void validate(const MlmOptions& options) {
    if (options.vocab_size < 2) {
        throw std::invalid_argument(fmt::format(
            "MLM option vocab_size must be at least 2, got {}: pass the tokenizer's vocab size",
            options.vocab_size));
    }
    if (options.mask_id < 0 || options.mask_id >= options.vocab_size) {
        throw std::invalid_argument(fmt::format(
            "MLM option mask_id {} is outside the vocabulary [0, {}): the tokenizer needs a "
            "[MASK] token for the mlm objective",
            options.mask_id, options.vocab_size));
    }
    for (const int64_t id : options.special_ids) {
        if (id < 0 || id >= options.vocab_size) {
            throw std::invalid_argument(fmt::format(
                "MLM special token id {} is outside the vocabulary [0, {})", id,
                options.vocab_size));
        }
    }
    check_probability(options.mask_prob, "mask_prob");
    check_probability(options.mask_token_prob, "mask_token_prob");
    check_probability(options.random_token_prob, "random_token_prob");
    if (options.mask_token_prob + options.random_token_prob > 1.0 + 1e-12) {
        throw std::invalid_argument(fmt::format(
            "MLM options mask_token_prob ({}) + random_token_prob ({}) exceed 1",
            options.mask_token_prob, options.random_token_prob));
    }
}

}  // namespace

MlmMasker::MlmMasker(MlmOptions options)
    : options_(std::move(options)),
      generator_(at::make_generator<at::CPUGeneratorImpl>(options_.seed)) {
    validate(options_);
    std::vector<int64_t> specials = options_.special_ids;
    // [MASK] is special too: selecting it or drawing it as a "random" token would be wrong.
    specials.push_back(options_.mask_id);
    std::sort(specials.begin(), specials.end());
    specials.erase(std::unique(specials.begin(), specials.end()), specials.end());
    std::vector<int64_t> replacements;
    replacements.reserve(static_cast<size_t>(options_.vocab_size));
    for (int64_t id = 0; id < options_.vocab_size; ++id) {
        if (!std::binary_search(specials.begin(), specials.end(), id)) replacements.push_back(id);
    }
    if (replacements.empty()) {
        throw std::invalid_argument("MLM: every vocabulary id is special; nothing to predict");
    }
    special_ids_ = torch::tensor(specials, torch::kInt64);
    replacements_ = torch::tensor(replacements, torch::kInt64);
}

std::pair<torch::Tensor, torch::Tensor> MlmMasker::apply(const torch::Tensor& ids,
                                                         const torch::Tensor& attention_mask) {
    if (ids.dim() != 2 || ids.scalar_type() != torch::kInt64) {
        throw std::invalid_argument(
            fmt::format("MLM: ids must be a [B, T] int64 tensor, got {} dims of {}", ids.dim(),
                        c10::toString(ids.scalar_type())));
    }
    torch::NoGradGuard no_grad;
    auto eligible = torch::logical_not(torch::isin(ids, special_ids_));
    if (attention_mask.defined()) eligible = eligible & (attention_mask != 0);

    // Three independent draws per position, in a fixed order, from the masker's own generator.
    const auto shape = ids.sizes();
    auto selected =
        (torch::rand(shape, generator_, torch::kFloat64) < options_.mask_prob) & eligible;
    auto action = torch::rand(shape, generator_, torch::kFloat64);
    auto random_pick =
        torch::randint(0, replacements_.size(0), shape, generator_, torch::kInt64);

    auto use_mask = selected & (action < options_.mask_token_prob);
    auto use_random = selected & (action >= options_.mask_token_prob) &
                      (action < options_.mask_token_prob + options_.random_token_prob);

    auto corrupted = ids.clone();
    corrupted.masked_fill_(use_mask, options_.mask_id);
    corrupted = torch::where(use_random, replacements_.index({random_pick}), corrupted);
    auto labels = torch::where(selected, ids, torch::full_like(ids, kIgnoreIndex));
    return {corrupted, labels};
}

Batch MlmMasker::apply(const Batch& batch) {
    Batch out = batch;
    auto [ids, labels] = apply(batch.ids, batch.attention_mask);
    out.ids = std::move(ids);
    out.labels = std::move(labels);
    return out;
}

torch::Tensor MlmMasker::generator_state() const { return generator_.get_state(); }

void MlmMasker::set_generator_state(const torch::Tensor& state) { generator_.set_state(state); }

}  // namespace graft::ml
