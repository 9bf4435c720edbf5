// The stage types of the multitask plugin.
#pragma once

#include <graft/stage.hpp>

namespace graft::multitask {

class MultitaskStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::multitask
