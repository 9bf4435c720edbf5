// The `text` plugin: dataset import and cleaning stages.
#include "clean_stage.hpp"
#include "import_stage.hpp"

GRAFT_EXPORT_STAGES(graft::text::ImportStage, graft::text::CleanStage)
