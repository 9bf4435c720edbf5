#include "stages.hpp"

GRAFT_EXPORT_STAGES(graft::prune::PruneStage)
