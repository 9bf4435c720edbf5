// The artifact Merkle digest behind digest_artifact(), with the per-file content digest supplied
// by the caller: StatCache passes remembered digests so an unchanged tree is not re-read, and
// the result is, by construction, the same digest digest_artifact() computes.
#pragma once

#include "core/cache/disk.hpp"

#include <functional>

namespace graft {

// Returns the XXH3-128 of a regular file's content; `st` is the file's (already taken) stat.
using FileContentDigest = std::function<Digest(const fs::path& p, const FileStat& st)>;

Digest digest_artifact_with(Disk& disk, const fs::path& p, const FileContentDigest& content);

}  // namespace graft
