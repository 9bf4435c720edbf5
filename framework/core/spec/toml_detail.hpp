// Internal to the spec layer (toml++ is a private dependency): the pieces of pipeline parsing
// shared between pipeline_parse.cpp and pipeline_override.cpp.
#pragma once

#include "core/spec/diagnostic.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace graft::detail {

// Where a TOML node came from: `file` (as given) with toml++'s line and column, or, for nodes
// created by the --set override with index N, {"<command line>", 0, N}.
SourceLoc loc_of(const toml::node& node, const std::string& file);

// Applies the overrides to the parsed file in command-line order. Each value is parsed as TOML
// (a bare string when that fails) and keeps an override location. Problems go to `diags`.
void apply_overrides(toml::table& root, const std::vector<Override>& overrides,
                     std::vector<Diagnostic>& diags);

// Without surrounding spaces and tabs.
std::string_view trim(std::string_view s);

// `s` as a TOML basic string, quotes included.
std::string toml_quote(std::string_view s);

}  // namespace graft::detail
