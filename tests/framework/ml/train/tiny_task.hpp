// Small models and TrainTasks for the trainer tests: a bag-of-embeddings sentence classifier and
// a per-token tagger, with synthetic data whose labels follow from the tokens (so training helps).
#pragma once

#include "ml/train/mlm.hpp"
#include "ml/train/trainer.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace graft::ml::test {

inline constexpr int64_t kVocab = 40;
inline constexpr int64_t kPad = 0;

// Embedding -> masked mean pool -> LayerNorm -> Linear + tanh -> dropout -> Linear.
// Names cover both weight-decay classes: embedding.weight, norm.{weight,bias},
// hidden.{weight,bias}, out.{weight,bias}.
struct TinyClassifierImpl : torch::nn::Module {
    TinyClassifierImpl(int64_t dim, int64_t classes, double dropout_p)
        : embedding(register_module("embedding", torch::nn::Embedding(kVocab, dim))),
          norm(register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})))),
          hidden(register_module("hidden", torch::nn::Linear(dim, dim))),
          dropout(register_module("dropout", torch::nn::Dropout(dropout_p))),
          out(register_module("out", torch::nn::Linear(dim, classes))) {}

    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) {
        const auto m = mask.unsqueeze(-1).to(torch::kFloat32);
        const auto pooled = (embedding(ids) * m).sum(1) / m.sum(1);
        return out(dropout(torch::tanh(hidden(norm(pooled)))));
    }

    torch::nn::Embedding embedding;
    torch::nn::LayerNorm norm;
    torch::nn::Linear hidden;
    torch::nn::Dropout dropout;
    torch::nn::Linear out;
};
TORCH_MODULE(TinyClassifier);

// Label 1 when most tokens are "high" (>= kVocab / 2), else 0. Lengths 2..max_len.
inline std::vector<Example> classification_data(size_t count, uint64_t seed,
                                                int64_t max_len = 14) {
    std::mt19937_64 rng(seed);
    std::vector<Example> examples;
    for (size_t i = 0; i < count; ++i) {
        Example e;
        const auto length = static_cast<size_t>(2 + rng() % static_cast<uint64_t>(max_len - 1));
        int64_t high = 0;
        for (size_t t = 0; t < length; ++t) {
            const auto id = static_cast<int64_t>(1 + rng() % (kVocab - 1));
            high += id >= kVocab / 2 ? 1 : 0;
            e.ids.push_back(id);
        }
        e.labels = {2 * high > static_cast<int64_t>(length) ? 1 : 0};
        examples.push_back(std::move(e));
    }
    return examples;
}

class ClassifierTask : public TrainTask {
public:
    explicit ClassifierTask(uint64_t init_seed, double dropout_p = 0.0, bool augment = false)
        : model_(make_model(init_seed, dropout_p)) {
        if (augment) {
            MlmOptions mlm;
            mlm.mask_id = kVocab - 1;
            mlm.vocab_size = kVocab;
            mlm.special_ids = {kPad};
            mlm.seed = 99;
            masker_.emplace(mlm);
        }
    }

    torch::nn::Module& module() override { return *model_; }
    TinyClassifier& model() { return model_; }

    // Augmentation that draws from the task's own generator: exercises prepare() and the task
    // state in resume tests.
    Batch prepare(Batch batch) override {
        if (!masker_) return batch;
        batch.ids = masker_->apply(batch.ids, batch.attention_mask).first;
        return batch;
    }

    torch::Tensor loss(const Batch& batch) override {
        const auto logits = model_->forward(batch.ids, batch.attention_mask);
        last_logits_dtype = logits.scalar_type();
        return torch::nn::functional::cross_entropy(logits, batch.labels);
    }

    EvalResult evaluate(const std::vector<Batch>& batches) override {
        double loss_sum = 0, correct = 0, count = 0;
        for (const auto& batch : batches) {
            const auto logits =
                model_->forward(batch.ids, batch.attention_mask).to(torch::kFloat32);
            namespace F = torch::nn::functional;
            loss_sum += F::cross_entropy(logits, batch.labels,
                                         F::CrossEntropyFuncOptions().reduction(torch::kSum))
                            .item<double>();
            correct += (logits.argmax(1) == batch.labels).sum().item<double>();
            count += static_cast<double>(batch.size());
        }
        ++evaluations;
        return EvalResult{{{"loss", loss_sum / count}, {"accuracy", correct / count}}};
    }

    void save_state(torch::serialize::OutputArchive& archive) const override {
        if (masker_) archive.write("masker", masker_->generator_state(), /*is_buffer=*/true);
    }
    void load_state(torch::serialize::InputArchive& archive) override {
        if (!masker_) return;
        torch::Tensor state;
        archive.read("masker", state, /*is_buffer=*/true);
        masker_->set_generator_state(state);
    }

    torch::ScalarType last_logits_dtype = torch::kFloat32;
    int evaluations = 0;

private:
    static TinyClassifier make_model(uint64_t seed, double dropout_p) {
        torch::manual_seed(seed);
        return TinyClassifier(16, 2, dropout_p);
    }

    TinyClassifier model_;
    std::optional<MlmMasker> masker_;
};

// Per-token tagger: embedding -> Linear; the tag of a token is id % 3. Loss: mean over the
// labelled tokens, weight: their number (the LM-style weighting of grad accumulation).
struct TinyTaggerImpl : torch::nn::Module {
    TinyTaggerImpl()
        : embedding(register_module("embedding", torch::nn::Embedding(kVocab, 8))),
          out(register_module("out", torch::nn::Linear(8, 3))) {}
    torch::Tensor forward(const torch::Tensor& ids) { return out(torch::relu(embedding(ids))); }
    torch::nn::Embedding embedding;
    torch::nn::Linear out;
};
TORCH_MODULE(TinyTagger);

inline std::vector<Example> tagging_data(size_t count, uint64_t seed) {
    auto examples = classification_data(count, seed);
    for (auto& e : examples) {
        e.labels.clear();
        for (const int64_t id : e.ids) e.labels.push_back(id % 3);
        e.labels.front() = kIgnoreIndex;  // like a [CLS] position: not predicted
    }
    return examples;
}

class TaggerTask : public TrainTask {
public:
    explicit TaggerTask(uint64_t init_seed) : model_(make_model(init_seed)) {}

    torch::nn::Module& module() override { return *model_; }

    torch::Tensor loss(const Batch& batch) override {
        const auto logits = model_->forward(batch.ids);
        return torch::nn::functional::cross_entropy(logits.reshape({-1, 3}),
                                                    batch.labels.reshape({-1}));
    }
    double loss_weight(const Batch& batch) const override {
        return (batch.labels != kIgnoreIndex).sum().item<double>();
    }
    EvalResult evaluate(const std::vector<Batch>&) override { return EvalResult{{{"loss", 0.0}}}; }

private:
    static TinyTagger make_model(uint64_t seed) {
        torch::manual_seed(seed);
        return TinyTagger();
    }

    TinyTagger model_;
};

// Every parameter of a module, flattened and concatenated (for comparisons).
inline torch::Tensor flat_parameters(torch::nn::Module& module) {
    std::vector<torch::Tensor> parts;
    for (const auto& p : module.parameters()) parts.push_back(p.detach().reshape({-1}));
    return torch::cat(parts);
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
    TempDir() {
        std::random_device device;
        path = std::filesystem::temp_directory_path() /
               ("graft-train-test-" + std::to_string(device()) + std::to_string(device()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path path;
};

}  // namespace graft::ml::test
