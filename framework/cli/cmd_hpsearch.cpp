// graft hpsearch: a sequential model-based search over the pipeline's [hpsearch] params. One
// trial at a time: propose a point from the recorded trials, run the pipeline up to the metric
// stage with the point's values (the cache makes shared upstream stages and repeated points
// free), read the metric, append the trial to the journal. A re-run continues after the last
// recorded trial; a trial interrupted or killed midway is not recorded and runs again.
#include "cli_common.hpp"

#include "core/cache/disk.hpp"
#include "core/cache/hash.hpp"
#include "core/exec/runner.hpp"
#include "core/spec/hpsearch.hpp"
#include "core/spec/hpsearch_journal.hpp"
#include "core/spec/hpsearch_tpe.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>

namespace graft::cli {

namespace {

struct Search {
    fs::path journal;     // .graft/hpsearch/<pipeline>-<digest>.jsonl
    fs::path trial_file;  // stands in for the pipeline file of trial runs: their lock sits beside
                          // the journal, so the pipeline's own graft.lock stays as `graft run` left it
    json header;
    std::string digest;
};

std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '-' || c == '.';
        out += ok ? c : '_';
    }
    return out;
}

Search search_paths(const PipelineSpec& spec, const WorkspacePaths& ws) {
    const json identity = hpsearch_identity(spec);
    const std::string digest = hash_bytes(identity.dump()).hex();
    const std::string stem = file_safe(spec.name) + "-" + digest.substr(0, 12);
    Search s;
    s.digest = digest;
    s.journal = ws.root / "hpsearch" / (stem + ".jsonl");
    s.trial_file = ws.root / "hpsearch" / (stem + ".toml");
    s.header = json{{"format", kHpJournalFormat},
                    {"pipeline", spec.name},
                    {"search", digest},
                    {"metric", identity["metric"]},
                    {"goal", identity["goal"]},
                    {"algorithm", identity["algorithm"]},
                    {"params", identity["params"]}};
    return s;
}

std::string point_text(const HpSearchSpec& search, const json& point) {
    std::string out;
    for (const auto& p : search.params)
        if (point.contains(p.name))
            out += fmt::format("{}{}={}", out.empty() ? "" : " ", p.name, hpsearch_value_text(point[p.name]));
    return out;
}

// `graft run` arguments that reproduce a trial; quoted for a POSIX shell where needed.
std::string reproduce_command(const std::string& file, const HpSearchSpec& search, const json& point) {
    std::string out = "graft run " + file;
    for (const auto& set : hpsearch_point_sets(search, point)) {
        const bool plain = set.find_first_not_of(
                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.=+-") ==
                           std::string::npos;
        out += " --set " + (plain ? set : "'" + set + "'");
    }
    return out;
}

std::string best_text(const HpSearchSpec& search, const std::vector<HpTrial>& trials) {
    const auto best = hpsearch_best(search, trials);
    if (!best) return "no finished trial yet";
    return fmt::format("best {:.6g} at trial {}", *trials[*best].metric, trials[*best].number);
}

int show_status(const std::string& file, const PipelineSpec& spec, const Search& s, bool as_json) {
    const HpJournalContents c = read_hp_journal(s.journal);
    for (const auto& w : c.warnings) spdlog::warn("{}", w);
    const HpSearchSpec& search = *spec.hpsearch;
    if (as_json) {
        json j;
        j["search"] = s.digest;
        j["journal"] = s.journal.string();
        j["metric"] = search.metric_stage + "." + search.metric;
        j["goal"] = search.maximize ? "max" : "min";
        j["budget"] = search.trials;
        j["trials"] = json::array();
        for (const auto& t : c.trials) j["trials"].push_back(hp_trial_to_json(t));
        j["best"] = nullptr;
        if (const auto best = hpsearch_best(search, c.trials))
            j["best"] = {{"trial", c.trials[*best].number}, {"params", c.trials[*best].params},
                         {"metric", *c.trials[*best].metric}};
        fmt::print("{}\n", j.dump(2));
        return kOk;
    }
    if (c.header.is_null()) {
        fmt::print("hpsearch {}: no trials recorded yet ({}); run `graft hpsearch {}`\n",
                   s.digest.substr(0, 12), s.journal.string(), file);
        return kOk;
    }
    fmt::print("hpsearch {}: {} of {} trials recorded in {}\n", s.digest.substr(0, 12),
               c.trials.size(), search.trials, s.journal.string());
    fmt::print("{}", format_hpsearch_table(search, c.trials));
    return kOk;
}

int run_search(const std::string& file, PipelineSpec& spec, const PluginHost& plugins,
               const GlobalOptions& g, const Search& s, const RunOptions& base_opts, bool wait) {
    const HpSearchSpec& search = *spec.hpsearch;
    WorkspacePaths ws = workspace_for(g, spec);
    RealDisk disk;
    SystemClock clock;
    disk.make_dirs(ws.root);
    if (wait)
        if (auto holder = WorkspaceLock::holder(ws.lock()))
            fmt::print(stderr, "[graft] waiting for the workspace lock ({})\n", *holder);
    // One lock for the whole search: no other run interleaves, and one journal has one writer.
    WorkspaceLock lock(ws.lock(), wait ? WorkspaceLock::Mode::Wait : WorkspaceLock::Mode::Fail,
                       fmt::format("graft hpsearch {}", file));
    HpJournalWriter journal(s.journal, s.header);
    for (const auto& w : journal.contents().warnings) spdlog::warn("{}", w);
    const std::atomic<bool>& cancel = install_interrupt_handler();
    const std::string metric = search.metric_stage + "." + search.metric;
    fmt::print(stderr, "[hpsearch] {} {} {} over {} param{}: {} of {} trials recorded ({})\n",
               search.algorithm == HpSearchSpec::Algorithm::Tpe ? "tpe" : "random",
               search.maximize ? "max" : "min", metric, search.params.size(),
               search.params.size() == 1 ? "" : "s", journal.contents().trials.size(), search.trials,
               s.journal.string());
    while (journal.contents().trials.size() < search.trials) {
        const auto& history = journal.contents().trials;
        const std::size_t n = history.size();
        const json point = hpsearch_propose(search, history, n);
        fmt::print(stderr, "[hpsearch] trial {}/{}: {}\n", n + 1, search.trials, point_text(search, point));

        PipelineSpec trial = spec;
        trial.file = s.trial_file;
        apply_hpsearch_point(trial, point);
        validate_pipeline(trial, plugins);  // the point is inside the checked spaces
        ConsoleOptions co;
        co.verbosity = g.verbosity;
        co.progress = ::isatty(STDERR_FILENO) != 0;
        ConsoleStatus status(co);
        RunOptions opts = base_opts;
        opts.targets = {search.metric_stage};
        const auto t0 = std::chrono::steady_clock::now();
        Runner runner(trial, plugins, ws, disk, clock, status, &cancel);
        const RunResult r = runner.run(opts);
        if (r.exit_code == kInterrupted || cancel.load()) {
            fmt::print(stderr,
                       "[hpsearch] interrupted in trial {}: not recorded; `graft hpsearch {}` "
                       "continues with it\n",
                       n + 1, file);
            return kInterrupted;
        }
        HpTrial t;
        t.number = n;
        t.params = point;
        t.run_id = r.run_id;
        t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const StageReport* m = nullptr;
        for (const auto& rep : r.reports)
            if (rep.id == search.metric_stage) m = &rep;
        if (r.exit_code != 0) {
            t.status = HpTrial::Status::Failed;
            for (const auto& rep : r.reports)
                if (rep.status == StageStatus::Failed) {
                    t.error = fmt::format("stage '{}' failed: {}", rep.id, rep.error);
                    break;
                }
            if (t.error.empty()) t.error = fmt::format("the run exited with {}", r.exit_code);
        } else if (!m || !m->metrics.count(search.metric)) {
            // The same in every trial: a mistake in the file, not a bad point.
            std::vector<std::string> names;
            std::string listed;
            if (m)
                for (const auto& [k, _] : m->metrics) {
                    names.push_back(k);
                    listed += (listed.empty() ? "" : ", ") + k;
                }
            throw PipelineError(Diagnostic{
                search.metric_loc, "hpsearch.metric",
                fmt::format("stage '{}' reported no metric '{}' (trial {} not recorded)",
                            search.metric_stage, search.metric, n + 1),
                names.empty() ? std::string("a metric the stage reports")
                              : "one of: " + listed,
                names.empty() ? fmt::format("`graft metrics {}` shows what each stage reports", file)
                              : did_you_mean_hint(search.metric, names)});
        } else if (const double v = m->metrics.at(search.metric); !std::isfinite(v)) {
            t.status = HpTrial::Status::Failed;
            t.error = fmt::format("{} is {}", metric, v);
        } else {
            t.metric = v;
        }
        journal.append(t);
        if (t.status == HpTrial::Status::Ok)
            fmt::print(stderr, "[hpsearch] trial {}: {} = {:.6g} ({})\n", n + 1, metric, *t.metric,
                       best_text(search, journal.contents().trials));
        else
            fmt::print(stderr, "[hpsearch] trial {} failed: {}\n", n + 1, t.error);
    }
    const auto& trials = journal.contents().trials;
    fmt::print("{}", format_hpsearch_table(search, trials));
    const auto best = hpsearch_best(search, trials);
    if (!best) return kStageFailed;
    fmt::print("reproduce: {}\n", reproduce_command(file, search, trials[*best].params));
    return kOk;
}

}  // namespace

int cmd_hpsearch(const std::vector<std::string>& args, const std::vector<std::string>& argv) {
    GlobalOptions g;
    std::string file;
    std::vector<std::string> sets;
    RunOptions opts;
    int trials = 0;
    po::options_description d("graft hpsearch options");
    d.add_options()("help,h", "show this help")
        ("file", po::value(&file)->required(), "pipeline file with an [hpsearch] section")
        ("trials", po::value(&trials)->value_name("N"),
         "the budget: trials in the journal, the recorded ones included (default: [hpsearch] trials)")
        ("status", "show the recorded trials and the best one; run nothing")
        ("json", "with --status: {\"search\", \"journal\", \"metric\", \"goal\", \"budget\", \"trials\": [...], \"best\"}")
        ("set", po::value(&sets)->composing()->value_name("KEY=VALUE"),
         "override a pipeline value (part of the search's identity: another value starts another search)")
        ("jobs,j", po::value(&opts.jobs)->default_value(1), "stages to run in parallel within a trial")
        ("threads", po::value(&opts.threads)->default_value(0),
         "total thread budget shared by parallel stages (0 = all hardware threads)")
        ("wait", "if another graft run holds the workspace, wait for it instead of exiting");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse_args(args, d, pos, vm, "graft hpsearch FILE [--trials N] [--status [--json]] [options]")) return kOk;
    g.verbosity = vm.count("verbose") ? 1 : vm.count("quiet") ? -1 : 0;
    if (opts.jobs < 1) throw UsageError("--jobs must be at least 1");
    if (vm.count("trials") && trials < 1) throw UsageError("--trials must be at least 1");
    opts.argv = argv;
    auto plugins = load_plugins(g);
    PipelineSpec spec = load_pipeline(file, sets, *plugins);
    if (!spec.hpsearch)
        throw PipelineError(Diagnostic{
            {file, 0, 0}, "hpsearch", "the pipeline has no [hpsearch] section",
            "[hpsearch] with metric = \"<stage>.<metric>\" and [hpsearch.params]",
            "e.g. [hpsearch] metric = \"eval.accuracy\" and under [hpsearch.params] "
            "\"train.lr\" = { min = 1e-5, max = 1e-2, log = true }"});
    validate_hpsearch(spec);
    if (vm.count("trials")) spec.hpsearch->trials = static_cast<std::size_t>(trials);
    const Search s = search_paths(spec, workspace_for(g, spec));
    if (vm.count("json") && !vm.count("status")) throw UsageError("--json goes with --status");
    if (vm.count("status")) return show_status(file, spec, s, vm.count("json") > 0);
    return run_search(file, spec, *plugins, g, s, opts, vm.count("wait") > 0);
}

}  // namespace graft::cli
