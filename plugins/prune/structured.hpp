// Structured pruning: whole attention heads and feed-forward units removed from the tensors, so
// the pruned model really is smaller (fewer parameters, a smaller checkpoint, faster dense
// inference). The result records its per-layer widths (TransformerEncoderOptions::layer_heads /
// layer_d_ff) and loads from its checkpoint like any other model.
//
// Importance of a head h of layer i (what its removal would cost):
//   magnitude: ||W_o[:, h]||_F * ||[W_v[h], b_v[h]]||_F. The head adds W_o[:, h] (A V_h) to the
//              layer's output, with attention rows A summing to one, so the product is zero
//              exactly when the head contributes nothing, whatever its query and key weights.
//   taylor:    first-order Taylor estimate of the loss change (Molchanov et al. 2019): the mean
//              over batches of (sum over the head's weights and biases of w * dL/dw)^2.
// A feed-forward unit j is scored the same way from W_out[:, j] and [W_in[j], b_in[j]].
#pragma once

#include "masks.hpp"

#include "ml/model/heads.hpp"
#include "ml/train/batching.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace graft::prune {

enum class Importance { magnitude, taylor };
Importance parse_importance(const std::string& text);  // "magnitude" | "taylor"

struct LayerScores {
    std::vector<double> heads;  // one per head of the layer
    std::vector<double> units;  // one per feed-forward unit
};

std::vector<LayerScores> magnitude_importance(ml::TaskModelImpl& model);
// The model's own loss on each batch (eval mode, so no dropout); gradients are cleared after.
std::vector<LayerScores> taylor_importance(ml::TaskModelImpl& model, const std::vector<ml::Batch>& batches);

// Which heads and units each layer keeps (sorted indices into the current layer).
struct KeepPlan {
    std::vector<std::vector<int64_t>> heads;
    std::vector<std::vector<int64_t>> units;
};

// Original widths, the reference of a removal fraction along a schedule.
struct Widths {
    std::vector<int64_t> heads;  // per layer
    std::vector<int64_t> units;
    int64_t total_heads() const;
    int64_t total_units() const;
};
Widths widths_of(const ml::TransformerEncoderOptions& options);

// Plans the removal of round(heads_fraction * original heads) heads and round(ffn_fraction *
// original units) units in all (counting those removed already: `scores` describe the current,
// possibly pruned model), the least important first: across all layers (global) or
// round(fraction * original) per layer (layer). Every layer keeps at least one head and one
// unit, so the plan can fall short of the target; the caller measures what it achieved. Ties go
// to the lower layer, then the lower index.
KeepPlan plan_removal(const std::vector<LayerScores>& scores, const Widths& original, double heads_fraction,
                      double ffn_fraction, Scope scope);

// A new model of the same architecture but the kept widths, with the kept weights copied and
// everything else (embeddings, norms, head) as is; returned in eval mode.
ml::TaskModelPtr shrink(ml::TaskModelImpl& model, const KeepPlan& plan);

}  // namespace graft::prune
