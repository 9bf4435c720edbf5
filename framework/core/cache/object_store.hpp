// Content-addressed artifact store. A stage writes its outputs into a private temp directory;
// publish() digests each one and renames it into objects/ (atomic; if the object already exists
// the temp copy is dropped). Nothing half-written is ever visible under objects/.
#pragma once

#include "core/cache/disk.hpp"
#include "core/cache/workspace.hpp"

#include <string_view>

namespace graft {

class ObjectStore {
public:
    ObjectStore(Disk& disk, WorkspacePaths ws);

    fs::path object_path(const Digest& d) const;  // objects/ab/cdef...
    bool has(const Digest& d);
    // Moves a finished file or directory into the store, marks it read-only, returns its digest.
    Digest publish(const fs::path& temp_path);
    // A fresh private directory under tmp/, named <pid>-<counter>-<tag>.
    fs::path make_temp_dir(std::string_view tag);
    // Gives one of this process's temp directories the fresh name make_temp_dir(tag) would pick
    // (a rename: no new inode) and returns it. The caller must have emptied it, or kept only what
    // it means to reuse. A stray writer still holding the old path finds it gone, as if removed.
    fs::path rename_temp_dir(const fs::path& dir, std::string_view tag);
    // Removes tmp/ entries whose owning pid is no longer alive (left by a killed run).
    // Returns how many were removed.
    int clean_stale_temps();
    // All object digests present (for gc).
    std::vector<Digest> list();
    // Total bytes of one object (file size or tree size).
    std::uint64_t object_size(const Digest& d);
    void remove(const Digest& d);

private:
    Disk& disk_;
    WorkspacePaths ws_;
};

}  // namespace graft
