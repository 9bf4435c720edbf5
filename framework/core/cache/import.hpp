// Importing another workspace's cache (`graft cache import`): every complete run-cache entry of
// the source whose key the destination lacks is copied over with the objects it names, so that
// runs made in a side workspace (e.g. a second experiment running beside the first, each
// workspace holding one `graft run` at a time) restore in the main one without running.
//
// Objects are hard-linked where possible and always re-digested on the way in: a source object
// whose content no longer matches its name is refused, with its action, and reported. Objects go
// in before the entry that names them, each through the destination's tmp/ and an atomic rename,
// so an interrupted import leaves only complete objects and entries. Entries the destination
// already has are kept as they are. The source is only read.
#pragma once

#include "core/cache/action_cache.hpp"
#include "core/cache/object_store.hpp"

#include <string>
#include <vector>

namespace graft {

struct ImportReport {
    int actions_imported = 0;
    int actions_present = 0;     // the destination already had the key
    int actions_incomplete = 0;  // unreadable, other format, or an output missing in the source
    int objects_imported = 0;
    std::uint64_t bytes_imported = 0;
    std::vector<std::string> corrupt;  // "object <digest> (action <key>): ..." per refused object
};

ImportReport import_cache(Disk& disk, const WorkspacePaths& from, const WorkspacePaths& to);

}  // namespace graft
