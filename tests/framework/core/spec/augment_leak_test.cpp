// The leakage guard: an input marked refuses_augmented (a split's data) must not read rows derived
// from an output marked augmented, directly or through other stages; and the descriptor flags
// behind it.
#include "core/spec/pipeline_spec.hpp"

#include <catch2/catch.hpp>

#include "fake_catalog.hpp"

using namespace graft;
using test::diagnostics_of;
using Catch::Matchers::Contains;

namespace {

const char* const kGuardDescriptors = R"([
  {"type": "text.clean", "version": "1", "doc": "",
   "inputs":  [{"name": "data", "type": "jsonl", "kind": "file", "doc": ""}],
   "outputs": [{"name": "data", "type": "jsonl", "kind": "file", "doc": ""}], "params": []},
  {"type": "augment", "version": "1", "doc": "",
   "inputs":  [{"name": "data", "type": "jsonl", "kind": "file", "doc": ""}],
   "outputs": [{"name": "data", "type": "jsonl", "kind": "file", "doc": "", "augmented": true}],
   "params": []},
  {"type": "split", "version": "2", "doc": "",
   "inputs":  [{"name": "data", "type": "jsonl", "kind": "file", "doc": "",
                "refuses_augmented": true}],
   "outputs": [{"name": "train", "type": "jsonl", "kind": "file", "doc": ""},
               {"name": "val", "type": "jsonl", "kind": "file", "doc": ""},
               {"name": "test", "type": "jsonl", "kind": "file", "doc": ""}], "params": []},
  {"type": "text.concat", "version": "1", "doc": "", "variadic_inputs": true, "inputs": [],
   "outputs": [{"name": "data", "type": "jsonl", "kind": "file", "doc": ""}], "params": []},
  {"type": "train", "version": "1", "doc": "",
   "inputs":  [{"name": "train", "type": "jsonl", "kind": "file", "doc": ""}],
   "outputs": [{"name": "model", "type": "model", "kind": "dir", "doc": ""}], "params": []}
])";

class GuardCatalog final : public StageCatalog {
public:
    GuardCatalog() {
        for (const auto& j : json::parse(kGuardDescriptors)) {
            StageDescriptor d = descriptor_from_json(j);
            const std::string type = d.type;
            descriptors_.emplace(type, std::move(d));
        }
    }
    const StageDescriptor* find(std::string_view type) const override {
        auto it = descriptors_.find(std::string(type));
        return it == descriptors_.end() ? nullptr : &it->second;
    }
    std::vector<std::string> types() const override {
        std::vector<std::string> out;
        for (const auto& [type, d] : descriptors_) out.push_back(type);
        return out;
    }

private:
    std::map<std::string, StageDescriptor> descriptors_;
};

struct Fixture {
    test::TempDir dir;
    GuardCatalog catalog;
    Fixture() {
        dir.write("data/raw.jsonl");
        dir.write("data/extra.jsonl");
    }
    void validate(std::string_view text) const {
        PipelineSpec spec = parse_pipeline_text(text, dir / "pipeline.toml", {});
        validate_pipeline(spec, catalog);
    }
    std::vector<Diagnostic> diags(std::string_view text) const {
        return diagnostics_of([&] { validate(text); });
    }
};

}  // namespace

TEST_CASE("augment after the split, on its train output, is accepted", "[spec][augment]") {
    Fixture f;
    CHECK_NOTHROW(f.validate(R"([pipeline]
name = "ok"
[stages.split]
uses = "split"
inputs = { data = "data/raw.jsonl" }
[stages.aug]
uses = "augment"
inputs = { data = "split.train" }
[stages.train]
uses = "train"
inputs = { train = "aug.data" }
)"));
}

TEST_CASE("a split of augmented rows is refused at the split's input, naming the augment stage",
          "[spec][augment]") {
    Fixture f;
    const auto ds = f.diags(R"([pipeline]
name = "leak"

[stages.aug]
uses = "augment"
inputs = { data = "data/raw.jsonl" }

[stages.split]
uses = "split"
inputs = { data = "aug.data" }
)");
    REQUIRE(ds.size() == 1);
    const Diagnostic& d = ds[0];
    CHECK(d.loc.line == 10);  // the split's `inputs` line
    CHECK_THAT(d.loc.file, Contains("pipeline.toml"));
    CHECK(d.key == "stages.split.inputs.data");
    CHECK_THAT(d.message, Contains("input 'data' of stage 'split' (type 'split') reads rows "
                                   "augmented by stage 'aug' (") &&
                              Contains("pipeline.toml:4)") && Contains("validation and test"));
    CHECK_THAT(d.hint, Contains("bind 'data' to 'data/raw.jsonl'") &&
                           Contains("give 'aug' inputs = { data = \"split.train\" }"));
    // Formatted as every other pipeline error (graft exits 2 on it).
    CHECK_THAT(format_diagnostic(d), Contains("pipeline.toml:10:") && Contains("error"));
}

TEST_CASE("the guard follows augmented rows through other stages, variadic ones too",
          "[spec][augment]") {
    Fixture f;
    const auto ds = f.diags(R"([pipeline]
name = "leak"
[stages.aug]
uses = "augment"
inputs = { data = "data/raw.jsonl" }
[stages.clean]
uses = "text.clean"
inputs = { data = "aug.data" }
[stages.joined]
uses = "text.concat"
inputs = { a = "data/extra.jsonl", b = "clean.data" }
[stages.split]
uses = "split"
inputs = { data = "joined.data" }
[stages.train]
uses = "train"
inputs = { train = "split.train" }
)");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "stages.split.inputs.data");
    CHECK_THAT(ds[0].message,
               Contains("stage 'aug'") &&
                   Contains("(via 'joined.data' <- 'clean.data' <- 'aug.data')"));
}

TEST_CASE("the guard is quiet without an augmented output upstream", "[spec][augment]") {
    Fixture f;
    // Augmented rows that never reach a split, a split of unaugmented rows beside them.
    CHECK_NOTHROW(f.validate(R"([pipeline]
name = "ok"
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
[stages.aug]
uses = "augment"
inputs = { data = "clean.data" }
[stages.split]
uses = "split"
inputs = { data = "clean.data" }
[stages.train]
uses = "train"
inputs = { train = "aug.data" }
)"));
}

TEST_CASE("a cycle through an augment stage is reported as a cycle, not looped on",
          "[spec][augment]") {
    Fixture f;
    const auto ds = f.diags(R"([pipeline]
name = "cycle"
[stages.a]
uses = "text.clean"
inputs = { data = "b.data" }
[stages.b]
uses = "text.clean"
inputs = { data = "a.data" }
[stages.split]
uses = "split"
inputs = { data = "a.data" }
)");
    REQUIRE(ds.size() == 1);
    CHECK_THAT(ds[0].message, Contains("cycle"));
}

TEST_CASE("port flags augmented / refuses_augmented parse and round-trip", "[spec][augment]") {
    GuardCatalog catalog;
    const StageDescriptor* aug = catalog.find("augment");
    REQUIRE(aug);
    CHECK(aug->find_output("data")->augmented);
    CHECK_FALSE(aug->find_output("data")->refuses_augmented);
    CHECK_FALSE(aug->find_input("data")->augmented);
    const StageDescriptor* split = catalog.find("split");
    CHECK(split->find_input("data")->refuses_augmented);
    CHECK_FALSE(split->find_output("train")->augmented);

    const json j = descriptor_to_json(*aug);
    CHECK(j["outputs"][0]["augmented"] == true);
    CHECK_FALSE(j["inputs"][0].contains("augmented"));  // unset flags are not written
    CHECK_FALSE(j["inputs"][0].contains("refuses_augmented"));
    const StageDescriptor back = descriptor_from_json(j);
    CHECK(back.find_output("data")->augmented);
    CHECK(descriptor_to_json(back) == j);

    json bad = j;
    bad["outputs"][0]["augmented"] = "yes";
    try {
        descriptor_from_json(bad);
        FAIL("expected a malformed-descriptor error");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(std::string(e.what()),
                   Contains("output 'data': field 'augmented' must be a boolean"));
    }
}
