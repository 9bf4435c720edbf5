#include "stages.hpp"

GRAFT_EXPORT_STAGES(graft::transfer::PretrainStage, graft::transfer::FinetuneStage,
                    graft::transfer::EvaluateStage, graft::transfer::FeaturizeStage)
