// graft runs / metrics: what past runs did and measured.
#include "cli_common.hpp"

#include "core/cache/lockfile.hpp"
#include "core/exec/run_record.hpp"
#include "core/exec/runner.hpp"
#include "core/spec/report.hpp"
#include "core/spec/sweep_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>

namespace graft::cli {

namespace {

std::string local_time(std::int64_t ns) {
    const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

// A record still marked "running" whose workspace lock is free was left by a killed process.
void mark_killed(RunRecord& r, const WorkspacePaths& ws) {
    if (r.status == "running" && !WorkspaceLock::holder(ws.lock())) r.status = "killed";
}

RunRecord load_run(RunStore& store, const std::string& q) {
    auto id = store.resolve(q);
    if (!id) throw UsageError(fmt::format("no run '{}' (unknown or ambiguous; see `graft runs`)", q));
    auto r = store.load(*id);
    if (!r) throw UsageError(fmt::format("run record {} is unreadable", *id));
    return *r;
}

void print_list(RunStore& store, const WorkspacePaths& ws, const std::string& file) {
    const std::string abs = file.empty() ? "" : std::filesystem::absolute(file).lexically_normal().string();
    fmt::print("{:<21} {:<19} {:<9} {:>5} {:>6} {:>6} {:>9}  {}\n", "run", "started", "status", "ran",
               "cached", "failed", "duration", "pipeline");
    for (const auto& id : store.list()) {
        auto r = store.load(id);
        if (!r || (!abs.empty() && r->pipeline_file != abs)) continue;
        mark_killed(*r, ws);
        int ran = 0, cached = 0, failed = 0;
        for (const auto& s : r->stages) {
            ran += s.report.status == StageStatus::Ran;
            cached += s.report.status == StageStatus::Cached;
            failed += s.report.status == StageStatus::Failed;
        }
        const double secs = r->finished_ns > r->started_ns
                                ? static_cast<double>(r->finished_ns - r->started_ns) / 1e9
                                : 0.0;
        fmt::print("{:<21} {:<19} {:<9} {:>5} {:>6} {:>6} {:>9}  {}\n", r->id, local_time(r->started_ns),
                   r->status, ran, cached, failed, r->finished_ns ? format_seconds(secs) : "-",
                   r->pipeline_name);
    }
}

void print_show(const RunRecord& r) {
    fmt::print("run {}  {}  {}  (exit {})\npipeline {} ({})\n", r.id, local_time(r.started_ns), r.status,
               r.exit_code, r.pipeline_name, r.pipeline_file);
    for (const auto& s : r.stages) {
        fmt::print("  {:<9} {:<16} {:>8}", to_string(s.report.status), s.report.id,
                   s.report.status == StageStatus::Ran ? format_seconds(s.report.seconds) : "");
        for (const auto& [k, v] : s.report.metrics) fmt::print(" {}={}", k, format_metric(v));
        fmt::print("\n");
        for (const auto& why : s.report.reasons) fmt::print("            - {}\n", why);
        if (!s.report.error.empty()) fmt::print("            error: {}\n", s.report.error);
    }
}

void print_compare(const RunRecord& a, const RunRecord& b) {
    fmt::print("comparing {} (A) with {} (B)\n", a.id, b.id);
    std::map<std::string, const RunStageRecord*> sa, sb;
    for (const auto& s : a.stages) sa[s.report.id] = &s;
    for (const auto& s : b.stages) sb[s.report.id] = &s;
    std::set<std::string> ids;
    for (const auto& [k, _] : sa) ids.insert(k);
    for (const auto& [k, _] : sb) ids.insert(k);
    bool any = false;
    for (const auto& id : ids) {
        const auto* x = sa.count(id) ? sa[id] : nullptr;
        const auto* y = sb.count(id) ? sb[id] : nullptr;
        if (!x || !y) {
            fmt::print("{}: only in {}\n", id, x ? "A" : "B");
            any = true;
            continue;
        }
        std::vector<std::string> lines;
        std::set<std::string> names;
        for (const auto& [k, _] : x->params.items()) names.insert(k);
        for (const auto& [k, _] : y->params.items()) names.insert(k);
        for (const auto& n : names) {
            auto va = x->params.contains(n) ? x->params[n].dump() : "-";
            auto vb = y->params.contains(n) ? y->params[n].dump() : "-";
            if (va != vb) lines.push_back(fmt::format("  param  {:<26} {:>14} -> {}", n, va, vb));
        }
        std::set<std::string> metrics;
        for (const auto& [k, _] : x->report.metrics) metrics.insert(k);
        for (const auto& [k, _] : y->report.metrics) metrics.insert(k);
        for (const auto& m : metrics) {
            auto ia = x->report.metrics.find(m), ib = y->report.metrics.find(m);
            std::string va = ia != x->report.metrics.end() ? format_metric(ia->second) : "-";
            std::string vb = ib != y->report.metrics.end() ? format_metric(ib->second) : "-";
            std::string delta;
            if (ia != x->report.metrics.end() && ib != y->report.metrics.end() && ia->second != ib->second)
                delta = fmt::format("  ({:+.4g})", ib->second - ia->second);
            lines.push_back(fmt::format("  metric {:<26} {:>14} -> {}{}", m, va, vb, delta));
        }
        if (!lines.empty()) {
            fmt::print("{}:\n", id);
            for (const auto& l : lines) fmt::print("{}\n", l);
            any = true;
        }
    }
    if (!any) fmt::print("no differences in params or metrics\n");
}

}  // namespace

int cmd_runs(const std::vector<std::string>& args) {
    GlobalOptions g;
    std::vector<std::string> words;
    po::options_description d("graft runs options");
    d.add_options()("help,h", "show this help")
        ("words", po::value(&words)->composing(), "[FILE] | show ID | compare A B")
        ("pipeline,p", po::value<std::string>(), "pipeline file (locates the workspace)");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("words", -1);
    po::variables_map vm;
    const char* usage = "graft runs [FILE] | graft runs show ID | graft runs compare A B  [-p FILE]";
    if (!parse_args(args, d, pos, vm, usage)) return kOk;
    std::string file = vm.count("pipeline") ? vm["pipeline"].as<std::string>() : "";
    RealDisk disk;
    if (!words.empty() && (words[0] == "show" || words[0] == "compare")) {
        const std::size_t need = words[0] == "show" ? 2 : 3;
        if (words.size() != need) throw UsageError(fmt::format("usage: {}", usage));
        const WorkspacePaths ws = workspace_from(g, file);
        RunStore store(disk, ws);
        if (words[0] == "show") {
            RunRecord r = load_run(store, words[1]);
            mark_killed(r, ws);
            print_show(r);
        } else {
            print_compare(load_run(store, words[1]), load_run(store, words[2]));
        }
        return kOk;
    }
    if (words.size() > 1) throw UsageError(fmt::format("usage: {}", usage));
    if (!words.empty()) file = words[0];
    const WorkspacePaths ws = workspace_from(g, file);
    RunStore store(disk, ws);
    print_list(store, ws, file);
    return kOk;
}

int cmd_metrics(const std::vector<std::string>& args) {
    GlobalOptions g;
    std::string file;
    po::options_description d("graft metrics options");
    d.add_options()("help,h", "show this help")("file", po::value(&file)->required(), "pipeline file")
        ("json", "print {\"stage\": {\"metric\": value}} (and \"sweep\" with the best variant)")
        ("all", "with a [report] section: also list every stage's metrics, not only the report table");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse_args(args, d, pos, vm, "graft metrics FILE [--json] [--all]")) return kOk;
    RealDisk disk;
    const auto lock_file = lock_path_for(std::filesystem::absolute(file));
    auto lock = read_lockfile(disk, lock_file);
    if (!lock)
        throw UsageError(fmt::format("no {} yet: run `graft run {}` first", lock_file.string(), file));
    // A sweep's variants are ranked by its metric; the file says which stages are variants.
    const PipelineSpec spec = parse_pipeline(file);
    std::optional<SweepReport> report;
    if (spec.sweep) {
        std::map<std::string, std::map<std::string, double>> metrics;
        for (const auto& [id, e] : lock->stages) metrics[id] = e.metrics;
        report = sweep_report(*spec.sweep, metrics);
    }
    if (vm.count("json")) {
        nlohmann::ordered_json j = nlohmann::ordered_json::object();
        for (const auto& [id, e] : lock->stages) {
            if (e.metrics.empty()) continue;
            auto& m = j[id] = nlohmann::ordered_json::object();
            for (const auto& [k, v] : e.metrics) {
                // Counts print as integers; everything else as the double it is.
                if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
                    m[k] = static_cast<std::int64_t>(v);
                else
                    m[k] = v;
            }
        }
        if (report) {
            auto& sw = j["sweep"] = nlohmann::ordered_json::object();
            sw["best"] = report->best ? nlohmann::ordered_json(report->rows[*report->best].id)
                                      : nlohmann::ordered_json(nullptr);
            sw["metric"] = spec.sweep->metric_stage + "." + spec.sweep->metric;
            sw["goal"] = spec.sweep->maximize ? "max" : "min";
            auto& vs = sw["variants"] = nlohmann::ordered_json::array();
            for (const auto& row : report->rows)
                vs.push_back({{"id", row.id},
                              {"params", nlohmann::ordered_json::parse(row.params.dump())},
                              {"value", row.value ? nlohmann::ordered_json(*row.value)
                                                  : nlohmann::ordered_json(nullptr)}});
        }
        std::cout << j.dump(2) << "\n";
        return kOk;
    }
    // With a [report] section the table is the answer; --all lists every stage's metrics too.
    const bool listing = !spec.report || vm.count("all");
    if (listing) {
        for (const auto& [id, e] : lock->stages) {
            if (e.metrics.empty()) continue;
            fmt::print("{}\n", id);
            for (const auto& [k, v] : e.metrics) fmt::print("  {:<28} {}\n", k, format_metric(v));
        }
    }
    if (spec.report) {
        std::map<std::string, std::map<std::string, double>> metrics;
        for (const auto& [id, e] : lock->stages) metrics[id] = e.metrics;
        fmt::print("{}{}", listing ? "\n" : "", format_report_table(*spec.report, metrics));
    }
    if (report) fmt::print("\n{}", format_sweep_table(*spec.sweep, *report));
    return kOk;
}

}  // namespace graft::cli
