// The `augment` stage (EDA text augmentation with WordNet synonyms); see augment_stage.cpp.
#pragma once

#include <graft/stage.hpp>

namespace graft::augment {

class AugmentStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::augment
