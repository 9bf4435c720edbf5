// The trainer's view of a distillation: the student (plus the learned hidden-state projections
// when the widths differ) is what trains; the teacher is frozen in eval mode and its logits on the
// transfer set are computed once, up front, and looked up by example index during training.
#pragma once

#include "distill_loss.hpp"

#include "ml/model/heads.hpp"
#include "ml/train/trainer.hpp"

#include <cstdint>
#include <vector>

namespace graft::distill {

// The teacher's logits [N, L] (float32, CPU) on `examples`, in dataset order: eval mode, no grad.
torch::Tensor teacher_logits(ml::TaskModelImpl& teacher, const std::vector<ml::Example>& examples,
                             int64_t batch_size, int64_t pad_id);

// What the trainer optimises: the student, registered as "student", and for hidden_mse with a
// student narrower or wider than the teacher one Linear(d_student -> d_teacher) per matched hidden
// state, registered as "projection.<j>" (trained with the student, not saved in its checkpoint).
class DistillModuleImpl : public torch::nn::Module {
public:
    DistillModuleImpl(ml::TaskModelPtr student, int64_t n_projections, int64_t d_teacher);
    ml::TaskModelPtr student;
    torch::nn::ModuleList projection{nullptr};  // empty when no projection is needed
};
TORCH_MODULE(DistillModule);

struct DistillTaskOptions {
    KdLossOptions kd;
    double hidden_mse = 0.0;  // beta; > 0 runs the teacher per batch for its hidden states
};

class DistillTask final : public ml::TrainTask {
public:
    // cached_teacher_logits [N, L]: row i belongs to training example i (see teacher_logits()).
    DistillTask(ml::TaskModelPtr student, ml::TaskModelPtr teacher, torch::Tensor cached_teacher_logits,
                DistillTaskOptions options);

    torch::nn::Module& module() override { return *module_; }
    torch::Tensor loss(const ml::Batch& batch) override;
    // Student accuracy and hard-label loss on labelled held-out rows.
    ml::EvalResult evaluate(const std::vector<ml::Batch>& batches) override;

    // The loss parts of the last loss() call, for logging and tests.
    const KdLossParts& last_parts() const { return last_; }
    double last_hidden_mse() const { return last_hidden_mse_; }

private:
    DistillModule module_{nullptr};
    ml::TaskModelPtr teacher_;
    torch::Tensor teacher_logits_;
    DistillTaskOptions options_;
    std::vector<int64_t> hidden_map_;
    KdLossParts last_;
    double last_hidden_mse_ = 0.0;
};

}  // namespace graft::distill
