#include "core/exec/runner.hpp"

#include "core/cache/action_cache.hpp"
#include "core/cache/lockfile.hpp"
#include "core/cache/object_store.hpp"
#include "core/cache/workspace.hpp"
#include "core/exec/executor.hpp"
#include "core/exec/planner.hpp"
#include "core/exec/run_record.hpp"
#include "core/exec/stage_job.hpp"
#include "core/spec/dag.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <queue>
#include <set>
#include <thread>

namespace graft {

fs::path lock_path_for(const fs::path& pipeline_file) {
    const auto stem = pipeline_file.stem().string();
    return pipeline_file.parent_path() / (stem == "pipeline" ? "graft.lock" : stem + ".graft.lock");
}

fs::path default_workspace_for(const fs::path& pipeline_file) {
    return pipeline_file.parent_path() / ".graft";
}

Runner::Runner(PipelineSpec& spec, const PluginHost& plugins, WorkspacePaths ws, Disk& disk,
               Clock& clock, StatusSink& status, const std::atomic<bool>* cancel)
    : spec_(spec), plugins_(plugins), ws_(std::move(ws)), disk_(disk), clock_(clock),
      status_(status), cancel_(cancel) {}

namespace {

enum class State { Waiting, Running, Done, Failed, Skipped };

std::vector<std::size_t> indices_of(const StageGraph& g, const std::vector<std::string>& ids,
                                    const PipelineSpec& spec, const char* what) {
    std::vector<std::size_t> out;
    std::vector<Diagnostic> diags;
    for (const auto& id : ids) {
        if (auto i = g.index(id)) {
            out.push_back(*i);
        } else {
            diags.push_back({SourceLoc{"<command line>", 0, 0}, id,
                             fmt::format("{}: no stage '{}' in pipeline '{}'", what, id, spec.name),
                             "a stage id", did_you_mean_hint(id, spec.stage_ids())});
        }
    }
    if (!diags.empty()) throw PipelineError(std::move(diags));
    return out;
}

// Writes one stage's log lines to its file in the run record (a plugin may log from threads).
class StageLog {
public:
    explicit StageLog(const fs::path& p) {
        fs::create_directories(p.parent_path());
        out_.open(p, std::ios::app);
    }
    void write(abi::LogLevel level, const std::string& msg) {
        static const char* names[] = {"trace", "debug", "info", "warn", "error"};
        std::lock_guard lock(mu_);
        out_ << names[static_cast<int>(level)] << ": " << msg << '\n';
        out_.flush();
    }

private:
    std::mutex mu_;
    std::ofstream out_;
};

}  // namespace

RunResult Runner::run(const RunOptions& opts) {
    const auto t0 = clock_.steady_ns();
    StageGraph graph(spec_);
    // Which stages take part.
    std::vector<std::size_t> selection;
    if (opts.targets.empty()) {
        selection = graph.topological_order();
    } else {
        auto targets = indices_of(graph, opts.targets, spec_, "target");
        selection = opts.only ? targets : graph.with_upstream(targets);
        if (opts.only) {
            auto order = graph.topological_order();
            std::vector<std::size_t> sorted;
            for (auto i : order)
                if (std::find(targets.begin(), targets.end(), i) != targets.end()) sorted.push_back(i);
            selection = sorted;
        }
    }
    std::set<std::size_t> forced;
    if (opts.force_all) forced.insert(selection.begin(), selection.end());
    for (auto i : indices_of(graph, opts.force, spec_, "--force")) forced.insert(i);

    ObjectStore objects(disk_, ws_);
    ActionCache actions(disk_, ws_);
    StatCache stats(disk_, ws_.stat_cache());
    const fs::path lock_file = lock_path_for(spec_.file);
    std::optional<LockFile> previous;
    try {
        previous = read_lockfile(disk_, lock_file);
    } catch (const std::exception& e) {
        spdlog::warn("ignoring unreadable {}: {}", lock_file.string(), e.what());
    }
    Planner planner({spec_, [this](const std::string& t) { return plugins_.plugin_digest(t); },
                     stats, actions, objects, previous ? &*previous : nullptr,
                     workspace_id(disk_, ws_, !opts.dry_run)});

    const std::size_t n = graph.size();
    std::vector<State> state(n, State::Waiting);
    std::vector<bool> selected(n, false);
    for (auto i : selection) selected[i] = true;
    std::vector<std::map<std::string, Digest>> outputs(n);
    std::vector<Decision> decisions(n);
    std::vector<StageReport> reports(n);
    for (std::size_t i = 0; i < n; ++i) {
        reports[i].id = graph.ids()[i];
        reports[i].type = spec_.find(graph.ids()[i])->uses;
    }

    // Outputs of stages outside the selection (`--only`) come from the last lock, if cached.
    std::vector<Diagnostic> missing;
    for (auto i : selection) {
        for (auto u : graph.upstream(i)) {
            if (selected[u]) continue;
            const auto& uid = graph.ids()[u];
            bool ok = false;
            if (previous) {
                auto it = previous->stages.find(uid);
                if (it != previous->stages.end()) {
                    ok = std::all_of(it->second.outputs.begin(), it->second.outputs.end(),
                                     [&](const auto& kv) { return objects.has(kv.second); });
                    if (ok) outputs[u] = it->second.outputs;
                }
            }
            if (ok) state[u] = State::Done;
            else
                missing.push_back({SourceLoc{spec_.file.string(), 0, 0}, graph.ids()[i],
                                   fmt::format("stage '{}' needs the output of '{}', which has no "
                                               "cached result",
                                               graph.ids()[i], uid),
                                   "", fmt::format("run `graft run {} {}` first", spec_.file.string(), uid)});
        }
    }
    if (!missing.empty()) throw PipelineError(std::move(missing));

    auto upstream = [&](const std::string& stage, const std::string& port) -> std::optional<Digest> {
        auto i = graph.index(stage);
        if (!i || state[*i] != State::Done) return std::nullopt;
        auto it = outputs[*i].find(port);
        if (it == outputs[*i].end()) return std::nullopt;
        return it->second;
    };

    status_.plan_ready(selection.size());
    RunResult result;

    // A dry run walks the order once: restored stages make their outputs known downstream.
    if (opts.dry_run) {
        for (auto i : selection) {
            const StageSpec& st = *spec_.find(graph.ids()[i]);
            Decision d = planner.decide(st, upstream, forced.count(i) > 0);
            StageReport& r = reports[i];
            r.reasons = d.reasons;
            if (d.action == Decision::Action::Restore) {
                r.status = StageStatus::Cached;
                r.metrics = d.cached->metrics;
                outputs[i] = d.cached->outputs;
                state[i] = State::Done;
            } else {
                r.status = StageStatus::Planned;
            }
            status_.stage_finished(r);
            result.reports.push_back(r);
        }
        status_.run_finished(result.reports, static_cast<double>(clock_.steady_ns() - t0) / 1e9);
        return result;
    }

    objects.clean_stale_temps();
    RunStore runs(disk_, ws_);
    RunRecord record;
    record.id = RunStore::new_id(clock_.now_ns());
    record.pipeline_file = spec_.file.string();
    record.pipeline_name = spec_.name;
    record.lock_file = lock_file.string();
    record.started_ns = clock_.now_ns();
    record.argv = opts.argv;
    record.config_toml = pipeline_to_toml(spec_);
    runs.save(record);
    result.run_id = record.id;

    // Scheduling state, owned by this thread; workers only push completions.
    std::vector<int> waiting_on(n, 0);
    for (auto i : selection)
        for (auto u : graph.upstream(i))
            if (selected[u] && state[u] != State::Done) ++waiting_on[i];
    std::vector<std::size_t> position(n, 0);
    for (std::size_t k = 0; k < selection.size(); ++k) position[selection[k]] = k;
    auto later = [&](std::size_t a, std::size_t b) { return position[a] > position[b]; };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(later)> ready(later);
    for (auto i : selection)
        if (waiting_on[i] == 0) ready.push(i);

    struct Completion {
        std::size_t index;
        StageJobResult result;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Completion> done_queue;

    const int jobs = std::max(1, opts.jobs);
    const int budget = opts.threads > 0 ? opts.threads
                                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads_per_stage = std::max(1, budget / jobs);
    // Declared before the executor, so it outlives the workers that use it.
    TempDirPool temps(disk_, objects, {kScratchSubdir, kOutputsSubdir},
                      static_cast<std::size_t>(jobs));
    LocalExecutor executor(jobs);
    int in_flight = 0;
    // Exclusive stages (StageSpec::runs_exclusively) never overlap: one that becomes ready while
    // another runs waits in `deferred`, decided already, and gets the threads nobody else uses.
    bool exclusive_running = false;
    int threads_in_use = 0;
    std::vector<int> threads_of(n, 0);
    std::vector<bool> decided(n, false);
    std::vector<std::size_t> deferred;
    bool stop_dispatch = false;
    std::string stop_reason;

    auto finish = [&](std::size_t i, State s) {
        state[i] = s;
        if (s != State::Done) return;
        for (auto d : graph.downstream(i))
            if (selected[d] && state[d] == State::Waiting && --waiting_on[d] == 0) ready.push(d);
    };
    auto skip_downstream = [&](std::size_t i) {
        for (auto d : graph.with_downstream({i})) {
            if (d == i || !selected[d] || state[d] != State::Waiting) continue;
            state[d] = State::Skipped;
            reports[d].status = StageStatus::Skipped;
            reports[d].reasons = {fmt::format("upstream '{}' failed", graph.ids()[i])};
            status_.stage_finished(reports[d]);
        }
    };

    for (;;) {
        if (cancel_ && cancel_->load() && !stop_dispatch) {
            stop_dispatch = true;
            stop_reason = "interrupted";
        }
        while (!stop_dispatch && !ready.empty() && in_flight < jobs) {
            const std::size_t i = ready.top();
            ready.pop();
            const StageSpec& st = *spec_.find(graph.ids()[i]);
            Decision& d = decisions[i];
            try {
                if (!decided[i]) d = planner.decide(st, upstream, forced.count(i) > 0);
                decided[i] = true;
            } catch (const std::exception& e) {
                reports[i].status = StageStatus::Failed;
                reports[i].error = e.what();
                status_.stage_finished(reports[i]);
                finish(i, State::Failed);
                skip_downstream(i);
                if (!opts.keep_going) {
                    stop_dispatch = true;
                    stop_reason = fmt::format("stage '{}' failed", st.id);
                }
                continue;
            }
            reports[i].reasons = d.reasons;
            if (d.action == Decision::Action::Restore) {
                outputs[i] = d.cached->outputs;
                reports[i].status = StageStatus::Cached;
                reports[i].metrics = d.cached->metrics;
                status_.stage_finished(reports[i]);
                finish(i, State::Done);
                continue;
            }
            const bool exclusive = st.runs_exclusively();
            if (exclusive && exclusive_running) {
                deferred.push_back(i);
                continue;
            }
            state[i] = State::Running;
            ++in_flight;
            status_.stage_started(st.id, st.uses, d.reasons);
            auto job = std::make_shared<StageJob>();
            job->stage = &st;
            job->inputs = d.input_paths;
            job->key = *d.key;
            job->seed = d.seed;
            job->threads = exclusive ? std::max(threads_per_stage, budget - threads_in_use) : threads_per_stage;
            threads_of[i] = job->threads;
            threads_in_use += job->threads;
            if (exclusive) exclusive_running = true;
            job->pipeline_dir = spec_.dir;
            auto log = std::make_shared<StageLog>(runs.log_path(record.id, st.id));
            executor.submit([&, i, job, log] {
                const std::string id = job->stage->id;
                StageJobEnv env{plugins_, objects, actions, clock_, cancel_,
                                [&, id, log](abi::LogLevel lv, const std::string& m) {
                                    log->write(lv, m);
                                    status_.stage_log(id, lv, m);
                                },
                                [&, id](std::uint64_t a, std::uint64_t b, const std::string& u) {
                                    status_.stage_progress(id, a, b, u);
                                },
                                &temps};
                StageJobResult r = execute_stage(*job, env);
                if (!r.ok) log->write(abi::LogLevel::error, r.error);
                {
                    std::lock_guard lock(mu);
                    done_queue.push_back({i, std::move(r)});
                }
                cv.notify_one();
            });
        }
        if (in_flight == 0 && (ready.empty() || stop_dispatch)) break;

        std::deque<Completion> batch;
        {
            std::unique_lock lock(mu);
            cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return !done_queue.empty(); });
            batch.swap(done_queue);
        }
        for (auto& c : batch) {
            --in_flight;
            threads_in_use -= threads_of[c.index];
            if (spec_.find(graph.ids()[c.index])->runs_exclusively()) {
                exclusive_running = false;
                for (auto d : deferred) ready.push(d);
                deferred.clear();
            }
            StageReport& r = reports[c.index];
            r.seconds = c.result.seconds;
            r.metrics = c.result.metrics;
            if (c.result.ok) {
                outputs[c.index] = c.result.outputs;
                r.status = StageStatus::Ran;
                status_.stage_finished(r);
                finish(c.index, State::Done);
            } else {
                r.status = c.result.cancelled ? StageStatus::Cancelled : StageStatus::Failed;
                r.error = c.result.error;
                status_.stage_finished(r);
                finish(c.index, State::Failed);
                skip_downstream(c.index);
                if (!opts.keep_going && !stop_dispatch) {
                    stop_dispatch = true;
                    stop_reason = fmt::format("stage '{}' failed", r.id);
                }
            }
        }
    }

    const bool interrupted = cancel_ && cancel_->load();
    for (auto i : selection) {
        if (state[i] != State::Waiting) continue;
        state[i] = State::Skipped;
        reports[i].status = interrupted ? StageStatus::Cancelled : StageStatus::Skipped;
        reports[i].reasons = {fmt::format("not started: {}", interrupted ? "interrupted" : stop_reason)};
        status_.stage_finished(reports[i]);
    }

    // The lock keeps the last good state of every stage still in the pipeline.
    LockFile lock = previous.value_or(LockFile{});
    lock.pipeline = spec_.name;
    for (auto it = lock.stages.begin(); it != lock.stages.end();)
        it = spec_.find(it->first) ? std::next(it) : lock.stages.erase(it);
    for (auto i : selection) {
        if (state[i] != State::Done) continue;
        lock.stages[graph.ids()[i]] =
            planner.lock_entry(*spec_.find(graph.ids()[i]), decisions[i], outputs[i], reports[i].metrics);
    }
    const std::string new_text = lockfile_to_text(lock);
    if (disk_.read_file(lock_file) != new_text) disk_.write_file_atomic(lock_file, new_text);
    stats.save();

    bool failed = false;
    for (auto i : selection) {
        result.reports.push_back(reports[i]);
        failed = failed || reports[i].status == StageStatus::Failed;
        RunStageRecord sr;
        sr.report = reports[i];
        sr.key = decisions[i].key;
        sr.outputs = outputs[i];
        sr.params = spec_.find(graph.ids()[i])->resolved_params;
        record.stages.push_back(std::move(sr));
    }
    result.exit_code = interrupted ? 130 : failed ? 1 : 0;
    record.exit_code = result.exit_code;
    record.status = interrupted ? "cancelled" : failed ? "failed" : "success";
    record.finished_ns = clock_.now_ns();
    runs.save(record);
    status_.run_finished(result.reports, static_cast<double>(clock_.steady_ns() - t0) / 1e9);
    return result;
}

}  // namespace graft
