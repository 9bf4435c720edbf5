// Optimizers and learning-rate schedules for the trainer.
//
// Parameter groups: weight decay applies to weight matrices only. Biases and normalisation
// weights are excluded by name (a name ending in ".bias" or containing "norm", "LayerNorm" or
// "layer_norm"), as in BERT. Each group also carries an lr multiplier (discriminative learning
// rates: the caller maps parameter names to multipliers, e.g. decay^(depth from the top)).
//
// Schedules are a pure function of the optimizer step: every group's lr is set to
// base_lr(group) * factor(step) before that step, so a resumed run only needs the step count.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace graft::ml {

enum class OptimizerKind { adamw, sgd };
enum class ScheduleKind { constant, linear, cosine };

// "adamw" | "sgd"; "constant" | "linear" | "cosine". Unknown text throws std::invalid_argument
// listing the choices.
OptimizerKind parse_optimizer(const std::string& text);
ScheduleKind parse_schedule(const std::string& text);
const char* to_string(OptimizerKind kind);
const char* to_string(ScheduleKind kind);

// True when the parameter is excluded from weight decay (bias or normalisation weight).
bool is_no_decay_parameter(const std::string& name);

struct ParamGroup {
    std::vector<std::string> names;
    std::vector<torch::Tensor> params;
    double weight_decay = 0;
    double lr_scale = 1;  // this group's lr = lr * lr_scale * schedule factor
};

// Maps a parameter name to its lr multiplier; empty = 1 for every parameter.
using LrMultiplier = std::function<double(const std::string& name)>;

// Splits the module's parameters into groups by (decay or not, lr multiplier), in the order of
// first appearance in named_parameters(), so the grouping is deterministic and a saved optimizer
// state loads into a freshly built one. Frozen parameters (requires_grad false) are included: they
// get no gradient, so the optimizers skip them, and a task may unfreeze them later (gradual
// unfreezing) without rebuilding the optimizer. A multiplier <= 0 or non-finite throws.
std::vector<ParamGroup> make_param_groups(const torch::nn::Module& module, double weight_decay,
                                          const LrMultiplier& lr_multiplier = {});

struct OptimizerSettings {
    OptimizerKind kind = OptimizerKind::adamw;
    double lr = 5e-4;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // AdamW
    double momentum = 0.9;                          // SGD
    bool nesterov = false;                          // SGD
};

// An optimizer whose group i holds groups[i] with lr = settings.lr * groups[i].lr_scale and that
// group's weight decay (AdamW: decoupled decay; SGD: L2 added to the gradient, as LibTorch does).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<ParamGroup>& groups,
                                                        const OptimizerSettings& settings);

struct LrSchedule {
    ScheduleKind kind = ScheduleKind::linear;
    int64_t warmup_steps = 0;
    int64_t total_steps = 1;

    // Multiplier for the update with 0-based index `step`. Warm-up: (step + 1) / warmup_steps for
    // step < warmup_steps (so the first update is not wasted at lr 0). Afterwards, with progress
    // p = (step - warmup) / (total - warmup) in [0, 1): constant 1, linear 1 - p, cosine
    // (1 + cos(pi p)) / 2. Steps at or past total_steps give the value at total_steps (0 for the
    // decays).
    double factor(int64_t step) const;
};

// Sets group i's lr to base_lrs[i] * factor. base_lrs.size() must equal the number of groups.
void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<double>& base_lrs,
                        double factor);

}  // namespace graft::ml
