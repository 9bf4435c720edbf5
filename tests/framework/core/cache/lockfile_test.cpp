#include "core/cache/lockfile.hpp"

#include "framework/core/cache/fake_disk.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace graft;
using graft::testing::FakeDisk;
using nlohmann::json;

namespace {

LockFile sample() {
    LockFile lf;
    lf.pipeline = "sentiment";
    LockEntry train;
    train.stage_type = "train.lora";
    train.stage_version = "0.3.0";
    train.plugin_digest = hash_bytes("libtrain.so");
    train.key = hash_bytes("key-train");
    train.params = json{{"lr", 0.0001}, {"epochs", 3}, {"layers", {"q", "v"}}, {"scale", 1.0}};
    train.seed = 18446744073709551615ull;
    train.inputs["data"] = LockInput{"clean.data", hash_bytes("clean")};
    train.inputs["base"] = LockInput{"models/base dir", hash_bytes("base")};
    train.outputs["model"] = hash_bytes("model");
    train.metrics["loss"] = 0.125;
    train.metrics["acc"] = 0.9;
    train.workspace = "00c0ffee00c0ffee";
    LockEntry clean;
    clean.stage_type = "text.clean";
    clean.stage_version = "1.0";
    clean.plugin_digest = hash_bytes("libtext.so");
    clean.key = hash_bytes("key-clean");
    clean.inputs["raw"] = LockInput{"data/raw.jsonl", hash_bytes("raw")};
    clean.outputs["data"] = hash_bytes("clean");
    lf.stages["train"] = train;
    lf.stages["clean"] = clean;
    return lf;
}

void check_same(const LockFile& a, const LockFile& b) {
    CHECK(a.pipeline == b.pipeline);
    REQUIRE(a.stages.size() == b.stages.size());
    for (const auto& [id, e] : a.stages) {
        INFO("stage " << id);
        REQUIRE(b.stages.count(id) == 1);
        const LockEntry& f = b.stages.at(id);
        CHECK(e.stage_type == f.stage_type);
        CHECK(e.stage_version == f.stage_version);
        CHECK(e.plugin_digest == f.plugin_digest);
        CHECK(e.key == f.key);
        CHECK(e.params == f.params);
        CHECK(e.seed == f.seed);
        CHECK(e.outputs == f.outputs);
        CHECK(e.metrics == f.metrics);
        CHECK(e.workspace == f.workspace);
        REQUIRE(e.inputs.size() == f.inputs.size());
        for (const auto& [port, in] : e.inputs) {
            CHECK(in.source == f.inputs.at(port).source);
            CHECK(in.digest == f.inputs.at(port).digest);
        }
    }
}

}  // namespace

TEST_CASE("lock files round-trip and are deterministic", "[cache][lockfile]") {
    LockFile lf = sample();
    std::string text = lockfile_to_text(lf);
    LockFile back = lockfile_from_text(text, "graft.lock");
    check_same(lf, back);
    CHECK(lockfile_to_text(back) == text);
    CHECK(back.stages.at("train").params.at("scale").is_number_float());  // 1.0 stays a float
}

TEST_CASE("lock file layout: format first, sorted stages, 2-space indent", "[cache][lockfile]") {
    std::string text = lockfile_to_text(sample());
    CHECK(text.rfind("{\n  \"format\": \"graft.lock/1\",\n  \"pipeline\": \"sentiment\",\n"
                     "  \"stages\": {\n    \"clean\": {\n      \"type\": \"text.clean\",",
                     0) == 0);
    CHECK(text.back() == '\n');
    CHECK(text.find("\"clean\"") < text.find("\"train\""));
    // Keys of a stage in the documented order.
    auto pos = [&text](const char* k) {
        return text.find(std::string("\"") + k + "\"", text.find("\"train\""));
    };
    CHECK(pos("type") < pos("version"));
    CHECK(pos("version") < pos("plugin"));
    CHECK(pos("plugin") < pos("key"));
    CHECK(pos("key") < pos("seed"));
    CHECK(pos("seed") < pos("params"));
    CHECK(pos("params") < pos("inputs"));
    CHECK(pos("inputs") < pos("outputs"));
    CHECK(pos("outputs") < pos("metrics"));
    CHECK(pos("metrics") < pos("workspace"));
    // A stage without a workspace id (locks written before ids) has no such key.
    const auto clean_end = text.find("\"train\"");
    CHECK(text.substr(0, clean_end).find("\"workspace\"") == std::string::npos);
    CHECK(text.find("\"digest\": \"" + hash_bytes("clean").hex() + "\"") != std::string::npos);
}

TEST_CASE("non-finite metrics round-trip through the lock file", "[cache][lockfile]") {
    LockFile lf = sample();
    lf.stages["train"].metrics["loss"] = std::numeric_limits<double>::quiet_NaN();
    lf.stages["train"].metrics["ppl"] = -std::numeric_limits<double>::infinity();
    LockFile back = lockfile_from_text(lockfile_to_text(lf), "graft.lock");
    CHECK(std::isnan(back.stages.at("train").metrics.at("loss")));
    CHECK(back.stages.at("train").metrics.at("ppl") == -std::numeric_limits<double>::infinity());
}

TEST_CASE("malformed lock files are rejected with the file and key named", "[cache][lockfile]") {
    using Catch::Contains;
    CHECK_THROWS_WITH(lockfile_from_text("{", "p/graft.lock"),
                      Contains("p/graft.lock: not a graft lock file"));
    CHECK_THROWS_WITH(lockfile_from_text("[]", "graft.lock"),
                      Contains("graft.lock: not a graft lock file"));
    CHECK_THROWS_WITH(lockfile_from_text(R"({"format":"graft.lock/2"})", "graft.lock"),
                      Contains("not a graft lock file (format \"graft.lock/2\""));
    CHECK_THROWS_WITH(lockfile_from_text(R"({"format":"dvc"})", "graft.lock"),
                      Contains("expected \"graft.lock/1\""));

    json j = json::parse(lockfile_to_text(sample()));
    SECTION("bad digest") {
        j["stages"]["train"]["key"] = "abc";
        CHECK_THROWS_WITH(lockfile_from_text(j.dump(), "graft.lock"),
                          Contains("graft.lock: stages.train.key: expected a 32-hex-digit digest"));
    }
    SECTION("missing key") {
        j["stages"]["clean"].erase("outputs");
        CHECK_THROWS_WITH(lockfile_from_text(j.dump(), "graft.lock"),
                          Contains("stages.clean: missing key \"outputs\""));
    }
    SECTION("negative seed") {
        j["stages"]["clean"]["seed"] = -1;
        CHECK_THROWS_WITH(lockfile_from_text(j.dump(), "graft.lock"),
                          Contains("stages.clean.seed"));
    }
    SECTION("bad metric") {
        j["stages"]["train"]["metrics"]["loss"] = "low";
        CHECK_THROWS_WITH(lockfile_from_text(j.dump(), "graft.lock"),
                          Contains("stages.train.metrics.loss"));
    }
    SECTION("bad input") {
        j["stages"]["train"]["inputs"]["data"] = "clean.data";
        CHECK_THROWS_WITH(lockfile_from_text(j.dump(), "graft.lock"),
                          Contains("stages.train.inputs.data"));
    }
}

TEST_CASE("read_lockfile and write_lockfile go through the disk", "[cache][lockfile]") {
    FakeDisk disk;
    CHECK_FALSE(read_lockfile(disk, "/p/graft.lock").has_value());
    write_lockfile(disk, "/p/graft.lock", sample());
    auto back = read_lockfile(disk, "/p/graft.lock");
    REQUIRE(back.has_value());
    check_same(sample(), *back);
    disk.write("/p/graft.lock", "nonsense");
    CHECK_THROWS_WITH(read_lockfile(disk, "/p/graft.lock"), Catch::Contains("/p/graft.lock"));
}
