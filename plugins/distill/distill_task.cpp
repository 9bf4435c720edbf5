#include "distill_task.hpp"

#include "student.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace graft::distill {

torch::Tensor teacher_logits(ml::TaskModelImpl& teacher, const std::vector<ml::Example>& examples,
                             int64_t batch_size, int64_t pad_id) {
    teacher.eval();
    torch::NoGradGuard no_grad;
    const auto out = torch::empty({static_cast<int64_t>(examples.size()), teacher.architecture().num_labels()},
                                  torch::kFloat32);
    for (const auto& b : ml::make_eval_batches(examples, batch_size, {pad_id, ml::LabelKind::none, 0})) {
        const auto logits = teacher.forward(b.ids, b.attention_mask).to(torch::kFloat32);
        std::vector<int64_t> idx(b.indices.begin(), b.indices.end());
        out.index_copy_(0, torch::tensor(idx, torch::kInt64), logits);
    }
    return out;
}

DistillModuleImpl::DistillModuleImpl(ml::TaskModelPtr student_model, int64_t n_projections, int64_t d_teacher)
    : student(register_module("student", std::move(student_model))),
      projection(register_module("projection", torch::nn::ModuleList())) {
    const int64_t d_student = student->architecture().encoder.d_model();
    for (int64_t j = 0; j < n_projections; ++j) {
        torch::nn::Linear p(d_student, d_teacher);
        ml::init_module_weights(*p, student->architecture().encoder.initializer_range());
        projection->push_back(p);
    }
}

DistillTask::DistillTask(ml::TaskModelPtr student, ml::TaskModelPtr teacher, torch::Tensor cached_teacher_logits,
                         DistillTaskOptions options)
    : teacher_(std::move(teacher)), teacher_logits_(std::move(cached_teacher_logits)), options_(options) {
    const auto& se = student->architecture().encoder;
    const auto& te = teacher_->architecture().encoder;
    if (options_.hidden_mse < 0)
        throw std::invalid_argument(fmt::format("hidden_mse = {}: expected a weight >= 0", options_.hidden_mse));
    if (teacher_logits_.dim() != 2 || teacher_logits_.size(1) != student->architecture().num_labels())
        throw std::invalid_argument(fmt::format(
            "cached teacher logits {} do not have the student's {} labels",
            fmt::join(teacher_logits_.sizes(), "x"), student->architecture().num_labels()));
    int64_t projections = 0;
    if (options_.hidden_mse > 0) {
        hidden_map_ = hidden_state_map(se.n_layers(), te.n_layers());
        if (se.d_model() != te.d_model()) projections = static_cast<int64_t>(hidden_map_.size());
    }
    module_ = DistillModule(std::move(student), projections, te.d_model());
    teacher_->eval();
    for (auto& p : teacher_->parameters()) p.requires_grad_(false);
}

torch::Tensor DistillTask::loss(const ml::Batch& batch) {
    std::vector<int64_t> idx(batch.indices.begin(), batch.indices.end());
    const auto targets = teacher_logits_.index_select(0, torch::tensor(idx, torch::kInt64));
    auto& student = *module_->student;
    if (options_.hidden_mse <= 0) {
        last_ = kd_loss(student.forward(batch.ids, batch.attention_mask), targets, batch.labels, options_.kd);
        last_hidden_mse_ = 0.0;
        return last_.total;
    }
    const auto s_out = student.encoder()->forward_all(batch.ids, batch.attention_mask);
    auto head = std::dynamic_pointer_cast<ml::SequenceClassificationHeadImpl>(student.head());
    if (!head) throw std::logic_error("distill: the student's head is not a sequence classification head");
    const auto logits = head->forward(s_out.last_hidden_state, batch.attention_mask);
    std::vector<torch::Tensor> t_hidden;
    {
        torch::NoGradGuard no_grad;
        t_hidden = teacher_->encoder()->forward_all(batch.ids, batch.attention_mask).hidden_states;
    }
    torch::Tensor mse = torch::zeros({}, logits.options());
    for (size_t j = 0; j < hidden_map_.size(); ++j) {
        auto h = s_out.hidden_states.at(j);
        if (!module_->projection->is_empty())
            h = module_->projection->ptr(j)->as<torch::nn::Linear>()->forward(h);
        mse = mse + masked_hidden_mse(h, t_hidden.at(static_cast<size_t>(hidden_map_[j])).to(h.dtype()),
                                      batch.attention_mask);
    }
    mse = mse / static_cast<double>(hidden_map_.size());
    last_ = kd_loss(logits, targets, batch.labels, options_.kd);
    last_hidden_mse_ = mse.item<double>();
    return last_.total + options_.hidden_mse * mse;
}

ml::EvalResult DistillTask::evaluate(const std::vector<ml::Batch>& batches) {
    torch::NoGradGuard no_grad;
    auto& student = *module_->student;
    double loss_sum = 0, correct = 0, n = 0;
    for (const auto& b : batches) {
        const auto logits = student.forward(b.ids, b.attention_mask);
        loss_sum += student.loss(logits, b.labels).item<double>() * static_cast<double>(b.size());
        correct += (logits.argmax(-1) == b.labels).sum().item<double>();
        n += static_cast<double>(b.size());
    }
    return {{{"loss", loss_sum / std::max(1.0, n)}, {"accuracy", correct / std::max(1.0, n)}}};
}

}  // namespace graft::distill
