// End-to-end: `graft run` executes a pipeline, caches every artifact and reruns only what
// changed (params from the file or --set, inputs), restores known configurations from the
// run-cache, cuts off downstream work when an output comes out identical, and explains itself.
#include "e2e/e2e_support.hpp"

#include <regex>

namespace graft::e2e {
namespace {

// 20 distinct labelled rows with a little HTML for text.clean to strip.
void write_three_stage_data(const Project& p) {
    std::string rows;
    for (int i = 0; i < 20; ++i)
        rows += R"({"text": "review number )" + std::to_string(i) +
                R"( is <b>fine</b>", "label": ")" + (i % 2 ? "pos" : "neg") + "\"}\n";
    p.write("data/raw.jsonl", rows);
}

// Lines "[i/n] cached ..." in a run's stderr.
std::size_t cached_lines(const std::string& err, int total) {
    const std::regex re("^\\[[0-9]+/" + std::to_string(total) + "\\] cached +[a-z]");
    std::size_t n = 0;
    for (const auto& l : lines_starting(err, "["))
        if (std::regex_search(l, re)) ++n;
    return n;
}

std::string without_whitespace(const std::string& s) {
    std::string out;
    for (char c : s)
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r') out += c;
    return out;
}

// The chain pipeline (a -> b -> c, a -> d) after one successful full run.
void run_chain_once(const Project& p) {
    p.write("data/src.txt", "hello\n");
    const RunResult r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    for (const char* id : {"a", "b", "c", "d"}) {
        CHECK(status_of(r.err, id) == "ran");
        CHECK(p.count("runs.log", id) == 1);
    }
}

void check_statuses(const RunResult& r, const std::map<std::string, std::string>& expected) {
    for (const auto& [id, status] : expected) {
        INFO("stage " << id);
        CHECK(status_of(r.err, id) == status);
    }
}

void check_counts(const Project& p, const std::map<std::string, long>& expected) {
    for (const auto& [id, n] : expected) {
        INFO("executions of stage " << id << "; runs.log:\n" << read_text(p.root() / "runs.log"));
        CHECK(p.count("runs.log", id) == n);
    }
}

TEST_CASE("a three-stage pipeline runs and graft.lock records every stage", "[e2e]") {
    Project p(golden_pipeline("three_stage.toml"));
    write_three_stage_data(p);
    const RunResult r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    for (const char* id : {"clean", "split", "count"}) CHECK(status_of(r.err, id) == "ran");
    CHECK(r.err.find("warning") == std::string::npos);  // e.g. plugins found twice

    REQUIRE(fs::exists(p.lock_file()));
    const std::string text = read_text(p.lock_file());
    CHECK(without_whitespace(text).rfind(R"({"format":"graft.lock/1")", 0) == 0);
    const auto lock = p.lock();
    REQUIRE(lock.is_object());
    REQUIRE(lock["stages"].is_object());
    CHECK(lock["stages"].size() == 3);
    for (const char* id : {"clean", "split", "count"}) {
        INFO("stage " << id);
        REQUIRE(lock["stages"].contains(id));
        const auto& outputs = lock["stages"][id]["outputs"];
        REQUIRE(!outputs.empty());
        for (const auto& [port, digest] : outputs.items()) {
            INFO("output " << port);
            CHECK(fs::exists(p.object_path(digest.get<std::string>())));
        }
    }
    CHECK(lock["stages"]["split"]["outputs"].contains("train"));
    // The data flowed through all three plugins: 80% of the 20 rows reached the shell stage.
    CHECK(read_text(p.output_of("count") / "n.txt") == "16\n");
    CHECK(p.count("count.log", "count") == 1);
}

TEST_CASE("a pipeline file not named pipeline.toml gets <stem>.graft.lock", "[e2e]") {
    Project p(golden_pipeline("three_stage.toml"), "experiment.toml");
    write_three_stage_data(p);
    const RunResult r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    CHECK(fs::exists(p.dir() / "experiment.graft.lock"));
    CHECK_FALSE(fs::exists(p.dir() / "graft.lock"));
    const RunResult m = p.graft("metrics", {"--json"});
    INFO(describe(m));
    REQUIRE(m.code == 0);
    const auto j = nlohmann::json::parse(m.out, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["split"]["train"].get<double>() == 16);
}

TEST_CASE("a second run restores every stage from the cache and executes nothing", "[e2e]") {
    Project p(golden_pipeline("three_stage.toml"));
    write_three_stage_data(p);
    REQUIRE(p.run().code == 0);
    REQUIRE(p.count("count.log", "count") == 1);
    const std::string lock_before = read_text(p.lock_file());

    const RunResult r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    CHECK(cached_lines(r.err, 3) == 3);
    CHECK(r.err.find("[graft] running") == std::string::npos);
    CHECK(p.count("count.log", "count") == 1);  // the shell command did not run again
    CHECK(read_text(p.lock_file()) == lock_before);
}

TEST_CASE("changing a param reruns exactly that stage and its dependents", "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    run_chain_once(p);

    SECTION("in the pipeline file") {
        p.set_pipeline(replace_once(golden_pipeline("chain.toml"), "V = \"1\"", "V = \"2\""));
        const RunResult r = p.run();
        INFO(describe(r));
        REQUIRE(r.code == 0);
        check_statuses(r, {{"a", "cached"}, {"b", "ran"}, {"c", "ran"}, {"d", "cached"}});
        check_counts(p, {{"a", 1}, {"b", 2}, {"c", 2}, {"d", 1}});
        CHECK(read_text(p.output_of("c") / "c.txt") == "hello\nV=2\n");
    }
    SECTION("with --set") {
        const RunResult r = p.run({"--set", "stages.b.params.env.V=3"});
        INFO(describe(r));
        REQUIRE(r.code == 0);
        check_statuses(r, {{"a", "cached"}, {"b", "ran"}, {"c", "ran"}, {"d", "cached"}});
        check_counts(p, {{"a", 1}, {"b", 2}, {"c", 2}, {"d", 1}});
        CHECK(read_text(p.output_of("c") / "c.txt") == "hello\nV=3\n");
    }
}

TEST_CASE("switching a param back restores from the run-cache without running", "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    run_chain_once(p);
    const auto first_lock = p.lock();
    p.set_pipeline(replace_once(golden_pipeline("chain.toml"), "V = \"1\"", "V = \"2\""));
    REQUIRE(p.run().code == 0);
    REQUIRE(p.run({"--set", "stages.b.params.env.V=3"}).code == 0);
    check_counts(p, {{"a", 1}, {"b", 3}, {"c", 3}, {"d", 1}});

    // Back to V = 1 in the file: this exact configuration ran before.
    p.set_pipeline(golden_pipeline("chain.toml"));
    const RunResult r = p.run({"--explain"});
    INFO(describe(r));
    REQUIRE(r.code == 0);
    CHECK(cached_lines(r.err, 4) == 4);
    CHECK(r.err.find("restored from the run-cache") != std::string::npos);
    check_counts(p, {{"a", 1}, {"b", 3}, {"c", 3}, {"d", 1}});
    const auto lock = p.lock();
    for (const char* id : {"a", "b", "c", "d"}) {
        INFO("stage " << id);
        CHECK(lock["stages"][id]["key"] == first_lock["stages"][id]["key"]);
        CHECK(lock["stages"][id]["outputs"] == first_lock["stages"][id]["outputs"]);
    }

    // And the value that came from --set is in the run-cache too.
    const RunResult again = p.run({"--set", "stages.b.params.env.V=3"});
    INFO(describe(again));
    REQUIRE(again.code == 0);
    CHECK(cached_lines(again.err, 4) == 4);
    check_counts(p, {{"a", 1}, {"b", 3}, {"c", 3}, {"d", 1}});
}

TEST_CASE("early cutoff: an upstream rerun with identical output does not rerun downstream",
          "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    run_chain_once(p);
    const auto before = p.lock();
    // Only a shell comment changes: b's key changes, its output does not.
    p.set_pipeline(replace_once(golden_pipeline("chain.toml"), "echo b >> ../runs.log\"",
                                "echo b >> ../runs.log # v2\""));
    const RunResult r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    check_statuses(r, {{"a", "cached"}, {"b", "ran"}, {"c", "cached"}, {"d", "cached"}});
    check_counts(p, {{"a", 1}, {"b", 2}, {"c", 1}, {"d", 1}});
    const auto after = p.lock();
    CHECK(after["stages"]["b"]["key"] != before["stages"]["b"]["key"]);
    CHECK(after["stages"]["b"]["outputs"] == before["stages"]["b"]["outputs"]);
    CHECK(after["stages"]["c"]["key"] == before["stages"]["c"]["key"]);
}

TEST_CASE("plan and --dry-run explain why stages would run and run nothing", "[e2e]") {
    Project p(golden_pipeline("three_stage.toml"));
    write_three_stage_data(p);

    SECTION("fresh workspace") {
        for (const auto& args : {std::vector<std::string>{"plan", p.file_name()},
                                 std::vector<std::string>{"run", p.file_name(), "--dry-run",
                                                          "--explain"}}) {
            const RunResult r = run_graft(args, p.dir());
            INFO(args[0] << ": " << describe(r));
            REQUIRE(r.code == 0);
            CHECK(r.err.find("no previous run") != std::string::npos);
            CHECK(status_of(r.err, "clean") == "planned");
            CHECK(r.err.find("[graft] running") == std::string::npos);
            CHECK(p.count("count.log", "count") == 0);
            CHECK_FALSE(fs::exists(p.lock_file()));
            CHECK(p.object_files().empty());
        }
    }
    SECTION("after a run: a changed param, then a changed input file") {
        REQUIRE(p.run().code == 0);
        const std::string lock_before = read_text(p.lock_file());

        const RunResult r = p.graft("plan", {"--set", "stages.clean.params.min_chars=3"});
        INFO(describe(r));
        REQUIRE(r.code == 0);
        CHECK(r.err.find("param min_chars 1 -> 3") != std::string::npos);
        CHECK(status_of(r.err, "clean") == "planned");

        const RunResult n =
            p.run({"--dry-run", "--explain", "--set", "stages.count.params.log_tail=5"});
        INFO(describe(n));
        REQUIRE(n.code == 0);
        CHECK(n.err.find("param log_tail 20 -> 5") != std::string::npos);
        CHECK(status_of(n.err, "count") == "planned");
        CHECK(status_of(n.err, "clean") == "cached");

        // Another row: the file's size changes, so its digest is recomputed.
        p.write("data/raw.jsonl", p.read("data/raw.jsonl") +
                                      R"({"text": "one more review", "label": "pos"})" + "\n");
        const RunResult i = p.graft("plan");
        INFO(describe(i));
        REQUIRE(i.code == 0);
        CHECK(i.err.find("input data/raw.jsonl changed") != std::string::npos);
        CHECK(status_of(i.err, "clean") == "planned");

        for (const auto* res : {&r, &n, &i})
            CHECK(res->err.find("[graft] running") == std::string::npos);
        CHECK(p.count("count.log", "count") == 1);
        CHECK(read_text(p.lock_file()) == lock_before);
    }
    SECTION("after a run in another workspace: never run here, not removed by gc") {
        REQUIRE(p.run().code == 0);
        const auto other = p.dir() / "other-ws";
        const RunResult r = p.graft("plan", {"-w", other.string()});
        INFO(describe(r));
        REQUIRE(r.code == 0);
        CHECK(r.err.find("never run in this workspace (graft.lock's entry is from workspace") !=
              std::string::npos);
        CHECK(r.err.find("removed by `graft gc`") == std::string::npos);
        CHECK_FALSE(fs::exists(other / "id"));  // a plan writes nothing
    }
}

TEST_CASE("run --force STAGE reruns a cached stage", "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    run_chain_once(p);
    const RunResult r = p.run({"--force", "b"});
    INFO(describe(r));
    REQUIRE(r.code == 0);
    // b's output is the same, so c stays cached (early cutoff).
    check_statuses(r, {{"a", "cached"}, {"b", "ran"}, {"c", "cached"}, {"d", "cached"}});
    check_counts(p, {{"a", 1}, {"b", 2}, {"c", 1}, {"d", 1}});
}

TEST_CASE("a positional target runs that stage and its upstream only and exec runs one more",
          "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    p.write("data/src.txt", "hello\n");
    const RunResult r = p.run({"b"});
    INFO(describe(r));
    REQUIRE(r.code == 0);
    check_statuses(r, {{"a", "ran"}, {"b", "ran"}, {"c", ""}, {"d", ""}});
    CHECK(r.err.find("[2/2]") != std::string::npos);
    check_counts(p, {{"a", 1}, {"b", 1}, {"c", 0}, {"d", 0}});
    auto lock = p.lock();
    CHECK(lock["stages"].size() == 2);
    CHECK(lock["stages"].contains("a"));
    CHECK(lock["stages"].contains("b"));

    // exec: c alone, from b's cached output.
    const RunResult e = p.graft("exec", {"--stage", "c"});
    INFO(describe(e));
    REQUIRE(e.code == 0);
    CHECK(status_of(e.err, "c") == "ran");
    check_counts(p, {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 0}});
    lock = p.lock();
    REQUIRE(lock["stages"].contains("c"));
    CHECK(read_text(p.output_of("c") / "c.txt") == "hello\nV=1\n");
}

TEST_CASE("exec fails with exit 2 when the upstream output is not cached", "[e2e]") {
    Project p(golden_pipeline("chain.toml"));
    p.write("data/src.txt", "hello\n");
    const RunResult e = p.graft("exec", {"--stage", "b"});
    INFO(describe(e));
    CHECK(e.code == 2);
    CHECK(e.err.find("needs the output of 'a'") != std::string::npos);
    CHECK(e.err.find("no cached result") != std::string::npos);
    CHECK(e.err.find("graft run") != std::string::npos);  // the suggested fix
    check_counts(p, {{"a", 0}, {"b", 0}});
    CHECK(p.object_files().empty());
}

}  // namespace
}  // namespace graft::e2e
