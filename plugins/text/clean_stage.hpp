// text.clean: cleans the text field of a JSONL dataset (HTML, Unicode, whitespace, case) and
// filters rows (empty, too short/long, unlabeled, invalid UTF-8, duplicates).
#pragma once

#include <graft/stage.hpp>

namespace graft::text {

class CleanStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::text
