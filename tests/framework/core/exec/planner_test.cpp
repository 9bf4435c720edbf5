// The planner against an in-memory disk: what runs, what is restored, and the reasons it gives.
#include "core/exec/planner.hpp"

#include "core/cache/cache_key.hpp"
#include "framework/core/cache/fake_disk.hpp"
#include "framework/core/spec/fake_catalog.hpp"

#include <catch2/catch.hpp>

using namespace graft;

namespace {

struct Fixture {
    testing::FakeDisk disk;
    WorkspacePaths ws{"/ws/.graft"};
    graft::test::FakeCatalog catalog;
    PipelineSpec spec;
    ObjectStore objects{disk, ws};
    ActionCache actions{disk, ws};
    StatCache stats{disk, ws.stat_cache()};
    Digest plugin = hash_bytes("plugin-v1");
    std::optional<LockFile> lock;
    std::string workspace = "0123456789abcdef";

    Fixture() {
        disk.write("/ws/data/raw.jsonl", "{\"text\":\"a\"}\n");
        spec.file = "/ws/pipeline.toml";
        spec.dir = "/ws";
        spec.name = "demo";
        spec.seed = 17;
        StageSpec clean;
        clean.id = "clean";
        clean.uses = "text.clean";
        clean.descriptor = catalog.find("text.clean");
        InputBinding in;
        in.port = "data";
        in.raw = "data/raw.jsonl";
        in.kind = InputBinding::Kind::Path;
        in.path = "/ws/data/raw.jsonl";
        clean.inputs.push_back(in);
        clean.resolved_params = {{"dedupe", false}, {"min_chars", 0}, {"mode", "fast"}};
        StageSpec split;
        split.id = "split";
        split.uses = "split";
        split.descriptor = catalog.find("split");
        InputBinding up;
        up.port = "data";
        up.raw = "clean.data";
        up.kind = InputBinding::Kind::StageOutput;
        up.stage = "clean";
        up.output = "data";
        split.inputs.push_back(up);
        split.resolved_params = {{"ratios", {0.8, 0.1, 0.1}}, {"stratify", ""}, {"method", "random"}};
        spec.stages = {clean, split};
    }

    Planner planner() {
        return Planner({spec, [this](const std::string&) { return plugin; }, stats, actions,
                        objects, lock ? &*lock : nullptr, workspace});
    }
    StageSpec& stage(const char* id) { return *spec.find(id); }

    // Pretends the stage ran: its output object exists and the run-cache knows the key.
    Digest record_run(const Decision& d, const std::string& content) {
        const Digest out = hash_bytes(content);
        disk.write(objects.object_path(out), content);
        ActionResult r;
        r.stage_type = "text.clean";
        r.stage_version = "1";
        r.outputs["data"] = out;
        actions.put(*d.key, r);
        return out;
    }
    void record_lock(const char* id, const Decision& d, const Digest& out) {
        if (!lock) lock.emplace();
        lock->stages[id] = planner().lock_entry(stage(id), d, {{"data", out}}, {});
    }
};

const UpstreamLookup kNoUpstream = [](const std::string&, const std::string&) {
    return std::optional<Digest>{};
};

bool has_reason(const Decision& d, const std::string& text) {
    for (const auto& r : d.reasons)
        if (r.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("a stage never run before runs, and says so", "[planner]") {
    Fixture f;
    Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, false);
    CHECK(d.action == Decision::Action::Run);
    REQUIRE(d.key);
    CHECK(has_reason(d, "no previous run"));
    CHECK(d.input_paths.at("data") == "/ws/data/raw.jsonl");
}

TEST_CASE("a recorded run is up to date, and a known key restores without a lock", "[planner]") {
    Fixture f;
    Decision first = f.planner().decide(f.stage("clean"), kNoUpstream, false);
    const Digest out = f.record_run(first, "cleaned");
    Decision again = f.planner().decide(f.stage("clean"), kNoUpstream, false);
    CHECK(again.action == Decision::Action::Restore);
    CHECK(has_reason(again, "restored from the run-cache"));
    REQUIRE(again.cached);
    CHECK(again.cached->outputs.at("data") == out);

    f.record_lock("clean", first, out);
    Decision third = f.planner().decide(f.stage("clean"), kNoUpstream, false);
    CHECK(third.action == Decision::Action::Restore);
    CHECK(third.reasons == std::vector<std::string>{"up to date"});
}

TEST_CASE("reasons name the changed param, input, plugin and seed", "[planner]") {
    Fixture f;
    Decision first = f.planner().decide(f.stage("clean"), kNoUpstream, false);
    f.record_lock("clean", first, f.record_run(first, "cleaned"));

    SECTION("param") {
        f.stage("clean").resolved_params["dedupe"] = true;
        Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        CHECK(d.action == Decision::Action::Run);
        CHECK(has_reason(d, "param dedupe false -> true"));
        CHECK(d.key != first.key);
    }
    SECTION("switching the param back restores from the run-cache") {
        f.stage("clean").resolved_params["dedupe"] = true;
        Decision changed = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        f.record_lock("clean", changed, f.record_run(changed, "cleaned differently"));
        f.stage("clean").resolved_params["dedupe"] = false;
        Decision back = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        CHECK(back.action == Decision::Action::Restore);
        CHECK(back.key == first.key);
        CHECK(has_reason(back, "param dedupe true -> false"));
    }
    SECTION("input content") {
        f.disk.write("/ws/data/raw.jsonl", "{\"text\":\"b\"}\n");
        StatCache fresh(f.disk, f.ws.stat_cache());
        Planner p({f.spec, [&](const std::string&) { return f.plugin; }, fresh, f.actions,
                   f.objects, &*f.lock, f.workspace});
        Decision d = p.decide(f.stage("clean"), kNoUpstream, false);
        CHECK(d.action == Decision::Action::Run);
        CHECK(has_reason(d, "input data/raw.jsonl changed"));
    }
    SECTION("plugin rebuilt") {
        f.plugin = hash_bytes("plugin-v2");
        Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        CHECK(d.action == Decision::Action::Run);
        CHECK(has_reason(d, "plugin text.clean rebuilt"));
    }
    SECTION("seed") {
        f.spec.seed = 18;
        Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        CHECK(d.action == Decision::Action::Run);
        CHECK(has_reason(d, "seed changed"));
    }
    SECTION("the stage's own seed") {
        f.stage("clean").seed = 18;
        Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        CHECK(d.action == Decision::Action::Run);
        CHECK(has_reason(d, "seed changed"));
        CHECK(d.key != first.key);
    }
    SECTION("forced") {
        Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, true);
        CHECK(d.action == Decision::Action::Run);
        CHECK(d.reasons.front() == "forced (--force)");
    }
    SECTION("cache entry removed") {
        f.actions.remove(*first.key);
        Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        CHECK(d.action == Decision::Action::Run);
        CHECK(has_reason(d, "cache entry missing (removed by `graft gc`?)"));
    }
    SECTION("another workspace ran it") {
        CHECK(f.lock->stages.at("clean").workspace == "0123456789abcdef");
        Fixture other;  // same pipeline, an empty workspace, the first one's lock
        other.workspace = "fedcba9876543210";
        other.lock = f.lock;
        Decision d = other.planner().decide(other.stage("clean"), kNoUpstream, false);
        CHECK(d.action == Decision::Action::Run);
        CHECK(d.key == first.key);
        CHECK(d.reasons == std::vector<std::string>{
                               "never run in this workspace (graft.lock's entry is from workspace "
                               "0123456789abcdef; `graft cache import` copies results across)"});
    }
    SECTION("a lock from before workspace ids keeps the gc reason") {
        f.lock->stages.at("clean").workspace.clear();
        f.actions.remove(*first.key);
        Decision d = f.planner().decide(f.stage("clean"), kNoUpstream, false);
        CHECK(has_reason(d, "cache entry missing (removed by `graft gc`?)"));
    }
}

TEST_CASE("a stage seed re-seeds that stage only, naming the pipeline seed changes nothing", "[planner]") {
    Fixture f;
    const Digest clean_key = *f.planner().decide(f.stage("clean"), kNoUpstream, false).key;
    const Digest up = hash_bytes("cleaned");
    const UpstreamLookup lookup = [&](const std::string&, const std::string&) {
        return std::optional<Digest>(up);
    };
    const Decision split_default = f.planner().decide(f.stage("split"), lookup, false);
    f.stage("split").seed = 17;  // the pipeline's seed, written on the stage
    CHECK(f.planner().decide(f.stage("split"), lookup, false).seed == split_default.seed);
    f.stage("split").seed = 18;
    const Decision split_18 = f.planner().decide(f.stage("split"), lookup, false);
    CHECK(split_18.seed != split_default.seed);
    CHECK(split_18.key != split_default.key);
    CHECK(*f.planner().decide(f.stage("clean"), kNoUpstream, false).key == clean_key);
}

TEST_CASE("an unchanged input is hashed once per stat cache", "[planner]") {
    Fixture f;
    f.disk.reset_counters();
    auto p = f.planner();
    p.decide(f.stage("clean"), kNoUpstream, false);
    p.decide(f.stage("clean"), kNoUpstream, false);
    CHECK(f.disk.hash_calls == 1);
}

TEST_CASE("a stage waits for an upstream that has yet to run", "[planner]") {
    Fixture f;
    Decision d = f.planner().decide(f.stage("split"), kNoUpstream, false);
    CHECK(d.action == Decision::Action::Pending);
    CHECK_FALSE(d.key);
    CHECK(has_reason(d, "upstream 'clean' runs first"));
}

TEST_CASE("downstream keys see only upstream output digests (early cutoff)", "[planner]") {
    Fixture f;
    const Digest out = hash_bytes("same output");
    UpstreamLookup up = [&](const std::string& s, const std::string& port) -> std::optional<Digest> {
        if (s == "clean" && port == "data") return out;
        return std::nullopt;
    };
    Decision a = f.planner().decide(f.stage("split"), up, false);
    f.stage("clean").resolved_params["mode"] = "thorough";  // upstream changed, same output
    Decision b = f.planner().decide(f.stage("split"), up, false);
    REQUIRE(a.key);
    CHECK(a.key == b.key);
    CHECK(a.input_paths.at("data") == f.objects.object_path(out));
}
