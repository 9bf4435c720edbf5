#include "core/spec/pipeline_spec.hpp"

#include <catch2/catch.hpp>

#include "fake_catalog.hpp"

using namespace graft;
using test::error_of;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A pipeline directory with data/raw.jsonl, data/raw.v2.jsonl and a directory models/base.
struct Fixture {
    test::TempDir dir;
    test::FakeCatalog catalog;

    Fixture() {
        dir.write("data/raw.jsonl");
        dir.write("data/raw.v2.jsonl");
        std::filesystem::create_directories(dir / "models/base");
    }
    PipelineSpec parse(std::string_view text, const std::vector<Override>& ovs = {}) const {
        return parse_pipeline_text(text, dir / "pipeline.toml", ovs);
    }
    PipelineSpec validated(std::string_view text, const std::vector<Override>& ovs = {}) const {
        PipelineSpec spec = parse(text, ovs);
        validate_pipeline(spec, catalog);
        return spec;
    }
    std::string errors(std::string_view text, const std::vector<Override>& ovs = {}) const {
        return error_of([&] { validated(text, ovs); });
    }
};

const char* const kGood = R"([pipeline]
name = "demo"
seed = 17

[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.clean.params]
dedupe = true

[stages.split]
uses = "split"
inputs = { data = "clean.data" }
[stages.split.params]
ratios = [1, 0, 0]

[stages.train]
uses = "train"
inputs = { train = "split.train" }
[stages.train.params]
lr = 1
)";

// kGood with `extra` appended: lines added to [stages.train.params], or new tables.
std::string with(const std::string& extra) { return std::string(kGood) + extra; }

}  // namespace

TEST_CASE("validate fills descriptors and resolved params with defaults", "[spec][validate]") {
    Fixture f;
    const PipelineSpec spec = f.validated(kGood);
    const StageSpec& clean = *spec.find("clean");
    REQUIRE(clean.descriptor == f.catalog.find("text.clean"));
    CHECK(clean.resolved_params == json{{"dedupe", true}, {"min_chars", 0}, {"mode", "fast"}});
    CHECK(clean.params == json{{"dedupe", true}});  // as written, untouched

    const StageSpec& train = *spec.find("train");
    CHECK(train.resolved_params["epochs"] == 3);
    CHECK(train.resolved_params["layers"] == json{64, 32});
    CHECK(train.resolved_params["extra"] == json::object());
    CHECK(train.resolved_params.contains("anything"));
    CHECK(train.resolved_params["anything"].is_null());
}

TEST_CASE("integers are accepted for float params and widened to double", "[spec][validate]") {
    Fixture f;
    const PipelineSpec spec = f.validated(kGood);
    const json& lr = spec.find("train")->resolved_params["lr"];
    CHECK(lr.is_number_float());
    CHECK(lr == 1.0);
    const json& ratios = spec.find("split")->resolved_params["ratios"];
    REQUIRE(ratios.size() == 3);
    for (const auto& r : ratios) CHECK(r.is_number_float());
    CHECK(spec.find("train")->params["lr"].is_number_integer());  // the raw value keeps its type
}

TEST_CASE("unknown stage type suggests the closest type", "[spec][validate]") {
    Fixture f;
    const std::string msg = f.errors(
        "[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"text.claen\"\n"
        "inputs = { data = \"data/raw.jsonl\" }\n");
    CHECK(contains(msg,
                   "pipeline.toml:4:8: error: stages.a.uses: unknown stage type "
                   "'text.claen' (expected one of: shell, split, text.clean, train)\n"
                   "  hint: did you mean 'text.clean'?"));
}

TEST_CASE("unknown parameter lists the valid names and suggests one", "[spec][validate]") {
    Fixture f;
    const std::string msg = f.errors(R"([pipeline]
name = "x"
[stages.split]
uses = "split"
inputs = { data = "data/raw.jsonl" }
[stages.split.params]
ratio = [0.5, 0.5]
)");
    CHECK(contains(msg,
                   "pipeline.toml:7:9: error: stages.split.params.ratio: unknown parameter "
                   "of stage type 'split' (expected one of: ratios, stratify, method)\n"
                   "  hint: did you mean 'ratios'?"));
}

TEST_CASE("missing required params and inputs are reported at the stage", "[spec][validate]") {
    Fixture f;
    const std::string msg = f.errors("[pipeline]\nname = \"x\"\n[stages.t]\nuses = \"train\"\n");
    CHECK(contains(msg,
                   ":3:1: error: stages.t.params.lr: missing required parameter 'lr' of "
                   "stage type 'train' (learning rate) (expected float)\n  hint: add lr = "
                   "<value> under [stages.t.params]"));
    CHECK(contains(msg,
                   ":3:1: error: stages.t.inputs.train: missing input 'train' of stage type "
                   "'train' (training rows) (expected a file of type jsonl)"));
    CHECK_FALSE(contains(msg, "inputs.init"));  // optional
}

TEST_CASE("wrong param types are rejected with the expected type", "[spec][validate]") {
    Fixture f;
    // A float is not accepted for an int.
    std::string msg = f.errors(with("epochs = 2.5\n"));
    CHECK(contains(msg,
                   ":22:10: error: stages.train.params.epochs: wrong type: got a float 2.5 "
                   "(expected int)\n  hint: int parameters take whole numbers"));
    msg = f.errors(with("layers = [1, \"two\"]\n"));
    CHECK(contains(msg,
                   "stages.train.params.layers: wrong type: layers[1] is a string \"two\" "
                   "(expected list<int>)"));
    msg = f.errors(with("tags = \"a\"\n"));
    CHECK(contains(msg,
                   "stages.train.params.tags: wrong type: got a string \"a\" (expected "
                   "list<string>)"));
    msg = f.errors(with("extra = [1]\n"));
    CHECK(contains(msg, "stages.train.params.extra: wrong type: got a list [1] (expected table)"));
    msg = f.errors(with("epochs = \"3\"\n"));
    CHECK(contains(msg, "hint: write the number without quotes"));
    // `any` takes anything; `table` takes a table.
    CHECK_NOTHROW(f.validated(with("anything = [1, \"x\", { a = 1 }]\nextra = { k = 1 }\n")));
}

TEST_CASE("bounds are inclusive and apply to list elements", "[spec][validate]") {
    Fixture f;
    CHECK_NOTHROW(f.validated(with("epochs = 100\n")));
    CHECK_NOTHROW(f.validated(with("epochs = 1\n")));
    CHECK(contains(f.errors(with("epochs = 101\n")),
                   "stages.train.params.epochs: value 101 is above the maximum 100 (expected a "
                   "value in [1, 100])"));
    CHECK(contains(f.errors(with("epochs = 0\n")), "value 0 is below the minimum 1"));
    CHECK(contains(f.errors(kGood, {parse_override("stages.train.params.lr=-0.5", 1)}),
                   "(expected a value >= 0)"));
    const std::string text = R"([pipeline]
name = "x"
[stages.s]
uses = "split"
inputs = { data = "data/raw.jsonl" }
[stages.s.params]
ratios = [0.5, 1.5]
)";
    CHECK(contains(f.errors(text),
                   ":7:10: error: stages.s.params.ratios: ratios[1] 1.5 is above "
                   "the maximum 1 (expected a value in [0, 1])"));
}

TEST_CASE("string choices are enforced with a suggestion", "[spec][validate]") {
    Fixture f;
    CHECK(contains(f.errors(R"([pipeline]
name = "x"
[stages.c]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.c.params]
mode = "thorugh"
)"),
                   ":7:8: error: stages.c.params.mode: value 'thorugh' is not an allowed value "
                   "(expected one of: fast, thorough)\n  hint: did you mean 'thorough'?"));
}

TEST_CASE("overrides are type-checked like file values", "[spec][validate][override]") {
    Fixture f;
    const std::string msg = f.errors(kGood, {parse_override("stages.split.params.ratios=0.5", 1),
                                             parse_override("stages.train.params.epochs=many", 2)});
    CHECK(contains(msg,
                   "<command line>: --set #1: error: stages.split.params.ratios: wrong "
                   "type: got a float 0.5 (expected list<float>)"));
    CHECK(contains(msg,
                   "<command line>: --set #2: error: stages.train.params.epochs: wrong "
                   "type: got a string \"many\" (expected int)"));
    const PipelineSpec spec =
        f.validated(kGood, {parse_override("stages.split.params.ratios=[0.7,0.15,0.15]", 1),
                            parse_override("stages.clean.params.mode=thorough", 2)});
    CHECK(spec.find("split")->resolved_params["ratios"] == json{0.7, 0.15, 0.15});
    CHECK(spec.find("clean")->resolved_params["mode"] == "thorough");
    // An unquoted list of words is a string; the hint says how to quote it.
    CHECK(contains(f.errors(kGood, {parse_override("stages.train.params.tags=[a,b]", 1)}),
                   "strings inside a list must be quoted"));
}

TEST_CASE("ports: unknown input, unknown output, type mismatch", "[spec][validate]") {
    Fixture f;
    std::string msg = f.errors(R"([pipeline]
name = "x"
[stages.clean]
uses = "text.clean"
inputs = { dat = "data/raw.jsonl" }
)");
    CHECK(contains(msg,
                   ":5:18: error: stages.clean.inputs.dat: unknown input port 'dat' of stage "
                   "type 'text.clean' (expected one of: data)\n  hint: did you mean 'data'?"));
    CHECK(contains(msg, "stages.clean.inputs.data: missing input 'data'"));

    msg = f.errors(R"([pipeline]
name = "x"
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.split]
uses = "split"
inputs = { data = "clean.dta" }
)");
    CHECK(contains(msg,
                   ":8:19: error: stages.split.inputs.data: stage 'clean' (type "
                   "'text.clean') has no output 'dta' (expected one of: data)\n  hint: did "
                   "you mean 'clean.data'?"));

    msg = f.errors(R"([pipeline]
name = "x"
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.t]
uses = "train"
inputs = { train = "clean.data", init = "clean.data" }
[stages.t.params]
lr = 0.1
)");
    CHECK(contains(msg,
                   "stages.t.inputs.init: type mismatch: 'clean.data' is of type jsonl but "
                   "input 'init' of stage 't' takes model"));
}

TEST_CASE("'any' output types feed anything and variadic stages accept any port", "[spec][validate]") {
    Fixture f;
    const PipelineSpec spec = f.validated(with(R"(
[stages.sh]
uses = "shell"
inputs = { whatever = "train.metrics", raw = "data/raw.jsonl", models = "models/base" }
[stages.sh.params]
cmd = "ls"
)"));
    CHECK(spec.find("sh")->inputs.size() == 3);
}

TEST_CASE("path inputs must exist, relative to the pipeline directory", "[spec][validate]") {
    Fixture f;
    const std::string msg = f.errors(R"([pipeline]
name = "x"
[stages.clean]
uses = "text.clean"
inputs = { data = "data/missing.jsonl" }
)");
    CHECK(contains(msg,
                   ":5:19: error: stages.clean.inputs.data: input 'data' = "
                   "'data/missing.jsonl': no such file or directory"));
    CHECK(contains(
        msg, "hint: paths are relative to the pipeline file's directory " + f.dir.path().string()));
}

TEST_CASE("a misspelt stage reference is reported as such", "[spec][validate]") {
    Fixture f;
    const std::string msg = f.errors(R"([pipeline]
name = "x"
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.split]
uses = "split"
inputs = { data = "claen.data" }
)");
    CHECK(contains(msg,
                   "stages.split.inputs.data: input 'data' = 'claen.data': no stage 'claen' "
                   "and no file 'claen.data'\n  hint: did you mean 'clean.data'?"));
}

TEST_CASE("dotted file names stay paths unless the prefix is a stage", "[spec][validate]") {
    Fixture f;
    const PipelineSpec spec = f.validated(R"([pipeline]
name = "x"
[stages.data]
uses = "text.clean"
inputs = { data = "data/raw.v2.jsonl" }
[stages.clean]
uses = "text.clean"
inputs = { data = "data.data" }
)");
    CHECK(spec.find("data")->inputs[0].kind == InputBinding::Kind::Path);  // '/' follows "data"
    CHECK(spec.find("clean")->inputs[0].kind == InputBinding::Kind::StageOutput);
}

TEST_CASE("port kinds: a dir port needs a directory", "[spec][validate]") {
    Fixture f;
    const std::string base = R"([pipeline]
name = "x"
[stages.t]
uses = "train"
[stages.t.params]
lr = 0.1
[stages.t.inputs]
train = "data/raw.jsonl"
)";
    CHECK_NOTHROW(f.validated(base + "init = \"models/base\"\n"));
    CHECK(contains(f.errors(base + "init = \"data/raw.v2.jsonl\"\n"),
                   "stages.t.inputs.init: input 'init' = 'data/raw.v2.jsonl' is a file (expected "
                   "a directory)"));
    CHECK(contains(f.errors(base + "init = \"clean.data\"\n"), "no such file"));
}

TEST_CASE("cycles are found and printed", "[spec][validate]") {
    Fixture f;
    const std::string msg = f.errors(R"([pipeline]
name = "x"
[stages.a]
uses = "text.clean"
inputs = { data = "b.data" }
[stages.b]
uses = "text.clean"
inputs = { data = "a.data" }
)");
    CHECK(contains(msg, "pipeline.toml:8:19: error: stages.b.inputs.data: cycle: a -> b -> a"));
    CHECK(contains(f.errors("[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"text.clean\"\n"
                            "inputs = { data = \"a.data\" }\n"),
                   "cycle: a -> a"));
}

TEST_CASE("an empty pipeline is an error", "[spec][validate]") {
    Fixture f;
    CHECK(contains(f.errors("[pipeline]\nname = \"x\"\n"),
                   "error: stages: the pipeline has no stages"));
}

TEST_CASE("validation collects every problem before throwing", "[spec][validate]") {
    Fixture f;
    const auto diags = test::diagnostics_of([&] {
        f.validated(R"([pipeline]
name = "x"
[stages.a]
uses = "text.clean"
inputs = { data = "nope.jsonl" }
[stages.a.params]
dedup = true
min_chars = -1
[stages.b]
uses = "nosuch"
)");
    });
    // Reported in reading order, whatever order the checks ran in.
    REQUIRE(diags.size() == 4);
    CHECK(diags[0].key == "stages.a.inputs.data");
    CHECK(diags[0].loc.line == 5);
    CHECK(diags[1].key == "stages.a.params.dedup");
    CHECK(diags[1].hint == "did you mean 'dedupe'?");
    CHECK(diags[2].key == "stages.a.params.min_chars");
    CHECK(diags[3].key == "stages.b.uses");
    CHECK(diags[3].loc.line == 10);
}

TEST_CASE("validate checks specs built in code too", "[spec][validate]") {
    Fixture f;
    PipelineSpec spec = f.parse(kGood);
    spec.name.clear();
    spec.stages.push_back(spec.stages[0]);  // duplicate id "clean"
    spec.stages.back().inputs[0] = InputBinding{
        "data", "ghost.data", InputBinding::Kind::StageOutput, "ghost", "data", {}, {}};
    const std::string msg = error_of([&] { validate_pipeline(spec, f.catalog); });
    CHECK(contains(msg, "pipeline.name: missing pipeline name"));
    CHECK(contains(msg, "duplicate stage id 'clean'"));
    CHECK(contains(msg, "no stage 'ghost'"));
}
