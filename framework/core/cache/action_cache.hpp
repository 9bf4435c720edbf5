// The run-cache: what a stage produced for a given cache key, so that a key seen before (even
// after switching a param back) restores outputs without running. Entries are JSON files that
// start with {"format":"graft.action/1", ...}; written atomically.
#pragma once

#include "core/cache/disk.hpp"
#include "core/cache/workspace.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace graft {

struct ActionResult {
    std::string stage_type;
    std::string stage_version;
    std::map<std::string, Digest> outputs;  // output port -> object digest
    std::map<std::string, double> metrics;
    double seconds = 0;            // how long the run that produced it took
    std::int64_t created_ns = 0;   // wall clock
};

class ActionCache {
public:
    ActionCache(Disk& disk, WorkspacePaths ws);
    // nullopt when absent, unreadable, of another format version, or when any output object is
    // missing from the store (a partial entry is treated as a miss).
    std::optional<ActionResult> get(const Digest& key);
    void put(const Digest& key, const ActionResult& r);
    std::vector<Digest> list();
    void remove(const Digest& key);

private:
    Disk& disk_;
    WorkspacePaths ws_;
};

// Remembers the digest of user input files by (path, size, mtime, inode) so an unchanged input
// is not re-hashed on every run (like git's index). Loaded once, saved atomically.
class StatCache {
public:
    StatCache(Disk& disk, fs::path file);
    // Digest of a file or directory artifact, reusing the remembered one when the stat matches.
    Digest digest(const fs::path& p);
    void save();  // no-op when nothing changed

private:
    struct Entry {
        std::uint64_t size;
        std::int64_t mtime_ns;
        std::uint64_t inode;
        Digest digest;
    };
    Disk& disk_;
    fs::path file_;
    std::map<std::string, Entry> entries_;
    bool dirty_ = false;
};

}  // namespace graft
