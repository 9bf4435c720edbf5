// End-to-end: what graft leaves behind when things go wrong. A failing stage, a graft killed
// with SIGKILL mid-stage, two runs on one workspace, Ctrl-C: nothing half-written is published,
// the next run recovers, and the exit codes say what happened.
#include "e2e/e2e_support.hpp"

#include <set>

namespace graft::e2e {
namespace {

using namespace std::chrono_literals;

// The pid a shell stage wrote into `marker` with `echo $$ > marker`, once the line is complete.
std::optional<pid_t> read_pid(const fs::path& marker) {
    const std::string text = read_text(marker);
    if (text.empty() || text.back() != '\n') return std::nullopt;
    try {
        return static_cast<pid_t>(std::stol(text));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

pid_t wait_for_marker(const fs::path& marker, BackgroundGraft& g) {
    std::optional<pid_t> pid;
    const bool started = wait_until([&] {
        pid = read_pid(marker);
        return pid.has_value() || !g.running();
    });
    INFO("graft stderr so far:\n" << g.err_so_far());
    REQUIRE(started);
    REQUIRE(pid.has_value());
    return *pid;
}

// SIGKILLs a shell stage's process group (the shell runs in its own group, so killing graft
// does not reach it). Never signals our own group.
void kill_stage_group(pid_t shell_pid) {
    const pid_t group = ::getpgid(shell_pid);
    if (group > 1 && group != ::getpgrp())
        ::kill(-group, SIGKILL);
    else
        ::kill(shell_pid, SIGKILL);
}

// Dead: no such process, or a zombie (an orphan waits for init to reap it, which can take a
// while in a container).
bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');  // "pid (comm) S ..."
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// Files named `name` anywhere below `dir`.
std::vector<fs::path> find_named(const fs::path& dir, const std::string& name) {
    std::vector<fs::path> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->path().filename() == name) out.push_back(it->path());
    return out;
}

std::set<std::string> names_under(const fs::path& dir) {
    std::set<std::string> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) out.insert(fs::relative(it->path(), dir).string());
    return out;
}

constexpr const char* kFailing = R"([pipeline]
name = "failing"

[stages.bad]
uses = "shell"
params = { cmd = "echo first-line >&2; echo boom-xyz >&2; exit 3" }

[stages.after]
uses = "shell"
inputs = { x = "bad.out" }
params = { cmd = "echo after >> ../runs.log" }

[stages.other]
uses = "shell"
params = { cmd = "echo other >> ../runs.log" }
)";

TEST_CASE("a failing stage: exit 1, its stderr tail, dependents skipped, nothing locked", "[e2e]") {
    Project p(kFailing);

    SECTION("without --keep-going the run stops") {
        const RunResult r = p.run();
        INFO(describe(r));
        CHECK(r.code == 1);
        CHECK(status_of(r.err, "bad") == "FAILED");
        CHECK(r.err.find("exited with status 3") != std::string::npos);
        CHECK(r.err.find("| boom-xyz") != std::string::npos);  // the stderr tail
        CHECK(status_of(r.err, "after") == "skipped");
        CHECK(p.count("runs.log", "after") == 0);
        CHECK(p.entries_under("actions") == 0);
    }
    for (const char* flag : {"-k", "--keep-going"}) {
        SECTION(std::string("with ") + flag + " an unrelated branch still runs") {
            const RunResult r = p.run({flag});
            INFO(describe(r));
            CHECK(r.code == 1);
            CHECK(status_of(r.err, "bad") == "FAILED");
            CHECK(r.err.find("| boom-xyz") != std::string::npos);
            CHECK(status_of(r.err, "after") == "skipped");
            CHECK(status_of(r.err, "other") == "ran");
            CHECK(p.count("runs.log", "other") == 1);
            CHECK(p.count("runs.log", "after") == 0);
            CHECK(p.entries_under("actions") == 1);  // other's result only
            const auto lock = p.lock();
            REQUIRE(lock.is_object());
            CHECK(lock["stages"].contains("other"));
        }
    }
    const auto lock = p.lock();
    if (lock.is_object()) {
        CHECK_FALSE(lock["stages"].contains("bad"));
        CHECK_FALSE(lock["stages"].contains("after"));
    }
}

constexpr const char* kKillable = R"([pipeline]
name = "killable"

[stages.first]
uses = "shell"
params = { cmd = "echo first > {out}/f.txt" }

[stages.slow]
uses = "shell"
inputs = { f = "first.out" }

[stages.slow.params]
cmd = """
echo partial > {out}/partial.txt
echo $$ > ../marker
if [ -f ../slow ]; then sleep 5; fi
echo done > {out}/done.txt
"""
)";

TEST_CASE("kill -9 mid-stage publishes nothing and the next run recovers", "[e2e]") {
    Project p(kKillable);
    write_text(p.root() / "slow", "");
    BackgroundGraft g({"run", p.file_name()}, p.dir());
    const pid_t shell = wait_for_marker(p.root() / "marker", g);

    ::kill(g.pid(), SIGKILL);
    kill_stage_group(shell);
    const RunResult killed = g.wait(5s);
    INFO("killed run: " << describe(killed));
    CHECK(killed.code == 128 + SIGKILL);
    CHECK(wait_until([&] { return process_gone(shell); }, 5s));

    // The partial output is only in the dead run's temp dir, never in the store.
    CHECK(find_named(p.workspace() / "objects", "partial.txt").empty());
    const auto stale = find_named(p.workspace() / "tmp", "partial.txt");
    REQUIRE(stale.size() == 1);  // a leftover for the next run to clean
    const std::string stale_entry =
        fs::relative(stale.front(), p.workspace() / "tmp").begin()->string();
    CHECK(stale_entry.rfind(std::to_string(g.pid()) + "-", 0) == 0);
    // Only `first` finished: one run-cache entry, and no lock was written.
    const auto actions_after_kill = names_under(p.workspace() / "actions");
    CHECK(actions_after_kill.size() == 1);
    CHECK_FALSE(fs::exists(p.lock_file()));
    // The dead run's record still says "running"; with its lock gone it is shown as killed.
    const RunResult listed = run_graft({"runs", p.file_name()}, p.dir());
    INFO("graft runs: " << listed.out << listed.err);
    CHECK(listed.out.find(" killed ") != std::string::npos);

    // The same pipeline, now fast (the sleep is conditional on ../slow).
    fs::remove(p.root() / "slow");
    const RunResult r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    CHECK(status_of(r.err, "first") == "cached");
    CHECK(status_of(r.err, "slow") == "ran");
    CHECK_FALSE(fs::exists(p.workspace() / "tmp" / stale_entry));
    CHECK(p.entries_under("tmp") == 0);
    const auto lock = p.lock();
    REQUIRE(lock["stages"].contains("slow"));
    const std::string key = lock["stages"]["slow"]["key"].get<std::string>();
    const std::string action_entry =
        (fs::path(key.substr(0, 2)) / (key.substr(2) + ".json")).string();
    CHECK(actions_after_kill.count(action_entry) == 0);
    CHECK(read_text(p.output_of("slow") / "done.txt") == "done\n");
}

constexpr const char* kSlow = R"([pipeline]
name = "slow"

[stages.slow]
uses = "shell"

[stages.slow.params]
cmd = "echo $$ > ../marker; sleep 2.5; echo done > {out}/done.txt; echo slow >> ../runs.log"
)";

TEST_CASE("a second run on a busy workspace fails with the holder's pid, or waits with --wait",
          "[e2e]") {
    Project p(kSlow);
    BackgroundGraft first({"run", p.file_name()}, p.dir());
    wait_for_marker(p.root() / "marker", first);

    const RunResult second = p.run();
    INFO(describe(second));
    CHECK(second.code == 2);
    CHECK(second.err.find("locked by pid " + std::to_string(first.pid())) != std::string::npos);
    CHECK(second.err.find("--wait") != std::string::npos);

    BackgroundGraft waiting({"run", p.file_name(), "--wait"}, p.dir());
    std::this_thread::sleep_for(300ms);
    // Checked in this order: if `first` still runs now, it ran when we looked at `waiting`.
    const bool waiting_running = waiting.running();
    const bool first_running = first.running();
    REQUIRE(first_running);  // the stage sleeps 2.5 s
    CHECK(waiting_running);

    const RunResult a = first.wait();
    INFO("first: " << describe(a));
    CHECK(a.code == 0);
    const RunResult b = waiting.wait();
    INFO("waiting: " << describe(b));
    CHECK(b.code == 0);
    CHECK(status_of(b.err, "slow") == "cached");  // it saw the first run's result
    CHECK(p.count("runs.log", "slow") == 1);

    const RunResult third = p.run();
    INFO("third: " << describe(third));
    CHECK(third.code == 0);
    CHECK(status_of(third.err, "slow") == "cached");
    CHECK(p.count("runs.log", "slow") == 1);
}

constexpr const char* kInterruptible = R"([pipeline]
name = "interruptible"

[stages.slow]
uses = "shell"

[stages.slow.params]
cmd = "echo $$ > ../marker; sleep 5; echo done > {out}/done.txt; echo slow >> ../runs.log"
)";

TEST_CASE("SIGINT stops the run: exit 130, nothing published, run recorded as cancelled",
          "[e2e]") {
    Project p(kInterruptible);
    BackgroundGraft g({"run", p.file_name()}, p.dir());
    const pid_t shell = wait_for_marker(p.root() / "marker", g);

    ::kill(g.pid(), SIGINT);
    const RunResult r = g.wait(4s);  // well before the 5 s sleep would end
    INFO(describe(r));
    CHECK(r.code == 130);
    CHECK(r.err.find("interrupted") != std::string::npos);
    CHECK(status_of(r.err, "slow") == "cancelled");
    // graft stopped the stage's processes, it did not leave them behind.
    const bool stage_gone = wait_until([&] { return process_gone(shell); }, 2s);
    if (!stage_gone) kill_stage_group(shell);
    CHECK(stage_gone);

    CHECK(p.count("runs.log", "slow") == 0);
    CHECK(find_named(p.workspace() / "objects", "done.txt").empty());
    CHECK(p.entries_under("actions") == 0);
    const auto lock = p.lock();
    if (lock.is_object()) CHECK_FALSE(lock["stages"].contains("slow"));

    const RunResult runs = p.graft("runs");
    INFO(describe(runs));
    REQUIRE(runs.code == 0);
    CHECK(count_lines_with(runs.out, "cancelled") == 1);
}

}  // namespace
}  // namespace graft::e2e
