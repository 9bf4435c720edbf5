// Fine-tuning between pruning steps: the classification task of the finetune stage, with the
// pruning masks re-imposed after every optimizer step, so pruned weights stay exactly zero however
// the optimizer (momentum, weight decay) moves them.
#pragma once

#include "masks.hpp"

#include "common.hpp"  // the transfer plugin's ClassifyTask

namespace graft::prune {

class PruneTask final : public transfer::ClassifyTask {
public:
    // masks may be null (structured pruning: the removed weights are gone from the tensors).
    PruneTask(ml::TaskModelPtr model, MaskSet* masks) : ClassifyTask(std::move(model)), masks_(masks) {}
    void after_step() override {
        if (masks_) masks_->apply();
    }

private:
    MaskSet* masks_;
};

}  // namespace graft::prune
