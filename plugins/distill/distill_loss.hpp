// The knowledge-distillation objective (Hinton et al., 2015) and the hidden-state matching term:
//   loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T))      (mean over all rows)
//        + (1 - alpha) * CE(s, labels)                              (mean over labelled rows)
//        + beta * MSE(student hidden states, mapped teacher hidden states)
// T^2 keeps the soft-target gradients on the scale of the hard-label ones when T changes. Rows
// whose label is ml::kIgnoreIndex (the teacher-labelled `unlabelled` rows) add to the KL term only.
#pragma once

#include <torch/torch.h>

namespace graft::distill {

struct KdLossOptions {
    double temperature = 2.0;  // > 0
    double alpha = 0.5;        // weight of the soft-target term, in [0, 1]
};

struct KdLossParts {
    torch::Tensor total;  // alpha * T^2 * kl + (1 - alpha) * ce
    torch::Tensor kl;     // mean KL(teacher || student) at temperature T, over all rows
    torch::Tensor ce;     // mean cross-entropy over labelled rows (0 when none is labelled)
};

// student_logits, teacher_logits [B, L]; labels [B] int64 in [0, L) or ml::kIgnoreIndex.
// Throws std::invalid_argument on mismatched shapes or out-of-range options.
KdLossParts kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                    const torch::Tensor& labels, const KdLossOptions& options);

// Mean squared error between two [B, T, d] hidden-state tensors over the real tokens
// (attention_mask [B, T] nonzero) and the d features.
torch::Tensor masked_hidden_mse(const torch::Tensor& student, const torch::Tensor& teacher,
                                const torch::Tensor& attention_mask);

}  // namespace graft::distill
