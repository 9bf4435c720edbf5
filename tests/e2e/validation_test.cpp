// End-to-end: a broken pipeline file is rejected before anything runs, with exit 2 and a message
// that names the file, line and column, the key, and a suggested fix.
#include "e2e/e2e_support.hpp"

#include <regex>

namespace graft::e2e {
namespace {

struct BadPipeline {
    std::string name;
    std::string toml;
    std::string location;  // "pipeline.toml:LINE:COL"
    std::string key;
    std::vector<std::string> message_parts;  // what else the message must say
};

constexpr const char* kHeader = R"([pipeline]
name = "broken"
)";

std::vector<BadPipeline> bad_pipelines() {
    const std::string clean = R"(
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
)";
    return {
        {"misspelt param", std::string(kHeader) + clean + "params = { dedup = false }\n",
         "pipeline.toml:7:20", "stages.clean.params.dedup", {"did you mean 'dedupe'?"}},
        {"unknown stage type",
         std::string(kHeader) + "\n[stages.clean]\nuses = \"text.claen\"\n"
                                "inputs = { data = \"data/raw.jsonl\" }\n",
         "pipeline.toml:5:8", "stages.clean.uses",
         {"unknown stage type 'text.claen'", "did you mean 'text.clean'?"}},
        {"dangling reference",
         std::string(kHeader) + clean +
             "\n[stages.split]\nuses = \"split\"\ninputs = { data = \"claen.data\" }\n",
         "pipeline.toml:10:19", "stages.split.inputs.data",
         {"no stage 'claen'", "did you mean 'clean.data'?"}},
        {"cycle",
         std::string(kHeader) +
             "\n[stages.a]\nuses = \"shell\"\ninputs = { x = \"b.out\" }\n"
             "params = { cmd = \"true\" }\n"
             "\n[stages.b]\nuses = \"shell\"\ninputs = { x = \"a.out\" }\n"
             "params = { cmd = \"true\" }\n",
         "pipeline.toml:11:16", "stages.b.inputs.x", {"a -> b -> a"}},
        {"missing input file",
         std::string(kHeader) +
             "\n[stages.clean]\nuses = \"text.clean\"\n"
             "inputs = { data = \"data/missing.jsonl\" }\n",
         "pipeline.toml:6:19", "stages.clean.inputs.data",
         {"data/missing.jsonl", "no such file"}},
        {"wrong param type",
         std::string(kHeader) + clean +
             "\n[stages.split]\nuses = \"split\"\ninputs = { data = \"clean.data\" }\n"
             "params = { ratios = \"x\" }\n",
         "pipeline.toml:11:21", "stages.split.params.ratios", {"list<float>"}},
    };
}

TEST_CASE("pipeline errors exit 2 with file:line:col, the key and a fix, and run nothing",
          "[e2e]") {
    for (const auto& bad : bad_pipelines()) {
        DYNAMIC_SECTION(bad.name) {
            Project p(bad.toml);
            p.write("data/raw.jsonl", "{\"text\": \"a row\", \"label\": \"x\"}\n");
            const RunResult r = p.run();
            INFO(bad.toml << "\n" << describe(r));
            CHECK(r.code == 2);
            CHECK(r.err.find(bad.location + ": error: " + bad.key + ":") != std::string::npos);
            for (const auto& part : bad.message_parts) {
                INFO("expected in the message: " << part);
                CHECK(r.err.find(part) != std::string::npos);
            }
            CHECK(r.err.find("nothing was run") != std::string::npos);
            CHECK(r.err.find("[graft] running") == std::string::npos);
            CHECK_FALSE(fs::exists(p.workspace() / "objects"));
            CHECK_FALSE(fs::exists(p.lock_file()));
        }
    }
}

TEST_CASE("every pipeline error is reported at once", "[e2e]") {
    Project p(std::string(kHeader) + R"(
[stages.clean]
uses = "text.clean"
inputs = { data = "data/raw.jsonl" }
params = { dedup = false }

[stages.split]
uses = "split"
inputs = { data = "clean.data" }
params = { ratios = "x" }
)");
    p.write("data/raw.jsonl", "{\"text\": \"a row\"}\n");
    const RunResult r = p.run();
    INFO(describe(r));
    CHECK(r.code == 2);
    CHECK(r.err.find("stages.clean.params.dedup") != std::string::npos);
    CHECK(r.err.find("stages.split.params.ratios") != std::string::npos);
    CHECK(r.err.find("2 errors") != std::string::npos);
}

TEST_CASE("an unknown command or target is a usage error with a suggestion", "[e2e]") {
    Project p(std::string(kHeader) + R"(
[stages.clean]
uses = "shell"
params = { cmd = "echo clean >> ../runs.log" }
)");
    const RunResult verb = run_graft({"rnu", p.file_name()}, p.dir());
    INFO(describe(verb));
    CHECK(verb.code == 2);
    CHECK(verb.err.find("did you mean 'run'") != std::string::npos);

    const RunResult target = p.run({"claen"});
    INFO(describe(target));
    CHECK(target.code == 2);
    CHECK(target.err.find("no stage 'claen'") != std::string::npos);
    CHECK(target.err.find("did you mean 'clean'") != std::string::npos);
    CHECK(p.count("runs.log", "clean") == 0);
}

}  // namespace
}  // namespace graft::e2e
