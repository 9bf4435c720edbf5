// Garbage collection of the workspace cache: remove objects and run-cache entries that nothing
// worth keeping references.
#pragma once

#include "core/cache/action_cache.hpp"
#include "core/cache/object_store.hpp"

#include <cstdint>
#include <optional>
#include <set>

namespace graft {

struct GcOptions {
    std::set<Digest> keep_objects;  // referenced by a lock file or a kept run record
    std::set<Digest> keep_actions;  // cache keys referenced likewise
    // When set, unreferenced objects are kept newest-first while the whole store stays within
    // this many bytes (the cache behaves like a bounded LRU); otherwise all are removed.
    std::optional<std::uint64_t> max_bytes;
    bool dry_run = false;
};

struct GcReport {
    int objects_removed = 0;
    int objects_kept = 0;
    int actions_removed = 0;
    std::uint64_t bytes_freed = 0;
    std::uint64_t bytes_kept = 0;
};

// Action entries are removed when any of their outputs is removed (or, without max_bytes, when
// they are not in keep_actions), so the run-cache never points at a missing object.
GcReport collect_garbage(Disk& disk, ObjectStore& objects, ActionCache& actions,
                         const GcOptions& opts);

}  // namespace graft
