// Internal to the spec layer: helpers shared by its source files. Checking a JSON value against a
// ParamSpec is used by the descriptor parser (a default must satisfy its own schema) and by the
// pipeline validator (given values).
#pragma once

#include "core/spec/descriptor.hpp"
#include "core/spec/diagnostic.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graft::detail {

// The parameter types a descriptor may declare, in documentation order.
const std::vector<std::string>& known_param_types();
bool is_known_param_type(std::string_view type);

// What is wrong with a value; fields map onto Diagnostic's.
struct ParamProblem {
    std::string message;
    std::string expected;
    std::string hint;
};

// Checks `v` against the type, bounds and choices of `p`. On success returns nullopt and, when
// `out` is given, stores the value to hand to the plugin there (integers widened to double where
// the schema says float, including list elements).
std::optional<ParamProblem> check_param_value(const ParamSpec& p, const json& v, json* out);

// "a string \"fast\"", "an integer 3", "a list [1, 2]"... for messages; long values are cut.
std::string describe_value(const json& v);

// Port and parameter names: [A-Za-z0-9_-]+ (a dot would make "stage.port" ambiguous).
bool is_simple_name(std::string_view name);

// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

// Stable sort into reading order: whole-file problems first, then by line and column, then
// --set overrides by index. Checks run in whatever order is convenient; users read top-down.
void sort_by_location(std::vector<Diagnostic>& diags);

}  // namespace graft::detail
