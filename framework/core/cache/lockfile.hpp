// graft.lock beside the pipeline file: per stage, the resolved cache key, params, input and output
// digests and metrics of the last successful run (like dvc.lock). Deterministic, sorted JSON so it
// diffs well in git; starts with {"format":"graft.lock/1", ...}.
#pragma once

#include "core/cache/disk.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace graft {

struct LockInput {
    std::string source;  // "data/raw.jsonl" (path as written) or "clean.data"
    Digest digest;
};

struct LockEntry {
    std::string stage_type;
    std::string stage_version;
    Digest plugin_digest;
    Digest key;
    nlohmann::json params = nlohmann::json::object();
    std::uint64_t seed = 0;
    std::map<std::string, LockInput> inputs;  // port -> source + digest
    std::map<std::string, Digest> outputs;    // port -> object digest
    std::map<std::string, double> metrics;
    std::string workspace;  // workspace_id() of the workspace it ran in; empty in older locks
};

struct LockFile {
    std::string pipeline;  // pipeline name
    std::map<std::string, LockEntry> stages;
};

std::string lockfile_to_text(const LockFile& lf);
// Throws std::runtime_error naming the file on a malformed lock or a wrong format version.
LockFile lockfile_from_text(std::string_view text, const std::string& file_for_messages);
std::optional<LockFile> read_lockfile(Disk& disk, const fs::path& p);
void write_lockfile(Disk& disk, const fs::path& p, const LockFile& lf);

}  // namespace graft
