// TrainTask::after_step: called once after every optimizer step, without gradient recording, and
// what it imposes on the weights holds when fit() returns (best-weights restore included).
#include "tiny_task.hpp"

#include <catch2/catch.hpp>

using namespace graft::ml;
using namespace graft::ml::test;

namespace {

// Keeps the first row of hidden.weight at exactly zero, the way a pruning mask would.
class ConstrainedTask final : public ClassifierTask {
public:
    ConstrainedTask() : ClassifierTask(3) {}
    void after_step() override {
        ++calls;
        grad_mode_was_on = grad_mode_was_on || torch::GradMode::is_enabled();
        model()->hidden->weight[0].zero_();
    }
    int calls = 0;
    bool grad_mode_was_on = false;
};

}  // namespace

TEST_CASE("after_step runs after every optimizer step and its constraint survives fit",
          "[trainer][after_step]") {
    ConstrainedTask task;
    TrainerOptions o;
    o.epochs = 2;
    o.batch_size = 8;
    o.grad_accum_steps = 2;
    o.threads = 1;
    o.collate.label_kind = LabelKind::sequence;
    o.lr = 1e-2;
    o.weight_decay = 0.1;
    o.eval_every = 1;
    o.selection_metric = "accuracy";
    o.selection_mode = MetricMode::max;
    o.restore_best = true;
    Trainer trainer(task, o);
    const auto result = trainer.fit(classification_data(48, 1), classification_data(16, 2));
    CHECK(result.steps == 6);  // 6 batches of 8 per epoch, 2 per step, 2 epochs
    CHECK(task.calls == 6);
    CHECK_FALSE(task.grad_mode_was_on);
    CHECK(result.restored_best);
    const auto& w = task.model()->hidden->weight;
    CHECK(torch::count_nonzero(w[0]).item<int64_t>() == 0);
    CHECK(torch::count_nonzero(w[1]).item<int64_t>() == w.size(1));  // the rest trained on
}
