#include "core/cache/import.hpp"

#include <fmt/format.h>

namespace graft {

ImportReport import_cache(Disk& disk, const WorkspacePaths& from, const WorkspacePaths& to) {
    ObjectStore source_objects(disk, from), objects(disk, to);
    ActionCache source_actions(disk, from), actions(disk, to);
    ImportReport report;
    for (const Digest& key : source_actions.list()) {
        const auto entry = source_actions.get(key);  // nullopt also when an output is missing
        if (!entry) {
            ++report.actions_incomplete;
            continue;
        }
        if (actions.get(key)) {
            ++report.actions_present;
            continue;
        }
        bool complete = true;
        for (const auto& [port, digest] : entry->outputs) {
            if (objects.has(digest)) continue;
            const fs::path temp = objects.make_temp_dir("import");
            const fs::path copy = temp / "object";
            disk.copy_tree(source_objects.object_path(digest), copy);
            const Digest got = objects.publish(copy);
            disk.remove_all(temp);
            if (got != digest) {
                // Published under its true digest, which is harmless (gc collects it); the entry
                // that expects the named content is not imported.
                report.corrupt.push_back(fmt::format(
                    "object {} (action {}, output '{}'): its content digests to {}",
                    digest.hex(), key.hex(), port, got.hex()));
                complete = false;
                break;
            }
            ++report.objects_imported;
            report.bytes_imported += objects.object_size(digest);
        }
        if (!complete) continue;
        actions.put(key, *entry);
        ++report.actions_imported;
    }
    return report;
}

}  // namespace graft
