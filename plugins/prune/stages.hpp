// The stage types of the prune plugin.
#pragma once

#include <graft/stage.hpp>

namespace graft::prune {

class PruneStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::prune
