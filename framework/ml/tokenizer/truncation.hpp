// Which tokens of a text that is too long the tokenizer keeps, and the names that pipeline params
// and checkpoint configs spell them with. Torch-free and tiny, so model headers can hold the enum.
#pragma once

#include <optional>
#include <string_view>

namespace graft::ml {

// Which tokens of a text that is too long Tokenizer::encode_for_model keeps. head: the first (cut
// the end, BERT's default); tail: the last (Hugging Face's truncation_side = "left"); head_tail: the first
// quarter of the room and the last three quarters, the best of the three on IMDb reviews in Sun et
// al. 2019, "How to Fine-Tune BERT for Text Classification?" (128 + 382 of 510 tokens), because a
// review's verdict tends to come at its end.
enum class Truncation { head, tail, head_tail };
std::string_view to_string(Truncation t);
// "head" | "tail" | "head_tail"; nullopt for anything else.
std::optional<Truncation> truncation_from_string(std::string_view name);

}  // namespace graft::ml
