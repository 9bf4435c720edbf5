// Shared pieces of the transfer stages: reading labelled/unlabelled JSONL into token examples,
// the tokenizer a stage uses, the trainer's progress routed to the host, and tasks for the
// trainer (language modelling and sequence classification).
#pragma once

#include "ml/model/checkpoint.hpp"
#include "ml/model/heads.hpp"
#include "ml/tokenizer/tokenizer.hpp"
#include "ml/train/mlm.hpp"
#include "ml/train/trainer.hpp"

#include <graft/stage.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace graft::transfer {

struct TextRows {
    std::vector<std::string> texts;
    std::vector<std::string> labels;  // empty when not read
};

// Throws StageError naming file and line for a missing text (or label, when label_field given).
TextRows read_rows(const std::filesystem::path& file, const std::string& text_field,
                   const std::string& label_field);

// The tokenizer.json in a tokenizer artifact dir, else the one inside a checkpoint dir.
ml::Tokenizer load_tokenizer(const std::optional<std::filesystem::path>& tokenizer_dir,
                             const std::optional<std::filesystem::path>& checkpoint_dir,
                             std::filesystem::path* used = nullptr);

// [CLS] text [SEP] truncated to max_len (counts truncated rows in *truncated).
std::vector<ml::Example> encode_rows(const ml::Tokenizer& tok, const std::vector<std::string>& texts,
                                     std::size_t max_len, std::size_t* truncated);
// Long texts cut into windows of max_len tokens ([CLS] chunk [SEP]) for language modelling.
std::vector<ml::Example> encode_chunks(const ml::Tokenizer& tok, const std::vector<std::string>& texts,
                                       std::size_t max_len);

// Initialises LibTorch for this stage (threads, ISA cap for bf16) and logs a slow-BLAS warning.
ml::Precision init_torch(sdk::RunContext& ctx, const std::string& precision);

// Trainer progress -> the host's progress interface and a log line every ~10% of the steps.
ml::ProgressCallback progress_to(sdk::RunContext& ctx);

// Masked or causal language modelling; evaluation reports loss and perplexity (fixed masks).
class LmTask final : public ml::TrainTask {
public:
    LmTask(ml::TaskModelPtr model, const ml::Tokenizer& tok, double mask_prob, std::uint64_t seed);
    torch::nn::Module& module() override { return *model_; }
    ml::Batch prepare(ml::Batch batch) override;
    torch::Tensor loss(const ml::Batch& batch) override;
    double loss_weight(const ml::Batch& batch) const override;
    ml::EvalResult evaluate(const std::vector<ml::Batch>& batches) override;
    // The masker's generator is part of the training state: resume stays exact.
    void save_state(torch::serialize::OutputArchive& archive) const override;
    void load_state(torch::serialize::InputArchive& archive) override;

private:
    ml::Batch with_labels(const ml::Batch& batch, ml::MlmMasker* masker) const;
    ml::TaskModelPtr model_;
    bool causal_;
    ml::MlmOptions mlm_;
    std::optional<ml::MlmMasker> masker_;
};

// Sequence classification; evaluation reports loss and accuracy.
class ClassifyTask : public ml::TrainTask {
public:
    explicit ClassifyTask(ml::TaskModelPtr model) : model_(std::move(model)) {}
    torch::nn::Module& module() override { return *model_; }
    torch::Tensor loss(const ml::Batch& batch) override;
    ml::EvalResult evaluate(const std::vector<ml::Batch>& batches) override;

protected:
    ml::TaskModelPtr model_;
};

std::int64_t count_parameters(torch::nn::Module& m, bool trainable_only);

}  // namespace graft::transfer
