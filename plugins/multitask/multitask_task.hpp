// The trainer's view of multitask learning: one shared encoder, one classification head per task.
//
// The framework's Trainer (optimizer, schedule, clipping, accumulation, evaluation, early stopping,
// best-weights restore, log) drives training unchanged. It is handed one placeholder example per
// step of the multitask schedule (schedule.hpp) and TrainTask::prepare(), which it calls once per
// micro-batch in training order, swaps each placeholder for the next scheduled step: that task's
// rows, collated with its own label kind. The loss of a step is sum over its parts of
// loss_weight[t] * (rows of t / rows in the step) * the task's mean loss (ClassifyTask's), so a
// task of weight 0 is left out of the schedule and its head never receives a gradient.
// Evaluation runs every task on its own validation batches and reports "<task>_val_accuracy",
// "<task>_val_loss", "val_loss" and "val_score", the mean accuracy weighted by the metric weights
// (the selection metric for early stopping and the best weights).
#pragma once

#include "schedule.hpp"

#include "common.hpp"  // ClassifyTask

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graft::multitask {

// Makes every model use models[0]'s encoder (same module, so the same parameter tensors). The
// encoders must have the same options; throws std::invalid_argument naming the task otherwise.
void share_encoder(const std::vector<ml::TaskModelPtr>& models);

struct TaskSlot {
    std::string name;
    ml::TaskModelPtr model;                 // sequence or token classifier on the shared encoder
    std::vector<ml::Example> train;
    std::vector<ml::Example> val;
    double loss_weight = 1.0;               // 0: not trained (evaluated only)
    double metric_weight = 1.0;             // share of "score"
};

// What the trainer optimises: the shared encoder ("encoder") and the heads ("heads.<task>"), each
// parameter once.
class MultitaskModuleImpl : public torch::nn::Module {
public:
    explicit MultitaskModuleImpl(const std::vector<TaskSlot>& tasks);
};
TORCH_MODULE(MultitaskModule);

class MultitaskTask final : public ml::TrainTask {
public:
    // pad_id: the tokenizer's; eval_batch_size: rows per validation batch.
    MultitaskTask(std::vector<TaskSlot> tasks, ScheduleOptions schedule, std::int64_t pad_id,
                  std::int64_t eval_batch_size);

    // Placeholder examples for Trainer::fit: one per step of an epoch (with batch_size 1 and
    // bucket_size 0 in the TrainerOptions), and one for the evaluation set.
    std::vector<ml::Example> placeholder_train() const;
    static std::vector<ml::Example> placeholder_val() { return {ml::Example{{0}, {}}}; }

    torch::nn::Module& module() override { return *module_; }
    ml::Batch prepare(ml::Batch placeholder) override;
    torch::Tensor loss(const ml::Batch& batch) override;
    double loss_weight(const ml::Batch&) const override { return 1.0; }  // steps count alike
    ml::EvalResult evaluate(const std::vector<ml::Batch>& placeholders) override;
    void on_epoch_begin(std::int64_t epoch) override;

    const std::vector<TaskSlot>& tasks() const { return tasks_; }
    // Rows and parts trained per task so far (a part is one task's share of a step).
    const std::vector<std::int64_t>& rows_trained() const { return rows_trained_; }
    const std::vector<std::int64_t>& parts_trained() const { return parts_trained_; }
    // The tasks of every step prepared so far, in order (each step's parts).
    const std::vector<std::vector<std::size_t>>& history() const { return history_; }

private:
    struct Prepared {
        std::vector<std::size_t> tasks;
        std::vector<ml::Batch> batches;
        std::vector<double> shares;
    };
    std::vector<TaskSlot> tasks_;
    std::vector<std::unique_ptr<transfer::ClassifyTask>> classify_;  // loss and evaluation per task
    ScheduleOptions schedule_;
    std::int64_t pad_id_;
    std::vector<std::vector<ml::Batch>> val_batches_;
    MultitaskModule module_{nullptr};
    std::vector<Step> plan_;
    std::size_t cursor_ = 0;
    std::int64_t serial_ = 0;
    std::map<std::int64_t, Prepared> prepared_;
    std::vector<std::int64_t> rows_trained_, parts_trained_;
    std::vector<std::vector<std::size_t>> history_;
};

}  // namespace graft::multitask
