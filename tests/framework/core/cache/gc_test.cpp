#include "core/cache/gc.hpp"

#include "framework/core/cache/fake_disk.hpp"
#include "framework/core/cache/temp_dir.hpp"
#include "framework/core/cache/test_workspace.hpp"

#include <catch2/catch.hpp>

using namespace graft;
using graft::testing::FakeDisk;
using graft::testing::TempDir;

using Workspace = graft::testing::TestWorkspace;

TEST_CASE("gc without a budget keeps only referenced objects and actions", "[cache][gc]") {
    TempDir tmp;
    RealDisk disk;
    Workspace w(disk, tmp / ".graft");
    Digest kept = w.publish("kept!");        // 5 bytes
    Digest via_action = w.publish("act");    // 3 bytes, kept through a kept action
    Digest dropped = w.publish("dropped");   // 7 bytes
    Digest keep_key = w.action("keep", {{"o", via_action}});
    Digest drop_key = w.action("drop", {{"o", dropped}});
    Digest unref_key = w.action("unref", {{"o", kept}});  // its object stays, it does not

    GcOptions opts;
    opts.keep_objects = {kept};
    opts.keep_actions = {keep_key};

    SECTION("dry run reports without deleting") {
        opts.dry_run = true;
        GcReport r = collect_garbage(disk, w.objects, w.actions, opts);
        CHECK(r.objects_removed == 1);
        CHECK(r.objects_kept == 2);
        CHECK(r.actions_removed == 2);
        CHECK(r.bytes_freed == 7);
        CHECK(r.bytes_kept == 8);
        CHECK(w.objects.has(dropped));
        CHECK(w.actions.get(drop_key).has_value());
        CHECK(w.actions.list().size() == 3);
    }
    SECTION("real run") {
        GcReport r = collect_garbage(disk, w.objects, w.actions, opts);
        CHECK(r.objects_removed == 1);
        CHECK(r.objects_kept == 2);
        CHECK(r.actions_removed == 2);
        CHECK(r.bytes_freed == 7);
        CHECK(r.bytes_kept == 8);
        CHECK(w.objects.has(kept));
        CHECK(w.objects.has(via_action));
        CHECK_FALSE(w.objects.has(dropped));
        CHECK(w.actions.list() == std::vector<Digest>{keep_key});
        CHECK(w.actions.get(keep_key).has_value());
        CHECK_FALSE(w.actions.get(unref_key).has_value());
        // A second run has nothing left to do.
        GcReport again = collect_garbage(disk, w.objects, w.actions, opts);
        CHECK(again.objects_removed == 0);
        CHECK(again.actions_removed == 0);
    }
}

TEST_CASE("gc with max_bytes keeps the newest unreferenced objects", "[cache][gc]") {
    FakeDisk disk;  // its clock gives every publish a later mtime
    Workspace w(disk, "/ws");
    Digest pinned = w.publish("pinned-10b");  // 10 bytes, referenced
    Digest oldest = w.publish("aaaa");        // 4
    Digest middle = w.publish("bbbbbb");      // 6
    Digest newest = w.publish("cccc");        // 4
    Digest old_key = w.action("old", {{"o", oldest}});
    Digest mid_key = w.action("mid", {{"o", middle}, {"p", newest}});
    Digest new_key = w.action("new", {{"o", newest}});

    GcOptions opts;
    opts.keep_objects = {pinned};
    opts.max_bytes = 20;  // pinned 10 + newest 4 + middle 6 = 20 fits; oldest does not
    GcReport r = collect_garbage(disk, w.objects, w.actions, opts);
    CHECK(r.objects_removed == 1);
    CHECK(r.objects_kept == 3);
    CHECK(r.bytes_freed == 4);
    CHECK(r.bytes_kept == 20);
    CHECK_FALSE(w.objects.has(oldest));
    CHECK(w.objects.has(middle));
    CHECK(r.actions_removed == 1);  // only the entry pointing at the removed object
    CHECK_FALSE(w.actions.get(old_key).has_value());
    CHECK(w.actions.get(mid_key).has_value());
    CHECK(w.actions.get(new_key).has_value());

    SECTION("a tighter budget drops everything older than the first misfit") {
        opts.max_bytes = 16;  // pinned 10 + newest 4 = 14; middle (6) does not fit
        GcReport r2 = collect_garbage(disk, w.objects, w.actions, opts);
        CHECK(r2.objects_removed == 1);
        CHECK(r2.bytes_kept == 14);
        CHECK_FALSE(w.objects.has(middle));
        CHECK(w.objects.has(newest));
        CHECK(w.actions.list() == std::vector<Digest>{new_key});
    }
    SECTION("referenced objects stay even over budget") {
        opts.max_bytes = 1;
        GcReport r2 = collect_garbage(disk, w.objects, w.actions, opts);
        CHECK(w.objects.has(pinned));
        CHECK(r2.objects_kept == 1);
        CHECK(r2.bytes_kept == 10);
        CHECK(w.actions.list().empty());
    }
}

TEST_CASE("gc removes corrupt and dangling action entries", "[cache][gc]") {
    FakeDisk disk;
    Workspace w(disk, "/ws");
    Digest o = w.publish("x");
    Digest good = w.action("good", {{"o", o}});
    Digest dangling = w.action("dangling", {{"o", hash_bytes("never published")}});
    Digest corrupt = w.action("corrupt", {{"o", o}});
    std::string hex = corrupt.hex();
    disk.write(w.ws.actions() / hex.substr(0, 2) / (hex.substr(2) + ".json"), "{\"format\":");

    GcOptions opts;
    opts.keep_objects = {o};
    opts.keep_actions = {good, dangling, corrupt};
    GcReport r = collect_garbage(disk, w.objects, w.actions, opts);
    CHECK(r.actions_removed == 2);
    CHECK(r.objects_removed == 0);
    CHECK(w.actions.list() == std::vector<Digest>{good});
}
