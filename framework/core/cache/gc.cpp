#include "core/cache/gc.hpp"

#include <algorithm>
#include <tuple>
#include <vector>

namespace graft {

namespace {

struct ObjectInfo {
    Digest digest;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;  // publish time: objects are renamed in, never modified
};

}  // namespace

GcReport collect_garbage(Disk& disk, ObjectStore& objects, ActionCache& actions,
                         const GcOptions& opts) {
    GcReport report;

    // Read every action entry first: an entry that is kept must keep its outputs too, or it
    // would turn into a miss (and then be deleted) on the next lookup.
    std::vector<std::pair<Digest, std::optional<ActionResult>>> entries;
    std::set<Digest> keep = opts.keep_objects;
    for (const auto& key : actions.list()) {
        auto r = actions.get(key);
        if (r && opts.keep_actions.count(key) != 0) {
            for (const auto& [port, d] : r->outputs) keep.insert(d);
        }
        entries.emplace_back(key, std::move(r));
    }

    std::vector<ObjectInfo> kept;
    std::vector<ObjectInfo> candidates;
    for (const auto& d : objects.list()) {
        ObjectInfo info{d, objects.object_size(d), disk.stat(objects.object_path(d)).mtime_ns};
        (keep.count(d) != 0 ? kept : candidates).push_back(info);
    }

    std::uint64_t kept_bytes = 0;
    for (const auto& o : kept) kept_bytes += o.size;

    // With a size budget the unreferenced objects behave like an LRU: newest first, until the
    // first one that does not fit; it and everything older go. Referenced objects always stay,
    // even when they alone exceed the budget.
    std::set<Digest> removed;
    if (opts.max_bytes) {
        std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
            return std::tie(b.mtime_ns, a.digest) < std::tie(a.mtime_ns, b.digest);
        });
        bool full = false;
        for (const auto& o : candidates) {
            if (!full && kept_bytes + o.size <= *opts.max_bytes) {
                kept_bytes += o.size;
                kept.push_back(o);
                continue;
            }
            full = true;
            removed.insert(o.digest);
            report.bytes_freed += o.size;
        }
    } else {
        for (const auto& o : candidates) {
            removed.insert(o.digest);
            report.bytes_freed += o.size;
        }
    }
    report.objects_removed = static_cast<int>(removed.size());
    report.objects_kept = static_cast<int>(kept.size());
    report.bytes_kept = kept_bytes;

    // Entries go before objects, so an interrupted gc never leaves an entry pointing at a
    // removed object.
    for (const auto& [key, r] : entries) {
        bool drop = !r;  // unreadable, or already missing an object
        if (r && !opts.max_bytes && opts.keep_actions.count(key) == 0) drop = true;
        if (r) {
            for (const auto& [port, d] : r->outputs) drop = drop || removed.count(d) != 0;
        }
        if (!drop) continue;
        ++report.actions_removed;
        if (!opts.dry_run) actions.remove(key);
    }
    if (!opts.dry_run) {
        for (const auto& d : removed) objects.remove(d);
    }
    return report;
}

}  // namespace graft
