#include "distill_loss.hpp"

#include "ml/ignore_index.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace graft::distill {

KdLossParts kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                    const torch::Tensor& labels, const KdLossOptions& options) {
    if (!(options.temperature > 0))
        throw std::invalid_argument(fmt::format(
            "distillation temperature must be > 0, got {} (typical: 1 to 8)", options.temperature));
    if (!(options.alpha >= 0 && options.alpha <= 1))
        throw std::invalid_argument(
            fmt::format("distillation alpha must be in [0, 1], got {}", options.alpha));
    if (student_logits.dim() != 2 || student_logits.sizes() != teacher_logits.sizes())
        throw std::invalid_argument(fmt::format(
            "kd_loss: student logits {} and teacher logits {} must both be [batch, labels]",
            fmt::join(student_logits.sizes(), "x"), fmt::join(teacher_logits.sizes(), "x")));
    if (labels.dim() != 1 || labels.size(0) != student_logits.size(0))
        throw std::invalid_argument(fmt::format("kd_loss: labels {} must be [batch = {}]",
                                                fmt::join(labels.sizes(), "x"), student_logits.size(0)));
    const double t = options.temperature;
    const auto s = student_logits.to(torch::kFloat32);
    const auto teacher = teacher_logits.to(s.device(), torch::kFloat32);
    const auto log_ps = torch::log_softmax(s / t, -1);
    const auto log_pt = torch::log_softmax(teacher / t, -1);
    // sum_c p_t (log p_t - log p_s), averaged over rows ("batchmean").
    const auto kl = (log_pt.exp() * (log_pt - log_ps)).sum(-1).mean();

    const auto labelled = labels != ml::kIgnoreIndex;
    const auto n_labelled = labelled.sum();
    torch::Tensor ce;
    if (n_labelled.item<int64_t>() == 0) {
        ce = s.sum() * 0;  // keeps the graph; no hard labels in this batch
    } else {
        const auto safe = labels.masked_fill(~labelled, 0).to(s.device());
        const auto nll = -torch::log_softmax(s, -1).gather(1, safe.unsqueeze(1)).squeeze(1);
        ce = (nll * labelled.to(nll.dtype())).sum() / n_labelled.to(nll.dtype());
    }
    auto total = options.alpha * t * t * kl + (1.0 - options.alpha) * ce;
    return {total, kl, ce};
}

torch::Tensor masked_hidden_mse(const torch::Tensor& student, const torch::Tensor& teacher,
                                const torch::Tensor& attention_mask) {
    if (student.sizes() != teacher.sizes() || student.dim() != 3)
        throw std::invalid_argument(fmt::format(
            "hidden MSE: student {} and (projected) teacher {} hidden states must both be [B, T, d]",
            fmt::join(student.sizes(), "x"), fmt::join(teacher.sizes(), "x")));
    const auto mask = (attention_mask != 0).to(student.dtype()).unsqueeze(-1);  // [B, T, 1]
    const auto squared = (student - teacher).pow(2) * mask;
    const auto count = mask.sum() * static_cast<double>(student.size(2));
    return squared.sum() / count.clamp_min(1.0);
}

}  // namespace graft::distill
