// The label value losses ignore (padding, unmasked tokens), shared by models and the trainer.
#pragma once

#include <cstdint>

namespace graft::ml {

inline constexpr std::int64_t kIgnoreIndex = -100;

}  // namespace graft::ml
