#include "core/spec/pipeline_spec.hpp"

#include <catch2/catch.hpp>

#include <cmath>

#include "fake_catalog.hpp"

using namespace graft;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const char* const kPipeline = R"([pipeline]
name = "demo"
seed = 17

[stages.zclean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.zclean.params]
dedupe = true

[stages.split]
uses = "split"
inputs = { data = "zclean.data" }
[stages.split.params]
ratios = [1, 0, 0]
stratify = "label \"quoted\"\n"

[stages.train]
uses = "train"
inputs = { train = "split.train" }
[stages.train.params]
lr = 2
extra = { "odd key" = 1, nested = { x = [1.5, 2.0] } }
tags = ["a", "b"]
)";

}  // namespace

TEST_CASE("pipeline_to_toml prints every resolved param in file order", "[spec][config]") {
    test::TempDir dir;
    dir.write("data/raw.jsonl");
    test::FakeCatalog catalog;
    PipelineSpec spec = parse_pipeline_text(kPipeline, dir / "pipeline.toml");
    validate_pipeline(spec, catalog);
    const std::string text = pipeline_to_toml(spec);
    CHECK(text.rfind("[pipeline]\nname = \"demo\"\nseed = 17\n", 0) == 0);
    CHECK(contains(text,
                   "\n[stages.zclean]\nuses = \"text.clean\"\n"
                   "inputs = { data = \"data/raw.jsonl\" }\n"));
    CHECK(contains(text,
                   "\n[stages.zclean.params]\ndedupe = true\nmin_chars = 0\n"
                   "mode = \"fast\"\n"));
    CHECK(contains(text, "ratios = [1.0, 0.0, 0.0]\n"));  // widened floats stay floats
    CHECK(contains(text, "lr = 2.0\n"));
    CHECK(contains(text, "epochs = 3\n"));  // default included
    CHECK(contains(text, "# anything is unset (null)\n"));
    CHECK(contains(text, "extra = { nested = { x = [1.5, 2.0] }, \"odd key\" = 1 }\n"));
    CHECK(text.find("[stages.zclean]") < text.find("[stages.split]"));
    CHECK(text.find("[stages.split]") < text.find("[stages.train]"));
    CHECK(pipeline_to_toml(spec) == text);  // deterministic
}

TEST_CASE("pipeline_to_toml round-trips through parse and validate", "[spec][config]") {
    test::TempDir dir;
    dir.write("data/raw.jsonl");
    test::FakeCatalog catalog;
    PipelineSpec spec =
        parse_pipeline_text(kPipeline, dir / "pipeline.toml",
                            {parse_override("stages.train.params.epochs=7", 1),
                             parse_override("stages.train.params.anything={ k = 1979-05-27 }", 2)});
    validate_pipeline(spec, catalog);
    const std::string text = pipeline_to_toml(spec);

    PipelineSpec back = parse_pipeline_text(text, dir / "config.toml");
    validate_pipeline(back, catalog);
    CHECK(back.name == spec.name);
    CHECK(back.seed == spec.seed);
    REQUIRE(back.stage_ids() == spec.stage_ids());
    for (std::size_t i = 0; i < spec.stages.size(); ++i) {
        INFO("stage " << spec.stages[i].id);
        CHECK(back.stages[i].uses == spec.stages[i].uses);
        CHECK(back.stages[i].resolved_params == spec.stages[i].resolved_params);
        REQUIRE(back.stages[i].inputs.size() == spec.stages[i].inputs.size());
        for (std::size_t k = 0; k < spec.stages[i].inputs.size(); ++k) {
            CHECK(back.stages[i].inputs[k].raw == spec.stages[i].inputs[k].raw);
            CHECK(back.stages[i].inputs[k].kind == spec.stages[i].inputs[k].kind);
            CHECK(back.stages[i].inputs[k].path == spec.stages[i].inputs[k].path);
        }
    }
    CHECK(back.find("train")->resolved_params["epochs"] == 7);
    CHECK(pipeline_to_toml(back) == text);
}

TEST_CASE("pipeline_to_toml before validation prints the params as written", "[spec][config]") {
    const PipelineSpec spec = parse_pipeline_text(
        "[pipeline]\nname = \"raw\"\n[stages.a]\nuses = \"anything\"\n[stages.a.params]\n"
        "x = 1e20\ny = -0.0\nz = inf\n",
        "/work/p/pipeline.toml");
    const std::string text = pipeline_to_toml(spec);
    CHECK(contains(text, "[stages.a.params]\nx = 1e+20\ny = -0.0\nz = inf\n"));
    const PipelineSpec back = parse_pipeline_text(text, "/work/p/pipeline.toml");
    CHECK(back.stages[0].params["x"].is_number_float());
    CHECK(back.stages[0].params["x"] == 1e20);
    CHECK(std::isinf(back.stages[0].params["z"].get<double>()));
}
