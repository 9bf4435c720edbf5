#include "core/exec/run_record.hpp"

#include <fmt/format.h>

#include <ctime>
#include <random>
#include <stdexcept>

namespace graft {

namespace {

StageStatus status_from_string(const std::string& s) {
    for (auto st : {StageStatus::Ran, StageStatus::Cached, StageStatus::Failed, StageStatus::Skipped,
                    StageStatus::Cancelled, StageStatus::Planned})
        if (s == to_string(st)) return st;
    throw std::runtime_error("unknown stage status '" + s + "'");
}

}  // namespace

std::string RunStore::new_id(std::int64_t now_ns) {
    const std::time_t secs = static_cast<std::time_t>(now_ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    // Milliseconds keep ids of runs started in the same second in start order; the random tail
    // keeps two hosts (or a clock step) from colliding.
    const auto ms = (now_ns / 1'000'000) % 1000;
    std::random_device rd;
    return fmt::format("{}-{:03d}{:02x}", buf, ms, rd() & 0xff);
}

nlohmann::ordered_json run_record_to_json(const RunRecord& r) {
    nlohmann::ordered_json j;
    j["format"] = "graft.run/1";
    j["id"] = r.id;
    j["pipeline"] = r.pipeline_name;
    j["pipeline_file"] = r.pipeline_file;
    j["lock_file"] = r.lock_file;
    j["status"] = r.status;
    j["exit_code"] = r.exit_code;
    j["started_ns"] = r.started_ns;
    j["finished_ns"] = r.finished_ns;
    j["argv"] = r.argv;
    j["config"] = r.config_toml;
    auto stages = nlohmann::ordered_json::array();
    for (const auto& s : r.stages) {
        nlohmann::ordered_json o;
        o["id"] = s.report.id;
        o["type"] = s.report.type;
        o["status"] = to_string(s.report.status);
        o["seconds"] = s.report.seconds;
        o["reasons"] = s.report.reasons;
        if (!s.report.error.empty()) o["error"] = s.report.error;
        o["metrics"] = s.report.metrics;
        if (s.key) o["key"] = s.key->hex();
        nlohmann::ordered_json outs = nlohmann::ordered_json::object();
        for (const auto& [port, d] : s.outputs) outs[port] = d.hex();
        o["outputs"] = outs;
        o["params"] = s.params;
        stages.push_back(std::move(o));
    }
    j["stages"] = std::move(stages);
    return j;
}

RunRecord run_record_from_json(const nlohmann::json& j) {
    if (j.value("format", "") != "graft.run/1")
        throw std::runtime_error("not a graft run record (format graft.run/1)");
    RunRecord r;
    r.id = j.at("id");
    r.pipeline_name = j.value("pipeline", "");
    r.pipeline_file = j.value("pipeline_file", "");
    r.lock_file = j.value("lock_file", "");
    r.status = j.value("status", "");
    r.exit_code = j.value("exit_code", 0);
    r.started_ns = j.value("started_ns", std::int64_t{0});
    r.finished_ns = j.value("finished_ns", std::int64_t{0});
    r.argv = j.value("argv", std::vector<std::string>{});
    r.config_toml = j.value("config", "");
    for (const auto& o : j.value("stages", nlohmann::json::array())) {
        RunStageRecord s;
        s.report.id = o.at("id");
        s.report.type = o.value("type", "");
        s.report.status = status_from_string(o.value("status", "planned"));
        s.report.seconds = o.value("seconds", 0.0);
        s.report.reasons = o.value("reasons", std::vector<std::string>{});
        s.report.error = o.value("error", "");
        s.report.metrics = o.value("metrics", std::map<std::string, double>{});
        if (o.contains("key")) s.key = Digest::from_hex(o["key"].get<std::string>());
        const nlohmann::json outs = o.value("outputs", nlohmann::json::object());  // outlives items()
        for (const auto& [port, hex] : outs.items())
            if (auto d = Digest::from_hex(hex.get<std::string>())) s.outputs[port] = *d;
        s.params = o.value("params", nlohmann::json::object());
        r.stages.push_back(std::move(s));
    }
    return r;
}

void RunStore::save(const RunRecord& r) {
    disk_.write_file_atomic(ws_.runs() / r.id / "run.json", run_record_to_json(r).dump(2) + "\n");
}

std::optional<RunRecord> RunStore::load(const std::string& id) {
    auto text = disk_.read_file(ws_.runs() / id / "run.json");
    if (!text) return std::nullopt;
    try {
        return run_record_from_json(nlohmann::json::parse(*text));
    } catch (const std::exception&) {
        return std::nullopt;  // a record cut short by a crash is simply not listed
    }
}

std::vector<std::string> RunStore::list() {
    std::vector<std::string> ids;
    for (const auto& name : disk_.list_dir(ws_.runs()))
        if (disk_.stat(ws_.runs() / name / "run.json").exists) ids.push_back(name);
    return ids;  // list_dir sorts; ids sort by time
}

std::optional<std::string> RunStore::resolve(const std::string& q) {
    auto ids = list();
    if (ids.empty()) return std::nullopt;
    if (q == "latest" || q.starts_with("latest~")) {
        std::size_t back = 0;
        if (q.size() > 7) back = std::stoul(q.substr(7));
        if (back >= ids.size()) return std::nullopt;
        return ids[ids.size() - 1 - back];
    }
    std::optional<std::string> found;
    for (const auto& id : ids) {
        if (id == q) return id;
        if (id.starts_with(q) || id.ends_with(q)) {
            if (found) return std::nullopt;  // ambiguous
            found = id;
        }
    }
    return found;
}

fs::path RunStore::log_path(const std::string& id, const std::string& stage) const {
    return ws_.runs() / id / "logs" / (stage + ".log");
}

}  // namespace graft
