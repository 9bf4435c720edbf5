// The `text` plugin: dataset import (incl. the Brown corpus), cleaning and concatenation stages.
#include "brown_stage.hpp"
#include "clean_stage.hpp"
#include "concat_stage.hpp"
#include "import_stage.hpp"

GRAFT_EXPORT_STAGES(graft::text::ImportStage, graft::text::CleanStage, graft::text::ConcatStage,
                    graft::text::BrownStage)
