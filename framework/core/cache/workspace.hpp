// The workspace (.graft/ beside the pipeline file unless --workspace says otherwise):
//   objects/ab/cdef..   content-addressed artifacts (files or directory trees), read-only
//   actions/ab/cdef..   run-cache entries: cache key -> output digests + metrics
//   runs/<run-id>/      run records (run.json, logs/)
//   tmp/                in-flight stage outputs, never read by anyone but their writer
//   stat-cache          (path, size, mtime, inode) -> digest, to skip re-hashing unchanged inputs
//   lock                the workspace lock (flock), held by a running `graft run`
//   id                  a random name for this workspace, made on first use; graft.lock records
//                       it per stage, so a fresh workspace can say "never run here" rather than
//                       "removed by gc"
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace graft {

class Disk;

struct WorkspacePaths {
    std::filesystem::path root;
    std::filesystem::path objects() const { return root / "objects"; }
    std::filesystem::path actions() const { return root / "actions"; }
    std::filesystem::path runs() const { return root / "runs"; }
    std::filesystem::path tmp() const { return root / "tmp"; }
    std::filesystem::path stat_cache() const { return root / "stat-cache"; }
    std::filesystem::path lock() const { return root / "lock"; }
    std::filesystem::path id_file() const { return root / "id"; }
};

// This workspace's id (16 hex digits), read from `id`. When missing or malformed, `create` makes
// one from std::random_device and writes it atomically (call that under the workspace lock);
// otherwise (a dry run, which writes nothing) the result is empty.
std::string workspace_id(Disk& disk, const WorkspacePaths& ws, bool create);

// An exclusive advisory lock (flock) on the workspace. The kernel drops it when the holder dies,
// so a lock left by a killed process is never stale; the file records the holder's pid and
// command for the message shown to a second `graft run`.
class WorkspaceLock {
public:
    enum class Mode { Fail, Wait };
    // Throws std::runtime_error naming the holder when Mode::Fail and the lock is held.
    WorkspaceLock(const std::filesystem::path& lock_file, Mode mode, const std::string& what);
    ~WorkspaceLock();
    WorkspaceLock(const WorkspaceLock&) = delete;
    WorkspaceLock& operator=(const WorkspaceLock&) = delete;

    // Who holds it now ("pid 123: graft run pipeline.toml"), or nullopt if free.
    static std::optional<std::string> holder(const std::filesystem::path& lock_file);

private:
    int fd_ = -1;
};

}  // namespace graft
