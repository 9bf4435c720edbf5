// End-to-end: the commands that look at a pipeline and its history: runs, runs compare, metrics,
// dag, config; and gc, which must keep everything the current lock needs.
#include "e2e/e2e_support.hpp"

#include <regex>

namespace graft::e2e {
namespace {

// `m` reports metrics from the JSON its command writes; ACC comes from the stage's env.
constexpr const char* kMeasured = R"([pipeline]
name = "measured"

[stages.a]
uses = "shell"
params = { cmd = "echo hi > {out}/a.txt" }

[stages.m]
uses = "shell"
inputs = { a = "a.out" }

[stages.m.params]
cmd = "printf '{{\"acc\": %s, \"n\": 3}}' \"$ACC\" > {out}/metrics.json"
env = { ACC = "0.5" }
)";

std::vector<std::string> run_rows(const std::string& listing) {
    std::vector<std::string> rows;
    // Run ids start with the year.
    for (const auto& l : lines_starting(listing, "2")) rows.push_back(l);
    return rows;
}

TEST_CASE("runs lists runs, runs compare shows changed params and metrics, metrics --json",
          "[e2e]") {
    Project p(kMeasured);
    const RunResult first = p.run();
    INFO(describe(first));
    REQUIRE(first.code == 0);
    const RunResult second = p.run({"--set", "stages.m.params.env.ACC=0.75"});
    INFO(describe(second));
    REQUIRE(second.code == 0);

    for (const auto& args : {std::vector<std::string>{"runs", p.file_name()},
                             std::vector<std::string>{"runs"}}) {
        const RunResult list = run_graft(args, p.dir());
        INFO(describe(list));
        REQUIRE(list.code == 0);
        const auto rows = run_rows(list.out);
        CHECK(rows.size() == 2);
        for (const auto& row : rows) CHECK(row.find("success") != std::string::npos);
    }

    const RunResult cmp = run_graft({"runs", "compare", "latest~1", "latest"}, p.dir());
    INFO(describe(cmp));
    REQUIRE(cmp.code == 0);
    const std::regex env_change(R"(param +env +\{"ACC":"0\.5"\} -> \{"ACC":0\.75\})");
    CHECK(std::regex_search(cmp.out, env_change));
    CHECK(std::regex_search(cmp.out, std::regex(R"(metric +acc +0\.5 -> 0\.75)")));
    CHECK(cmp.out.find("a:") == std::string::npos);  // stage a did not change

    const RunResult metrics = p.graft("metrics", {"--json"});
    INFO(describe(metrics));
    REQUIRE(metrics.code == 0);
    const auto j = nlohmann::json::parse(metrics.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    REQUIRE(j.is_object());
    CHECK(j.size() == 1);  // only m reports metrics
    REQUIRE(j.contains("m"));
    CHECK(j["m"]["acc"].get<double>() == Approx(0.75));
    CHECK(j["m"]["n"].get<double>() == 3);
}

TEST_CASE("runs started within the same second are listed in the order they ran", "[e2e]") {
    Project p(kMeasured);
    for (int t = 21; t <= 26; ++t) {
        const RunResult r = p.run({"--set", "stages.m.params.log_tail=" + std::to_string(t)});
        INFO(describe(r));
        REQUIRE(r.code == 0);
    }
    const RunResult list = p.graft("runs");
    REQUIRE(run_rows(list.out).size() == 6);
    for (int k = 1; k <= 5; ++k) {
        const RunResult cmp = run_graft(
            {"runs", "compare", "latest~" + std::to_string(k), "latest~" + std::to_string(k - 1)},
            p.dir());
        INFO("latest~" << k << " vs latest~" << k - 1 << ": " << describe(cmp) << "\nruns:\n"
                       << list.out
                       << "\n(six runs with log_tail = 21..26, one after the other, all within a "
                          "second or so: `latest~k` must follow the order they started in)");
        REQUIRE(cmp.code == 0);
        const int older = 26 - k;
        CHECK(std::regex_search(cmp.out, std::regex("param +log_tail +" + std::to_string(older) +
                                                    " -> " + std::to_string(older + 1))));
    }
}

TEST_CASE("dag prints the stage graph as Graphviz dot or mermaid", "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    p.write("data/src.txt", "hello\n");

    const RunResult dot = p.graft("dag");
    INFO(describe(dot));
    REQUIRE(dot.code == 0);
    CHECK(dot.out.rfind("digraph", 0) == 0);
    // Three stage edges and the input file feeding a.
    for (const char* edge : {R"("a" -> "b")", R"("b" -> "c")", R"("a" -> "d")",
                             R"("file:data/src.txt" -> "a")"}) {
        INFO("edge " << edge);
        CHECK(dot.out.find(edge) != std::string::npos);
    }
    CHECK(count_lines_with(dot.out, "->") == 4);

    const RunResult mermaid = p.graft("dag", {"--mermaid"});
    INFO(describe(mermaid));
    REQUIRE(mermaid.code == 0);
    CHECK(mermaid.out.rfind("flowchart", 0) == 0);
    CHECK(count_lines_with(mermaid.out, "-->") == 4);
    CHECK(mermaid.out.find("data/src.txt") != std::string::npos);
    for (const char* id : {"a", "b", "c", "d"})
        CHECK(mermaid.out.find(std::string(id) + "<br/>shell") != std::string::npos);
    CHECK_FALSE(fs::exists(p.workspace()));  // looking runs nothing
}

// The `key = value` lines of one [table] in TOML text.
std::vector<std::string> table_lines(const std::string& toml, const std::string& table) {
    std::vector<std::string> out;
    bool in = false;
    for (const auto& line : lines_starting(toml, "")) {
        if (!line.empty() && line.front() == '[') {
            in = line == "[" + table + "]";
            continue;
        }
        if (in && !line.empty()) out.push_back(line);
    }
    return out;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST_CASE("config prints the resolved pipeline with defaults and --set overrides", "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    p.write("data/src.txt", "hello\n");
    const std::string file_before = read_text(p.pipeline());

    const RunResult r = p.graft("config", {"--set", "stages.b.params.log_tail=7", "--set",
                                           "stages.b.params.env.V=9"});
    INFO(describe(r));
    REQUIRE(r.code == 0);
    const auto b = table_lines(r.out, "stages.b.params");
    INFO(r.out);
    CHECK(has_line(b, "log_tail = 7"));                 // the override
    CHECK(has_line(b, "env = { V = 9 }"));
    CHECK(has_line(b, "metrics_file = \"metrics.json\""));  // defaults are filled in
    CHECK(has_line(b, "shell = \"/bin/sh\""));
    const auto a = table_lines(r.out, "stages.a.params");
    CHECK(has_line(a, "log_tail = 20"));                // untouched stage keeps the default
    CHECK(has_line(table_lines(r.out, "pipeline"), "name = \"chain\""));
    CHECK(read_text(p.pipeline()) == file_before);      // nothing is written back
}

TEST_CASE("stages lists the stage types and describes one", "[e2e]") {
    TempDir cwd;
    const RunResult all = run_graft({"stages"}, cwd.path());
    INFO(describe(all));
    REQUIRE(all.code == 0);
    for (const char* type : {"shell", "split", "text.clean", "text.import"}) {
        INFO("type " << type);
        CHECK(lines_starting(all.out, std::string(type) + " ").size() == 1);
    }
    CHECK(all.out.find("refused") == std::string::npos);

    const RunResult one = run_graft({"stages", "text.clean"}, cwd.path());
    INFO(describe(one));
    REQUIRE(one.code == 0);
    CHECK(one.out.find("dedupe") != std::string::npos);
    CHECK(one.out.find("min_chars") != std::string::npos);

    const RunResult json = run_graft({"stages", "split", "--json"}, cwd.path());
    REQUIRE(json.code == 0);
    const auto j = nlohmann::json::parse(json.out, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j.contains("doc"));

    const RunResult typo = run_graft({"stages", "text.claen"}, cwd.path());
    INFO(describe(typo));
    CHECK(typo.code == 2);
    CHECK(typo.err.find("did you mean 'text.clean'?") != std::string::npos);
}

TEST_CASE("gc removes unreferenced objects and keeps what the lock needs", "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    p.write("data/src.txt", "hello\n");
    REQUIRE(p.run().code == 0);
    const auto old_lock = p.lock();
    p.set_pipeline(replace_once(golden_pipeline("chain.toml"), "V = \"1\"", "V = \"2\""));
    REQUIRE(p.run().code == 0);
    const auto lock = p.lock();
    auto out_of = [](const nlohmann::json& l, const char* id) {
        return l["stages"][id]["outputs"]["out"].get<std::string>();
    };
    REQUIRE(out_of(old_lock, "b") != out_of(lock, "b"));
    REQUIRE(fs::exists(p.object_path(out_of(old_lock, "b"))));

    const RunResult gc = p.graft("gc", {"--keep-last", "0"});
    INFO(describe(gc));
    REQUIRE(gc.code == 0);
    CHECK(gc.out.find("2 objects removed") != std::string::npos);  // the old b and c outputs
    CHECK_FALSE(fs::exists(p.object_path(out_of(old_lock, "b"))));
    CHECK_FALSE(fs::exists(p.object_path(out_of(old_lock, "c"))));
    for (const char* id : {"a", "b", "c", "d"}) {
        INFO("stage " << id);
        CHECK(fs::exists(p.object_path(out_of(lock, id))));
    }

    const RunResult after = p.run();
    INFO(describe(after));
    REQUIRE(after.code == 0);
    for (const char* id : {"a", "b", "c", "d"}) CHECK(status_of(after.err, id) == "cached");
    CHECK(p.lines("runs.log").size() == 6);  // a b c d, then b c: nothing more
}

}  // namespace
}  // namespace graft::e2e
