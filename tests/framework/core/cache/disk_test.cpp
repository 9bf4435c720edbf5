#include "core/cache/disk.hpp"

#include "framework/core/cache/fake_disk.hpp"
#include "framework/core/cache/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <fstream>
#include <functional>

using namespace graft;
using graft::testing::FakeDisk;
using graft::testing::TempDir;

namespace {

mode_t mode_of(const fs::path& p) {
    struct ::stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

void write_plain(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

}  // namespace

TEST_CASE("RealDisk write_file_atomic creates parents and leaves no temp file", "[cache][disk]") {
    TempDir tmp;
    RealDisk disk;
    fs::path p = tmp / "a/b/c.txt";
    disk.write_file_atomic(p, "hello");
    CHECK(disk.read_file(p) == std::optional<std::string>("hello"));
    disk.write_file_atomic(p, "bye");
    CHECK(disk.read_file(p) == std::optional<std::string>("bye"));
    CHECK(disk.list_dir(tmp / "a/b") == std::vector<std::string>{"c.txt"});
}

TEST_CASE("RealDisk stat and read_file of a missing path do not throw", "[cache][disk]") {
    TempDir tmp;
    RealDisk disk;
    CHECK_FALSE(disk.stat(tmp / "nope").exists);
    CHECK_FALSE(disk.stat(tmp / "nope/deeper").exists);
    CHECK_FALSE(disk.read_file(tmp / "nope").has_value());
    CHECK(disk.list_dir(tmp / "nope").empty());
    CHECK_NOTHROW(disk.remove_all(tmp / "nope"));
}

TEST_CASE("RealDisk stat reports kind, size, exec bit, mtime and inode", "[cache][disk]") {
    TempDir tmp;
    RealDisk disk;
    disk.write_file_atomic(tmp / "f", "12345");
    FileStat f = disk.stat(tmp / "f");
    CHECK(f.exists);
    CHECK_FALSE(f.is_dir);
    CHECK_FALSE(f.executable);
    CHECK(f.size == 5);
    CHECK(f.mtime_ns > 0);
    CHECK(f.inode != 0);
    ::chmod((tmp / "f").c_str(), 0755);
    CHECK(disk.stat(tmp / "f").executable);
    FileStat d = disk.stat(tmp.path());
    CHECK(d.exists);
    CHECK(d.is_dir);
}

TEST_CASE("RealDisk list_dir sorts bytewise", "[cache][disk]") {
    TempDir tmp;
    RealDisk disk;
    for (const char* n : {"b", "B", "a", "_x", "\xc3\xa9"}) disk.write_file_atomic(tmp / n, "");
    disk.make_dirs(tmp / "A");
    CHECK(disk.list_dir(tmp.path()) ==
          std::vector<std::string>{"A", "B", "_x", "a", "b", "\xc3\xa9"});
}

TEST_CASE("RealDisk rename refuses a non-empty target directory", "[cache][disk]") {
    TempDir tmp;
    RealDisk disk;
    disk.write_file_atomic(tmp / "src/x", "1");
    disk.write_file_atomic(tmp / "dst/y", "2");
    CHECK_FALSE(disk.rename(tmp / "src", tmp / "dst"));
    CHECK(disk.read_file(tmp / "src/x") == std::optional<std::string>("1"));
    CHECK(disk.read_file(tmp / "dst/y") == std::optional<std::string>("2"));

    CHECK(disk.rename(tmp / "src", tmp / "moved"));
    CHECK(disk.read_file(tmp / "moved/x") == std::optional<std::string>("1"));
    CHECK_FALSE(disk.stat(tmp / "src").exists);
    CHECK_THROWS(disk.rename(tmp / "missing", tmp / "other"));
}

TEST_CASE("RealDisk make_read_only keeps exec bits and writable dirs, remove_all copes",
          "[cache][disk]") {
    TempDir tmp;
    RealDisk disk;
    disk.write_file_atomic(tmp / "t/data.txt", "d");
    disk.write_file_atomic(tmp / "t/sub/run.sh", "#!/bin/sh\n");
    ::chmod((tmp / "t/sub/run.sh").c_str(), 0755);
    disk.make_read_only(tmp / "t");
    CHECK((mode_of(tmp / "t/data.txt") & 0222) == 0);
    CHECK(mode_of(tmp / "t/sub/run.sh") == 0555);
    CHECK((mode_of(tmp / "t/sub") & S_IWUSR) != 0);
    CHECK((mode_of(tmp / "t") & S_IWUSR) != 0);

    // A user-made read-only directory is handled too.
    ::chmod((tmp / "t/sub").c_str(), 0555);
    disk.remove_all(tmp / "t");
    CHECK_FALSE(disk.stat(tmp / "t").exists);
}

TEST_CASE("RealDisk hash_file streams large files like hash_bytes", "[cache][disk]") {
    TempDir tmp;
    RealDisk disk;
    std::string big(3 * (1 << 20) + 7, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 3);
    disk.write_file_atomic(tmp / "big", big);
    CHECK(disk.hash_file(tmp / "big") == hash_bytes(big));
    disk.write_file_atomic(tmp / "empty", "");
    CHECK(disk.hash_file(tmp / "empty") == hash_bytes(""));
    CHECK_THROWS(disk.hash_file(tmp / "missing"));
}

TEST_CASE("digest_artifact distinguishes what a tree holds", "[cache][disk][digest]") {
    TempDir tmp;
    RealDisk disk;
    write_plain(tmp / "f.txt", "content");
    write_plain(tmp / "d/f.txt", "content");
    Digest file = digest_artifact(disk, tmp / "f.txt");
    Digest dir = digest_artifact(disk, tmp / "d");
    CHECK(file != dir);  // a file vs a directory holding it
    CHECK(file != hash_bytes("content"));

    // Same tree elsewhere: same digest (names above the root do not count).
    write_plain(tmp / "copy/f.txt", "content");
    CHECK(digest_artifact(disk, tmp / "copy") == dir);

    SECTION("content") {
        write_plain(tmp / "copy/f.txt", "Content");
        CHECK(digest_artifact(disk, tmp / "copy") != dir);
    }
    SECTION("rename") {
        fs::rename(tmp / "copy/f.txt", tmp / "copy/g.txt");
        CHECK(digest_artifact(disk, tmp / "copy") != dir);
    }
    SECTION("added file") {
        write_plain(tmp / "copy/g.txt", "");
        CHECK(digest_artifact(disk, tmp / "copy") != dir);
    }
    SECTION("added empty directory") {
        fs::create_directories(tmp / "copy/empty");
        CHECK(digest_artifact(disk, tmp / "copy") != dir);
    }
    SECTION("removed file") {
        fs::remove(tmp / "copy/f.txt");
        CHECK(digest_artifact(disk, tmp / "copy") != dir);
    }
    SECTION("exec bit") {
        ::chmod((tmp / "copy/f.txt").c_str(), 0755);
        CHECK(digest_artifact(disk, tmp / "copy") != dir);
        ::chmod((tmp / "f.txt").c_str(), 0755);
        CHECK(digest_artifact(disk, tmp / "f.txt") != file);
    }
    SECTION("nesting") {
        fs::remove(tmp / "copy/f.txt");
        write_plain(tmp / "copy/sub/f.txt", "content");
        CHECK(digest_artifact(disk, tmp / "copy") != dir);
    }
    SECTION("missing path throws naming it") {
        CHECK_THROWS_WITH(digest_artifact(disk, tmp / "nope"), Catch::Contains("nope"));
    }
}

TEST_CASE("digest_artifact follows symlinks and rejects loops", "[cache][disk][digest]") {
    TempDir tmp;
    RealDisk disk;
    write_plain(tmp / "real/f.txt", "x");
    write_plain(tmp / "linked/target.txt", "x");
    fs::create_directories(tmp / "viaLink");
    fs::create_symlink(tmp / "linked/target.txt", tmp / "viaLink/f.txt");
    CHECK(digest_artifact(disk, tmp / "viaLink") == digest_artifact(disk, tmp / "real"));

    fs::create_directories(tmp / "loop");
    fs::create_directory_symlink(tmp / "loop", tmp / "loop/self");
    CHECK_THROWS_WITH(digest_artifact(disk, tmp / "loop"), Catch::Contains("symlink"));
}

// The fake must be a faithful stand-in: the same operations give the same observations.
TEST_CASE("FakeDisk behaves like RealDisk", "[cache][disk][fake]") {
    TempDir tmp;
    RealDisk real;
    FakeDisk fake;
    fs::path root = tmp / "w";
    std::function<void(Disk&)> script = [&root](Disk& d) {
        d.write_file_atomic(root / "a/x.txt", "xx");
        d.write_file_atomic(root / "a/B.txt", "b");
        d.make_dirs(root / "a/empty");
        d.write_file_atomic(root / "src/one", "1");
        d.write_file_atomic(root / "dst/two", "2");
    };
    script(real);
    script(fake);
    for (Disk* d : {static_cast<Disk*>(&real), static_cast<Disk*>(&fake)}) {
        INFO((d == &real ? "real" : "fake"));
        CHECK(d->list_dir(root / "a") == std::vector<std::string>{"B.txt", "empty", "x.txt"});
        CHECK(d->list_dir(root / "missing").empty());
        CHECK(d->list_dir(root / "a/x.txt").empty());  // a file lists as empty
        CHECK(d->read_file(root / "a/x.txt") == std::optional<std::string>("xx"));
        CHECK_FALSE(d->read_file(root / "a/none").has_value());
        CHECK(d->stat(root / "a/x.txt").size == 2);
        CHECK(d->stat(root / "a").is_dir);
        CHECK_FALSE(d->stat(root / "zz").exists);
        CHECK(d->hash_file(root / "a/x.txt") == hash_bytes("xx"));
        CHECK_FALSE(d->rename(root / "src", root / "dst"));
        CHECK(d->rename(root / "src", root / "a/empty"));  // an empty dir is replaced
        CHECK(d->read_file(root / "a/empty/one") == std::optional<std::string>("1"));
        CHECK_FALSE(d->stat(root / "src").exists);
        d->remove_all(root / "dst");
        CHECK_FALSE(d->stat(root / "dst/two").exists);
        CHECK_NOTHROW(d->remove_all(root / "dst"));
    }
    CHECK(digest_artifact(real, root) == digest_artifact(fake, root));
}

TEST_CASE("FakeDisk write keeps the inode, write_file_atomic replaces it", "[cache][disk][fake]") {
    FakeDisk fake;
    fake.write("/d/f", "1");
    FileStat s1 = fake.stat("/d/f");
    fake.write("/d/f", "22");
    FileStat s2 = fake.stat("/d/f");
    CHECK(s2.inode == s1.inode);
    CHECK(s2.mtime_ns > s1.mtime_ns);
    fake.write_file_atomic("/d/f", "333");
    CHECK(fake.stat("/d/f").inode != s1.inode);
    fake.fail_once("hash_file", "/d/f");
    CHECK_THROWS_WITH(fake.hash_file("/d/f"), Catch::Contains("injected"));
    CHECK_NOTHROW(fake.hash_file("/d/f"));
}
