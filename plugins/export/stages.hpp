// The stage types of the export plugin.
#pragma once

#include <graft/stage.hpp>

namespace graft::exporting {

class ExportStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::exporting
