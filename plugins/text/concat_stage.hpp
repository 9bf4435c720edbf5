// text.concat: concatenates JSONL inputs (any port names) into one dataset, optionally keeping
// only some fields, dropping duplicate texts, and dropping every text that also occurs in the
// excluded inputs (the guard against test data leaking into pretraining text).
#pragma once

#include <graft/stage.hpp>

namespace graft::text {

class ConcatStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::text
