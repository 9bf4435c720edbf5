#include "stages.hpp"

GRAFT_EXPORT_STAGES(graft::multitask::MultitaskStage)
