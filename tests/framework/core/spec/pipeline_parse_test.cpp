#include "core/spec/pipeline_spec.hpp"

#include <catch2/catch.hpp>

#include "fake_catalog.hpp"

using namespace graft;
using test::error_of;

namespace {

const std::filesystem::path kFile = "/work/p/pipeline.toml";

PipelineSpec parse(std::string_view text, const std::vector<Override>& ovs = {}) {
    return parse_pipeline_text(text, kFile, ovs);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a good pipeline parses with file order and locations", "[spec][parse]") {
    const PipelineSpec spec = parse(R"([pipeline]
name = "demo"
seed = 17
description = "a demo"

[stages.zeta]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.zeta.params]
dedupe = true
min_chars = 5

[stages.alpha]
uses  = "split"
inputs = { data = "zeta.data" }
[stages.alpha.params]
ratios = [0.8, 0.1, 0.1]
)");
    CHECK(spec.name == "demo");
    CHECK(spec.seed == 17);
    CHECK(spec.file == kFile);
    CHECK(spec.dir == "/work/p");
    REQUIRE(spec.stage_ids() == std::vector<std::string>{"zeta", "alpha"});  // file order

    const StageSpec& zeta = spec.stages[0];
    CHECK(zeta.uses == "text.clean");
    CHECK(zeta.loc.file == "/work/p/pipeline.toml");
    CHECK(zeta.loc.line == 6);
    CHECK(zeta.uses_loc.line == 7);
    CHECK(zeta.uses_loc.column == 8);
    CHECK(zeta.params == json{{"dedupe", true}, {"min_chars", 5}});
    CHECK(zeta.param_locs.at("min_chars").line == 11);
    CHECK(zeta.param_locs.at("min_chars").column == 13);

    const StageSpec& alpha = *spec.find("alpha");
    CHECK(alpha.uses_loc.column == 9);
    CHECK(alpha.params["ratios"] == json{0.8, 0.1, 0.1});
    CHECK(spec.find("missing") == nullptr);
}

TEST_CASE("inputs: stage references vs paths, resolved against the file's directory",
          "[spec][parse]") {
    const PipelineSpec spec = parse(R"([pipeline]
name = "refs"
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.v2.jsonl" }
[stages.split]
uses = "split"
inputs = { data = "clean.data", extra = "../shared/./x.jsonl", abs = "/tmp/a/../b.txt" }
)");
    const StageSpec& clean = spec.stages[0];
    const InputBinding& raw = *clean.find_input("data");
    CHECK(raw.kind == InputBinding::Kind::Path);  // "data" is not a stage, so it is a path
    CHECK(raw.raw == "data/raw.v2.jsonl");
    CHECK(raw.path == "/work/p/data/raw.v2.jsonl");
    CHECK(raw.loc.line == 5);
    CHECK(raw.loc.column == 19);

    const StageSpec& split = spec.stages[1];
    REQUIRE(split.inputs.size() == 3);
    CHECK(split.inputs[0].port == "abs");  // sorted by port name
    CHECK(split.inputs[0].path == "/tmp/b.txt");
    const InputBinding& ref = *split.find_input("data");
    CHECK(ref.kind == InputBinding::Kind::StageOutput);
    CHECK(ref.stage == "clean");
    CHECK(ref.output == "data");
    CHECK(split.find_input("extra")->path == "/work/shared/x.jsonl");
    CHECK(split.find_input("nope") == nullptr);
}

TEST_CASE("params convert to JSON with their TOML types", "[spec][parse]") {
    const PipelineSpec spec = parse(R"([pipeline]
name = "types"
[stages.s]
uses = "shell"
[stages.s.params]
i = 3
f = 3.0
b = false
s = "x"
list = [1, 2]
nested = { a = { b = [0.5] } }
when = 1979-05-27T07:32:00Z
day = 1979-05-27
)");
    const json& p = spec.stages[0].params;
    CHECK(p["i"].is_number_integer());
    CHECK(p["f"].is_number_float());
    CHECK(p["b"] == false);
    CHECK(p["s"] == "x");
    CHECK(p["list"] == json{1, 2});
    CHECK(p["nested"]["a"]["b"][0] == 0.5);
    CHECK(p["when"] == "1979-05-27T07:32:00Z");
    CHECK(p["day"] == "1979-05-27");
    CHECK(spec.seed == 0);  // default
}

TEST_CASE("TOML syntax errors carry toml++'s line and column", "[spec][parse]") {
    const auto diags =
        test::diagnostics_of([] { parse("[pipeline]\nname = \"x\"\nseed = = 3\n"); });
    REQUIRE(diags.size() == 1);
    CHECK(diags[0].loc.line == 3);
    CHECK(diags[0].loc.column > 0);
    CHECK(contains(format_diagnostic(diags[0]), "/work/p/pipeline.toml:3:"));
    CHECK(contains(diags[0].message, "TOML syntax error"));
}

TEST_CASE("unknown keys are errors with did-you-mean, all reported at once", "[spec][parse]") {
    const auto diags = test::diagnostics_of([] {
        parse(R"([pipeline]
name = "x"
sed = 3
[stage.a]
uses = "split"
[stages.b]
use = "split"
input = { data = "x" }
)");
    });
    const std::string all = format_diagnostics(diags);
    CHECK(contains(all,
                   "pipeline.toml:3:7: error: pipeline.sed: unknown key 'sed' in [pipeline] "
                   "(expected one of: name, seed, description)\n  hint: did you mean "
                   "'seed'?"));
    CHECK(contains(all,
                   ":4:1: error: stage: unknown key 'stage' in the pipeline file (expected "
                   "one of: pipeline, stages, sweep, hpsearch, report)\n  hint: did you mean 'stages'?"));
    CHECK(contains(all, ":7:7: error: stages.b.use: unknown key 'use' in stage 'b'"));
    CHECK(contains(all, "did you mean 'uses'?"));
    CHECK(contains(all, "stages.b.input: unknown key 'input'"));
    CHECK(contains(all, "did you mean 'inputs'?"));
    CHECK(contains(all, ":6:1: error: stages.b.uses: stage 'b' has no 'uses'"));
    CHECK(diags.size() == 5);
}

TEST_CASE("structural errors name the key and what was expected", "[spec][parse]") {
    CHECK(contains(error_of([] { parse("[stages.a]\nuses = \"split\"\n"); }),
                   "error: pipeline: missing [pipeline] table"));
    CHECK(contains(error_of([] { parse("[pipeline]\nseed = 1\n[stages.a]\nuses = \"x\"\n"); }),
                   ":1:1: error: pipeline.name: missing pipeline name"));
    CHECK(contains(error_of([] { parse("[pipeline]\nname = \"x\"\nseed = -1\n"); }),
                   ":3:8: error: pipeline.seed: must not be negative (expected a non-negative "
                   "integer)"));
    CHECK(contains(error_of([] { parse("[pipeline]\nname = \"x\"\nseed = \"7\"\n"); }),
                   "pipeline.seed: must be an integer, got a string"));
    CHECK(contains(error_of([] { parse("[pipeline]\nname = 5\n"); }),
                   "pipeline.name: must be a string, got an integer"));
    CHECK(contains(error_of([] {
                       parse(
                           "[pipeline]\nname = \"x\"\n[stages.\"a.b\"]\nuses = "
                           "\"split\"\n");
                   }),
                   ":3:1: error: stages.a.b: invalid stage id 'a.b'"));
    CHECK(contains(error_of([] { parse("[pipeline]\nname = \"x\"\n[stages.9a]\nuses = \"s\"\n"); }),
                   "invalid stage id '9a'"));
    CHECK(contains(error_of([] { parse("stages = 3\n[pipeline]\nname = \"x\"\n"); }),
                   "error: stages: must be a table, got an integer"));
    CHECK(contains(error_of([] { parse("[pipeline]\nname = \"x\"\n[stages]\na = 1\n"); }),
                   ":4:5: error: stages.a: must be a table, got an integer"));
    CHECK(contains(error_of([] {
                       parse(
                           "[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"s\"\ninputs = { d "
                           "= 3 }\n");
                   }),
                   ":5:16: error: stages.a.inputs.d: must be a string, got an integer"));
    CHECK(contains(error_of([] {
                       parse(
                           "[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"s\"\ninputs = "
                           "\"x\"\n");
                   }),
                   "stages.a.inputs: must be a table, got a string"));
    CHECK(contains(error_of([] {
                       parse(
                           "[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"s\"\n[stages.b]\nuses = "
                           "\"s\"\ninputs = { d = \"a.\" }\n");
                   }),
                   "stages.b.inputs.d: malformed reference 'a.': no output port"));
    CHECK(contains(error_of([] { parse("[pipeline]\nname = \"x\"\n[stages.a]\nuses = 1\n"); }),
                   "stages.a.uses: must be a string, got an integer"));
    CHECK(contains(
        error_of([] { parse("[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"s\"\nparams = 1\n"); }),
        "stages.a.params: must be a table, got an integer"));
}

TEST_CASE("parse_override splits KEY=VALUE and rejects text without '='", "[spec][override]") {
    const Override o = parse_override("stages.split.params.ratios=[0.7,0.15,0.15]", 3);
    CHECK(o.key == "stages.split.params.ratios");
    CHECK(o.value == "[0.7,0.15,0.15]");
    CHECK(o.index == 3);
    CHECK(parse_override("a.b=x=y", 1).value == "x=y");
    const std::string msg = error_of([] { parse_override("stages.x.params.mode", 2); });
    CHECK(contains(msg,
                   "<command line>: --set #2: error: malformed --set 'stages.x.params.mode' "
                   "(expected KEY=VALUE)"));
    CHECK(contains(error_of([] { parse_override("=3", 1); }), "malformed --set '=3'"));
}

TEST_CASE("overrides replace and create values, parsed as TOML or bare strings",
          "[spec][override]") {
    const char* text = R"([pipeline]
name = "demo"
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.clean.params]
dedupe = true
[stages.split]
uses = "split"
inputs = { data = "clean.data" }
)";
    const PipelineSpec spec = parse(
        text, {parse_override("stages.clean.params.dedupe=false", 1),
               parse_override("stages.clean.params.mode=thorough", 2),
               parse_override("stages.split.params.ratios=[0.7,0.15,0.15]", 3),
               parse_override("pipeline.seed=42", 4), parse_override("stages.extra.uses=shell", 5),
               parse_override("stages.extra.inputs.x=split.train", 6),
               parse_override("stages.clean.params.mode=\"quoted\"", 7)});
    const StageSpec& clean = *spec.find("clean");
    CHECK(clean.params["dedupe"] == false);
    CHECK(clean.params["mode"] == "quoted");  // the later --set wins
    CHECK(clean.param_locs.at("mode").file == "<command line>");
    CHECK(clean.param_locs.at("mode").column == 7);
    CHECK(spec.find("split")->params["ratios"] == json{0.7, 0.15, 0.15});
    CHECK(spec.seed == 42);
    REQUIRE(spec.stage_ids() == std::vector<std::string>{"clean", "split", "extra"});
    const StageSpec& extra = *spec.find("extra");
    CHECK(extra.uses == "shell");
    CHECK(extra.loc.file == "<command line>");
    CHECK(extra.loc.column == 5);
    CHECK(extra.find_input("x")->kind == InputBinding::Kind::StageOutput);
    CHECK(extra.find_input("x")->loc.column == 6);
}

TEST_CASE("overrides go through the same checks as the file", "[spec][override]") {
    const char* text = "[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"split\"\n";
    CHECK(contains(error_of([&] { parse(text, {parse_override("stages.a.use=split", 2)}); }),
                   "<command line>: --set #2: error: stages.a.use: unknown key 'use' in stage "
                   "'a' (expected one of: uses, inputs, params, exclusive, seed)\n  hint: did you mean 'uses'?"));
    CHECK(contains(error_of([&] { parse(text, {parse_override("pipeline.seed=-4", 1)}); }),
                   "<command line>: --set #1: error: pipeline.seed: must not be negative"));
    CHECK(contains(error_of([&] { parse(text, {parse_override("stages.a.uses.x=1", 1)}); }),
                   "cannot set a key inside 'stages.a.uses': it is a string, not a table"));
    CHECK(contains(error_of([&] { parse(text, {parse_override("stages..uses=1", 1)}); }),
                   "malformed key: empty part"));
    // Setting something in a stage the file lacks is a typo unless that stage's uses is set.
    CHECK(contains(error_of([&] { parse(text, {parse_override("stages.b.params.x=1", 3)}); }),
                   "<command line>: --set #3: error: stages.b.params.x: no stage 'b' in the "
                   "pipeline (expected one of: a)\n  hint: did you mean 'a'?"));
    CHECK(contains(error_of([&] { parse(text, {parse_override("stages.new.params.x=1", 1)}); }),
                   "hint: to add a stage, also --set stages.new.uses=<stage type>"));
    CHECK(parse(text, {parse_override("stages.new.inputs.d=a.train", 1),
                       parse_override("stages.new.uses=shell", 2)})
              .find("new")
              ->find_input("d")
              ->kind == InputBinding::Kind::StageOutput);
    // A value with a second assignment is not smuggled in: it becomes one string.
    const PipelineSpec spec =
        parse(text, {parse_override("stages.a.params.stratify=1\nevil = 2", 1)});
    CHECK(spec.stages[0].params["stratify"] == "1\nevil = 2");
}

TEST_CASE("parse_pipeline reads a file and reports a missing one", "[spec][parse]") {
    test::TempDir dir;
    const auto file = dir.write("sub/pipeline.toml",
                                "[pipeline]\nname = \"f\"\n[stages.a]\nuses = \"split\"\n"
                                "inputs = { data = \"in.jsonl\" }\n");
    const PipelineSpec spec = parse_pipeline(file);
    CHECK(spec.name == "f");
    CHECK(spec.dir == dir.path() / "sub");
    CHECK(spec.stages[0].inputs[0].path == dir.path() / "sub" / "in.jsonl");
    const std::string msg = error_of([&] { parse_pipeline(dir / "nope.toml"); });
    CHECK(contains(msg, "nope.toml: error: pipeline file not found"));
}
