// File-system access behind an interface, so that the cache, planner and lock code can be tested
// against an in-memory fake (like ninja's DiskInterface).
#pragma once

#include "core/cache/hash.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graft {

namespace fs = std::filesystem;

struct FileStat {
    bool exists = false;
    bool is_dir = false;
    bool executable = false;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t inode = 0;
};

class Disk {
public:
    virtual ~Disk() = default;
    // Follows symlinks. Never throws for a missing path (exists = false).
    virtual FileStat stat(const fs::path& p) = 0;
    // Whole file, or nullopt if it does not exist. Throws on other I/O errors.
    virtual std::optional<std::string> read_file(const fs::path& p) = 0;
    // Writes to a temporary file beside `p`, then renames it over `p`: readers see the old or the
    // new content, never a partial file. Creates parent directories.
    virtual void write_file_atomic(const fs::path& p, std::string_view content) = 0;
    // Entry names of a directory, sorted bytewise; empty if it does not exist.
    virtual std::vector<std::string> list_dir(const fs::path& p) = 0;
    virtual void make_dirs(const fs::path& p) = 0;
    // Atomic rename. Returns false (and leaves both in place) when `to` already exists as a
    // non-empty directory, i.e. another writer published the same object first.
    virtual bool rename(const fs::path& from, const fs::path& to) = 0;
    // Removes a file or a tree (making read-only entries writable first); missing is fine.
    virtual void remove_all(const fs::path& p) = 0;
    // XXH3-128 of a regular file's content.
    virtual Digest hash_file(const fs::path& p) = 0;
    // Marks a published file or tree read-only (files 0444/0555, directories kept writable).
    virtual void make_read_only(const fs::path& p) = 0;
    // Recreates the file or tree `from` at `to` (which must not exist). RealDisk hard-links each
    // file, copying (mode kept) where a link is impossible, e.g. across file systems; this default,
    // for fakes, copies contents through read_file / write_file_atomic.
    virtual void copy_tree(const fs::path& from, const fs::path& to);
};

class RealDisk final : public Disk {
public:
    FileStat stat(const fs::path& p) override;
    std::optional<std::string> read_file(const fs::path& p) override;
    void write_file_atomic(const fs::path& p, std::string_view content) override;
    std::vector<std::string> list_dir(const fs::path& p) override;
    void make_dirs(const fs::path& p) override;
    bool rename(const fs::path& from, const fs::path& to) override;
    void remove_all(const fs::path& p) override;
    Digest hash_file(const fs::path& p) override;
    void make_read_only(const fs::path& p) override;
    void copy_tree(const fs::path& from, const fs::path& to) override;
};

// Digest of a file or directory tree as an artifact: a file hashes as ("file", exec bit, content
// digest); a directory as the Merkle hash of its sorted entries (name, kind, child digest), so a
// renamed, added or removed file changes it. Symlinks are followed.
Digest digest_artifact(Disk& disk, const fs::path& p);

}  // namespace graft
