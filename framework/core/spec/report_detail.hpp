// Internal to the spec layer: reading and checking the [report] section (see report.hpp).
#pragma once

#include "core/spec/diagnostic.hpp"
#include "core/spec/pipeline_spec.hpp"

#include <toml++/toml.h>

#include <string>
#include <vector>

namespace graft::detail {

// Reads the [report] table; problems go to `diags`.
ReportSpec parse_report(const toml::node& node, const std::string& file, std::vector<Diagnostic>& diags);

// Every listed stage exists in `spec` (a swept stage may be named by its original id: its
// variants are listed in its place). Problems go to `diags`, with a did-you-mean.
void validate_report(PipelineSpec& spec, std::vector<Diagnostic>& diags);

}  // namespace graft::detail
