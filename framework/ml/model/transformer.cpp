#include "ml/model/transformer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace graft::ml {

namespace {

void require(bool ok, const std::string& message) {
    if (!ok) {
        throw std::invalid_argument(message);
    }
}

std::string shape_of(const torch::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) {
        s += (i ? ", " : "") + std::to_string(t.size(i));
    }
    return s + "]";
}

// Large enough that exp() underflows to exactly 0, small enough that adding scores to it (or a
// fully masked row) stays finite, so softmax never produces NaN.
double mask_fill_value(torch::Dtype dtype) {
    return dtype == torch::kHalf ? -3.0e4 : -1.0e9;
}

}  // namespace

void TransformerEncoderOptions::validate() const {
    const auto positive = [](const char* name, int64_t value) {
        require(value > 0, fmt::format("transformer option {} must be > 0, got {}", name, value));
    };
    positive("vocab_size", vocab_size_);
    positive("max_len", max_len_);
    positive("d_model", d_model_);
    positive("n_layers", n_layers_);
    positive("n_heads", n_heads_);
    positive("d_ff", d_ff_);
    require(d_model_ % n_heads_ == 0,
            fmt::format("transformer option n_heads ({}) must divide d_model ({}): choose e.g. "
                        "n_heads = {}", n_heads_, d_model_, d_model_ % 4 == 0 ? 4 : 1));
    const auto probability = [](const char* name, double value) {
        require(value >= 0.0 && value < 1.0,
                fmt::format("transformer option {} must be in [0, 1), got {}", name, value));
    };
    probability("dropout", dropout_);
    probability("attention_dropout", attention_dropout_);
    require(activation_ == "gelu" || activation_ == "relu",
            fmt::format("transformer option activation must be \"gelu\" or \"relu\", got \"{}\"",
                        activation_));
    require(pad_id_ >= 0 && pad_id_ < vocab_size_,
            fmt::format("transformer option pad_id must be in [0, vocab_size = {}), got {}",
                        vocab_size_, pad_id_));
    require(layer_norm_eps_ > 0.0 && std::isfinite(layer_norm_eps_),
            fmt::format("transformer option layer_norm_eps must be > 0, got {}", layer_norm_eps_));
    require(position_bias_ == "none" || position_bias_ == "alibi",
            fmt::format("transformer option position_bias must be \"none\" or \"alibi\", got "
                        "\"{}\"",
                        position_bias_));
    require(initializer_range_ > 0.0 && std::isfinite(initializer_range_),
            fmt::format("transformer option initializer_range must be > 0, got {}",
                        initializer_range_));
    const auto per_layer = [&](const char* name, const std::vector<int64_t>& values, int64_t hi,
                               const char* bound) {
        if (values.empty()) return;
        require(static_cast<int64_t>(values.size()) == n_layers_,
                fmt::format("transformer option {} has {} entries but the model has n_layers = "
                            "{}: give one per layer, or none for the uniform shape",
                            name, values.size(), n_layers_));
        for (size_t i = 0; i < values.size(); ++i) {
            require(values[i] >= 1 && values[i] <= hi,
                    fmt::format("transformer option {}[{}] must be in [1, {} = {}], got {}", name,
                                i, bound, hi, values[i]));
        }
    };
    per_layer("layer_heads", layer_heads_, n_heads_, "n_heads");
    per_layer("layer_d_ff", layer_d_ff_, std::numeric_limits<int64_t>::max(), "int64 max");
}

int64_t TransformerEncoderOptions::heads_in_layer(int64_t i) const {
    return layer_heads_.empty() ? n_heads_ : layer_heads_.at(static_cast<size_t>(i));
}

int64_t TransformerEncoderOptions::d_ff_in_layer(int64_t i) const {
    return layer_d_ff_.empty() ? d_ff_ : layer_d_ff_.at(static_cast<size_t>(i));
}

bool TransformerEncoderOptions::uniform() const {
    for (int64_t i = 0; i < n_layers_; ++i) {
        if (heads_in_layer(i) != n_heads_ || d_ff_in_layer(i) != d_ff_) return false;
    }
    return true;
}

std::vector<double> alibi_slopes(int64_t n_heads) {
    require(n_heads >= 1, fmt::format("ALiBi needs at least one head, got {}", n_heads));
    const auto geometric = [](int64_t n) {
        std::vector<double> out;
        const double start = std::pow(2.0, -8.0 / static_cast<double>(n));
        for (int64_t i = 1; i <= n; ++i) out.push_back(std::pow(start, static_cast<double>(i)));
        return out;
    };
    int64_t lower = 1;
    while (lower * 2 <= n_heads) lower *= 2;
    auto slopes = geometric(lower);
    if (lower < n_heads) {
        const auto higher = geometric(2 * lower);
        for (int64_t i = 0; static_cast<int64_t>(slopes.size()) < n_heads; i += 2) {
            slopes.push_back(higher[static_cast<size_t>(i)]);
        }
    }
    return slopes;
}

torch::Tensor make_additive_attention_mask(const torch::Tensor& attention_mask, int64_t batch,
                                           int64_t length, bool causal, torch::Dtype dtype,
                                           torch::Device device) {
    torch::Tensor allowed;  // bool, broadcastable to [B, 1, T, T]
    if (attention_mask.defined()) {
        require(attention_mask.dim() == 2 && attention_mask.size(0) == batch &&
                    attention_mask.size(1) == length,
                fmt::format("attention_mask must have shape [{}, {}] like the ids, got {}", batch,
                            length, shape_of(attention_mask)));
        allowed = attention_mask.to(device).ne(0).view({batch, 1, 1, length});
    }
    if (causal) {
        auto lower = torch::ones({length, length}, torch::dtype(torch::kBool).device(device))
                         .tril()
                         .view({1, 1, length, length});
        allowed = allowed.defined() ? allowed.logical_and(lower) : lower;
    }
    if (!allowed.defined()) {
        return {};
    }
    return torch::zeros(allowed.sizes(), torch::dtype(dtype).device(device))
        .masked_fill_(allowed.logical_not(), mask_fill_value(dtype));
}

void init_module_weights(torch::nn::Module& module, double std) {
    torch::NoGradGuard no_grad;
    if (auto* linear = module.as<torch::nn::Linear>()) {
        linear->weight.normal_(0.0, std);
        if (linear->bias.defined()) {
            linear->bias.zero_();
        }
    } else if (auto* embedding = module.as<torch::nn::Embedding>()) {
        embedding->weight.normal_(0.0, std);
    } else if (auto* norm = module.as<torch::nn::LayerNorm>()) {
        norm->weight.fill_(1.0);
        norm->bias.zero_();
    }
}

// ---- embeddings -------------------------------------------------------------------------------

EmbeddingsImpl::EmbeddingsImpl(const TransformerEncoderOptions& options) : options_(options) {
    token = register_module("token", torch::nn::Embedding(options.vocab_size(), options.d_model()));
    position =
        register_module("position", torch::nn::Embedding(options.max_len(), options.d_model()));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions(
                                       {options.d_model()})
                                       .eps(options.layer_norm_eps())));
    dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
}

torch::Tensor EmbeddingsImpl::forward(const torch::Tensor& ids) {
    auto positions = torch::arange(ids.size(1), ids.options().dtype(torch::kLong));
    auto x = token(ids) + position(positions).unsqueeze(0);
    return dropout(norm(x));
}

// ---- attention --------------------------------------------------------------------------------

MultiHeadSelfAttentionImpl::MultiHeadSelfAttentionImpl(const TransformerEncoderOptions& options,
                                                       int64_t n_heads)
    : n_heads_(n_heads < 0 ? options.n_heads() : n_heads), head_dim_(options.head_dim()) {
    require(n_heads_ >= 1, fmt::format("attention needs at least one head, got {}", n_heads_));
    const int64_t d = options.d_model();
    const int64_t inner = n_heads_ * head_dim_;
    query = register_module("query", torch::nn::Linear(d, inner));
    key = register_module("key", torch::nn::Linear(d, inner));
    value = register_module("value", torch::nn::Linear(d, inner));
    output = register_module("output", torch::nn::Linear(inner, d));
    attention_dropout =
        register_module("attention_dropout", torch::nn::Dropout(options.attention_dropout()));
    if (options.position_bias() == "alibi") {
        // The first n_heads_ of the unpruned model's slopes; a pruned checkpoint overwrites them
        // with the slopes of the heads it kept.
        auto all = ml::alibi_slopes(options.n_heads());  // the free function, not the accessor
        all.resize(static_cast<size_t>(n_heads_), all.back());
        alibi_slopes_ = register_buffer("alibi_slopes", torch::tensor(all, torch::kFloat));
    }
}

torch::Tensor MultiHeadSelfAttentionImpl::forward(const torch::Tensor& x,
                                                  const torch::Tensor& additive_mask) {
    const int64_t batch = x.size(0);
    const int64_t length = x.size(1);
    // [B, T, d] -> [B, H, T, head_dim]
    const auto split_heads = [&](const torch::Tensor& t) {
        return t.view({batch, length, n_heads_, head_dim_}).transpose(1, 2);
    };
    // Scaling q before the product keeps the scores' magnitude small in low precision.
    auto q = split_heads(query(x)) * (1.0 / std::sqrt(static_cast<double>(head_dim_)));
    auto k = split_heads(key(x));
    auto v = split_heads(value(x));
    auto scores = torch::matmul(q, k.transpose(-2, -1));  // [B, H, T, T]
    if (alibi_slopes_.defined()) {
        auto positions = torch::arange(length, torch::dtype(torch::kFloat).device(x.device()));
        auto distance = (positions.unsqueeze(0) - positions.unsqueeze(1)).abs();  // [T, T]
        scores = scores - (alibi_slopes_.view({1, n_heads_, 1, 1}) * distance)
                              .to(scores.scalar_type());
    }
    if (additive_mask.defined()) {
        scores = scores + additive_mask.to(scores.scalar_type());
    }
    auto probabilities = attention_dropout(torch::softmax(scores, -1));
    auto context = torch::matmul(probabilities, v)  // [B, H, T, head_dim]
                       .transpose(1, 2)
                       .reshape({batch, length, n_heads_ * head_dim_});
    return output(context);
}

// ---- feed-forward and layer ---------------------------------------------------------------------

FeedForwardImpl::FeedForwardImpl(const TransformerEncoderOptions& options, int64_t d_ff)
    : gelu_(options.activation() == "gelu") {
    const int64_t width = d_ff < 0 ? options.d_ff() : d_ff;
    require(width >= 1, fmt::format("feed-forward needs at least one unit, got {}", width));
    intermediate = register_module("intermediate", torch::nn::Linear(options.d_model(), width));
    output = register_module("output", torch::nn::Linear(width, options.d_model()));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
    auto h = intermediate(x);
    h = gelu_ ? torch::gelu(h) : torch::relu(h);
    return output(h);
}

TransformerLayerImpl::TransformerLayerImpl(const TransformerEncoderOptions& options, int64_t index)
    : pre_ln_(options.pre_ln()) {
    const auto layer_norm = [&] {
        return torch::nn::LayerNorm(
            torch::nn::LayerNormOptions({options.d_model()}).eps(options.layer_norm_eps()));
    };
    attention = register_module("attention",
                                MultiHeadSelfAttention(options, options.heads_in_layer(index)));
    attention_norm = register_module("attention_norm", layer_norm());
    feed_forward =
        register_module("feed_forward", FeedForward(options, options.d_ff_in_layer(index)));
    output_norm = register_module("output_norm", layer_norm());
    dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& x,
                                            const torch::Tensor& additive_mask) {
    if (pre_ln_) {
        // Pre-LN: normalise the branch input; the residual stream itself is never normalised
        // (the encoder's final_norm does it once at the end).
        auto h = x + dropout(attention(attention_norm(x), additive_mask));
        return h + dropout(feed_forward(output_norm(h)));
    }
    auto h = attention_norm(x + dropout(attention(x, additive_mask)));
    return output_norm(h + dropout(feed_forward(h)));
}

// ---- encoder ------------------------------------------------------------------------------------

TransformerEncoderImpl::TransformerEncoderImpl(TransformerEncoderOptions options)
    : options_(std::move(options)) {
    options_.validate();
    embeddings_ = register_module("embeddings", Embeddings(options_));
    layer_list_ = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < options_.n_layers(); ++i) {
        TransformerLayer layer(options_, i);
        layer_list_->push_back(layer);
        layers_.push_back(layer);
    }
    if (options_.pre_ln()) {
        final_norm_ = register_module(
            "final_norm",
            torch::nn::LayerNorm(
                torch::nn::LayerNormOptions({options_.d_model()}).eps(options_.layer_norm_eps())));
    }
    reset_parameters();
}

void TransformerEncoderImpl::reset_parameters() {
    const double std = options_.initializer_range();
    apply([std](torch::nn::Module& module) { init_module_weights(module, std); });
}

void TransformerEncoderImpl::freeze_lower(int64_t k) {
    const int64_t n = options_.n_layers();
    k = std::clamp<int64_t>(k, 0, n);
    for (auto& p : embeddings_->parameters()) {
        p.requires_grad_(k == 0);
    }
    for (int64_t i = 0; i < n; ++i) {
        for (auto& p : layers_[static_cast<size_t>(i)]->parameters()) {
            p.requires_grad_(i >= k);
        }
    }
    if (final_norm_) {
        for (auto& p : final_norm_->parameters()) {
            p.requires_grad_(k < n);
        }
    }
}

torch::Tensor TransformerEncoderImpl::forward(const torch::Tensor& ids,
                                              const torch::Tensor& attention_mask, bool causal) {
    return forward_all(ids, attention_mask, causal, false).last_hidden_state;
}

EncoderOutput TransformerEncoderImpl::forward_all(const torch::Tensor& ids,
                                                  const torch::Tensor& attention_mask, bool causal,
                                                  bool output_hidden_states) {
    require(ids.defined() && ids.dim() == 2,
            fmt::format("encoder input ids must be a [batch, length] tensor, got {}",
                        ids.defined() ? shape_of(ids) : "an undefined tensor"));
    require(ids.scalar_type() == torch::kLong || ids.scalar_type() == torch::kInt,
            fmt::format("encoder input ids must be int64 token ids, got {}",
                        c10::toString(ids.scalar_type())));
    const int64_t batch = ids.size(0);
    const int64_t length = ids.size(1);
    require(batch > 0 && length > 0, fmt::format("encoder input ids are empty: {}", shape_of(ids)));
    require(length <= options_.max_len(),
            fmt::format("sequence length {} exceeds the model's max_len {}: truncate inputs to "
                        "max_len (or build the model with a larger max_len)",
                        length, options_.max_len()));
    const int64_t lowest = ids.min().item<int64_t>();
    const int64_t highest = ids.max().item<int64_t>();
    require(lowest >= 0 && highest < options_.vocab_size(),
            fmt::format("token ids must be in [0, vocab_size = {}), got ids in [{}, {}]: the "
                        "tokenizer and the model disagree on the vocabulary",
                        options_.vocab_size(), lowest, highest));
    const auto ids64 = ids.to(torch::kLong);

    EncoderOutput out;
    auto x = embeddings_->forward(ids64);
    const auto mask = make_additive_attention_mask(attention_mask, batch, length, causal,
                                                   x.scalar_type(), x.device());
    if (output_hidden_states) {
        out.hidden_states.reserve(layers_.size() + 1);
        out.hidden_states.push_back(x);
    }
    for (auto& layer : layers_) {
        x = layer->forward(x, mask);
        if (output_hidden_states) {
            out.hidden_states.push_back(x);
        }
    }
    if (final_norm_) {
        x = final_norm_->forward(x);
        if (output_hidden_states) {
            out.hidden_states.back() = x;
        }
    }
    out.last_hidden_state = x;
    return out;
}

}  // namespace graft::ml
