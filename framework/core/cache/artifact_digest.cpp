#include "core/cache/artifact_digest.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace graft {

namespace {

// Encoding (every value framed by Hasher::field, so no two trees share a byte stream):
//   file: field("kind","file") field("exec",0|1) field("content",<content digest>)
//   dir:  field("kind","dir") field("entries",n) then per entry, sorted bytewise by name:
//         field("name",name) field("type","file"|"dir") field("digest",<child artifact digest>)
// A file therefore never digests like a directory holding it, and renaming, adding or removing
// an entry, or flipping an exec bit, changes every digest up to the root.
Digest file_digest(bool executable, const Digest& content) {
    Hasher h;
    h.field("kind", "file").field("exec", std::uint64_t{executable ? 1u : 0u});
    h.field("content", content);
    return h.finish();
}

struct Walker {
    Disk& disk;
    const FileContentDigest& content;
    // Inodes of the directories on the current path: a symlink back to an ancestor would
    // otherwise recurse forever (symlinks are followed, as documented).
    std::vector<std::uint64_t> ancestors;

    Digest digest(const fs::path& p, const FileStat& st) {
        if (!st.is_dir) return file_digest(st.executable, content(p, st));
        if (st.inode != 0 &&
            std::find(ancestors.begin(), ancestors.end(), st.inode) != ancestors.end()) {
            throw std::runtime_error("cannot digest " + p.string() +
                                     ": a symlink loops back to a parent directory; "
                                     "replace the link with a copy or remove it");
        }
        ancestors.push_back(st.inode);
        std::vector<std::string> names = disk.list_dir(p);
        std::sort(names.begin(), names.end());  // list_dir sorts already; be independent of it
        Hasher h;
        h.field("kind", "dir").field("entries", std::uint64_t{names.size()});
        for (const auto& name : names) {
            fs::path child = p / name;
            FileStat cst = disk.stat(child);
            if (!cst.exists) {
                // A dangling symlink, or an entry removed while we walk: neither is a usable
                // artifact, and silently skipping it would hide a broken output.
                throw std::runtime_error("cannot digest " + child.string() +
                                         ": it vanished or is a dangling symlink");
            }
            h.field("name", name).field("type", cst.is_dir ? "dir" : "file");
            h.field("digest", digest(child, cst));
        }
        ancestors.pop_back();
        return h.finish();
    }
};

}  // namespace

Digest digest_artifact_with(Disk& disk, const fs::path& p, const FileContentDigest& content) {
    FileStat st = disk.stat(p);
    if (!st.exists) {
        throw std::runtime_error("cannot digest " + p.string() +
                                 ": no such file or directory; check the path");
    }
    Walker w{disk, content, {}};
    return w.digest(p, st);
}

Digest digest_artifact(Disk& disk, const fs::path& p) {
    return digest_artifact_with(
        disk, p, [&disk](const fs::path& f, const FileStat&) { return disk.hash_file(f); });
}

}  // namespace graft
