// `exclusive`: the stage type's descriptor flag, overridden per stage in the pipeline file.
#include "core/spec/pipeline_spec.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace graft {

TEST_CASE("exclusive: a stage key overrides the type's flag, absent keeps it", "[spec][exclusive]") {
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

TEST_CASE("a stage seed parses, prints back, and must be a non-negative integer", "[spec][seed]") {
    const PipelineSpec s = parse_pipeline_text(
        "[pipeline]\nname = \"x\"\nseed = 17\n[stages.a]\nuses = \"shell\"\nseed = 3\n[stages.b]\nuses = \"shell\"\n",
        "/tmp/x.toml");
    CHECK(s.find("a")->seed == std::optional<std::uint64_t>(3));
    CHECK_FALSE(s.find("b")->seed);
    const PipelineSpec back = parse_pipeline_text(pipeline_to_toml(s), "/tmp/x2.toml");
    CHECK(back.find("a")->seed == std::optional<std::uint64_t>(3));
    CHECK_FALSE(back.find("b")->seed);
    for (const char* bad : {"-1", "\"3\"", "1.5"}) {
        try {
            parse_pipeline_text(std::string("[pipeline]\nname = \"x\"\n[stages.a]\nuses = \"shell\"\nseed = ") + bad + "\n",
                                "/tmp/x.toml");
            FAIL("no error for seed = " << bad);
        } catch (const PipelineError& e) {
            const Diagnostic& d = e.diagnostics().at(0);
            CHECK(d.key == "stages.a.seed");
            CHECK(d.loc.line == 5);
            CHECK(d.expected == "a non-negative integer");
        }
    }
}

}  // namespace graft
