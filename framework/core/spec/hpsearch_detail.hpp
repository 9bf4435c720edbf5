// Internal to the spec layer (toml++ is a private dependency): reading the [hpsearch] table.
#pragma once

#include "core/spec/diagnostic.hpp"
#include "core/spec/hpsearch_spec.hpp"

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace graft::detail {

// Reads [hpsearch]: its keys, value types and the shape of every search space (min < max, log
// needs min > 0, int needs integer bounds, choices non-empty and distinct). Checks against the
// stage schemas come later (validate_hpsearch). Problems go to `diags`.
HpSearchSpec parse_hpsearch(const toml::node& node, const std::string& file,
                            std::vector<Diagnostic>& diags);

}  // namespace graft::detail
