// Private temp directories for stage runs, reused from one stage to the next within a run.
//
// Each stage runs in a directory of its own under tmp/ holding scratch/ and out/. Creating a
// directory allocates an inode and removing one frees it, and on some file systems that is the
// slowest thing a short stage does (ext4 on a virtual disk: about 0.5 ms per mkdir, up to a few ms
// per rmdir), so a run of many short stages would pay for six of them per stage. The pool instead
// empties a finished stage's directory, keeping the subdirectories named in `keep` (emptied), and
// hands it to the next stage under a fresh name (a rename), so every stage still gets a path no
// earlier stage used, and nothing of an earlier stage is left in it.
//
// Crash safety is unchanged: pooled directories are named <pid>-<counter>-<tag> like any temp
// directory, so clean_stale_temps() removes them once this process is gone.
#pragma once

#include "core/cache/disk.hpp"
#include "core/cache/object_store.hpp"

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace graft {

class TempDirPool {
public:
    // Keeps at most `capacity` idle directories (the number of stages running at once).
    TempDirPool(Disk& disk, ObjectStore& objects, std::vector<std::string> keep, std::size_t capacity);
    ~TempDirPool();  // removes the idle directories
    TempDirPool(const TempDirPool&) = delete;
    TempDirPool& operator=(const TempDirPool&) = delete;

    // A private directory under tmp/ named for `tag`: a reused one (holding only the emptied
    // `keep` subdirectories, where they were kept) or a new one.
    fs::path acquire(std::string_view tag);
    // Takes back a directory from acquire(). It is emptied now; if that fails (say the stage left
    // something it cannot remove), it is removed as far as possible and not reused.
    void release(const fs::path& dir);

    std::size_t idle() const;

private:
    // Empties `dir` down to the emptied `keep` subdirectories; throws when it cannot.
    void empty(const fs::path& dir);

    Disk& disk_;
    ObjectStore& objects_;
    std::vector<std::string> keep_;
    std::size_t capacity_;
    mutable std::mutex mu_;
    std::vector<fs::path> idle_;
};

}  // namespace graft
