#include "ml/model/heads.hpp"

#include "ml/tokenizer/tokenizer.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace graft::ml {

namespace {

void require(bool ok, const std::string& message) {
    if (!ok) {
        throw std::invalid_argument(message);
    }
}

torch::nn::LayerNorm make_layer_norm(int64_t d, double eps) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(eps));
}

void init_children(torch::nn::Module& module, double std) {
    module.apply([std](torch::nn::Module& m) { init_module_weights(m, std); });
}

}  // namespace

std::string to_string(HeadKind kind) {
    switch (kind) {
        case HeadKind::mlm: return "mlm";
        case HeadKind::clm: return "clm";
        case HeadKind::sequence_classification: return "sequence_classification";
        case HeadKind::token_classification: return "token_classification";
    }
    return "unknown";
}

HeadKind head_kind_from_string(std::string_view name) {
    for (auto kind : {HeadKind::mlm, HeadKind::clm, HeadKind::sequence_classification,
                      HeadKind::token_classification}) {
        if (name == to_string(kind)) {
            return kind;
        }
    }
    throw std::invalid_argument(fmt::format(
        "unknown model head \"{}\": expected one of \"mlm\", \"clm\", \"sequence_classification\", "
        "\"token_classification\"",
        name));
}

// ---- LM head ----------------------------------------------------------------------------------

MaskedLMHeadImpl::MaskedLMHeadImpl(const LMHeadOptions& options, torch::Tensor tied_decoder_weight)
    : options_(options), tied_(tied_decoder_weight.defined()) {
    dense = register_module("dense", torch::nn::Linear(options.d_model(), options.d_model()));
    norm = register_module("norm", make_layer_norm(options.d_model(), options.layer_norm_eps()));
    init_children(*this, options.initializer_range());
    torch::NoGradGuard no_grad;
    if (tied_) {
        require(tied_decoder_weight.dim() == 2 &&
                    tied_decoder_weight.size(0) == options.vocab_size() &&
                    tied_decoder_weight.size(1) == options.d_model(),
                fmt::format("tied LM decoder weight must be [vocab_size = {}, d_model = {}]",
                            options.vocab_size(), options.d_model()));
        // Shared with the embeddings, deliberately not registered: it is saved and optimised once,
        // under the encoder's name.
        decoder_weight_ = tied_decoder_weight;
    } else {
        decoder_weight_ = register_parameter(
            "decoder_weight",
            torch::empty({options.vocab_size(), options.d_model()})
                .normal_(0.0, options.initializer_range()));
    }
    decoder_bias_ = register_parameter("decoder_bias", torch::zeros({options.vocab_size()}));
}

torch::Tensor MaskedLMHeadImpl::forward(const torch::Tensor& hidden) {
    // Under CPU autocast dense() returns bf16 while LayerNorm keeps fp32 weights, and 1.13's
    // layer_norm_cpu refuses mixed dtypes: normalise in the weights' precision (fp32, as autocast
    // does for norms on CUDA); the decoder matmul below drops back to bf16 by itself.
    auto h = norm(torch::gelu(dense(hidden)).to(norm->weight.scalar_type()));
    return torch::nn::functional::linear(h, decoder_weight_, decoder_bias_);
}

// ---- classification heads ---------------------------------------------------------------------

torch::Tensor pool_hidden_states(const torch::Tensor& hidden, const torch::Tensor& attention_mask,
                                 std::string_view pooling) {
    require(hidden.dim() == 3, "pooling expects hidden states of shape [batch, length, d_model]");
    if (pooling == "cls") {
        return hidden.select(1, 0);
    }
    require(pooling == "mean",
            fmt::format("unknown pooling \"{}\": expected \"cls\" or \"mean\"", pooling));
    if (!attention_mask.defined()) {
        return hidden.mean(1);
    }
    auto weights = attention_mask.ne(0).to(hidden.scalar_type()).unsqueeze(-1);  // [B, T, 1]
    // clamp: an all-padding row pools to zeros instead of NaN.
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0);
}

SequenceClassificationHeadImpl::SequenceClassificationHeadImpl(
    const SequenceClassificationHeadOptions& options)
    : options_(options) {
    require(options.num_labels() > 0, "sequence classification head needs num_labels > 0");
    require(options.pooling() == "cls" || options.pooling() == "mean",
            fmt::format("unknown pooling \"{}\": expected \"cls\" or \"mean\"", options.pooling()));
    dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
    classifier =
        register_module("classifier", torch::nn::Linear(options.d_model(), options.num_labels()));
    init_children(*this, options.initializer_range());
}

torch::Tensor SequenceClassificationHeadImpl::forward(const torch::Tensor& hidden,
                                                      const torch::Tensor& attention_mask) {
    return classifier(dropout(pool_hidden_states(hidden, attention_mask, options_.pooling())));
}

TokenClassificationHeadImpl::TokenClassificationHeadImpl(
    const TokenClassificationHeadOptions& options)
    : options_(options) {
    require(options.num_labels() > 0, "token classification head needs num_labels > 0");
    dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
    classifier =
        register_module("classifier", torch::nn::Linear(options.d_model(), options.num_labels()));
    init_children(*this, options.initializer_range());
}

torch::Tensor TokenClassificationHeadImpl::forward(const torch::Tensor& hidden) {
    return classifier(dropout(hidden));
}

// ---- losses -----------------------------------------------------------------------------------

namespace {

torch::Tensor flat_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                 const char* what) {
    require(logits.dim() >= 2 && labels.dim() == logits.dim() - 1,
            fmt::format("{} loss: labels must have one dimension less than the logits", what));
    for (int64_t i = 0; i < labels.dim(); ++i) {
        require(labels.size(i) == logits.size(i),
                fmt::format("{} loss: labels and logits disagree in dimension {} ({} vs {})", what,
                            i, labels.size(i), logits.size(i)));
    }
    const int64_t classes = logits.size(-1);
    auto flat_logits = logits.reshape({-1, classes});
    auto flat_labels = labels.reshape({-1}).to(torch::kLong);
    // Out-of-range labels would abort inside the kernel with an opaque message; say which.
    auto valid = flat_labels.ne(kIgnoreIndex);
    if (valid.any().item<bool>()) {
        auto used = flat_labels.masked_select(valid);
        const int64_t lo = used.min().item<int64_t>();
        const int64_t hi = used.max().item<int64_t>();
        require(lo >= 0 && hi < classes,
                fmt::format("{} loss: labels must be in [0, {}) (or {} to ignore), got labels in "
                            "[{}, {}]", what, classes, kIgnoreIndex, lo, hi));
    } else {
        // Nothing to predict (e.g. all padding): a zero that still connects to the graph.
        return flat_logits.sum() * 0.0;
    }
    return torch::nn::functional::cross_entropy(
        flat_logits.to(torch::kFloat), flat_labels,
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex));
}

}  // namespace

torch::Tensor masked_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
    require(logits.dim() == 3, "masked LM loss expects logits [batch, length, vocab]");
    return flat_cross_entropy(logits, labels, "masked LM");
}

torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
    require(logits.dim() == 3, "causal LM loss expects logits [batch, length, vocab]");
    require(labels.dim() == 2 && labels.size(1) == logits.size(1),
            "causal LM loss expects labels [batch, length] matching the logits");
    const int64_t length = logits.size(1);
    auto shifted_logits = logits.narrow(1, 0, length - 1);
    auto shifted_labels = labels.narrow(1, 1, length - 1);
    return flat_cross_entropy(shifted_logits, shifted_labels, "causal LM");
}

torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
    require(logits.dim() == 2, "classification loss expects logits [batch, num_labels]");
    return flat_cross_entropy(logits, labels, "classification");
}

torch::Tensor token_classification_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
    require(logits.dim() == 3,
            "token classification loss expects logits [batch, length, num_labels]");
    return flat_cross_entropy(logits, labels, "token classification");
}

torch::Tensor causal_lm_labels(const torch::Tensor& ids, const torch::Tensor& attention_mask) {
    auto labels = ids.to(torch::kLong).clone();
    if (attention_mask.defined()) {
        labels.masked_fill_(attention_mask.eq(0), kIgnoreIndex);
    }
    return labels;
}

// ---- task models ------------------------------------------------------------------------------

void ModelArchitecture::validate() const {
    encoder.validate();
    if (head == HeadKind::sequence_classification || head == HeadKind::token_classification) {
        require(!labels.empty(),
                fmt::format("a {} model needs at least one label name", to_string(head)));
        require(classifier_dropout >= 0.0 && classifier_dropout < 1.0,
                fmt::format("classifier dropout must be in [0, 1), got {}", classifier_dropout));
    }
    if (head == HeadKind::sequence_classification) {
        require(pooling == "cls" || pooling == "mean",
                fmt::format("unknown pooling \"{}\": expected \"cls\" or \"mean\"", pooling));
    } else {
        require(truncation == Truncation::head,
                fmt::format("truncation \"{}\" applies to sequence classifiers only; a {} model cuts "
                            "the end (\"head\")", to_string(truncation), to_string(head)));
    }
}

TaskModelImpl::TaskModelImpl(ModelArchitecture architecture)
    : architecture_(std::move(architecture)) {
    architecture_.validate();
    encoder_ = register_module("encoder", TransformerEncoder(architecture_.encoder));
}

LanguageModelImpl::LanguageModelImpl(ModelArchitecture architecture)
    : TaskModelImpl(std::move(architecture)) {
    require(architecture_.is_language_model(),
            fmt::format("LanguageModel needs head \"mlm\" or \"clm\", got \"{}\"",
                        to_string(architecture_.head)));
    const auto& enc = architecture_.encoder;
    auto options = LMHeadOptions(enc.d_model(), enc.vocab_size())
                       .layer_norm_eps(enc.layer_norm_eps())
                       .initializer_range(enc.initializer_range());
    auto tied = enc.tie_embeddings() ? encoder_->token_embedding_weight() : torch::Tensor();
    if (causal()) {
        head_ = std::make_shared<CausalLMHeadImpl>(options, tied);
    } else {
        head_ = std::make_shared<MaskedLMHeadImpl>(options, tied);
    }
    register_module("head", head_);
}

torch::Tensor LanguageModelImpl::forward(const torch::Tensor& ids,
                                         const torch::Tensor& attention_mask) {
    return head_->forward(encoder_->forward(ids, attention_mask, causal()));
}

torch::Tensor LanguageModelImpl::loss(const torch::Tensor& logits,
                                      const torch::Tensor& labels) const {
    return causal() ? causal_lm_loss(logits, labels) : masked_lm_loss(logits, labels);
}

torch::Tensor LanguageModelImpl::forward_loss(const torch::Tensor& ids,
                                              const torch::Tensor& attention_mask,
                                              const torch::Tensor& labels) {
    if (causal()) return loss(forward(ids, attention_mask), labels);
    require(labels.dim() == 2 && labels.sizes() == ids.sizes(),
            "masked LM loss expects labels [batch, length] matching the ids");
    auto hidden = encoder_->forward(ids, attention_mask, false);  // [B, T, d]
    auto flat_labels = labels.reshape({-1}).to(torch::kLong);
    auto selected = flat_labels.ne(kIgnoreIndex).nonzero().squeeze(1);
    if (selected.numel() == 0) return hidden.sum() * 0.0;  // nothing masked: a zero in the graph
    auto h = hidden.reshape({-1, hidden.size(-1)}).index_select(0, selected);  // [N, d]
    // [1, N, V] against [1, N]: the same checks and cross-entropy as on the full logits.
    return masked_lm_loss(head_->forward(h).unsqueeze(0), flat_labels.index_select(0, selected).unsqueeze(0));
}

SequenceClassifierImpl::SequenceClassifierImpl(ModelArchitecture architecture)
    : TaskModelImpl(std::move(architecture)) {
    require(architecture_.head == HeadKind::sequence_classification,
            fmt::format("SequenceClassifier needs head \"sequence_classification\", got \"{}\"",
                        to_string(architecture_.head)));
    const auto& enc = architecture_.encoder;
    head_ = register_module(
        "head", SequenceClassificationHead(
                    SequenceClassificationHeadOptions(enc.d_model(), architecture_.num_labels())
                        .pooling(architecture_.pooling)
                        .dropout(architecture_.classifier_dropout)
                        .initializer_range(enc.initializer_range())));
}

torch::Tensor SequenceClassifierImpl::forward(const torch::Tensor& ids,
                                              const torch::Tensor& attention_mask) {
    return head_->forward(encoder_->forward(ids, attention_mask), attention_mask);
}

torch::Tensor SequenceClassifierImpl::loss(const torch::Tensor& logits,
                                           const torch::Tensor& labels) const {
    return classification_loss(logits, labels);
}

torch::Tensor SequenceClassifierImpl::features(const torch::Tensor& ids,
                                               const torch::Tensor& attention_mask) {
    return pool_hidden_states(encoder_->forward(ids, attention_mask), attention_mask,
                              architecture_.pooling);
}

TokenClassifierImpl::TokenClassifierImpl(ModelArchitecture architecture)
    : TaskModelImpl(std::move(architecture)) {
    require(architecture_.head == HeadKind::token_classification,
            fmt::format("TokenClassifier needs head \"token_classification\", got \"{}\"",
                        to_string(architecture_.head)));
    const auto& enc = architecture_.encoder;
    head_ = register_module(
        "head", TokenClassificationHead(
                    TokenClassificationHeadOptions(enc.d_model(), architecture_.num_labels())
                        .dropout(architecture_.classifier_dropout)
                        .initializer_range(enc.initializer_range())));
}

torch::Tensor TokenClassifierImpl::forward(const torch::Tensor& ids,
                                           const torch::Tensor& attention_mask) {
    return head_->forward(encoder_->forward(ids, attention_mask));
}

torch::Tensor TokenClassifierImpl::loss(const torch::Tensor& logits,
                                        const torch::Tensor& labels) const {
    return token_classification_loss(logits, labels);
}

TaskModelPtr build_model(const ModelArchitecture& architecture) {
    architecture.validate();
    switch (architecture.head) {
        case HeadKind::mlm:
        case HeadKind::clm: return std::make_shared<LanguageModelImpl>(architecture);
        case HeadKind::sequence_classification:
            return std::make_shared<SequenceClassifierImpl>(architecture);
        case HeadKind::token_classification:
            return std::make_shared<TokenClassifierImpl>(architecture);
    }
    throw std::invalid_argument("unknown model head");
}

}  // namespace graft::ml
