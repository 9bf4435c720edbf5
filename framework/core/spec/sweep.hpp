// Internal to the spec layer: the [sweep] section. Parsing reads it into a SweepSpec; expansion
// then copies every swept stage, and everything downstream of one, once per distinct combination
// of the swept values it depends on, and leaves stages upstream of all swept stages shared.
//
// Variant ids: "<stage>@<label>=<value>,<label>=<value>" in the order the sweep lists its params,
// only the params the stage depends on (its own and those of its upstream). A label is the param
// name, or "<stage>:<param>" when two swept params share a name. Values print as integers, as the
// shortest float that reads back the same (0.0001, 1e-05), as true/false, tables as
// key-value pairs joined by '+' ({X = "1"} -> X-1), other text with every character outside
// [A-Za-z0-9_.+-] replaced by '_'. Ids need no quoting in a POSIX shell.
#pragma once

#include "core/spec/diagnostic.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace graft::detail {

// TOML value -> JSON (dates and times as ISO 8601 text).
json toml_to_json(const toml::node& n);

// Reads the [sweep] table; problems go to `diags`.
SweepSpec parse_sweep(const toml::node& node, const std::string& file,
                      std::vector<Diagnostic>& diags);

// The grid points to run: every combination (value index per sweep param, the last param
// varying fastest), or for mode "random" `samples` distinct ones drawn with `seed`, in grid order.
std::vector<std::vector<std::size_t>> sweep_points(const SweepSpec& sweep, std::uint64_t seed);

// Replaces the affected stages of `spec` by their variants and fills spec.sweep->variants.
// Checks that swept and metric stages exist (did-you-mean) and the metric stage depends on the
// sweep. Per-variant params are checked later by validate_pipeline, located at the sweep values.
void expand_sweep(PipelineSpec& spec, std::vector<Diagnostic>& diags);

// "0.0001", "4", "true", "adam"
std::string sweep_value_text(const json& v);

}  // namespace graft::detail
