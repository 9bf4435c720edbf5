// The merge-learning loop shared by the WordPiece and byte-level BPE trainers (internal).
#pragma once

#include "ml/tokenizer/tokenizer_impl.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace graft::ml::detail {

struct MergeTrainerResult {
    std::vector<std::pair<std::int32_t, std::int32_t>> merges;  // in the order learned
};

// Learns merges on a table of unique words (symbol ids) with their counts. Repeatedly merges the
// most frequent adjacent pair (ties: the pair whose spellings sort first) everywhere, until
// `tokens` holds `target_size` entries or no pair occurs `min_frequency` times. join(a, b) spells
// the merged token; a new spelling is appended to `tokens`/`to_id`, an existing one reused. Pair
// counts are updated incrementally from the words that contain the merged pair only.
MergeTrainerResult learn_merges(
    std::vector<std::vector<std::int32_t>>& words, const std::vector<std::uint64_t>& counts,
    std::vector<std::string>& tokens, TokenMap& to_id, std::size_t target_size,
    std::uint64_t min_frequency,
    const std::function<std::string(const std::string&, const std::string&)>& join);

}  // namespace graft::ml::detail
