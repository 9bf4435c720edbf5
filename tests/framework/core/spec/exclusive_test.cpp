// `exclusive`: the stage type's descriptor flag, overridden per stage in the pipeline file.
#include "core/spec/pipeline_spec.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace graft {

TEST_CASE("exclusive: a stage key overrides the type's flag; absent keeps it", "[spec][exclusive]") {
    const PipelineSpec s = parse_pipeline_text(R"([pipeline]
name = "x"
[stages.a]
uses = "shell"
exclusive = true
[stages.b]
uses = "shell"
exclusive = false
[stages.c]
uses = "shell"
)",
                                               "/tmp/x.toml");
    StageDescriptor exclusive_type;
    exclusive_type.exclusive = true;
    StageSpec a = *s.find("a"), b = *s.find("b"), c = *s.find("c");
    CHECK(a.runs_exclusively());
    CHECK_FALSE(c.runs_exclusively());
    b.descriptor = c.descriptor = &exclusive_type;
    CHECK_FALSE(b.runs_exclusively());  // the file says no
    CHECK(c.runs_exclusively());        // the type says yes
    const PipelineSpec back = parse_pipeline_text(pipeline_to_toml(s), "/tmp/x2.toml");
    CHECK(back.find("a")->exclusive == std::optional<bool>(true));
    CHECK(back.find("b")->exclusive == std::optional<bool>(false));
    CHECK_FALSE(back.find("c")->exclusive);
}

TEST_CASE("exclusive must be a boolean", "[spec][exclusive]") {
    try {
        parse_pipeline_text("[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"shell\"\nexclusive = \"yes\"\n",
                            "/tmp/x.toml");
        FAIL("no error");
    } catch (const PipelineError& e) {
        const Diagnostic& d = e.diagnostics().at(0);
        CHECK(d.key == "stages.a.exclusive");
        CHECK(d.loc.line == 5);
        CHECK(d.expected == "a boolean");
    }
}

}  // namespace graft
