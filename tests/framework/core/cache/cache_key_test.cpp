#include "core/cache/cache_key.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace graft;
using nlohmann::json;

namespace {

KeyFields base_fields() {
    KeyFields f;
    f.stage_type = "text.clean";
    f.stage_version = "1.2.0";
    f.plugin_digest = hash_bytes("plugin.so");
    f.params = json{{"lowercase", true}, {"min_len", 3}, {"ratio", 0.5}};
    f.inputs["data"] = hash_bytes("raw.jsonl");
    f.inputs["vocab"] = hash_bytes("vocab.txt");
    f.seed = 42;
    return f;
}

}  // namespace

TEST_CASE("canonical_json is compact, key-sorted and keeps 1.0 apart from 1", "[cache][key]") {
    json j = json::parse(R"({ "b": [1, 2.0, 0.1], "a": {"z": null, "y": "s"} })");
    CHECK(canonical_json(j) == R"({"a":{"y":"s","z":null},"b":[1,2.0,0.1]})");
    CHECK(canonical_json(json(1.0)) == "1.0");
    CHECK(canonical_json(json(1)) == "1");
    CHECK(canonical_json(json(1.0)) != canonical_json(json(1)));
    CHECK(canonical_json(json(1e300)) == "1e+300");
    CHECK(canonical_json(json(0.30000000000000004)) == "0.30000000000000004");
    CHECK(canonical_json(json("\xc3\xa9")) == "\"\xc3\xa9\"");
}

TEST_CASE("canonical_json refuses non-finite numbers instead of writing null", "[cache][key]") {
    json j{{"opt", {{"lr", std::numeric_limits<double>::infinity()}}}};
    CHECK_THROWS_WITH(canonical_json(j), Catch::Contains("opt.lr"));
    CHECK_THROWS(canonical_json(json::array({std::numeric_limits<double>::quiet_NaN()})));
}

TEST_CASE("the cache key is deterministic and independent of param key order", "[cache][key]") {
    KeyFields a = base_fields();
    KeyFields b = base_fields();
    CHECK(compute_cache_key(a) == compute_cache_key(b));
    b.params = json::parse(R"({"ratio": 0.5, "min_len": 3, "lowercase": true})");
    CHECK(compute_cache_key(a) == compute_cache_key(b));
}

TEST_CASE("every field changes the cache key", "[cache][key]") {
    const Digest base = compute_cache_key(base_fields());
    KeyFields f = base_fields();
    SECTION("stage type") { f.stage_type = "text.clean2"; }
    SECTION("stage version") { f.stage_version = "1.2.1"; }
    SECTION("plugin") { f.plugin_digest = hash_bytes("plugin2.so"); }
    SECTION("param value") { f.params["min_len"] = 4; }
    SECTION("param int vs float") { f.params["min_len"] = 3.0; }
    SECTION("param added") { f.params["extra"] = json(); }
    SECTION("seed") { f.seed = 43; }
    SECTION("input digest") { f.inputs["data"] = hash_bytes("raw2.jsonl"); }
    SECTION("input port name") {
        f.inputs["data2"] = f.inputs["data"];
        f.inputs.erase("data");
    }
    SECTION("input removed") { f.inputs.erase("vocab"); }
    CHECK(compute_cache_key(f) != base);
}

TEST_CASE("field framing keeps type and version apart", "[cache][key]") {
    KeyFields a = base_fields();
    KeyFields b = base_fields();
    a.stage_type = "ab";
    a.stage_version = "c";
    b.stage_type = "a";
    b.stage_version = "bc";
    CHECK(compute_cache_key(a) != compute_cache_key(b));
}
