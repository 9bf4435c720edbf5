#include "core/cache/object_store.hpp"

#include "framework/core/cache/fake_disk.hpp"
#include "framework/core/cache/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

using namespace graft;
using graft::testing::FakeDisk;
using graft::testing::TempDir;

namespace {

// A pid that certainly is not running: a child we started and reaped.
pid_t dead_pid() {
    pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

}  // namespace

TEST_CASE("object paths are objects/<2 hex>/<30 hex>", "[cache][objects]") {
    FakeDisk disk;
    ObjectStore store(disk, WorkspacePaths{"/ws"});
    Digest d = hash_bytes("x");
    std::string hex = d.hex();
    CHECK(store.object_path(d) == fs::path("/ws/objects") / hex.substr(0, 2) / hex.substr(2));
}

TEST_CASE("publishing the same content twice yields one object", "[cache][objects]") {
    TempDir tmp;
    RealDisk disk;
    ObjectStore store(disk, WorkspacePaths{tmp / ".graft"});

    fs::path t1 = store.make_temp_dir("stage-a");
    disk.write_file_atomic(t1 / "out/model.bin", "weights");
    Digest d1 = store.publish(t1 / "out");
    CHECK(store.has(d1));
    CHECK(d1 == digest_artifact(disk, store.object_path(d1)));
    CHECK_FALSE(disk.stat(t1 / "out").exists);  // moved, not copied

    fs::path t2 = store.make_temp_dir("stage-b");
    CHECK(t2 != t1);
    disk.write_file_atomic(t2 / "out/model.bin", "weights");
    Digest d2 = store.publish(t2 / "out");
    CHECK(d2 == d1);
    CHECK_FALSE(disk.stat(t2 / "out").exists);  // the duplicate was dropped
    CHECK(store.list() == std::vector<Digest>{d1});

    // Published objects are read-only files inside writable directories.
    struct ::stat st {};
    REQUIRE(::stat((store.object_path(d1) / "model.bin").c_str(), &st) == 0);
    CHECK((st.st_mode & 0222) == 0);
    CHECK(store.object_size(d1) == 7);
}

TEST_CASE("publishing a single file stores a file object", "[cache][objects]") {
    FakeDisk disk;
    ObjectStore store(disk, WorkspacePaths{"/ws"});
    fs::path t = store.make_temp_dir("s");
    disk.write(t / "metrics.json", "{}");
    Digest d = store.publish(t / "metrics.json");
    CHECK(disk.content(store.object_path(d)) == "{}");
    CHECK(disk.is_read_only(store.object_path(d)));
    CHECK(store.object_size(d) == 2);

    // A directory holding the same file is a different object.
    fs::path t2 = store.make_temp_dir("s");
    disk.write(t2 / "dir/metrics.json", "{}");
    Digest dd = store.publish(t2 / "dir");
    CHECK(dd != d);
    std::vector<Digest> all = store.list();
    std::sort(all.begin(), all.end());
    std::vector<Digest> expected{d, dd};
    std::sort(expected.begin(), expected.end());
    CHECK(all == expected);
}

namespace {

// Forwards to a FakeDisk, but another "process" publishes the same tree right before our rename.
class RacingDisk final : public Disk {
public:
    explicit RacingDisk(FakeDisk& d) : d_(d) {}
    FileStat stat(const fs::path& p) override { return d_.stat(p); }
    std::optional<std::string> read_file(const fs::path& p) override { return d_.read_file(p); }
    void write_file_atomic(const fs::path& p, std::string_view c) override {
        d_.write_file_atomic(p, c);
    }
    std::vector<std::string> list_dir(const fs::path& p) override { return d_.list_dir(p); }
    void make_dirs(const fs::path& p) override { d_.make_dirs(p); }
    bool rename(const fs::path& from, const fs::path& to) override {
        for (const auto& name : d_.list_dir(from)) {
            d_.write(to / name, d_.content(from / name));
        }
        return d_.rename(from, to);
    }
    void remove_all(const fs::path& p) override { d_.remove_all(p); }
    Digest hash_file(const fs::path& p) override { return d_.hash_file(p); }
    void make_read_only(const fs::path& p) override { d_.make_read_only(p); }

private:
    FakeDisk& d_;
};

}  // namespace

TEST_CASE("publish treats losing a rename race as success", "[cache][objects]") {
    FakeDisk fake;
    RacingDisk disk(fake);
    ObjectStore store(disk, WorkspacePaths{"/ws"});
    fs::path t = store.make_temp_dir("s");
    fake.write(t / "out/a", "A");
    Digest expected = digest_artifact(fake, t / "out");
    CHECK(store.publish(t / "out") == expected);
    CHECK(store.has(expected));
    CHECK(fake.content(store.object_path(expected) / "a") == "A");
    CHECK_FALSE(fake.exists(t / "out"));  // our copy was dropped
}

TEST_CASE("publish does not replace an existing object", "[cache][objects]") {
    FakeDisk disk;
    ObjectStore store(disk, WorkspacePaths{"/ws"});
    fs::path t = store.make_temp_dir("s");
    disk.write(t / "f", "same");
    Digest d = digest_artifact(disk, t / "f");
    disk.write(store.object_path(d), "same");
    std::uint64_t inode = disk.stat(store.object_path(d)).inode;
    disk.reset_counters();
    CHECK(store.publish(t / "f") == d);
    CHECK(disk.rename_calls == 0);
    CHECK(disk.stat(store.object_path(d)).inode == inode);
    CHECK_FALSE(disk.exists(t / "f"));
}

TEST_CASE("object_size sums a tree and remove deletes the object", "[cache][objects]") {
    FakeDisk disk;
    ObjectStore store(disk, WorkspacePaths{"/ws"});
    fs::path t = store.make_temp_dir("s");
    disk.write(t / "o/a", "123");
    disk.write(t / "o/sub/b", "45678");
    Digest d = store.publish(t / "o");
    CHECK(store.object_size(d) == 8);
    store.remove(d);
    CHECK_FALSE(store.has(d));
    CHECK(store.object_size(d) == 0);
    CHECK(store.list().empty());
}

TEST_CASE("list ignores stray files in objects/", "[cache][objects]") {
    FakeDisk disk;
    ObjectStore store(disk, WorkspacePaths{"/ws"});
    disk.write("/ws/objects/README", "x");
    disk.write("/ws/objects/ab/not-a-digest", "x");
    disk.write("/ws/objects/AB/" + std::string(30, 'C'), "x");  // uppercase is not ours
    CHECK(store.list().empty());
}

TEST_CASE("temp dirs are named <pid>-<counter>-<tag> and unique", "[cache][objects]") {
    FakeDisk disk;
    ObjectStore store(disk, WorkspacePaths{"/ws"});
    fs::path a = store.make_temp_dir("train/lora");
    fs::path b = store.make_temp_dir("train/lora");
    CHECK(a != b);
    CHECK(a.parent_path() == fs::path("/ws/tmp"));
    std::string prefix = std::to_string(::getpid()) + "-";
    CHECK(a.filename().string().rfind(prefix, 0) == 0);
    CHECK(a.filename().string().ends_with("-train_lora"));
    CHECK(disk.is_dir(a));
}

TEST_CASE("clean_stale_temps removes dead owners' temps and keeps live ones", "[cache][objects]") {
    TempDir tmp;
    RealDisk disk;
    WorkspacePaths ws{tmp / ".graft"};
    ObjectStore store(disk, ws);
    fs::path live = store.make_temp_dir("mine");
    disk.write_file_atomic(live / "partial", "x");
    pid_t dead = dead_pid();
    fs::path stale = ws.tmp() / (std::to_string(dead) + "-1-killed");
    disk.write_file_atomic(stale / "half/written", "x");
    disk.make_read_only(stale);
    disk.make_dirs(ws.tmp() / "garbage-name");
    disk.make_dirs(ws.tmp() / "0-1-pidzero");

    CHECK(store.clean_stale_temps() == 3);
    CHECK(disk.stat(live / "partial").exists);
    CHECK(disk.list_dir(ws.tmp()) == std::vector<std::string>{live.filename().string()});
    CHECK(store.clean_stale_temps() == 0);
}
