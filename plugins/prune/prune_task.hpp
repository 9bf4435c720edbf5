// Fine-tuning between pruning steps: the classification task of the finetune stage, with the
// gradients of pruned weights zeroed before clipping and the optimizer step (so they neither
// inflate the global norm that clipping scales by nor enter AdamW's moments), and the masks
// re-imposed after every step, so pruned weights stay exactly zero whatever the optimizer does.
#pragma once

#include "masks.hpp"

#include "common.hpp"  // the transfer plugin's ClassifyTask

namespace graft::prune {

class PruneTask final : public transfer::ClassifyTask {
public:
    // masks may be null (structured pruning: the removed weights are gone from the tensors).
    PruneTask(ml::TaskModelPtr model, MaskSet* masks) : ClassifyTask(std::move(model)), masks_(masks) {}
    void before_optimizer_step() override {
        if (masks_) masks_->mask_gradients();
    }
    void after_step() override {
        if (masks_) masks_->apply();
    }

private:
    MaskSet* masks_;
};

}  // namespace graft::prune
