// graft run / plan / exec.
#include "cli_common.hpp"

#include "core/cache/disk.hpp"
#include "core/cache/lockfile.hpp"
#include "core/exec/runner.hpp"
#include "core/spec/report.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <thread>

namespace graft::cli {

namespace {

int verbosity_of(const po::variables_map& vm) {
    return vm.count("verbose") ? 1 : vm.count("quiet") ? -1 : 0;
}

int execute(const std::string& file, const std::vector<std::string>& sets, RunOptions opts,
            const GlobalOptions& g, bool explain, bool wait_for_lock) {
    auto plugins = load_plugins(g);
    PipelineSpec spec = load_pipeline(file, sets, *plugins);
    WorkspacePaths ws = workspace_for(g, spec);
    RealDisk disk;
    SystemClock clock;
    ConsoleOptions co;
    co.explain = explain;
    co.verbosity = g.verbosity;
    co.progress = ::isatty(STDERR_FILENO) != 0;
    ConsoleStatus status(co);
    const std::atomic<bool>& cancel = install_interrupt_handler();
    std::optional<WorkspaceLock> lock;
    if (!opts.dry_run) {
        disk.make_dirs(ws.root);
        if (wait_for_lock)
            if (auto holder = WorkspaceLock::holder(ws.lock()))
                fmt::print(stderr, "[graft] waiting for the workspace lock ({})\n", *holder);
        lock.emplace(ws.lock(), wait_for_lock ? WorkspaceLock::Mode::Wait : WorkspaceLock::Mode::Fail,
                     fmt::format("graft run {}", file));
    }
    Runner runner(spec, *plugins, ws, disk, clock, status, &cancel);
    RunResult r = runner.run(opts);
    // The pipeline's results table ([report]) closes a real run, from the lock file it just wrote.
    if (spec.report && !opts.dry_run) {
        if (auto lf = read_lockfile(disk, lock_path_for(spec.file))) {
            std::map<std::string, std::map<std::string, double>> metrics;
            for (const auto& [id, e] : lf->stages) metrics[id] = e.metrics;
            fmt::print("\n{}", format_report_table(*spec.report, metrics));
        }
    }
    return r.exit_code;
}

}  // namespace

int cmd_run(const std::vector<std::string>& args, bool plan_verb, const std::vector<std::string>& argv) {
    GlobalOptions g;
    std::string file;
    std::vector<std::string> targets, sets, force, until;
    RunOptions opts;
    po::options_description d(plan_verb ? "graft plan options" : "graft run options");
    d.add_options()("help,h", "show this help")
        ("file", po::value(&file)->required(), "pipeline file")
        ("stage", po::value(&targets)->composing(), "stages to run with their upstream (default: all)")
        ("set", po::value(&sets)->composing()->value_name("KEY=VALUE"),
         "override a pipeline value, e.g. --set stages.split.params.ratios=[0.7,0.15,0.15] "
         "(precedence: stage defaults < file < --set)")
        ("force,f", po::value(&force)->composing()->value_name("STAGE"), "rerun STAGE even if cached (repeatable)")
        ("force-all", po::bool_switch(&opts.force_all), "rerun every selected stage")
        ("until", po::value(&until)->composing()->value_name("STAGE"),
         "run STAGE and everything upstream of it, nothing after it")
        ("only", po::bool_switch(&opts.only), "run the given stages alone, using cached upstream outputs")
        ("jobs,j", po::value(&opts.jobs)->default_value(1), "stages to run in parallel")
        ("threads", po::value(&opts.threads)->default_value(0),
         "total thread budget shared by parallel stages (0 = all hardware threads)")
        ("keep-going,k", po::bool_switch(&opts.keep_going), "after a failure, let unrelated branches finish")
        ("dry-run,n", po::bool_switch(&opts.dry_run), "show what would run, run nothing")
        ("explain", "show why each stage runs or is restored")
        ("wait", "if another graft run holds the workspace, wait for it instead of exiting");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("file", 1).add("stage", -1);
    po::variables_map vm;
    const char* usage = plan_verb ? "graft plan FILE [STAGE...] [options]"
                                  : "graft run FILE [STAGE...] [options]";
    if (!parse_args(args, d, pos, vm, usage)) return kOk;
    g.verbosity = verbosity_of(vm);
    if (opts.jobs < 1) throw UsageError("--jobs must be at least 1");
    if (opts.only && targets.empty()) throw UsageError("--only needs the stages to run (graft run FILE STAGE --only)");
    opts.targets = targets;
    opts.targets.insert(opts.targets.end(), until.begin(), until.end());
    opts.force = force;
    opts.argv = argv;
    if (plan_verb) opts.dry_run = true;
    const bool explain = plan_verb || vm.count("explain") > 0;
    return execute(file, sets, opts, g, explain, vm.count("wait") > 0);
}

int cmd_exec(const std::vector<std::string>& args, const std::vector<std::string>& argv) {
    GlobalOptions g;
    std::string file, stage;
    std::vector<std::string> sets;
    RunOptions opts;
    po::options_description d("graft exec options");
    d.add_options()("help,h", "show this help")
        ("file", po::value(&file)->required(), "pipeline file")
        ("stage,s", po::value(&stage)->required(), "the stage to run")
        ("set", po::value(&sets)->composing()->value_name("KEY=VALUE"), "override a pipeline value")
        ("force,f", "run even if the result is cached")
        ("threads", po::value(&opts.threads)->default_value(0), "threads for the stage (0 = all)");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse_args(args, d, pos, vm, "graft exec FILE --stage ID [options]")) return kOk;
    g.verbosity = verbosity_of(vm);
    opts.targets = {stage};
    opts.only = true;
    if (vm.count("force")) opts.force = {stage};
    opts.argv = argv;
    return execute(file, sets, opts, g, false, /*wait_for_lock=*/true);
}

}  // namespace graft::cli
