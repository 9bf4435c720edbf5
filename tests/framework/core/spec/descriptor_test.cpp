#include "core/spec/descriptor.hpp"

#include <catch2/catch.hpp>

#include "fake_catalog.hpp"

using namespace graft;

namespace {

json minimal(const std::string& type = "x") { return {{"type", type}, {"version", "1"}}; }

std::string parse_error(const json& j) {
    try {
        descriptor_from_json(j);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    FAIL("expected descriptor_from_json to throw");
    return {};
}

}  // namespace

TEST_CASE("descriptor_from_json reads ports, params and flags", "[spec][descriptor]") {
    test::FakeCatalog catalog;
    const StageDescriptor* train = catalog.find("train");
    REQUIRE(train);
    CHECK(train->version == "1");
    CHECK(train->doc == "trains a model");
    REQUIRE(train->inputs.size() == 2);
    CHECK(train->find_input("init")->optional);
    CHECK(train->find_input("init")->kind == "dir");
    CHECK_FALSE(train->find_input("train")->optional);
    CHECK(train->find_output("model")->type == "model");
    CHECK(train->find_output("nope") == nullptr);
    const ParamSpec* lr = train->find_param("lr");
    REQUIRE(lr);
    CHECK(lr->required);
    CHECK_FALSE(lr->default_value);
    CHECK(lr->min == 0.0);
    CHECK_FALSE(lr->max);
    const ParamSpec* epochs = train->find_param("epochs");
    CHECK_FALSE(epochs->required);
    CHECK(*epochs->default_value == 3);
    // A null default is a default: the param is optional and unset.
    const ParamSpec* anything = train->find_param("anything");
    REQUIRE(anything->default_value);
    CHECK(anything->default_value->is_null());
    CHECK(catalog.find("shell")->variadic_inputs);
    CHECK(catalog.find("shell")->find_param("cmd")->required);  // no default => required
    CHECK(catalog.find("text.clean")->find_param("mode")->choices ==
          std::vector<std::string>{"fast", "thorough"});
}

TEST_CASE("descriptor defaults of float params are widened to double", "[spec][descriptor]") {
    json j = minimal();
    j["params"] = {{{"name", "p"}, {"type", "float"}, {"default", 1}},
                   {{"name", "q"}, {"type", "list<float>"}, {"default", {1, 2}}}};
    const StageDescriptor d = descriptor_from_json(j);
    CHECK(d.find_param("p")->default_value->is_number_float());
    CHECK(d.find_param("q")->default_value->at(1).is_number_float());
}

TEST_CASE("descriptor_to_json round-trips", "[spec][descriptor]") {
    test::FakeCatalog catalog;
    for (const auto& type : catalog.types()) {
        const StageDescriptor& d = *catalog.find(type);
        const json j = descriptor_to_json(d);
        const StageDescriptor back = descriptor_from_json(j);
        CHECK(descriptor_to_json(back) == j);
        CHECK(back.params.size() == d.params.size());
        CHECK(back.inputs.size() == d.inputs.size());
    }
}

TEST_CASE("descriptor_from_json names the malformed field", "[spec][descriptor]") {
    json j = minimal();
    j["version"] = 1;
    CHECK(parse_error(j) ==
          "descriptor of 'x': field 'version' must be a string, got an "
          "integer 1");

    CHECK(parse_error(json::array()).find("must be a JSON object") != std::string::npos);
    CHECK(parse_error({{"version", "1"}}).find("field 'type' is missing") != std::string::npos);
    CHECK(parse_error(minimal("")).find("'type' must not be empty") != std::string::npos);

    j = minimal();
    j["inputs"] = {{{"name", "data"}, {"type", "jsonl"}, {"kind", "blob"}}};
    CHECK(parse_error(j) ==
          "descriptor of 'x': input 'data': field 'kind' must be \"file\" or \"dir\", got "
          "\"blob\"");

    j = minimal();
    j["outputs"] = {{{"name", "a.b"}, {"type", "jsonl"}}};
    CHECK(parse_error(j).find("output 'a.b': field 'name'") != std::string::npos);

    j = minimal();
    j["inputs"] = {{{"type", "jsonl"}}};
    CHECK(parse_error(j) == "descriptor of 'x': inputs[0]: field 'name' is missing");

    j = minimal();
    j["params"] = {{{"name", "p"}, {"type", "double"}}};
    CHECK(parse_error(j).find("param 'p': field 'type' is 'double', expected one of: bool, int") !=
          std::string::npos);

    j = minimal();
    j["params"] = {{{"name", "p"}, {"type", "int"}, {"default", "three"}}};
    CHECK(parse_error(j).find("param 'p': default \"three\" does not fit") != std::string::npos);

    j = minimal();
    j["params"] = {{{"name", "p"}, {"type", "int"}, {"default", 7}, {"max", 5}}};
    CHECK(parse_error(j).find("above the maximum 5") != std::string::npos);

    j = minimal();
    j["params"] = {{{"name", "p"}, {"type", "string"}, {"default", "c"}, {"choices", {"a", "b"}}}};
    CHECK(parse_error(j).find("'c' is not an allowed value") != std::string::npos);

    j = minimal();
    j["params"] = {{{"name", "p"}, {"type", "int"}, {"default", 1}},
                   {{"name", "p"}, {"type", "int"}, {"default", 2}}};
    CHECK(parse_error(j).find("duplicate param name") != std::string::npos);

    j = minimal();
    j["variadic_inputs"] = "yes";
    CHECK(parse_error(j).find("field 'variadic_inputs' must be a boolean") != std::string::npos);
}

TEST_CASE("port types: equal names or 'any' are compatible", "[spec][descriptor]") {
    CHECK(port_types_compatible("jsonl", "jsonl"));
    CHECK(port_types_compatible("any", "model"));
    CHECK(port_types_compatible("jsonl", "any"));
    CHECK_FALSE(port_types_compatible("jsonl", "model"));
}

TEST_CASE("descriptor 'exclusive' flag: optional, read, and written only when set", "[spec][descriptor]") {
    CHECK_FALSE(descriptor_from_json(minimal()).exclusive);
    CHECK_FALSE(descriptor_to_json(descriptor_from_json(minimal())).contains("exclusive"));
    json j = minimal();
    j["exclusive"] = true;
    const StageDescriptor d = descriptor_from_json(j);
    CHECK(d.exclusive);
    CHECK(descriptor_to_json(d).at("exclusive") == true);
    j["exclusive"] = "yes";
    CHECK_THAT(parse_error(j), Catch::Contains("exclusive"));
}
