// The temp-directory pool on a real disk: reused directories come back empty, under a new name,
// and nothing of an earlier stage survives into the next.
#include "core/exec/temp_pool.hpp"

#include "framework/core/cache/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

using namespace graft;
using graft::testing::TempDir;

namespace {

struct Fixture {
    TempDir root{"temp-pool"};
    RealDisk disk;
    WorkspacePaths ws{root / ".graft"};
    ObjectStore objects{disk, ws};

    void touch(const fs::path& p, const std::string& text = "x") {
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
};

}  // namespace

TEST_CASE("a released directory is reused empty, under a fresh name", "[exec][temp-pool]") {
    Fixture f;
    TempDirPool pool(f.disk, f.objects, {"scratch", "out"}, 1);
    const fs::path a = pool.acquire("stage-a");
    CHECK(a.parent_path() == f.ws.tmp());
    CHECK(a.filename().string().ends_with("-stage-a"));
    fs::create_directories(a / "scratch" / "deep" / "er");
    f.touch(a / "scratch" / "deep" / "er" / "f.txt");
    f.touch(a / "scratch" / "top.txt");
    fs::create_directories(a / "out" / "out");
    f.touch(a / "out" / "out" / "partial");  // a failed stage's output
    f.touch(a / "stray.txt");                // not part of the layout: removed
    fs::create_directories(a / "other" / "d");
    pool.release(a);
    CHECK(pool.idle() == 1);

    const fs::path b = pool.acquire("stage-b");
    CHECK(pool.idle() == 0);
    CHECK(b != a);
    CHECK(b.filename().string().ends_with("-stage-b"));
    CHECK_FALSE(fs::exists(a));  // the old path is gone, as if removed
    CHECK(f.disk.list_dir(b) == std::vector<std::string>{"out", "scratch"});
    CHECK(f.disk.list_dir(b / "scratch").empty());
    CHECK(f.disk.list_dir(b / "out").empty());
}

TEST_CASE("the pool keeps at most its capacity and removes the rest", "[exec][temp-pool]") {
    Fixture f;
    {
        TempDirPool pool(f.disk, f.objects, {"scratch"}, 1);
        const fs::path a = pool.acquire("a");
        const fs::path b = pool.acquire("b");
        CHECK(a != b);
        pool.release(a);
        pool.release(b);
        CHECK(pool.idle() == 1);
        CHECK(f.disk.list_dir(f.ws.tmp()).size() == 1);
    }
    // Destroying the pool removes its idle directories.
    CHECK(f.disk.list_dir(f.ws.tmp()).empty());
}

TEST_CASE("a kept name that is a symlink is removed, not followed", "[exec][temp-pool]") {
    Fixture f;
    TempDir outside{"temp-pool-outside"};
    f.touch(outside / "precious.txt", "keep me");
    TempDirPool pool(f.disk, f.objects, {"scratch"}, 1);
    const fs::path a = pool.acquire("a");
    fs::create_directory_symlink(outside.path(), a / "scratch");
    pool.release(a);
    CHECK(fs::exists(outside / "precious.txt"));
    const fs::path b = pool.acquire("b");
    CHECK(f.disk.list_dir(b).empty());
}

namespace {

// A real disk whose remove_all refuses one entry name, as a stage's undeletable leftover would.
class StubbornDisk final : public Disk {
public:
    explicit StubbornDisk(std::string refuse) : refuse_(std::move(refuse)) {}
    FileStat stat(const fs::path& p) override { return real_.stat(p); }
    std::optional<std::string> read_file(const fs::path& p) override { return real_.read_file(p); }
    void write_file_atomic(const fs::path& p, std::string_view c) override { real_.write_file_atomic(p, c); }
    std::vector<std::string> list_dir(const fs::path& p) override { return real_.list_dir(p); }
    void make_dirs(const fs::path& p) override { real_.make_dirs(p); }
    bool rename(const fs::path& a, const fs::path& b) override { return real_.rename(a, b); }
    void remove_all(const fs::path& p) override {
        if (p.filename() == refuse_) throw std::runtime_error("cannot remove " + p.string());
        real_.remove_all(p);
    }
    Digest hash_file(const fs::path& p) override { return real_.hash_file(p); }
    void make_read_only(const fs::path& p) override { real_.make_read_only(p); }

private:
    RealDisk real_;
    std::string refuse_;
};

}  // namespace

TEST_CASE("a directory that cannot be emptied is not reused", "[exec][temp-pool]") {
    Fixture f;
    StubbornDisk disk("locked");
    ObjectStore objects(disk, f.ws);
    TempDirPool pool(disk, objects, {"scratch"}, 1);
    const fs::path a = pool.acquire("a");
    f.touch(a / "scratch" / "locked" / "f");
    pool.release(a);
    // Removed as a whole instead, and the next stage gets a new directory.
    CHECK(pool.idle() == 0);
    CHECK_FALSE(fs::exists(a));
    const fs::path b = pool.acquire("b");
    CHECK(f.disk.list_dir(b).empty());
}

TEST_CASE("stale pooled directories of a dead process are cleaned like any temp", "[exec][temp-pool]") {
    Fixture f;
    fs::path a;
    {
        TempDirPool pool(f.disk, f.objects, {"scratch"}, 1);
        a = pool.acquire("a");
        // The name carries our pid, so clean_stale_temps() keeps it while we live.
        CHECK(a.filename().string().starts_with(std::to_string(::getpid()) + "-"));
        CHECK(f.objects.clean_stale_temps() == 0);
        CHECK(fs::exists(a));
        pool.release(a);
    }
}
