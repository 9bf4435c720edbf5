// A workspace on any Disk for the cache tests: publishes small file and directory objects and
// records run-cache entries, as a stage run would.
#pragma once

#include "core/cache/action_cache.hpp"
#include "core/cache/object_store.hpp"

#include <map>
#include <string>

namespace graft::testing {

struct TestWorkspace {
    Disk& disk;
    WorkspacePaths ws;
    ObjectStore objects{disk, ws};
    ActionCache actions{disk, ws};

    TestWorkspace(Disk& d, fs::path root) : disk(d), ws{std::move(root)} {}

    // A file object holding `content`.
    Digest publish(const std::string& content) {
        const fs::path t = objects.make_temp_dir("t");
        disk.write_file_atomic(t / "out", content);
        return objects.publish(t / "out");
    }

    // A directory object: model/weights.bin = content and model/run.sh, which is executable
    // when `executable` (RealDisk only: the bit is set on the real file; it is part of the digest).
    Digest publish_tree(const std::string& content, bool executable = false) {
        const fs::path t = objects.make_temp_dir("t");
        disk.write_file_atomic(t / "model" / "weights.bin", content);
        disk.write_file_atomic(t / "model" / "run.sh", "#!/bin/sh\n");
        if (executable) fs::permissions(t / "model" / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
        return objects.publish(t / "model");
    }

    // A run-cache entry keyed by hash(name) naming `outputs`.
    Digest action(const std::string& name, std::map<std::string, Digest> outputs,
                  std::map<std::string, double> metrics = {}) {
        const Digest key = hash_bytes(name);
        ActionResult r;
        r.stage_type = "s";
        r.stage_version = "1";
        r.outputs = std::move(outputs);
        r.metrics = std::move(metrics);
        actions.put(key, r);
        return key;
    }
};

}  // namespace graft::testing
