// text.import: converts a foreign dataset file (JSONL, a JSON array, CSV, TSV) to graft's JSONL
// rows {"text": ..., "label": ..., other fields...}, or plain text (a .txt file or a directory of
// them, see text_files.hpp) to rows {"text": ..., "source": ...}.
#pragma once

#include <graft/stage.hpp>

namespace graft::text {

class ImportStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::text
