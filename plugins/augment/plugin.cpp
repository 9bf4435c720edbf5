// The augment plugin's exports.
#include "augment_stage.hpp"

GRAFT_EXPORT_STAGES(graft::augment::AugmentStage)
