// graft: run declarative ML pipelines of stage plugins, caching every artifact.
#include "cli_common.hpp"

#include "core/spec/diagnostic.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

namespace graft::cli { int cmd_predict(const std::vector<std::string>& args); }  // cmd_predict.cpp

namespace {

constexpr const char* kHelp = R"(graft )" GRAFT_VERSION R"( - declarative transfer-learning pipelines with a content-addressed cache

usage: graft <command> [options]

commands:
  run FILE [STAGE...]     run the pipeline (or the stages and their upstream); only what changed
                          reruns. --dry-run, --explain, --force STAGE, --until STAGE, -j N,
                          --keep-going, --set KEY=VALUE
  plan FILE [STAGE...]    what would run and why (same as run --dry-run --explain)
  exec FILE --stage ID    run one stage alone from cached upstream outputs (for executors)
  config FILE             print the fully resolved pipeline (defaults < file < --set)
  stages [TYPE]           list stage types, or one type's ports and parameters
  dag FILE                print the stage graph as Graphviz dot (--mermaid for mermaid)
  runs [FILE]             list recorded runs; `runs show ID`, `runs compare A B`
  metrics FILE            the [report] table, or every stage's latest metrics (--all, --json)
  hpsearch FILE           search the [hpsearch] params trial by trial (TPE or random); resumes
                          after an interruption. --trials N, --status
  gc [FILE]               remove cache objects nothing references (--keep-last N, --max-size SIZE)
  cache import SRC [FILE] copy another workspace's cached results in (hard links; -w DEST)
  predict DIR [--text T]  classify with a checkpoint or exported bundle (JSONL on stdin otherwise)
  help, --version

`graft <command> --help` lists a command's options.
exit codes: 0 success, 1 a stage failed, 2 usage or pipeline error, 130 interrupted.
)";

void setup_logging() {
    // Named loggers print as "[component] message" on stderr.
    for (const char* name : {"graft", "plugin", "cache", "exec"}) {
        auto logger = spdlog::stderr_color_mt(name);
        logger->set_pattern("[%n] %^%l%$: %v");
    }
    spdlog::set_default_logger(spdlog::get("graft"));
    spdlog::set_level(spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace graft;
    using namespace graft::cli;
    setup_logging();
    std::vector<std::string> all(argv, argv + argc);
    if (argc < 2 || all[1] == "help" || all[1] == "--help" || all[1] == "-h") {
        std::cout << kHelp;
        return argc < 2 ? kUsage : kOk;
    }
    if (all[1] == "--version" || all[1] == "version") {
        std::cout << "graft " GRAFT_VERSION " (plugin ABI " << GRAFT_ABI_VERSION << ")\n";
        return kOk;
    }
    const std::string verb = all[1];
    const std::vector<std::string> args(all.begin() + 2, all.end());
    try {
        if (verb == "run") return cmd_run(args, false, all);
        if (verb == "plan") return cmd_run(args, true, all);
        if (verb == "exec") return cmd_exec(args, all);
        if (verb == "config") return cmd_config(args);
        if (verb == "stages") return cmd_stages(args);
        if (verb == "dag") return cmd_dag(args);
        if (verb == "runs") return cmd_runs(args);
        if (verb == "metrics") return cmd_metrics(args);
        if (verb == "gc") return cmd_gc(args);
        if (verb == "cache") return cmd_cache(args);
        if (verb == "hpsearch") return cmd_hpsearch(args, all);
        if (verb == "predict") return cmd_predict(args);
        const std::vector<std::string> verbs = {"run",  "plan",    "exec", "config",  "stages",
                                                "dag",  "runs",    "metrics", "gc", "cache", "predict",
                                                "hpsearch", "help"};
        std::string hint = did_you_mean_hint(verb, verbs);
        fmt::print(stderr, "graft: unknown command '{}'{}\nrun `graft help` for the commands\n",
                   verb, hint.empty() ? "" : "; " + hint);
        return kUsage;
    } catch (const PipelineError& e) {
        std::string text = format_diagnostics(e.diagnostics());
        if (!text.empty() && text.back() != '\n') text += '\n';
        fmt::print(stderr, "{}", text);
        const auto n = e.diagnostics().size();
        fmt::print(stderr, "graft: {} error{} in the pipeline; nothing was run\n", n, n == 1 ? "" : "s");
        return kUsage;
    } catch (const UsageError& e) {
        fmt::print(stderr, "graft {}: {}\n", verb, e.what());
        return kUsage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "graft {}: error: {}\n", verb, e.what());
        return kUsage;
    }
}
