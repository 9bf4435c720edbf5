// The `text` plugin: dataset import, cleaning and concatenation stages.
#include "clean_stage.hpp"
#include "concat_stage.hpp"
#include "import_stage.hpp"

GRAFT_EXPORT_STAGES(graft::text::ImportStage, graft::text::CleanStage, graft::text::ConcatStage)
