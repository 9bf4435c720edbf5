// One record per `graft run`: id, time, resolved config, per-stage status, timings, reasons,
// metrics and the lock it produced; stage logs beside it. Stored as
// <workspace>/runs/<id>/run.json ({"format":"graft.run/1", ...}) and runs/<id>/logs/<stage>.log.
#pragma once

#include "core/cache/disk.hpp"
#include "core/cache/workspace.hpp"
#include "core/exec/status.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace graft {

struct RunStageRecord {
    StageReport report;
    std::optional<Digest> key;
    std::map<std::string, Digest> outputs;
    nlohmann::json params = nlohmann::json::object();
};

struct RunRecord {
    std::string id;                 // "20261124-153012-4213f": time, ms, random; sorts by start
    std::string pipeline_file;      // absolute
    std::string pipeline_name;
    std::string lock_file;          // absolute path of the lock this run wrote
    std::int64_t started_ns = 0, finished_ns = 0;
    std::string status = "running";  // running | success | failed | cancelled
    int exit_code = 0;
    std::vector<std::string> argv;
    std::string config_toml;        // the fully resolved pipeline
    std::vector<RunStageRecord> stages;
};

nlohmann::ordered_json run_record_to_json(const RunRecord& r);
RunRecord run_record_from_json(const nlohmann::json& j);

class RunStore {
public:
    RunStore(Disk& disk, WorkspacePaths ws) : disk_(disk), ws_(std::move(ws)) {}
    static std::string new_id(std::int64_t now_ns);
    void save(const RunRecord& r);
    std::optional<RunRecord> load(const std::string& id);
    // Run ids, oldest first. Accepts unique prefixes and "latest"/"latest~N" in resolve().
    std::vector<std::string> list();
    std::optional<std::string> resolve(const std::string& id_or_prefix);
    fs::path log_path(const std::string& id, const std::string& stage) const;
    fs::path dir(const std::string& id) const { return ws_.runs() / id; }

private:
    Disk& disk_;
    WorkspacePaths ws_;
};

}  // namespace graft
