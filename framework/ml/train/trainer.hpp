// The training loop shared by the pretrain and finetune stages.
//
// A stage describes its model and objective as a TrainTask (module, loss on a batch, evaluation
// on held-out batches); the Trainer owns everything else: seeded batching with dynamic padding
// and length bucketing, AdamW/SGD with weight-decay groups and per-group learning rates,
// warm-up + decay schedules, exact gradient accumulation, global-norm clipping, evaluation every
// N steps with early stopping and best-weights selection, bf16 autocast, a progress callback, a
// per-step JSONL log, and a training-state file from which a run resumes exactly (model,
// optimizer, schedule step, RNGs, data order, early-stopping counters).
//
// Gradient accumulation weighting: TrainTask::loss returns a mean over the units it averages
// (examples for classification, predicted tokens for language modelling) and loss_weight says how
// many units that mean covers. Every optimizer step first prepares all of its k micro-batches,
// then back-propagates loss_i * w_i / sum(w), so the accumulated gradient is exactly the gradient
// of the mean over all units of the k micro-batches: for a per-example mean, k micro-batches of b
// equal one batch of k*b; for an LM loss whose weight is the number of predicted tokens, the step
// averages over tokens (not over micro-batches of unequal token counts).
//
// The JSONL log has one line per optimizer step: {"step" (1-based), "epoch" (0-based epoch the
// step belongs to), "loss" (the step's weighted mean training loss), "lr" (lr x schedule factor;
// groups scale it by their multiplier), "tokens" (real tokens in the step), "tokens_per_s",
// "grad_norm" (before clipping), and "eval": {metric: value} on steps that evaluated}. A resumed
// run drops the lines past the resumed step and appends.
//
// Resume: the state file (torch archive) holds the model's parameters and buffers, the optimizer
// state, the task's own state (TrainTask::save_state), torch's global CPU generator, the data-order
// engine at the start of the current epoch plus the position in it, the step, the early-stopping
// counters and the best weights so far. With one intra-op thread, N/2 steps + resume + N/2 steps
// reproduce N straight steps bit for bit.
#pragma once

#include "ml/train/batching.hpp"
#include "ml/train/optim.hpp"
#include "ml/train/runtime.hpp"

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace graft::ml {

struct EvalResult {
    std::map<std::string, double> metrics;  // must contain TrainerOptions::selection_metric
};

// What the trainer needs from a model + objective. Implementations own the module.
class TrainTask {
public:
    virtual ~TrainTask() = default;

    virtual torch::nn::Module& module() = 0;

    // Turns a collated training micro-batch into what loss() consumes (e.g. MLM masking).
    // Called once per micro-batch, in training order, before its loss.
    virtual Batch prepare(Batch batch) { return batch; }

    // Mean loss over the units of the batch (examples, or predicted tokens for an LM), as a
    // scalar tensor that requires grad. Runs in training mode, under bf16 autocast when asked.
    virtual torch::Tensor loss(const Batch& batch) = 0;

    // How many units loss() averages over (see the header comment). Default: examples. A batch
    // of weight 0 (say, no token selected for MLM) is skipped without calling loss().
    virtual double loss_weight(const Batch& batch) const {
        return static_cast<double>(batch.size());
    }

    // Metrics on the held-out batches (the trainer puts the module in eval mode, disables grad and
    // applies autocast). Must contain the selection metric.
    virtual EvalResult evaluate(const std::vector<Batch>& batches) = 0;

    // Learning-rate multiplier per parameter name (discriminative learning rates). Read once,
    // when the trainer builds its optimizer. Must be positive.
    virtual double lr_multiplier(const std::string& /*name*/) const { return 1.0; }

    // Called at the start of every epoch, and again for the current epoch after a resume: must
    // depend on the epoch only (e.g. gradual unfreezing via requires_grad_).
    virtual void on_epoch_begin(int64_t /*epoch*/) {}

    // Called once per optimizer step, with gradient recording off, after the gradients are
    // complete (all micro-batches accumulated) and before clipping and the optimizer step: the
    // place to edit gradients (e.g. zero those of pruned weights, so they count neither in the
    // clipped global norm nor in AdamW's moments). The reported grad_norm is measured after it.
    virtual void before_optimizer_step() {}

    // Called right after every optimizer step, with gradient recording off: the place to
    // re-impose constraints on the weights the optimizer just moved (e.g. pruning masks, so
    // that pruned weights stay exactly zero through fine-tuning). Snapshots of the best weights
    // are taken after it.
    virtual void after_step() {}

    // Extra state for exact resume (e.g. MlmMasker::generator_state()).
    virtual void save_state(torch::serialize::OutputArchive& /*archive*/) const {}
    virtual void load_state(torch::serialize::InputArchive& /*archive*/) {}

protected:
    TrainTask() = default;
    TrainTask(const TrainTask&) = default;
    TrainTask& operator=(const TrainTask&) = default;
};

enum class MetricMode { max, min };
MetricMode parse_metric_mode(const std::string& text);  // "max" | "min"

struct TrainerOptions {
    // Length: epochs over the training set, capped by max_steps optimizer steps when > 0 (then
    // epochs = 0 means "as many as needed"). The schedule spans the resulting total.
    int64_t epochs = 1;
    int64_t max_steps = 0;

    int64_t batch_size = 32;       // examples per micro-batch
    int64_t grad_accum_steps = 1;  // micro-batches per optimizer step
    int64_t bucket_size = 64;      // length-bucketing window in batches; 0 = off
    int64_t eval_batch_size = 0;   // 0 = batch_size
    CollateOptions collate;        // pad id, label kind, max length

    OptimizerKind optimizer = OptimizerKind::adamw;
    double lr = 5e-4;
    double weight_decay = 0.01;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // AdamW
    double momentum = 0.9;                          // SGD
    ScheduleKind schedule = ScheduleKind::linear;
    int64_t warmup_steps = 0;   // > 0 wins over warmup_ratio
    double warmup_ratio = 0.0;  // fraction of total steps
    double clip_norm = 1.0;     // global gradient norm cap; <= 0 disables clipping

    int64_t eval_every = 0;               // steps; 0 = at the end of every epoch
    int64_t early_stopping_patience = 0;  // evaluations without improvement; 0 = never stop
    double min_delta = 0.0;               // improvement must exceed this
    std::string selection_metric = "loss";
    MetricMode selection_mode = MetricMode::min;
    bool restore_best = true;  // load the best evaluated weights at the end

    uint64_t seed = 0;  // data order and torch's global generator (dropout)
    int threads = 0;    // > 0: at::set_num_threads at the start of fit()
    Precision precision = Precision::fp32;

    std::filesystem::path checkpoint_dir;  // train_state.pt goes here; empty = none
    int64_t checkpoint_every = 0;          // steps; 0 = only when fit() returns
    std::filesystem::path resume_from;     // a train_state.pt to continue from
    std::filesystem::path log_path;        // per-step JSONL; empty = none
    // Stop as if interrupted after this optimizer step (the schedule still spans the full run),
    // saving the training state: for tests and time-sliced runs. 0 = off.
    int64_t stop_after_steps = 0;
};

struct Progress {
    int64_t step = 0;  // optimizer steps done
    int64_t total_steps = 0;
    int64_t epoch = 0;
    double loss = 0;
    double lr = 0;
    double tokens_per_s = 0;  // real (non-pad) tokens per second, mean over this fit() call
    double eta_s = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

struct EvalRecord {
    int64_t step = 0;
    int64_t epoch = 0;
    std::map<std::string, double> metrics;
};

struct TrainResult {
    int64_t steps = 0;        // optimizer steps done, counting those before a resume
    int64_t total_steps = 0;  // what the schedule spans
    int64_t epochs_completed = 0;
    bool stopped_early = false;  // early stopping fired
    bool interrupted = false;    // stop_after_steps reached; the state file is saved
    bool restored_best = false;  // the module now holds the best evaluated weights
    std::vector<double> losses;      // one per optimizer step run by this fit() call
    std::vector<EvalRecord> evals;   // evaluations run by this call
    std::optional<EvalRecord> best;  // best evaluation of the whole run (survives resume)
    int64_t real_tokens = 0;         // trained on by this call
    double train_seconds = 0;        // this call, excluding evaluation
    double tokens_per_s = 0;
};

class Trainer {
public:
    // Builds the optimizer over task.module()'s parameters (all of them, see make_param_groups).
    // Throws std::invalid_argument on inconsistent options, naming the option.
    Trainer(TrainTask& task, TrainerOptions options);
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    void set_progress_callback(ProgressCallback callback);

    // Trains on `train`, evaluating on `eval` (may be empty: no evaluation, no early stopping).
    // Continues from options.resume_from or a load_state() call when given. The datasets must be
    // the same as in the run that saved the state (their sizes are checked).
    TrainResult fit(const std::vector<Example>& train, const std::vector<Example>& eval = {});

    // The whole training state; written atomically (temporary file + rename).
    void save_state(const std::filesystem::path& path) const;
    void load_state(const std::filesystem::path& path);
    // checkpoint_dir / "train_state.pt" (empty path when no checkpoint_dir).
    std::filesystem::path state_path() const;

    int64_t step() const;
    torch::optim::Optimizer& optimizer();
    const std::vector<ParamGroup>& param_groups() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace graft::ml
