#include "core/cache/action_cache.hpp"

#include "framework/core/cache/fake_disk.hpp"
#include "framework/core/cache/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <chrono>

using namespace graft;
using graft::testing::FakeDisk;
using graft::testing::TempDir;

namespace {

std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST_CASE("stat cache does not re-hash an unchanged file, but does after a change",
          "[cache][stat]") {
    FakeDisk disk;
    disk.write("/data/raw.txt", "v1");
    const Digest d1 = digest_artifact(disk, "/data/raw.txt");
    {
        StatCache sc(disk, "/ws/stat-cache");
        disk.reset_counters();
        CHECK(sc.digest("/data/raw.txt") == d1);
        CHECK(disk.hash_calls == 1);
        CHECK(sc.digest("/data/raw.txt") == d1);
        CHECK(disk.hash_calls == 1);
        sc.save();
    }
    // A new process (fresh StatCache) loads the saved entries.
    StatCache sc(disk, "/ws/stat-cache");
    disk.reset_counters();
    CHECK(sc.digest("/data/raw.txt") == d1);
    CHECK(disk.hash_calls == 0);

    SECTION("content and mtime change") {
        disk.write("/data/raw.txt", "v2");
        CHECK(sc.digest("/data/raw.txt") == digest_artifact(disk, "/data/raw.txt"));
        CHECK(sc.digest("/data/raw.txt") != d1);
    }
    SECTION("same size, only mtime changes") {
        disk.touch("/data/raw.txt");
        CHECK(sc.digest("/data/raw.txt") == d1);
        CHECK(disk.hash_calls == 1);
    }
    SECTION("replaced by a new inode with the same size and mtime") {
        std::int64_t mtime = disk.stat("/data/raw.txt").mtime_ns;
        disk.write_file_atomic("/data/raw.txt", "V1");
        disk.set_mtime("/data/raw.txt", mtime);
        CHECK(sc.digest("/data/raw.txt") == digest_artifact(disk, "/data/raw.txt"));
        CHECK(disk.hash_calls >= 1);
    }
}

TEST_CASE("stat cache save is a no-op when nothing changed", "[cache][stat]") {
    FakeDisk disk;
    disk.write("/in/a", "a");
    {
        StatCache sc(disk, "/ws/stat-cache");
        sc.digest("/in/a");
        sc.save();
    }
    disk.reset_counters();
    StatCache sc(disk, "/ws/stat-cache");
    sc.digest("/in/a");
    sc.save();
    CHECK(disk.write_calls == 0);
}

TEST_CASE("stat cache directory digests equal digest_artifact and reuse file digests",
          "[cache][stat]") {
    FakeDisk disk;
    disk.write("/in/dir/a.txt", "a");
    disk.write("/in/dir/b with space.txt", "bb");
    disk.write("/in/dir/sub/run.sh", "#!", /*executable=*/true);
    disk.mkdir("/in/dir/empty");
    StatCache sc(disk, "/ws/stat-cache");
    CHECK(sc.digest("/in/dir") == digest_artifact(disk, "/in/dir"));
    sc.save();

    StatCache again(disk, "/ws/stat-cache");
    disk.reset_counters();
    CHECK(again.digest("/in/dir") == digest_artifact(disk, "/in/dir"));
    CHECK(disk.hash_calls == 3);  // only digest_artifact itself hashed
    disk.reset_counters();

    disk.write("/in/dir/sub/run.sh", "#!!", true);
    CHECK(again.digest("/in/dir") == digest_artifact(disk, "/in/dir"));
    CHECK(disk.hash_calls == 1 + 3);  // the changed file, then digest_artifact's three

    disk.set_executable("/in/dir/a.txt", true);  // no mtime change: still seen via stat
    CHECK(again.digest("/in/dir") == digest_artifact(disk, "/in/dir"));
}

TEST_CASE("stat cache equals digest_artifact on a real tree", "[cache][stat]") {
    TempDir tmp;
    RealDisk disk;
    disk.write_file_atomic(tmp / "in/x", "x");
    disk.write_file_atomic(tmp / "in/y/z", "zz");
    ::chmod((tmp / "in/x").c_str(), 0755);
    StatCache sc(disk, tmp / "stat-cache");
    CHECK(sc.digest(tmp / "in") == digest_artifact(disk, tmp / "in"));
    CHECK(sc.digest(tmp / "in/y/z") == digest_artifact(disk, tmp / "in/y/z"));
    CHECK_THROWS(sc.digest(tmp / "missing"));
}

TEST_CASE("stat cache does not remember files modified within the racy window",
          "[cache][stat]") {
    FakeDisk disk;
    disk.write("/in/hot", "1");
    disk.set_mtime("/in/hot", wall_ns());  // just written
    disk.write("/in/cold", "2");           // fake clock: long ago
    {
        StatCache sc(disk, "/ws/stat-cache");
        disk.reset_counters();
        sc.digest("/in/hot");
        sc.digest("/in/hot");
        CHECK(disk.hash_calls == 2);  // not trusted even within this process
        sc.digest("/in/cold");
        sc.save();
    }
    std::string saved = disk.content("/ws/stat-cache");
    CHECK(saved.find("/in/cold") != std::string::npos);
    CHECK(saved.find("/in/hot") == std::string::npos);
}

TEST_CASE("stat cache file format, and corrupt files start empty", "[cache][stat]") {
    FakeDisk disk;
    disk.write("/in/a b", "content");
    {
        StatCache sc(disk, "/ws/stat-cache");
        sc.digest("/in/a b");
        sc.save();
    }
    FileStat st = disk.stat("/in/a b");
    std::string expected = "graft.stat-cache/1\n" + hash_bytes("content").hex() + " 7 " +
                           std::to_string(st.mtime_ns) + " " + std::to_string(st.inode) +
                           " /in/a b\n";
    CHECK(disk.content("/ws/stat-cache") == expected);

    SECTION("wrong header") { disk.write("/ws/stat-cache", "graft.stat-cache/0\n"); }
    SECTION("bad number") {
        disk.write("/ws/stat-cache", "graft.stat-cache/1\n" + hash_bytes("content").hex() +
                                         " x 1 2 /in/a b\n");
    }
    SECTION("truncated line") {
        disk.write("/ws/stat-cache", expected.substr(0, expected.size() - 3));
    }
    SECTION("garbage") { disk.write("/ws/stat-cache", std::string("\0\1\2", 3)); }
    StatCache sc(disk, "/ws/stat-cache");
    disk.reset_counters();
    sc.digest("/in/a b");
    CHECK(disk.hash_calls == 1);
}
