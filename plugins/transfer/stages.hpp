// The stage types of the transfer plugin.
#pragma once

#include <graft/stage.hpp>

namespace graft::transfer {

class PretrainStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

class FinetuneStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

class EvaluateStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

class FeaturizeStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::transfer
