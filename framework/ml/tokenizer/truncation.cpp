#include "ml/tokenizer/truncation.hpp"

namespace graft::ml {

std::string_view to_string(Truncation t) {
    switch (t) {
        case Truncation::head: return "head";
        case Truncation::tail: return "tail";
        case Truncation::head_tail: return "head_tail";
    }
    return "head";
}

std::optional<Truncation> truncation_from_string(std::string_view name) {
    if (name == "head") return Truncation::head;
    if (name == "tail") return Truncation::tail;
    if (name == "head_tail") return Truncation::head_tail;
    return std::nullopt;
}

}  // namespace graft::ml
