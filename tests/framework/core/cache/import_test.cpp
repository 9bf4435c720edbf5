// graft cache import: complete run-cache entries and their objects move from one workspace into
// another; what the destination has is kept, incomplete and corrupt source entries are refused,
// the source is left as it was, and importing twice changes nothing.
#include "core/cache/import.hpp"

#include "framework/core/cache/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace graft;
using graft::testing::TempDir;

namespace {

struct Workspace {
    Disk& disk;
    WorkspacePaths ws;
    ObjectStore objects{disk, ws};
    ActionCache actions{disk, ws};

    Workspace(Disk& d, fs::path root) : disk(d), ws{std::move(root)} {}

    Digest publish_file(const std::string& content) {
        fs::path t = objects.make_temp_dir("t");
        disk.write_file_atomic(t / "out", content);
        return objects.publish(t / "out");
    }
    // A directory artifact with a nested file and an executable one (the exec bit is digested).
    Digest publish_tree(const std::string& content) {
        fs::path t = objects.make_temp_dir("t");
        disk.write_file_atomic(t / "model" / "weights.bin", content);
        disk.write_file_atomic(t / "model" / "run.sh", "#!/bin/sh\n");
        fs::permissions(t / "model" / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
        return objects.publish(t / "model");
    }
    Digest action(const std::string& name, std::map<std::string, Digest> outputs) {
        Digest key = hash_bytes(name);
        ActionResult r;
        r.stage_type = "s";
        r.stage_version = "1";
        r.outputs = std::move(outputs);
        r.metrics = {{"accuracy", 0.75}};
        actions.put(key, r);
        return key;
    }
};

}  // namespace

TEST_CASE("cache import brings complete entries and their objects, once", "[cache][import]") {
    TempDir tmp;
    RealDisk disk;
    Workspace src(disk, tmp / "side");
    Workspace dst(disk, tmp / "main");
    const Digest file = src.publish_file("tokens");
    const Digest tree = src.publish_tree("weights");
    const Digest shared = src.publish_file("shared");
    const Digest a = src.action("a", {{"data", file}, {"model", tree}});
    const Digest b = src.action("b", {{"data", shared}});
    const Digest missing = hash_bytes("never published");
    const Digest partial = src.action("partial", {{"data", missing}});
    // The destination already has b (with other metrics: its own entry wins).
    CHECK(dst.publish_file("shared") == shared);
    ActionResult mine;
    mine.stage_type = "s";
    mine.stage_version = "1";
    mine.outputs = {{"data", shared}};
    mine.metrics = {{"accuracy", 0.5}};
    dst.actions.put(b, mine);

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
    // publish_file leaves its "t" one); the source untouched.
    for (const auto& name : disk.list_dir(dst.ws.tmp())) CHECK(name.find("import") == std::string::npos);
    CHECK(src.actions.list().size() == 3);
    CHECK(src.objects.list().size() == 3);

    const auto again = import_cache(disk, src.ws, dst.ws);
    CHECK(again.actions_imported == 0);
    CHECK(again.actions_present == 2);
    CHECK(again.objects_imported == 0);
}

TEST_CASE("cache import refuses an object whose content no longer matches its name", "[cache][import]") {
    TempDir tmp;
    RealDisk disk;
    Workspace src(disk, tmp / "side");
    Workspace dst(disk, tmp / "main");
    const Digest good = src.publish_file("good");
    const Digest bad = src.publish_file("original");
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
