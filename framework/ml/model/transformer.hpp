// BERT-style transformer encoder (token + learned position embeddings, N blocks of multi-head
// self-attention and feed-forward, pre- or post-LayerNorm) with a padding mask and an optional
// causal mask, so the same blocks serve masked-LM, causal-LM and classification models.
//
// Parameter names are part of the checkpoint format (safetensors keys on them) and must not change:
//   embeddings.token.weight            [vocab_size, d_model]
//   embeddings.position.weight         [max_len, d_model]
//   embeddings.norm.{weight,bias}      [d_model]
//   layers.<i>.attention.{query,key,value,output}.{weight,bias}
//   layers.<i>.attention_norm.{weight,bias}
//   layers.<i>.feed_forward.{intermediate,output}.{weight,bias}
//   layers.<i>.output_norm.{weight,bias}
//   final_norm.{weight,bias}           (pre-LN only: normalises the last block's output)
//   layers.<i>.attention.alibi_slopes  [heads] buffer, position_bias = "alibi" only
//
// position_bias = "alibi" (Press et al. 2022, symmetric for the bidirectional case) adds
// -slope_h * |i - j| to head h's attention scores on top of the learned positions, so attention
// starts out local; the slopes are the geometric sequence of the paper for n_heads heads, stored
// as a buffer per layer so that structurally pruned layers keep the slopes of the heads they kept.
//
// Per-layer widths (structurally pruned models): layer_heads[i] attention heads of head_dim =
// d_model / n_heads each (query/key/value [layer_heads[i] * head_dim, d_model], output
// [d_model, layer_heads[i] * head_dim]) and layer_d_ff[i] feed-forward units. Empty = every layer
// has n_heads heads and d_ff units, the unpruned shape.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace graft::ml {

struct TransformerEncoderOptions {
    explicit TransformerEncoderOptions(int64_t vocab_size = 0) : vocab_size_(vocab_size) {}

    // Throws std::invalid_argument naming the bad option, what was expected and a fix.
    void validate() const;

    // Heads / feed-forward units of layer i (the per-layer value, or n_heads / d_ff).
    int64_t heads_in_layer(int64_t i) const;
    int64_t d_ff_in_layer(int64_t i) const;
    int64_t head_dim() const { return d_model_ / n_heads_; }
    // True when every layer has n_heads heads and d_ff units.
    bool uniform() const;

    TORCH_ARG(int64_t, vocab_size);
    TORCH_ARG(int64_t, max_len) = 512;     // longest sequence (learned positions)
    TORCH_ARG(int64_t, d_model) = 256;
    TORCH_ARG(int64_t, n_layers) = 4;
    TORCH_ARG(int64_t, n_heads) = 4;       // must divide d_model
    TORCH_ARG(int64_t, d_ff) = 1024;
    TORCH_ARG(double, dropout) = 0.1;      // embeddings, residual branches
    TORCH_ARG(double, attention_dropout) = 0.1;  // on the attention probabilities
    TORCH_ARG(bool, pre_ln) = false;       // false: BERT (post-LN); true: GPT-2 style + final_norm
    TORCH_ARG(std::string, activation) = "gelu";  // "gelu" | "relu"
    TORCH_ARG(int64_t, pad_id) = 0;
    TORCH_ARG(double, layer_norm_eps) = 1e-12;
    TORCH_ARG(bool, tie_embeddings) = true;  // LM heads reuse embeddings.token.weight as decoder
    TORCH_ARG(double, initializer_range) = 0.02;  // std of the normal weight initialisation
    TORCH_ARG(std::string, position_bias) = "none";  // "none" | "alibi" (see above)
    // Per-layer head counts in [1, n_heads] and feed-forward sizes >= 1 (n_layers entries each),
    // or empty for the uniform shape. n_heads still fixes head_dim = d_model / n_heads.
    TORCH_ARG(std::vector<int64_t>, layer_heads);
    TORCH_ARG(std::vector<int64_t>, layer_d_ff);
};

// Everything the encoder computed: the last layer and, when asked for, every layer's output
// (hidden_states[0] = embeddings output, hidden_states[i] = output of layer i-1; for pre-LN the
// last entry is the final_norm output, equal to last_hidden_state).
struct EncoderOutput {
    torch::Tensor last_hidden_state;           // [B, T, d_model]
    std::vector<torch::Tensor> hidden_states;  // empty unless requested; n_layers + 1 entries
};

// ALiBi's slopes for n heads: 2^(-8/n), 2^(-16/n), ... for a power of two n; otherwise those of
// the next lower power of two followed by every other slope of the next higher one (the paper's
// recipe).
std::vector<double> alibi_slopes(int64_t n_heads);

// Additive attention mask of shape [B, 1, 1|T, T] for scores of dtype `dtype`: 0 where attention is
// allowed, a large negative value where the key is padding or (causal) in the future.
// attention_mask: [B, T] bool or integer, nonzero = real token; undefined = no padding.
torch::Tensor make_additive_attention_mask(const torch::Tensor& attention_mask, int64_t batch,
                                           int64_t length, bool causal, torch::Dtype dtype,
                                           torch::Device device);

class EmbeddingsImpl : public torch::nn::Module {
public:
    explicit EmbeddingsImpl(const TransformerEncoderOptions& options);
    torch::Tensor forward(const torch::Tensor& ids);  // ids [B, T] int64 -> [B, T, d_model]

    torch::nn::Embedding token{nullptr};
    torch::nn::Embedding position{nullptr};
    torch::nn::LayerNorm norm{nullptr};
    torch::nn::Dropout dropout{nullptr};

private:
    TransformerEncoderOptions options_;
};
TORCH_MODULE(Embeddings);

class MultiHeadSelfAttentionImpl : public torch::nn::Module {
public:
    // n_heads < 0: options.n_heads(); else that many heads of options.head_dim() each.
    explicit MultiHeadSelfAttentionImpl(const TransformerEncoderOptions& options,
                                        int64_t n_heads = -1);
    // x [B, T, d_model], additive_mask broadcastable to [B, n_heads, T, T] (or undefined).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);

    torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, output{nullptr};
    torch::nn::Dropout attention_dropout{nullptr};

    int64_t n_heads() const { return n_heads_; }
    int64_t head_dim() const { return head_dim_; }
    // [n_heads] ALiBi slopes (a buffer), undefined unless position_bias = "alibi".
    const torch::Tensor& alibi_slopes() const { return alibi_slopes_; }

private:
    int64_t n_heads_;
    int64_t head_dim_;
    torch::Tensor alibi_slopes_;
};
TORCH_MODULE(MultiHeadSelfAttention);

class FeedForwardImpl : public torch::nn::Module {
public:
    // d_ff < 0: options.d_ff().
    explicit FeedForwardImpl(const TransformerEncoderOptions& options, int64_t d_ff = -1);
    torch::Tensor forward(const torch::Tensor& x);

    torch::nn::Linear intermediate{nullptr}, output{nullptr};

private:
    bool gelu_;
};
TORCH_MODULE(FeedForward);

class TransformerLayerImpl : public torch::nn::Module {
public:
    // Layer `index` takes its widths from options.heads_in_layer / d_ff_in_layer.
    explicit TransformerLayerImpl(const TransformerEncoderOptions& options, int64_t index = 0);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);

    MultiHeadSelfAttention attention{nullptr};
    torch::nn::LayerNorm attention_norm{nullptr};
    FeedForward feed_forward{nullptr};
    torch::nn::LayerNorm output_norm{nullptr};
    torch::nn::Dropout dropout{nullptr};

private:
    bool pre_ln_;
};
TORCH_MODULE(TransformerLayer);

class TransformerEncoderImpl : public torch::nn::Module {
public:
    explicit TransformerEncoderImpl(TransformerEncoderOptions options);

    // ids [B, T] int64 in [0, vocab_size), T <= max_len; attention_mask [B, T] (nonzero = real
    // token) or undefined; causal: position t attends to positions <= t only.
    // Returns the last hidden states [B, T, d_model]. Bad shapes/ids throw std::invalid_argument.
    torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask = {},
                          bool causal = false);
    // Same, optionally keeping every layer's output (for distillation and probing).
    EncoderOutput forward_all(const torch::Tensor& ids, const torch::Tensor& attention_mask = {},
                              bool causal = false, bool output_hidden_states = true);

    const TransformerEncoderOptions& options() const { return options_; }
    Embeddings& embeddings() { return embeddings_; }
    const std::vector<TransformerLayer>& layers() const { return layers_; }
    // Undefined unless pre_ln.
    torch::nn::LayerNorm& final_norm() { return final_norm_; }
    // The token embedding matrix that tied LM decoders share.
    torch::Tensor token_embedding_weight() { return embeddings_->token->weight; }

    // requires_grad_(false) on the embeddings and layers [0, k) (k clamped to n_layers); the rest
    // trainable again. k = n_layers (and final_norm frozen too) = a fully frozen encoder.
    void freeze_lower(int64_t k);
    // Re-draw every weight as at construction (normal(0, initializer_range), zero biases, unit
    // LayerNorms), seeded by the global torch RNG.
    void reset_parameters();

private:
    TransformerEncoderOptions options_;
    Embeddings embeddings_{nullptr};
    torch::nn::ModuleList layer_list_{nullptr};
    std::vector<TransformerLayer> layers_;
    torch::nn::LayerNorm final_norm_{nullptr};
};
TORCH_MODULE(TransformerEncoder);

// BERT-style initialisation of one module's own parameters (Linear/Embedding: normal(0, std),
// biases zero; LayerNorm: weight 1, bias 0). Used by encoders and heads alike.
void init_module_weights(torch::nn::Module& module, double std);

}  // namespace graft::ml
