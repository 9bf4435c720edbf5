// graft cache import: complete run-cache entries and their objects move from one workspace into
// another; what the destination has is kept, incomplete and corrupt source entries are refused,
// the source is left as it was, and importing twice changes nothing.
#include "core/cache/import.hpp"

#include "framework/core/cache/fake_disk.hpp"
#include "framework/core/cache/temp_dir.hpp"
#include "framework/core/cache/test_workspace.hpp"

#include <catch2/catch.hpp>

using namespace graft;
using graft::testing::FakeDisk;
using graft::testing::TempDir;

using Workspace = graft::testing::TestWorkspace;

namespace {
// A side workspace to import from and a main one to import into, on the real disk.
struct TwoWorkspaces {
    TempDir tmp;
    RealDisk disk;
    Workspace src{disk, tmp / "side"};
    Workspace dst{disk, tmp / "main"};
};
}  // namespace

TEST_CASE_METHOD(TwoWorkspaces, "cache import brings complete entries and their objects, once",
                 "[cache][import]") {
    const Digest file = src.publish("tokens");
    const Digest tree = src.publish_tree("weights", /*executable=*/true);
    const Digest shared = src.publish("shared");
    const Digest a = src.action("a", {{"data", file}, {"model", tree}}, {{"accuracy", 0.75}});
    const Digest b = src.action("b", {{"data", shared}}, {{"accuracy", 0.75}});
    const Digest missing = hash_bytes("never published");
    const Digest partial = src.action("partial", {{"data", missing}});
    // The destination already has b (with other metrics: its own entry wins).
    CHECK(dst.publish("shared") == shared);
    CHECK(dst.action("b", {{"data", shared}}, {{"accuracy", 0.5}}) == b);

    const auto report = import_cache(disk, src.ws, dst.ws);
    CHECK(report.actions_imported == 1);
    CHECK(report.actions_present == 1);
    CHECK(report.actions_incomplete == 1);
    CHECK(report.objects_imported == 2);
    CHECK(report.corrupt.empty());
    const auto got = dst.actions.get(a);
    REQUIRE(got);
    CHECK(got->outputs.at("model") == tree);
    CHECK(got->metrics.at("accuracy") == 0.75);
    CHECK(digest_artifact(disk, dst.objects.object_path(tree)) == tree);  // exec bit and all
    CHECK(dst.actions.get(b)->metrics.at("accuracy") == 0.5);
    CHECK_FALSE(dst.actions.get(partial));
    // Hard links: the same inode, no second copy of the bytes.
    CHECK(disk.stat(dst.objects.object_path(file)).inode == disk.stat(src.objects.object_path(file)).inode);
    // None of the import's temp directories is left in the destination's tmp/ (the helper's own
    // publish leaves its "t" one); the source untouched.
    for (const auto& name : disk.list_dir(dst.ws.tmp())) CHECK(name.find("import") == std::string::npos);
    CHECK(src.actions.list().size() == 3);
    CHECK(src.objects.list().size() == 3);

    const auto again = import_cache(disk, src.ws, dst.ws);
    CHECK(again.actions_imported == 0);
    CHECK(again.actions_present == 2);
    CHECK(again.objects_imported == 0);
}

TEST_CASE_METHOD(TwoWorkspaces,
                 "cache import refuses an object whose content no longer matches its name",
                 "[cache][import]") {
    const Digest good = src.publish("good");
    const Digest bad = src.publish("original");
    const Digest ok_key = src.action("ok", {{"data", good}});
    const Digest bad_key = src.action("bad", {{"data", bad}});
    // Someone edited a read-only cache object in place.
    const fs::path victim = src.objects.object_path(bad);
    fs::permissions(victim, fs::perms::owner_write, fs::perm_options::add);
    disk.write_file_atomic(victim, "tampered");

    const auto report = import_cache(disk, src.ws, dst.ws);
    CHECK(report.actions_imported == 1);
    REQUIRE(report.corrupt.size() == 1);
    CHECK_THAT(report.corrupt[0], Catch::Contains(bad.hex()) && Catch::Contains(bad_key.hex()));
    CHECK(dst.actions.get(ok_key));
    CHECK_FALSE(dst.actions.get(bad_key));
    CHECK_FALSE(dst.objects.has(bad));
}

TEST_CASE("cache import works through any Disk: the default copy_tree", "[cache][import]") {
    FakeDisk disk;  // no hard links: Disk::copy_tree copies through read_file / write_file_atomic
    Workspace src(disk, "/side");
    Workspace dst(disk, "/main");
    const Digest file = src.publish("tokens");
    const Digest tree = src.publish_tree("weights");
    const Digest key = src.action("a", {{"data", file}, {"model", tree}});

    const auto report = import_cache(disk, src.ws, dst.ws);
    CHECK(report.actions_imported == 1);
    CHECK(report.objects_imported == 2);
    CHECK(report.corrupt.empty());
    REQUIRE(dst.actions.get(key));
    CHECK(digest_artifact(disk, dst.objects.object_path(tree)) == tree);
    CHECK(disk.read_file(dst.objects.object_path(tree) / "weights.bin") == std::optional<std::string>("weights"));
}
