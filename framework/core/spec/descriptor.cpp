// Stage descriptors: parsing the JSON a plugin publishes (graft/abi.hpp documents the layout,
// graft/stage.hpp builds it) and checking parameter values against a descriptor's schema.
#include "core/spec/descriptor.hpp"

#include "core/spec/diagnostic.hpp"
#include "core/spec/spec_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace graft {
namespace detail {

const std::vector<std::string>& known_param_types() {
    static const std::vector<std::string> types = {"bool",         "int",       "float",
                                                   "string",       "list<int>", "list<float>",
                                                   "list<string>", "table",     "any"};
    return types;
}

bool is_known_param_type(std::string_view type) {
    const auto& t = known_param_types();
    return std::find(t.begin(), t.end(), type) != t.end();
}

bool is_simple_name(std::string_view name) {
    if (name.empty()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string describe_value(const json& v) {
    std::string text = v.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "a boolean " + text;
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "an integer " + text;
        case json::value_t::number_float: return "a float " + text;
        case json::value_t::string: return "a string " + text;
        case json::value_t::array: return "a list " + text;
        case json::value_t::object: return "a table " + text;
        default: return text;
    }
}

namespace {

std::string format_number(double x) { return fmt::format("{}", x); }

std::string bounds_text(const ParamSpec& p) {
    if (p.min && p.max)
        return fmt::format("a value in [{}, {}]", format_number(*p.min), format_number(*p.max));
    if (p.min) return fmt::format("a value >= {}", format_number(*p.min));
    return fmt::format("a value <= {}", format_number(*p.max));
}

// `what` names the checked value in the message: "value" or "ratios[1]".
std::optional<ParamProblem> check_bounds(const ParamSpec& p, const json& v,
                                         const std::string& what) {
    const double x = v.get<double>();
    if (p.min && x < *p.min)
        return ParamProblem{
            fmt::format("{} {} is below the minimum {}", what, v.dump(), format_number(*p.min)),
            bounds_text(p), ""};
    if (p.max && x > *p.max)
        return ParamProblem{
            fmt::format("{} {} is above the maximum {}", what, v.dump(), format_number(*p.max)),
            bounds_text(p), ""};
    return std::nullopt;
}

std::optional<ParamProblem> check_choice(const ParamSpec& p, const json& v,
                                         const std::string& what) {
    if (p.choices.empty()) return std::nullopt;
    const auto& s = v.get_ref<const std::string&>();
    if (std::find(p.choices.begin(), p.choices.end(), s) != p.choices.end()) return std::nullopt;
    return ParamProblem{fmt::format("{} '{}' is not an allowed value", what, s),
                        "one of: " + join(p.choices), did_you_mean_hint(s, p.choices)};
}

// Element type of a list<...> parameter type, or "" for other types.
std::string list_element_type(const std::string& type) {
    if (type.size() > 6 && type.rfind("list<", 0) == 0 && type.back() == '>')
        return type.substr(5, type.size() - 6);
    return {};
}

bool matches_scalar(const std::string& type, const json& v) {
    if (type == "bool") return v.is_boolean();
    if (type == "int") return v.is_number_integer();
    if (type == "float") return v.is_number();
    if (type == "string") return v.is_string();
    return false;
}

// A hint for the typical ways a hand-written value misses its type.
std::string type_hint(const std::string& type, const json& v) {
    if (type == "int" && v.is_number_float())
        return "int parameters take whole numbers; write it without a fractional part";
    if (type == "bool" && v.is_string() && (v == "true" || v == "false"))
        return "write true or false without quotes";
    if ((type == "int" || type == "float") && v.is_string())
        return "write the number without quotes";
    if (!list_element_type(type).empty() && v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (!s.empty() && s.front() == '[')
            return "strings inside a list must be quoted, e.g. [\"a\", \"b\"] (on the command "
                   "line: --set 'key=[\"a\",\"b\"]')";
        return "write a list, e.g. [" + (type == "list<string>" ? std::string("\"a\"") : "1") + "]";
    }
    if (list_element_type(type).empty() && type != "table" && v.is_array())
        return "this parameter takes a single value, not a list";
    return {};
}

std::optional<ParamProblem> check_scalar(const ParamSpec& p, const std::string& type, const json& v,
                                         const std::string& what, json& out) {
    if (type == "float") out = v.get<double>();  // widen integers so plugins see a float
    if ((type == "int" || type == "float") && (p.min || p.max)) return check_bounds(p, v, what);
    if (type == "string") return check_choice(p, v, what);
    return std::nullopt;
}

}  // namespace

std::optional<ParamProblem> check_param_value(const ParamSpec& p, const json& v, json* out) {
    json result = v;
    const std::string& type = p.type;
    const std::string elem = list_element_type(type);
    auto wrong_type = [&]() {
        return ParamProblem{"wrong type: got " + describe_value(v), type, type_hint(type, v)};
    };
    if (type == "any") {
        // anything goes
    } else if (type == "table") {
        if (!v.is_object()) return wrong_type();
    } else if (!elem.empty()) {
        if (!v.is_array()) return wrong_type();
        for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string what = fmt::format("{}[{}]", p.name, i);
            if (!matches_scalar(elem, v[i]))
                return ParamProblem{fmt::format("wrong type: {} is {}", what, describe_value(v[i])),
                                    type, type_hint(elem, v[i])};
            if (auto problem = check_scalar(p, elem, v[i], what, result[i])) return problem;
        }
    } else if (type == "bool" || type == "int" || type == "float" || type == "string") {
        if (!matches_scalar(type, v)) return wrong_type();
        if (auto problem = check_scalar(p, type, v, "value", result)) return problem;
    } else {
        return ParamProblem{fmt::format("parameter type '{}' is not supported", type),
                            "one of: " + join(known_param_types()), ""};
    }
    if (out) *out = std::move(result);
    return std::nullopt;
}

}  // namespace detail

namespace {

using detail::describe_value;

[[noreturn]] void fail(const std::string& ctx, const std::string& what) {
    throw std::runtime_error(fmt::format("{}: {}", ctx, what));
}

const json* field(const json& obj, const char* name) {
    auto it = obj.find(name);
    return it == obj.end() ? nullptr : &*it;
}

std::string required_string(const json& obj, const char* name, const std::string& ctx) {
    const json* f = field(obj, name);
    if (!f) fail(ctx, fmt::format("field '{}' is missing", name));
    if (!f->is_string())
        fail(ctx, fmt::format("field '{}' must be a string, got {}", name, describe_value(*f)));
    return f->get<std::string>();
}

std::string optional_string(const json& obj, const char* name, const std::string& ctx) {
    return field(obj, name) ? required_string(obj, name, ctx) : std::string();
}

bool optional_bool(const json& obj, const char* name, const std::string& ctx) {
    const json* f = field(obj, name);
    if (!f) return false;
    if (!f->is_boolean())
        fail(ctx, fmt::format("field '{}' must be a boolean, got {}", name, describe_value(*f)));
    return f->get<bool>();
}

std::optional<double> optional_number(const json& obj, const char* name, const std::string& ctx) {
    const json* f = field(obj, name);
    if (!f || f->is_null()) return std::nullopt;
    if (!f->is_number())
        fail(ctx, fmt::format("field '{}' must be a number, got {}", name, describe_value(*f)));
    return f->get<double>();
}

const json& optional_array(const json& obj, const char* name, const std::string& ctx) {
    static const json empty = json::array();
    const json* f = field(obj, name);
    if (!f) return empty;
    if (!f->is_array())
        fail(ctx, fmt::format("field '{}' must be an array, got {}", name, describe_value(*f)));
    return *f;
}

// Context for an element of a list field: "descriptor of 'x': input 'data'" once the name is
// known, "descriptor of 'x': inputs[1]" before.
std::string element_context(const std::string& ctx, const char* list, std::size_t i,
                            const json& elem, const char* singular) {
    const json* name = elem.is_object() ? field(elem, "name") : nullptr;
    if (name && name->is_string())
        return fmt::format("{}: {} '{}'", ctx, singular, name->get<std::string>());
    return fmt::format("{}: {}[{}]", ctx, list, i);
}

std::vector<PortSpec> parse_ports(const json& j, const char* list, const char* singular,
                                  const std::string& ctx) {
    std::vector<PortSpec> ports;
    std::set<std::string> seen;
    const json& arr = optional_array(j, list, ctx);
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string pctx = element_context(ctx, list, i, arr[i], singular);
        if (!arr[i].is_object())
            fail(pctx, fmt::format("must be a JSON object, got {}", describe_value(arr[i])));
        PortSpec p;
        p.name = required_string(arr[i], "name", pctx);
        if (!detail::is_simple_name(p.name))
            fail(pctx, "field 'name' must be made of letters, digits, '_' and '-'");
        if (!seen.insert(p.name).second) fail(pctx, fmt::format("duplicate {} name", singular));
        p.type = required_string(arr[i], "type", pctx);
        if (p.type.empty()) fail(pctx, "field 'type' must not be empty (use \"any\")");
        p.kind = field(arr[i], "kind") ? required_string(arr[i], "kind", pctx) : "file";
        if (p.kind != "file" && p.kind != "dir")
            fail(pctx, fmt::format("field 'kind' must be \"file\" or \"dir\", got \"{}\"", p.kind));
        p.doc = optional_string(arr[i], "doc", pctx);
        p.optional = optional_bool(arr[i], "optional", pctx);
        p.augmented = optional_bool(arr[i], "augmented", pctx);
        p.refuses_augmented = optional_bool(arr[i], "refuses_augmented", pctx);
        ports.push_back(std::move(p));
    }
    return ports;
}

ParamSpec parse_param(const json& pj, const std::string& pctx) {
    if (!pj.is_object())
        fail(pctx, fmt::format("must be a JSON object, got {}", describe_value(pj)));
    ParamSpec p;
    p.name = required_string(pj, "name", pctx);
    if (!detail::is_simple_name(p.name))
        fail(pctx, "field 'name' must be made of letters, digits, '_' and '-'");
    p.type = required_string(pj, "type", pctx);
    if (!detail::is_known_param_type(p.type))
        fail(pctx, fmt::format("field 'type' is '{}', expected one of: {}", p.type,
                               detail::join(detail::known_param_types())));
    p.doc = optional_string(pj, "doc", pctx);
    p.min = optional_number(pj, "min", pctx);
    p.max = optional_number(pj, "max", pctx);
    if (p.min && p.max && *p.min > *p.max)
        fail(pctx, fmt::format("min {} is greater than max {}", *p.min, *p.max));
    for (const json& c : optional_array(pj, "choices", pctx)) {
        if (!c.is_string())
            fail(pctx, fmt::format("field 'choices' must hold strings, got {}", describe_value(c)));
        p.choices.push_back(c.get<std::string>());
    }
    if (!p.choices.empty() && p.type != "string" && p.type != "list<string>")
        fail(pctx, "field 'choices' is only allowed for string and list<string> parameters");
    // A param without a default must be given in the pipeline; "required" may also force that.
    p.required = optional_bool(pj, "required", pctx);
    if (const json* def = field(pj, "default")) {
        // A null default means "unset": the plugin sees null and treats the param as absent.
        if (!def->is_null()) {
            json widened;
            if (auto problem = detail::check_param_value(p, *def, &widened))
                fail(pctx, fmt::format("default {} does not fit the parameter: {} (expected {})",
                                       def->dump(), problem->message, problem->expected));
            p.default_value = std::move(widened);
        } else {
            p.default_value = json();
        }
    } else {
        p.required = true;
    }
    return p;
}

json port_to_json(const PortSpec& p) {
    json j = {{"name", p.name},
              {"type", p.type},
              {"kind", p.kind},
              {"doc", p.doc},
              {"optional", p.optional}};
    // Written only when set, so descriptors without the guard keep their earlier JSON.
    if (p.augmented) j["augmented"] = true;
    if (p.refuses_augmented) j["refuses_augmented"] = true;
    return j;
}

}  // namespace

const PortSpec* StageDescriptor::find_input(std::string_view name) const {
    for (const auto& p : inputs)
        if (p.name == name) return &p;
    return nullptr;
}

const PortSpec* StageDescriptor::find_output(std::string_view name) const {
    for (const auto& p : outputs)
        if (p.name == name) return &p;
    return nullptr;
}

const ParamSpec* StageDescriptor::find_param(std::string_view name) const {
    for (const auto& p : params)
        if (p.name == name) return &p;
    return nullptr;
}

StageDescriptor descriptor_from_json(const json& j) {
    if (!j.is_object())
        throw std::runtime_error("stage descriptor must be a JSON object, got " +
                                 describe_value(j));
    StageDescriptor d;
    d.type = required_string(j, "type", "stage descriptor");
    if (d.type.empty()) fail("stage descriptor", "field 'type' must not be empty");
    const std::string ctx = fmt::format("descriptor of '{}'", d.type);
    d.version = required_string(j, "version", ctx);
    d.doc = optional_string(j, "doc", ctx);
    d.inputs = parse_ports(j, "inputs", "input", ctx);
    d.outputs = parse_ports(j, "outputs", "output", ctx);
    d.variadic_inputs = optional_bool(j, "variadic_inputs", ctx);
    d.exclusive = optional_bool(j, "exclusive", ctx);
    std::set<std::string> seen;
    const json& params = optional_array(j, "params", ctx);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const std::string pctx = element_context(ctx, "params", i, params[i], "param");
        ParamSpec p = parse_param(params[i], pctx);
        if (!seen.insert(p.name).second) fail(pctx, "duplicate param name");
        d.params.push_back(std::move(p));
    }
    return d;
}

json descriptor_to_json(const StageDescriptor& d) {
    json j = {{"type", d.type},
              {"version", d.version},
              {"doc", d.doc},
              {"inputs", json::array()},
              {"outputs", json::array()},
              {"params", json::array()},
              {"variadic_inputs", d.variadic_inputs}};
    if (d.exclusive) j["exclusive"] = true;  // only when set: older descriptors keep their JSON
    for (const auto& p : d.inputs) j["inputs"].push_back(port_to_json(p));
    for (const auto& p : d.outputs) j["outputs"].push_back(port_to_json(p));
    for (const auto& p : d.params) {
        json pj = {{"name", p.name}, {"type", p.type}, {"doc", p.doc}, {"required", p.required}};
        if (p.default_value) pj["default"] = *p.default_value;
        if (p.min) pj["min"] = *p.min;
        if (p.max) pj["max"] = *p.max;
        if (!p.choices.empty()) pj["choices"] = p.choices;
        j["params"].push_back(std::move(pj));
    }
    return j;
}

bool port_types_compatible(std::string_view out, std::string_view in) {
    return out == "any" || in == "any" || out == in;
}

}  // namespace graft
