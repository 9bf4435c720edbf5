// Unstructured magnitude pruning with exact sparsity: binary masks over chosen weight matrices,
// ranked by |w| either across all of them (global) or within each matrix (layer). Exactly
// round(s * N) entries are pruned, N being the entries ranked together: the smallest |w| first,
// entries pruned by an earlier call before every live one (so masks only ever grow along a
// schedule), ties broken by position (a stable sort), never by a threshold that ties could
// overshoot.
//
// The masked weights stay dense tensors: unstructured sparsity makes a checkpoint no smaller and
// dense LibTorch kernels no faster. Structured pruning (structured.hpp) is what shrinks tensors.
#pragma once

#include "ml/model/heads.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace graft::prune {

enum class Scope { global, layer };
// "global" | "layer"; throws std::invalid_argument naming both.
Scope parse_scope(const std::string& text);

struct PruneTargets {
    bool embeddings = false;  // encoder.embeddings.{token,position}.weight
    bool classifier = false;  // the head's weight matrices (e.g. head.classifier.weight)
};

// Parameter names that unstructured pruning touches, in registration order: every encoder
// layer's attention query/key/value/output and feed-forward intermediate/output weights (never
// biases or LayerNorms), plus the embedding and head matrices when asked for.
std::vector<std::string> prunable_weight_names(ml::TaskModelImpl& model, const PruneTargets& targets);

// Encoder layer index of a parameter name ("encoder.layers.3.attention..." -> 3), -1 if none.
int64_t layer_of(const std::string& name);

class MaskSet {
public:
    struct Entry {
        std::string name;
        torch::Tensor weight;  // the model's parameter (shared storage)
        torch::Tensor mask;    // same shape and dtype, 1 = kept, 0 = pruned
    };

    // All-ones masks over the named parameters of `model` (std::invalid_argument for an unknown
    // name). The model must outlive the set.
    MaskSet(ml::TaskModelImpl& model, const std::vector<std::string>& names);

    // Recomputes the masks so that exactly round(sparsity * N) entries are pruned, per scope.
    // Needs sparsity in [0, 1) and not below what is pruned already (std::invalid_argument).
    void prune_to(double sparsity, Scope scope);
    // weight *= mask, without recording gradients.
    void apply();
    // grad *= mask for every weight that has a gradient, without recording gradients: pruned
    // weights then count neither in the clipped global norm nor in AdamW's moments, so the
    // optimizer cannot move them off zero (decoupled decay keeps a zero at zero).
    void mask_gradients();

    int64_t total() const;   // entries under masks
    int64_t pruned() const;  // mask zeros
    const std::vector<Entry>& entries() const { return entries_; }

private:
    std::vector<Entry> entries_;
};

struct SparsityReport {
    int64_t total = 0;
    int64_t zeros = 0;
    double overall = 0;                  // zeros / total
    std::map<std::string, double> by_group;  // "layer_<i>", "embeddings", "head"
};
// Measured on the weights themselves: the fraction of the named parameters' entries that is
// exactly zero (what a sparse format could drop), overall and per encoder layer / group.
SparsityReport measure_sparsity(ml::TaskModelImpl& model, const std::vector<std::string>& names);

}  // namespace graft::prune
