// Shared pieces of the transfer stages: reading labelled/unlabelled JSONL into token examples,
// the tokenizer a stage uses, the trainer's progress routed to the host, and tasks for the
// trainer (language modelling, sequence and token classification).
#pragma once

#include "ml/model/checkpoint.hpp"
#include "ml/model/heads.hpp"
#include "ml/tokenizer/tokenizer.hpp"
#include "ml/train/mlm.hpp"
#include "ml/train/trainer.hpp"

#include <graft/stage.hpp>

#include <functional>
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

// Sets each example's label to its row's class id in `ids` (the model's labels). A label the model
// does not predict throws StageError naming the file, row, label, the known labels and `fix`;
// `whose` names the model in the message ("model", "teacher").
void assign_class_labels(const TextRows& rows, const std::map<std::string, std::int64_t>& ids,
                         const std::filesystem::path& file, const std::string& whose, const std::string& fix,
                         std::vector<ml::Example>& examples);

// The tokenizer.json in a tokenizer artifact dir, else the one inside a checkpoint dir.
ml::Tokenizer load_tokenizer(const std::optional<std::filesystem::path>& tokenizer_dir,
                             const std::optional<std::filesystem::path>& checkpoint_dir,
                             std::filesystem::path* used = nullptr);

// [CLS] text [SEP] truncated to max_len as `truncation` says (counts truncated rows in *truncated).
std::vector<ml::Example> encode_rows(const ml::Tokenizer& tok, const std::vector<std::string>& texts,
                                     std::size_t max_len, std::size_t* truncated,
                                     ml::Truncation truncation = ml::Truncation::head);

// The `truncation` param of the stages that read a classifier ("model": the checkpoint's own).
inline constexpr const char* kTruncationFollowModel = "model";
sdk::Descriptor with_truncation_param(sdk::Descriptor d, bool follow_model);
// The param's value; "model" resolves to the checkpoint architecture's truncation.
ml::Truncation read_truncation_param(sdk::RunContext& ctx, const ml::ModelArchitecture* model);
// Long texts cut into windows of max_len tokens ([CLS] chunk [SEP]) for language modelling.
std::vector<ml::Example> encode_chunks(const ml::Tokenizer& tok, const std::vector<std::string>& texts,
                                       std::size_t max_len);

// Pre-tokenized rows for token classification: {"tokens": [words], "tags": [one per word]}.
struct TaggedRows {
    std::vector<std::vector<std::string>> tokens;
    std::vector<std::vector<std::string>> tags;
};
// Throws StageError naming file and line for missing/non-string arrays or a length mismatch.
TaggedRows read_tagged_rows(const std::filesystem::path& file, const std::string& tokens_field,
                            const std::string& tags_field);

// [CLS] word pieces [SEP] with first-subword labelling: the first piece of each word carries its
// tag id, the other pieces and the specials kIgnoreIndex. Words past max_len are cut (counted in
// *truncated_words); a word that encodes to no piece is labelled nowhere (counted in *dropped).
// first_piece[i][w]: position of word w's first piece in example i (words kept only).
struct TaggedExamples {
    std::vector<ml::Example> examples;
    std::vector<std::vector<std::size_t>> first_piece;
    std::size_t truncated_words = 0;
    std::size_t dropped_words = 0;
};
// tag_id(tag) -> class id; callers that only need positions pass a function returning 0.
TaggedExamples encode_tagged(const ml::Tokenizer& tok, const TaggedRows& rows, std::size_t max_len,
                             const std::function<std::int64_t(const std::string&)>& tag_id);

// Encoder dropout overrides while training: the `dropout` and `attention_dropout` params (-1, the
// default, keeps the checkpoint's rates, or the encoder defaults without a checkpoint).
struct DropoutOverride {
    std::optional<double> dropout, attention_dropout;
    void apply(ml::TransformerEncoderOptions& encoder) const;
    void apply(ml::TransferOptions& transfer) const;
};
sdk::Descriptor with_dropout_params(sdk::Descriptor d);  // adds the two params
DropoutOverride read_dropout_params(sdk::RunContext& ctx);

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

// Sequence or token classification (by the model's head); evaluation reports loss and accuracy
// (per example, or per labelled token). Token losses are means over labelled tokens, weighted by
// their number for gradient accumulation.
class ClassifyTask : public ml::TrainTask {
public:
    explicit ClassifyTask(ml::TaskModelPtr model)
        : model_(std::move(model)), tokens_(model_->head_kind() == ml::HeadKind::token_classification) {}
    torch::nn::Module& module() override { return *model_; }
    torch::Tensor loss(const ml::Batch& batch) override;
    double loss_weight(const ml::Batch& batch) const override;
    ml::EvalResult evaluate(const std::vector<ml::Batch>& batches) override;

protected:
    ml::TaskModelPtr model_;
    bool tokens_;
};

std::int64_t count_parameters(torch::nn::Module& m, bool trainable_only);

}  // namespace graft::transfer
