// End-to-end: `graft hpsearch` on a pipeline of shell stages whose metric is a function of the
// searched params. A search killed with SIGKILL in its third trial resumes from the recorded
// trials (a torn journal line is ignored); a raised budget continues a finished search; failed
// trials are recorded; bad [hpsearch] input is located.
#include "e2e/e2e_support.hpp"

#include <set>

namespace graft::e2e {
namespace {

using namespace std::chrono_literals;

// prep runs once for the whole search (cached); score logs every execution to ../score.log and
// reports value = (X - 3)^2 (+ 50 for Y = "b"). With ../hold present, its third execution
// writes its pid to ../marker and sleeps: the moment the test kills graft. (The waits are long
// because the first graft after a rebuild loads every plugin to refresh its descriptor cache.)
const char* const kPipeline = R"toml([pipeline]
name = "hp"
seed = 5

[stages.prep]
uses = "shell"
[stages.prep.params]
cmd = "echo prep >> ../prep.log; echo 1 > {out}/base.txt"

[stages.score]
uses = "shell"
inputs = { base = "prep.out" }
[stages.score.params]
cmd = """
echo "X=$X Y=$Y" >> ../score.log
if [ -e ../hold ] && [ "$(wc -l < ../score.log)" -eq 3 ]; then echo $$ > ../marker; sleep 120; fi
b=0; if [ "$Y" = b ]; then b=50; fi
printf '{"value": %d}' $(( (X - 3) * (X - 3) + b )) > {out}/metrics.json
"""
env = { X = "0", Y = "a" }

[hpsearch]
metric = "score.value"
goal = "min"
trials = 4
startup_trials = 2
[hpsearch.params]
"score.env.X" = { min = 0, max = 9, int = true }
"score.env.Y" = ["a", "b"]
)toml";

std::optional<fs::path> journal_of(const Project& p) {
    std::error_code ec;
    const fs::path dir = p.workspace() / "hpsearch";
    if (!fs::exists(dir, ec)) return std::nullopt;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".jsonl") return e.path();
    return std::nullopt;
}

// The trial records of the journal (header skipped); a line that does not parse fails the test.
std::vector<nlohmann::json> trials_of(const fs::path& journal) {
    std::vector<nlohmann::json> out;
    const std::string text = read_text(journal);
    std::size_t pos = text.find('\n') + 1;  // after the header
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        REQUIRE(nl != std::string::npos);
        auto j = nlohmann::json::parse(text.substr(pos, nl - pos), nullptr, false);
        REQUIRE_FALSE(j.is_discarded());
        out.push_back(std::move(j));
        pos = nl + 1;
    }
    return out;
}

std::string params_line(const nlohmann::json& trial) {
    const auto& p = trial["params"];
    return "X=" + std::to_string(p["score.env.X"].get<int>()) + " Y=" + p["score.env.Y"].get<std::string>();
}

std::optional<pid_t> read_pid(const fs::path& marker) {
    const std::string text = read_text(marker);
    if (text.empty() || text.back() != '\n') return std::nullopt;
    try {
        return static_cast<pid_t>(std::stol(text));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

TEST_CASE("hpsearch resume after kill continues from the recorded trials", "[e2e][hpsearch]") {
    Project p(kPipeline, "hp.toml");
    write_text(p.root() / "hold", "");
    BackgroundGraft g({"hpsearch", "hp.toml"}, p.dir());
    std::optional<pid_t> shell;
    const bool held = wait_until([&] { return (shell = read_pid(p.root() / "marker")) || !g.running(); }, 60000ms);
    INFO("graft stderr so far:\n" << g.err_so_far());
    REQUIRE(held);
    REQUIRE(shell);
    ::kill(g.pid(), SIGKILL);
    const pid_t group = ::getpgid(*shell);
    if (group > 1 && group != ::getpgrp()) ::kill(-group, SIGKILL); else ::kill(*shell, SIGKILL);
    CHECK(g.wait().code == 128 + SIGKILL);

    const auto journal = journal_of(p);
    REQUIRE(journal);
    const auto before = trials_of(*journal);
    REQUIRE(before.size() == 2);  // the third trial was running, not recorded
    REQUIRE(p.lines("score.log").size() == 3);
    const std::string killed_point = p.lines("score.log")[2];
    // As if the kill had hit in the middle of writing a record.
    { std::ofstream(*journal, std::ios::app | std::ios::binary) << R"({"trial":2,"params":{"sco)"; }

    fs::remove(p.root() / "hold");
    const RunResult r = p.graft("hpsearch");
    INFO(describe(r));
    REQUIRE(r.code == 0);
    CHECK(r.err.find("ignoring a torn last line") != std::string::npos);
    CHECK(r.err.find("2 of 4 trials recorded") != std::string::npos);

    const auto after = trials_of(*journal);
    REQUIRE(after.size() == 4);
    for (std::size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i]["trial"] == i);
        CHECK(after[i]["status"] == "ok");
    }
    CHECK(after[0] == before[0]);
    CHECK(after[1] == before[1]);
    // Executions: trials 1 and 2 once each, the killed trial 3, trial 3 again with the same
    // point (proposals depend only on seed and history), trial 4. prep ran once in all.
    const auto runs = p.lines("score.log");
    REQUIRE(runs.size() == 5);
    CHECK(runs[0] == params_line(after[0]));
    CHECK(runs[1] == params_line(after[1]));
    CHECK(runs[3] == killed_point);
    CHECK(runs[3] == params_line(after[2]));
    CHECK(runs[4] == params_line(after[3]));
    CHECK(p.lines("prep.log").size() == 1);
    // The metric is the function of the point the stage computed.
    for (const auto& t : after) {
        const int x = t["params"]["score.env.X"].get<int>();
        const int b = t["params"]["score.env.Y"] == "b" ? 50 : 0;
        CHECK(t["metric"].get<double>() == (x - 3) * (x - 3) + b);
    }
    CHECK(r.out.find("<- best") != std::string::npos);
    CHECK(r.out.find("reproduce: graft run hp.toml --set stages.score.params.env.X=") != std::string::npos);
    // The pipeline's own lock is not rewritten by trials.
    CHECK_FALSE(fs::exists(p.lock_file()));

    // Nothing left to do: a re-run executes nothing.
    const RunResult again = p.graft("hpsearch");
    INFO(describe(again));
    CHECK(again.code == 0);
    CHECK(p.lines("score.log").size() == 5);
}

TEST_CASE("hpsearch: Ctrl-C in a trial exits 130 without recording it, the re-run resumes", "[e2e][hpsearch]") {
    Project p(kPipeline, "hp.toml");
    write_text(p.root() / "hold", "");
    BackgroundGraft g({"hpsearch", "hp.toml"}, p.dir());
    const bool held = wait_until([&] { return read_pid(p.root() / "marker") || !g.running(); }, 60000ms);
    INFO("graft stderr so far:\n" << g.err_so_far());
    REQUIRE(held);
    ::kill(g.pid(), SIGINT);
    const RunResult stopped = g.wait();
    INFO(describe(stopped));
    CHECK(stopped.code == 130);
    CHECK(stopped.err.find("interrupted in trial 3: not recorded") != std::string::npos);
    const auto journal = journal_of(p);
    REQUIRE(journal);
    CHECK(trials_of(*journal).size() == 2);

    fs::remove(p.root() / "hold");
    const RunResult r = p.graft("hpsearch");
    INFO(describe(r));
    REQUIRE(r.code == 0);
    const auto trials = trials_of(*journal);
    REQUIRE(trials.size() == 4);
    CHECK(p.lines("score.log")[2] == params_line(trials[2]));  // the interrupted point, again
}

TEST_CASE("hpsearch: a raised budget continues the search, --status shows the journal", "[e2e][hpsearch]") {
    Project p(kPipeline, "hp.toml");
    const RunResult first = p.graft("hpsearch", {"--trials", "2"});
    INFO(describe(first));
    REQUIRE(first.code == 0);
    const auto journal = journal_of(p);
    REQUIRE(journal);
    CHECK(trials_of(*journal).size() == 2);
    CHECK(p.lines("score.log").size() == 2);

    const RunResult status = p.graft("hpsearch", {"--status"});
    INFO(describe(status));
    CHECK(status.code == 0);
    CHECK(status.out.find("2 of 4 trials recorded") != std::string::npos);
    CHECK(status.out.find("trial  score.env.X  score.env.Y  score.value  status  run") != std::string::npos);
    CHECK(p.lines("score.log").size() == 2);  // --status runs nothing
    const RunResult js = p.graft("hpsearch", {"--status", "--json"});
    INFO(describe(js));
    const auto j = nlohmann::json::parse(js.out, nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["budget"] == 4);
    CHECK(j["metric"] == "score.value");
    REQUIRE(j["trials"].size() == 2);
    CHECK(j["trials"] == nlohmann::json(trials_of(*journal)));
    const auto& best = j["best"];
    const auto& t0 = j["trials"][0];
    const auto& t1 = j["trials"][1];
    CHECK(best["metric"] == std::min(t0["metric"].get<double>(), t1["metric"].get<double>()));

    const RunResult more = p.graft("hpsearch", {"--trials", "5"});
    INFO(describe(more));
    REQUIRE(more.code == 0);
    const auto trials = trials_of(*journal);
    REQUIRE(trials.size() == 5);
    std::set<std::size_t> numbers;
    for (const auto& t : trials) numbers.insert(t["trial"].get<std::size_t>());
    CHECK(numbers.size() == 5);
    CHECK(p.lines("prep.log").size() == 1);

    // Another search space is another search, with its own journal.
    const RunResult other = p.graft("hpsearch", {"--trials", "1", "--set", "hpsearch.goal=max"});
    INFO(describe(other));
    CHECK(other.code == 0);
    std::size_t journals = 0;
    for (const auto& e : fs::directory_iterator(p.workspace() / "hpsearch"))
        journals += e.path().extension() == ".jsonl";
    CHECK(journals == 2);
}

TEST_CASE("hpsearch: failed trials are recorded and the search goes on", "[e2e][hpsearch]") {
    Project p(replace_once(kPipeline, "printf '{\"value\"", "exit 3; printf '{\"value\""), "hp.toml");
    const RunResult r = p.graft("hpsearch", {"--trials", "3"});
    INFO(describe(r));
    CHECK(r.code == 1);  // no trial finished
    const auto journal = journal_of(p);
    REQUIRE(journal);
    const auto trials = trials_of(*journal);
    REQUIRE(trials.size() == 3);
    for (const auto& t : trials) {
        CHECK(t["status"] == "failed");
        CHECK(t["metric"].is_null());
        CHECK(t["error"].get<std::string>().find("stage 'score' failed") != std::string::npos);
    }
    CHECK(r.out.find("best: none yet") != std::string::npos);
}

TEST_CASE("hpsearch: a misspelt metric or param is located before anything runs", "[e2e][hpsearch]") {
    Project p(replace_once(kPipeline, "\"score.env.Y\" = [", "\"score.evn.Y\" = ["), "hp.toml");
    const RunResult r = p.graft("hpsearch");
    INFO(describe(r));
    CHECK(r.code == 2);
    CHECK(r.err.find("hp.toml:29:1: error: hpsearch.params.\"score.evn.Y\": stage 'score' (type 'shell') has no parameter 'evn'") != std::string::npos);
    CHECK(r.err.find("did you mean 'score.env'?") != std::string::npos);
    CHECK(p.lines("score.log").empty());

    Project q(replace_once(kPipeline, "metric = \"score.value\"", "metric = \"score.valeu\""), "hp.toml");
    const RunResult m = q.graft("hpsearch", {"--trials", "1"});
    INFO(describe(m));
    CHECK(m.code == 2);
    CHECK(m.err.find("stage 'score' reported no metric 'valeu'") != std::string::npos);
    CHECK(m.err.find("did you mean 'value'?") != std::string::npos);
    const auto journal = journal_of(q);
    REQUIRE(journal);
    CHECK(trials_of(*journal).empty());
}

TEST_CASE("graft hpsearch without [hpsearch] says what to add", "[e2e][hpsearch]") {
    Project p("[pipeline]\nname = \"plain\"\n[stages.a]\nuses = \"shell\"\nparams = { cmd = \"true\" }\n");
    const RunResult r = p.graft("hpsearch");
    INFO(describe(r));
    CHECK(r.code == 2);
    CHECK(r.err.find("the pipeline has no [hpsearch] section") != std::string::npos);
}

}  // namespace graft::e2e
