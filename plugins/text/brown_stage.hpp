// text.brown: the Brown corpus in NLTK layout (a directory of document files, one sentence per
// non-blank line as space-separated word/tag pairs, and cats.txt mapping each document to its
// genre) to JSONL rows {"tokens": [...], "tags": [...], "text": "<tokens joined by spaces>",
// "genre": ..., "doc": ...} for token classification.
//
// Tags are lowercased base tags: the suffixes -tl (word in a title), -hl (in a headline) and -nc
// (cited word) are stripped, repeatedly ("nn-tl-hl" -> "nn"); everything else is kept as the corpus
// has it, including fw- (foreign word) prefixes, + contractions ("nn+bez") and the * negation.
#pragma once

#include <graft/stage.hpp>

namespace graft::text {

class BrownStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe();
    void run(sdk::RunContext& ctx) override;
};

}  // namespace graft::text
