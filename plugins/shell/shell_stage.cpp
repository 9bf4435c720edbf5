// `shell`: any external command as a cached stage (like a DVC stage). The command sees its inputs
// through `{in.PORT}` (or $GRAFT_IN_PORT) and fills `{out}` (or $GRAFT_OUT), a directory whose
// content becomes the artifact `out`. A `metrics.json` written there is reported as metrics.
#include "command_template.hpp"
#include "subprocess.hpp"

#include <graft/stage.hpp>

#include <cctype>
#include <deque>
#include <fstream>

namespace graft::shell {

namespace {

std::string env_name(const std::string& port) {
    std::string s = "GRAFT_IN_";
    for (char c : port)
        s += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    return s;
}

// Numbers anywhere in the JSON become metrics, nested keys joined with '.'.
void report_metrics(sdk::RunContext& ctx, const sdk::json& j, const std::string& prefix) {
    if (j.is_number()) {
        ctx.metric(prefix, j.get<double>());
    } else if (j.is_boolean()) {
        ctx.metric(prefix, j.get<bool>() ? 1.0 : 0.0);
    } else if (j.is_object()) {
        for (const auto& [k, v] : j.items()) report_metrics(ctx, v, prefix.empty() ? k : prefix + "." + k);
    }
}

class ShellStage final : public sdk::StageImpl {
public:
    static sdk::Descriptor describe() {
        return sdk::Descriptor("shell", "1",
                               "Runs a shell command as a cached stage. Inputs are any files or "
                               "directories (any port names); the directory {out} becomes the "
                               "output artifact 'out'.")
            .variadic_inputs()
            .output_dir("out", "any", "the directory the command wrote ({out})")
            .required("cmd", "string",
                      "command for /bin/sh -c, run in the pipeline file's directory; placeholders "
                      "{in.PORT} {out} {scratch} {seed} {threads} (other braces are plain shell "
                      "syntax; '{{x}}' is a literal {x}); the same paths are in $GRAFT_IN_<PORT> "
                      "and $GRAFT_OUT")
            .param("env", "table", sdk::json::object(),
                   "extra environment variables for the command (name = value)")
            .param_string("shell", "/bin/sh", "the shell that runs cmd with -c")
            .param_string("metrics_file", "metrics.json",
                          "file under {out} whose numbers are reported as metrics if it exists "
                          "(\"\" to disable)")
            .param_int("log_tail", 20, "stderr lines shown when the command fails", 0, 10000);
    }

    void run(sdk::RunContext& ctx) override {
        TemplateValues values;
        for (const auto& port : ctx.input_names()) values.inputs[port] = ctx.input(port.c_str()).string();
        values.out = ctx.output("out").string();
        values.scratch = ctx.scratch_dir().string();
        values.seed = ctx.seed();
        values.threads = ctx.threads();

        SubprocessSpec spec;
        spec.command = expand_command(ctx.param<std::string>("cmd"), values);
        spec.shell = ctx.param<std::string>("shell");
        spec.cwd = ctx.pipeline_dir().string();
        for (const auto& [k, v] : ctx.params()["env"].items())
            spec.env[k] = v.is_string() ? v.get<std::string>() : v.dump();
        for (const auto& [port, path] : values.inputs) spec.env[env_name(port)] = path;
        spec.env["GRAFT_OUT"] = values.out;
        spec.env["GRAFT_SCRATCH"] = values.scratch;
        spec.env["GRAFT_SEED"] = std::to_string(values.seed);
        spec.env["GRAFT_THREADS"] = std::to_string(values.threads);
        spec.env["OMP_NUM_THREADS"] = std::to_string(values.threads);
        ctx.debug("$ {}", spec.command);

        const auto tail_lines = static_cast<std::size_t>(ctx.param<std::int64_t>("log_tail"));
        std::deque<std::string> tail;
        auto on_out = [&](const std::string& line) { ctx.info("{}", line); };
        auto on_err = [&](const std::string& line) {
            ctx.info("{}", line);
            tail.push_back(line);
            if (tail.size() > tail_lines) tail.pop_front();
        };
        const SubprocessResult r =
            run_subprocess(spec, on_out, on_err, [&] { return ctx.cancelled(); });
        if (r.cancelled) throw sdk::Cancelled();
        if (r.signaled || r.exit_code != 0) {
            std::string msg = r.signaled ? fmt::format("command killed by signal {}", r.signal)
                                         : fmt::format("command exited with status {}", r.exit_code);
            msg += fmt::format("\n  $ {}", spec.command);
            if (!tail.empty()) {
                msg += "\n  stderr (last lines):";
                for (const auto& l : tail) msg += "\n  | " + l;
            }
            throw sdk::StageError(msg);
        }
        read_metrics(ctx);
    }

private:
    static void read_metrics(sdk::RunContext& ctx) {
        const auto name = ctx.param<std::string>("metrics_file");
        if (name.empty()) return;
        const auto path = ctx.output("out") / name;
        std::ifstream in(path);
        if (!in) return;
        auto j = sdk::json::parse(in, nullptr, false);
        if (j.is_discarded())
            throw sdk::StageError(fmt::format("{} is not valid JSON", path.string()));
        report_metrics(ctx, j, "");
    }
};

}  // namespace

}  // namespace graft::shell

GRAFT_EXPORT_STAGES(graft::shell::ShellStage)
