// End-to-end: a [sweep] expands into variants that share every cached upstream stage; widening
// the sweep runs only the new variant; variants draw the seed of the stage they were copied from,
// so they differ only in their swept params.
#include "e2e/e2e_support.hpp"

namespace graft::e2e {
namespace {

// a -> b -> c; c is swept over a parameter that does not change its command (log_tail), writes
// the seed it was given, and counts its executions in ../runs.log like a and b.
std::string swept_chain(const std::string& values) {
    return R"([pipeline]
name = "sweep"
seed = 5

[stages.a]
uses = "shell"
inputs = { src = "data/src.txt" }
params = { cmd = "cat {in.src} > {out}/a.txt; echo a >> ../runs.log" }

[stages.b]
uses = "shell"
inputs = { a = "a.out" }
params = { cmd = "cat {in.a}/a.txt > {out}/b.txt; echo b >> ../runs.log" }

[stages.c]
uses = "shell"
inputs = { b = "b.out" }
params = { cmd = "echo {seed} > {out}/seed.txt; echo c >> ../runs.log" }

[sweep]
metric = "c.n"   # c writes no metrics; the ranking is not under test here
[sweep.params]
"c.log_tail" = )" + values + "\n";
}

std::string without_sweep() {
    std::string text = swept_chain("[20]");
    return text.substr(0, text.find("[sweep]"));
}

// Runs the project's pipeline and requires success.
RunResult run_ok(const Project& p, const std::vector<std::string>& args = {}) {
    RunResult r = p.run(args);
    INFO(describe(r));
    REQUIRE(r.code == 0);
    return r;
}

}  // namespace

TEST_CASE("a sweep shares its upstream, and widening it runs only the new variant", "[e2e][sweep]") {
    Project p(swept_chain("[20, 21]"));
    p.write("data/src.txt", "hello\n");
    const RunResult first = run_ok(p);
    CHECK(p.count("runs.log", "a") == 1);
    CHECK(p.count("runs.log", "b") == 1);
    CHECK(p.count("runs.log", "c") == 2);
    CHECK(status_of(first.err, "c@log_tail=20") == "ran");
    CHECK(status_of(first.err, "c@log_tail=21") == "ran");

    p.set_pipeline(swept_chain("[20, 21, 22]"));
    const RunResult wider = run_ok(p, {"--explain"});
    INFO(describe(wider));
    for (const char* id : {"a", "b", "c@log_tail=20", "c@log_tail=21"}) {
        INFO("stage " << id);
        CHECK(status_of(wider.err, id) == "cached");
    }
    CHECK(status_of(wider.err, "c@log_tail=22") == "ran");
    CHECK(p.count("runs.log", "a") == 1);
    CHECK(p.count("runs.log", "b") == 1);
    CHECK(p.count("runs.log", "c") == 3);
}

TEST_CASE("sweep variants get the seed of the stage they were copied from", "[e2e][sweep]") {
    Project p(swept_chain("[20, 21]"));
    p.write("data/src.txt", "hello\n");
    run_ok(p);
    const std::string seed_20 = read_text(p.output_of("c@log_tail=20") / "seed.txt");
    const std::string seed_21 = read_text(p.output_of("c@log_tail=21") / "seed.txt");
    CHECK(!seed_20.empty());
    CHECK(seed_20 == seed_21);

    p.set_pipeline(without_sweep());
    run_ok(p);
    CHECK(read_text(p.output_of("c") / "seed.txt") == seed_20);
}

}  // namespace graft::e2e
