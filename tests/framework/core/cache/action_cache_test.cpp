#include "core/cache/action_cache.hpp"

#include "core/cache/object_store.hpp"
#include "framework/core/cache/fake_disk.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

using namespace graft;
using graft::testing::FakeDisk;

namespace {

struct Fixture {
    FakeDisk disk;
    WorkspacePaths ws{"/ws"};
    ObjectStore objects{disk, ws};
    ActionCache actions{disk, ws};

    Digest publish(const std::string& content) {
        fs::path t = objects.make_temp_dir("t");
        disk.write(t / "out", content);
        return objects.publish(t / "out");
    }

    ActionResult result() {
        ActionResult r;
        r.stage_type = "text.clean";
        r.stage_version = "1.0";
        r.outputs["data"] = publish("clean data");
        r.outputs["report"] = publish("report");
        r.metrics["loss"] = 0.25;
        r.metrics["steps"] = 100;
        r.seconds = 1.5;
        r.created_ns = 1700000000123456789;
        return r;
    }

    fs::path entry_file(const Digest& key) {
        std::string hex = key.hex();
        return ws.actions() / hex.substr(0, 2) / (hex.substr(2) + ".json");
    }
};

void check_same(const ActionResult& a, const ActionResult& b) {
    CHECK(a.stage_type == b.stage_type);
    CHECK(a.stage_version == b.stage_version);
    CHECK(a.outputs == b.outputs);
    CHECK(a.metrics == b.metrics);
    CHECK(a.seconds == b.seconds);
    CHECK(a.created_ns == b.created_ns);
}

}  // namespace

TEST_CASE("action entries round-trip and start with the format key", "[cache][actions]") {
    Fixture f;
    Digest key = hash_bytes("key");
    ActionResult r = f.result();
    CHECK_FALSE(f.actions.get(key).has_value());
    f.actions.put(key, r);
    auto got = f.actions.get(key);
    REQUIRE(got.has_value());
    check_same(*got, r);

    std::string text = f.disk.content(f.entry_file(key));
    CHECK(text.rfind("{\n  \"format\": \"graft.action/1\",", 0) == 0);
    CHECK(f.actions.list() == std::vector<Digest>{key});
    f.actions.remove(key);
    CHECK_FALSE(f.actions.get(key).has_value());
    CHECK(f.actions.list().empty());
}

TEST_CASE("non-finite metrics survive the round trip", "[cache][actions]") {
    Fixture f;
    Digest key = hash_bytes("key");
    ActionResult r = f.result();
    r.metrics["loss"] = std::numeric_limits<double>::quiet_NaN();
    r.metrics["ppl"] = std::numeric_limits<double>::infinity();
    f.actions.put(key, r);
    auto got = f.actions.get(key);
    REQUIRE(got.has_value());
    CHECK(std::isnan(got->metrics.at("loss")));
    CHECK(got->metrics.at("ppl") == std::numeric_limits<double>::infinity());
}

TEST_CASE("a truncated or foreign action entry reads as a miss", "[cache][actions]") {
    Fixture f;
    Digest key = hash_bytes("key");
    f.actions.put(key, f.result());
    std::string text = f.disk.content(f.entry_file(key));

    SECTION("truncated") { f.disk.write(f.entry_file(key), text.substr(0, text.size() / 2)); }
    SECTION("empty") { f.disk.write(f.entry_file(key), ""); }
    SECTION("other format version") {
        auto j = nlohmann::json::parse(text);
        j["format"] = "graft.action/2";
        f.disk.write(f.entry_file(key), j.dump());
    }
    SECTION("bad digest") {
        auto j = nlohmann::json::parse(text);
        j["outputs"]["data"] = "xyz";
        f.disk.write(f.entry_file(key), j.dump());
    }
    SECTION("missing field") {
        auto j = nlohmann::json::parse(text);
        j.erase("created_ns");
        f.disk.write(f.entry_file(key), j.dump());
    }
    SECTION("not an object") { f.disk.write(f.entry_file(key), "[1,2]"); }
    SECTION("unreadable: a directory in its place") {
        f.disk.remove_all(f.entry_file(key));
        f.disk.mkdir(f.entry_file(key));
    }
    CHECK_FALSE(f.actions.get(key).has_value());
}

TEST_CASE("an action entry whose object was deleted reads as a miss", "[cache][actions]") {
    Fixture f;
    Digest key = hash_bytes("key");
    ActionResult r = f.result();
    f.actions.put(key, r);
    REQUIRE(f.actions.get(key).has_value());
    f.objects.remove(r.outputs.at("report"));
    CHECK_FALSE(f.actions.get(key).has_value());
}

TEST_CASE("action list skips leftovers of interrupted writes", "[cache][actions]") {
    Fixture f;
    Digest key = hash_bytes("key");
    f.actions.put(key, f.result());
    fs::path leftover = f.entry_file(key);
    leftover += ".tmp.123.4";
    f.disk.write(leftover, "{");
    f.disk.write(f.ws.actions() / "zz" / "junk.json", "{}");
    CHECK(f.actions.list() == std::vector<Digest>{key});
}
