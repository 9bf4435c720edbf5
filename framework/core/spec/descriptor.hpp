// Host-side view of a stage type's descriptor (parsed from the plugin's descriptors JSON,
// see graft/abi.hpp), and the catalogue of stage types the validator checks pipelines against.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graft {

using json = nlohmann::json;

struct PortSpec {
    std::string name;
    std::string type;  // "jsonl", "model", ...; "any" is compatible with every type
    std::string kind;  // "file" or "dir"
    std::string doc;
    bool optional = false;
    // Leakage guard (graft/stage.hpp): an output that carries augmented rows, and an input whose
    // rows must not derive from one.
    bool augmented = false;
    bool refuses_augmented = false;
};

struct ParamSpec {
    std::string name;
    // "bool" "int" "float" "string" "list<int>" "list<float>" "list<string>" "table" "any"
    std::string type;
    std::string doc;
    std::optional<json> default_value;  // absent => required
    bool required = false;
    std::optional<double> min, max;     // inclusive bounds for int/float (and list elements)
    std::vector<std::string> choices;   // allowed values for string params (empty = any)
};

struct StageDescriptor {
    std::string type;
    std::string version;
    std::string doc;
    std::vector<PortSpec> inputs;
    std::vector<PortSpec> outputs;
    std::vector<ParamSpec> params;
    bool variadic_inputs = false;
    bool exclusive = false;  // never runs alongside another exclusive stage (graft/stage.hpp)

    const PortSpec* find_input(std::string_view name) const;
    const PortSpec* find_output(std::string_view name) const;
    const ParamSpec* find_param(std::string_view name) const;
};

// Throws std::runtime_error naming the missing/malformed field.
StageDescriptor descriptor_from_json(const json& j);
json descriptor_to_json(const StageDescriptor& d);

// True when an output port of type `out` may feed an input port of type `in`.
bool port_types_compatible(std::string_view out, std::string_view in);

// The stage types known to the host. Implemented by the plugin host; tests use a fake.
class StageCatalog {
public:
    virtual ~StageCatalog() = default;
    virtual const StageDescriptor* find(std::string_view type) const = 0;
    virtual std::vector<std::string> types() const = 0;  // sorted
};

}  // namespace graft
