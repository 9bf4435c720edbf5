#include "multitask_task.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace graft::multitask {

namespace {

ml::CollateOptions collate_for(const ml::TaskModelImpl& model, std::int64_t pad_id) {
    return {pad_id,
            model.head_kind() == ml::HeadKind::token_classification ? ml::LabelKind::token : ml::LabelKind::sequence,
            0};
}

}  // namespace

void share_encoder(const std::vector<ml::TaskModelPtr>& models) {
    if (models.empty()) return;
    const auto shared = models.front()->encoder();
    const auto want = ml::encoder_options_to_json(shared->options());
    for (std::size_t i = 1; i < models.size(); ++i) {
        if (ml::encoder_options_to_json(models[i]->encoder()->options()) != want)
            throw std::invalid_argument(fmt::format("task model {} has other encoder options than task model 0: "
                                                    "a shared encoder needs one architecture", i));
        models[i]->replace_module("encoder", shared);
        models[i]->encoder() = shared;
    }
}

MultitaskModuleImpl::MultitaskModuleImpl(const std::vector<TaskSlot>& tasks) {
    if (tasks.empty()) throw std::invalid_argument("multitask: no tasks");
    register_module("encoder", tasks.front().model->encoder());
    torch::nn::ModuleDict heads;
    for (const auto& t : tasks) {
        if (t.model->encoder().ptr() != tasks.front().model->encoder().ptr())
            throw std::invalid_argument(fmt::format("task '{}' does not use the shared encoder (call share_encoder)", t.name));
        heads->update({{t.name, t.model->head()}});
    }
    register_module("heads", heads);
}

MultitaskTask::MultitaskTask(std::vector<TaskSlot> tasks, ScheduleOptions schedule, std::int64_t pad_id,
                             std::int64_t eval_batch_size)
    : tasks_(std::move(tasks)), schedule_(schedule), pad_id_(pad_id) {
    module_ = MultitaskModule(tasks_);
    double metric_total = 0;
    for (const auto& t : tasks_) {
        if (!(t.loss_weight >= 0) || !(t.metric_weight >= 0))
            throw std::invalid_argument(fmt::format("task '{}': loss and metric weights must be >= 0", t.name));
        metric_total += t.metric_weight;
        classify_.push_back(std::make_unique<transfer::ClassifyTask>(t.model));
        val_batches_.push_back(ml::make_eval_batches(t.val, eval_batch_size, collate_for(*t.model, pad_id_)));
    }
    if (metric_total <= 0) throw std::invalid_argument("multitask: the metric weights sum to 0");
    rows_trained_.assign(tasks_.size(), 0);
    parts_trained_.assign(tasks_.size(), 0);
    on_epoch_begin(0);
}

std::vector<ml::Example> MultitaskTask::placeholder_train() const {
    return std::vector<ml::Example>(plan_.size(), ml::Example{{0}, {}});
}

void MultitaskTask::on_epoch_begin(std::int64_t epoch) {
    std::vector<std::span<const ml::Example>> rows;
    for (const auto& t : tasks_)
        rows.push_back(t.loss_weight > 0 ? std::span<const ml::Example>(t.train) : std::span<const ml::Example>());
    plan_ = plan_epoch(rows, schedule_, epoch);
    cursor_ = 0;
}

ml::Batch MultitaskTask::prepare(ml::Batch /*placeholder*/) {
    if (cursor_ >= plan_.size())
        throw std::logic_error("multitask: the trainer asked for more steps than the epoch's schedule holds");
    const Step& step = plan_[cursor_++];
    Prepared p;
    std::size_t rows = 0;
    for (const auto& part : step) rows += part.rows.size();
    ml::Batch out;
    for (const auto& part : step) {
        const auto& t = tasks_[part.task];
        p.tasks.push_back(part.task);
        p.batches.push_back(ml::collate(t.train, part.rows, collate_for(*t.model, pad_id_)));
        p.shares.push_back(static_cast<double>(part.rows.size()) / static_cast<double>(rows));
        out.real_tokens += p.batches.back().real_tokens;
        out.padded_tokens += p.batches.back().padded_tokens;
        rows_trained_[part.task] += static_cast<std::int64_t>(part.rows.size());
        parts_trained_[part.task] += 1;
    }
    history_.push_back(p.tasks);
    out.ids = p.batches.front().ids;  // for anyone reading the shape; loss() uses the parts
    out.attention_mask = p.batches.front().attention_mask;
    out.indices = {static_cast<std::size_t>(serial_)};
    prepared_.emplace(serial_++, std::move(p));
    return out;
}

torch::Tensor MultitaskTask::loss(const ml::Batch& batch) {
    const auto it = prepared_.find(static_cast<std::int64_t>(batch.indices.at(0)));
    if (it == prepared_.end()) throw std::logic_error("multitask: loss() for a batch that prepare() did not make");
    const Prepared p = std::move(it->second);
    prepared_.erase(it);
    torch::Tensor total;
    for (std::size_t i = 0; i < p.tasks.size(); ++i) {
        const auto t = p.tasks[i];
        auto l = classify_[t]->loss(p.batches[i]) * (tasks_[t].loss_weight * p.shares[i]);
        total = total.defined() ? total + l : l;
    }
    return total;
}

ml::EvalResult MultitaskTask::evaluate(const std::vector<ml::Batch>& /*placeholders*/) {
    ml::EvalResult r;
    double score = 0, loss = 0, weights = 0;
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
        const auto m = classify_[t]->evaluate(val_batches_[t]).metrics;
        const auto& name = tasks_[t].name;
        r.metrics[name + "_val_accuracy"] = m.at("accuracy");
        r.metrics[name + "_val_loss"] = m.at("loss");
        score += tasks_[t].metric_weight * m.at("accuracy");
        loss += tasks_[t].metric_weight * m.at("loss");
        weights += tasks_[t].metric_weight;
    }
    r.metrics["val_score"] = score / weights;
    r.metrics["val_loss"] = loss / weights;
    return r;
}

}  // namespace graft::multitask
