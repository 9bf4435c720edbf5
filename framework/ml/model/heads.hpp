// Task heads on top of TransformerEncoder, and the task models (encoder + head) that the trainer,
// the checkpoint loader and the stages use through one polymorphic interface, TaskModelImpl.
//
// Parameter names of the task models: "encoder.<encoder names>" and "head.<head names>":
//   MLM / CLM head:        head.dense.{weight,bias}, head.norm.{weight,bias}, head.decoder_bias,
//                          head.decoder_weight (only when tie_embeddings is false)
//   sequence classifier:   head.classifier.{weight,bias}
//   token classifier:      head.classifier.{weight,bias}
#pragma once

#include "ml/ignore_index.hpp"
#include "ml/model/transformer.hpp"
#include "ml/tokenizer/truncation.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace graft::ml {

// Label value that the LM and token-classification losses skip (PyTorch's convention).
// kIgnoreIndex: see ml/ignore_index.hpp

enum class HeadKind { mlm, clm, sequence_classification, token_classification };
// "mlm" | "clm" | "sequence_classification" | "token_classification"
std::string to_string(HeadKind kind);
// Throws std::invalid_argument listing the accepted names.
HeadKind head_kind_from_string(std::string_view name);

// ---- heads ----------------------------------------------------------------------------------

struct LMHeadOptions {
    LMHeadOptions(int64_t d_model, int64_t vocab_size)
        : d_model_(d_model), vocab_size_(vocab_size) {}
    TORCH_ARG(int64_t, d_model);
    TORCH_ARG(int64_t, vocab_size);
    TORCH_ARG(double, layer_norm_eps) = 1e-12;
    TORCH_ARG(double, initializer_range) = 0.02;
};

// dense -> gelu -> LayerNorm -> decoder (d_model -> vocab). With a defined `tied_decoder_weight`
// ([vocab, d_model], normally the encoder's token embeddings) the decoder shares that tensor and
// registers no weight of its own; otherwise it owns head.decoder_weight.
class MaskedLMHeadImpl : public torch::nn::Module {
public:
    MaskedLMHeadImpl(const LMHeadOptions& options, torch::Tensor tied_decoder_weight = {});
    torch::Tensor forward(const torch::Tensor& hidden);  // [B, T, d] -> [B, T, vocab]

    bool tied() const { return tied_; }
    const torch::Tensor& decoder_weight() const { return decoder_weight_; }

    torch::nn::Linear dense{nullptr};
    torch::nn::LayerNorm norm{nullptr};

private:
    LMHeadOptions options_;
    bool tied_;
    torch::Tensor decoder_weight_;
    torch::Tensor decoder_bias_;
};
TORCH_MODULE(MaskedLMHead);

// The causal-LM head has the same blocks as the MLM head; the model differs by running its encoder
// with causal = true. A distinct type so the two objectives cannot be confused.
class CausalLMHeadImpl : public MaskedLMHeadImpl {
public:
    using MaskedLMHeadImpl::MaskedLMHeadImpl;
};
TORCH_MODULE(CausalLMHead);

struct SequenceClassificationHeadOptions {
    SequenceClassificationHeadOptions(int64_t d_model, int64_t num_labels)
        : d_model_(d_model), num_labels_(num_labels) {}
    TORCH_ARG(int64_t, d_model);
    TORCH_ARG(int64_t, num_labels);
    TORCH_ARG(std::string, pooling) = "cls";  // "cls" (first token) | "mean" (over real tokens)
    TORCH_ARG(double, dropout) = 0.1;
    TORCH_ARG(double, initializer_range) = 0.02;
};

// Pools [B, T, d] hidden states to [B, d]: "cls" takes position 0, "mean" averages the positions
// where attention_mask is nonzero (all positions when the mask is undefined).
torch::Tensor pool_hidden_states(const torch::Tensor& hidden, const torch::Tensor& attention_mask,
                                 std::string_view pooling);

// pool -> dropout -> classifier (d_model -> num_labels).
class SequenceClassificationHeadImpl : public torch::nn::Module {
public:
    explicit SequenceClassificationHeadImpl(const SequenceClassificationHeadOptions& options);
    torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& attention_mask = {});

    const SequenceClassificationHeadOptions& options() const { return options_; }
    torch::nn::Dropout dropout{nullptr};
    torch::nn::Linear classifier{nullptr};

private:
    SequenceClassificationHeadOptions options_;
};
TORCH_MODULE(SequenceClassificationHead);

struct TokenClassificationHeadOptions {
    TokenClassificationHeadOptions(int64_t d_model, int64_t num_labels)
        : d_model_(d_model), num_labels_(num_labels) {}
    TORCH_ARG(int64_t, d_model);
    TORCH_ARG(int64_t, num_labels);
    TORCH_ARG(double, dropout) = 0.1;
    TORCH_ARG(double, initializer_range) = 0.02;
};

// dropout -> classifier per position: [B, T, d] -> [B, T, num_labels].
class TokenClassificationHeadImpl : public torch::nn::Module {
public:
    explicit TokenClassificationHeadImpl(const TokenClassificationHeadOptions& options);
    torch::Tensor forward(const torch::Tensor& hidden);

    torch::nn::Dropout dropout{nullptr};
    torch::nn::Linear classifier{nullptr};

private:
    TokenClassificationHeadOptions options_;
};
TORCH_MODULE(TokenClassificationHead);

// ---- losses -----------------------------------------------------------------------------------

// Mean cross-entropy over positions whose label is not kIgnoreIndex.
// logits [B, T, V], labels [B, T].
torch::Tensor masked_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels);
// Next-token loss: logits at t predict labels at t + 1 (the shift happens here, so labels are the
// input ids with padding set to kIgnoreIndex). logits [B, T, V], labels [B, T].
torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels);
// logits [B, L], labels [B] int64 in [0, L).
torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& labels);
// logits [B, T, L], labels [B, T] (kIgnoreIndex skipped: padding, non-first sub-words).
torch::Tensor token_classification_loss(const torch::Tensor& logits, const torch::Tensor& labels);
// Input ids -> causal-LM labels: ids where attention_mask is nonzero, kIgnoreIndex elsewhere.
torch::Tensor causal_lm_labels(const torch::Tensor& ids, const torch::Tensor& attention_mask);

// ---- task models ------------------------------------------------------------------------------

// Everything needed to rebuild a task model (checkpoint config.json "architecture").
struct ModelArchitecture {
    HeadKind head = HeadKind::mlm;
    TransformerEncoderOptions encoder;
    std::string pooling = "cls";       // sequence classification only
    double classifier_dropout = 0.1;   // classification heads only
    std::vector<std::string> labels;   // classification heads: label names, index = class id
    // Sequence classification: which tokens of a too-long text the model was trained on; evaluate,
    // featurize, distill, prune and graft predict follow it. Other heads: always head.
    Truncation truncation = Truncation::head;

    int64_t num_labels() const { return static_cast<int64_t>(labels.size()); }
    bool is_language_model() const { return head == HeadKind::mlm || head == HeadKind::clm; }
    // Encoder options plus head-specific checks (labels present for classifiers, pooling name).
    void validate() const;
};

// An encoder plus one head. forward() returns logits; loss() turns logits and labels into the
// training loss of the task. The trainer only needs this interface.
class TaskModelImpl : public torch::nn::Module {
public:
    explicit TaskModelImpl(ModelArchitecture architecture);

    // ids [B, T] int64, attention_mask [B, T] (nonzero = real token) or undefined. Logits:
    // LM [B, T, vocab]; sequence classification [B, num_labels]; token classification [B, T, L].
    virtual torch::Tensor forward(const torch::Tensor& ids,
                                  const torch::Tensor& attention_mask) = 0;
    // Labels as documented per loss function above (mlm/clm/classification/token_classification).
    virtual torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels) const = 0;
    // The training loss straight from inputs: loss(forward(ids, mask), labels), which a head may
    // compute more cheaply (the masked LM projects only the positions it predicts).
    virtual torch::Tensor forward_loss(const torch::Tensor& ids, const torch::Tensor& attention_mask,
                                       const torch::Tensor& labels) {
        return loss(forward(ids, attention_mask), labels);
    }

    const ModelArchitecture& architecture() const { return architecture_; }
    HeadKind head_kind() const { return architecture_.head; }
    TransformerEncoder& encoder() { return encoder_; }
    // The head module (registered as "head").
    virtual std::shared_ptr<torch::nn::Module> head() = 0;

protected:
    ModelArchitecture architecture_;
    TransformerEncoder encoder_{nullptr};
};
using TaskModelPtr = std::shared_ptr<TaskModelImpl>;

// MLM (bidirectional encoder) or CLM (encoder run with the causal mask), per architecture.head.
class LanguageModelImpl : public TaskModelImpl {
public:
    explicit LanguageModelImpl(ModelArchitecture architecture);
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask) override;
    torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels) const override;
    // MLM: runs the LM head (dense, norm, vocabulary projection) only on the positions whose label
    // is not kIgnoreIndex, about 15% of them, instead of on all [B, T]; same value as loss(forward).
    torch::Tensor forward_loss(const torch::Tensor& ids, const torch::Tensor& attention_mask,
                               const torch::Tensor& labels) override;
    std::shared_ptr<torch::nn::Module> head() override { return head_; }
    bool causal() const { return architecture_.head == HeadKind::clm; }

private:
    std::shared_ptr<MaskedLMHeadImpl> head_;  // a CausalLMHeadImpl for clm
};
TORCH_MODULE(LanguageModel);

class SequenceClassifierImpl : public TaskModelImpl {
public:
    explicit SequenceClassifierImpl(ModelArchitecture architecture);
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask) override;
    torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels) const override;
    std::shared_ptr<torch::nn::Module> head() override { return head_.ptr(); }
    // Pooled encoder features [B, d_model] (the feature-extraction recipe), no dropout applied.
    torch::Tensor features(const torch::Tensor& ids, const torch::Tensor& attention_mask);

private:
    SequenceClassificationHead head_{nullptr};
};
TORCH_MODULE(SequenceClassifier);

class TokenClassifierImpl : public TaskModelImpl {
public:
    explicit TokenClassifierImpl(ModelArchitecture architecture);
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask) override;
    torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels) const override;
    std::shared_ptr<torch::nn::Module> head() override { return head_.ptr(); }

private:
    TokenClassificationHead head_{nullptr};
};
TORCH_MODULE(TokenClassifier);

// Builds the task model for architecture.head (validated first), freshly initialised from the
// global torch RNG.
TaskModelPtr build_model(const ModelArchitecture& architecture);

}  // namespace graft::ml
