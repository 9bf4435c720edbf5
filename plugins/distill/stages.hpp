// The stage types of the distill plugin.
#pragma once

#include <graft/stage.hpp>

namespace graft::distill {

class DistillStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::distill
