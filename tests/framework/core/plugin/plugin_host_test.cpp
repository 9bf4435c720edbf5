// PluginHost against the fixture plugins in tests/framework/core/plugin/fixtures: one good
// library, and one library per way a plugin is refused. The fixtures live in their own directory
// (GRAFT_FIXTURE_PLUGIN_DIR), never in the real plugin directory.
#include "core/plugin/plugin_host.hpp"
#include "core/plugin/stage_context.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace graft;
using graft::testing::read_text;
using graft::testing::TempDir;
using graft::testing::write_text;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtureDir = GRAFT_FIXTURE_PLUGIN_DIR;

fs::path fixture(const std::string& name) { return kFixtureDir / ("libfixture_" + name + ".so"); }

// The problems recorded for one library file.
std::vector<std::string> reasons_for(const PluginHost& host, const fs::path& file) {
    std::vector<std::string> out;
    for (const auto& p : host.problems())
        if (p.file == file) out.push_back(p.reason);
    return out;
}

struct RunResult {
    int status = -1;
    std::string error;
    std::map<std::string, double> metrics;
    std::vector<std::string> logs;
};

// Runs `stage` the way the executor does: through StageContext, params with schema defaults,
// each output port written to `dir`/<port>.
RunResult run_stage(abi::Stage& stage, const StageDescriptor& d, const fs::path& dir,
                    const json& params = json::object(),
                    const std::map<std::string, fs::path>& inputs = {}) {
    StageRunSpec spec;
    spec.stage_id = "test";
    spec.params_json = apply_param_defaults(d, params).dump();
    spec.inputs = inputs;
    spec.scratch_dir = dir / "scratch";
    spec.pipeline_dir = dir;
    fs::create_directories(spec.scratch_dir);
    for (const auto& port : d.outputs) spec.outputs[port.name] = dir / port.name;
    RunResult r;
    StageContext ctx(
        spec, [&](abi::LogLevel, const std::string& msg) { r.logs.push_back(msg); },
        [](std::uint64_t, std::uint64_t, const std::string&) {});
    r.status = stage.run(ctx);
    r.error = ctx.error();
    r.metrics = ctx.metrics();
    return r;
}

RunResult run_type(const PluginHost& host, const std::string& type, const fs::path& dir,
                   const json& params = json::object()) {
    const StageDescriptor* d = host.find(type);
    REQUIRE(d != nullptr);
    StageHandle stage = host.create(type);
    REQUIRE(stage);
    return run_stage(*stage, *d, dir, params);
}

// Whether the dynamic loader currently has `file` mapped (RTLD_NOLOAD never loads it).
bool is_loaded(const fs::path& file) {
    void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!handle) return false;
    ::dlclose(handle);  // drop the reference RTLD_NOLOAD just took
    return true;
}

// Sets or unsets an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("a good plugin library provides every stage type it describes", "[plugin][load]") {
    PluginHost host;
    REQUIRE(host.load(fixture("good")));
    CHECK(host.problems().empty());
    CHECK(host.types() ==
          std::vector<std::string>{"fixture.ok", "fixture.throws", "fixture.throws_foreign"});
    const StageDescriptor* ok = host.find("fixture.ok");
    REQUIRE(ok);
    CHECK(ok->version == "3");
    REQUIRE(ok->find_param("repeat"));
    CHECK(ok->find_param("repeat")->max == 100.0);
    REQUIRE(ok->find_input("data"));
    CHECK(ok->find_input("data")->optional);
    CHECK(host.library_path("fixture.ok") == fixture("good"));
    CHECK(host.find("fixture.missing") == nullptr);
    CHECK(host.library_path("fixture.missing").empty());
}

TEST_CASE("a stage created by the host runs and writes its output", "[plugin][run]") {
    TempDir tmp;
    PluginHost host;
    REQUIRE(host.load(fixture("good")));
    write_text(tmp / "in.txt", "from the input\n");
    StageHandle stage = host.create("fixture.ok");
    const RunResult r = run_stage(*stage, *host.find("fixture.ok"), tmp.path(),
                                  {{"greeting", "hi"}, {"repeat", 3}}, {{"data", tmp / "in.txt"}});
    CHECK(r.status == 0);
    CHECK(r.error.empty());
    CHECK(read_text(tmp / "out") == "hi\nhi\nhi\nfrom the input\n");
    CHECK(r.metrics == std::map<std::string, double>{{"lines", 3.0}});
    CHECK(r.logs == std::vector<std::string>{"stage test wrote 3 lines"});
}

TEST_CASE("a plugin built for another ABI version is refused with both versions and a hint",
          "[plugin][refuse]") {
    PluginHost host;
    // The fixture's entry aborts: reaching it would mean the version was not checked first.
    CHECK_FALSE(host.load(fixture("wrong_abi")));
    CHECK(host.types().empty());
    REQUIRE(host.problems().size() == 1);
    CHECK(host.problems()[0].file == fixture("wrong_abi"));
    const std::string& reason = host.problems()[0].reason;
    CHECK_THAT(reason, Catch::Contains(fmt::format("ABI version {}", GRAFT_ABI_VERSION + 1)));
    CHECK_THAT(reason, Catch::Contains(fmt::format("expects {}", GRAFT_ABI_VERSION)));
    CHECK_THAT(reason, Catch::Contains("rebuild the plugin"));
}

TEST_CASE("a shared library without the ABI symbols is refused as not a graft plugin",
          "[plugin][refuse]") {
    PluginHost host;
    CHECK_FALSE(host.load(fixture("no_abi")));
    CHECK(host.types().empty());
    const auto reasons = reasons_for(host, fixture("no_abi"));
    REQUIRE(reasons.size() == 1);
    CHECK_THAT(reasons[0], Catch::Contains("not a graft plugin"));
    CHECK_THAT(reasons[0], Catch::Contains("graft_abi_version"));
    CHECK_THAT(reasons[0], Catch::Contains("GRAFT_EXPORT_STAGES"));
}

TEST_CASE("a file the loader cannot open is refused with the loader's reason",
          "[plugin][refuse]") {
    TempDir tmp;
    write_text(tmp / "libjunk.so", "this is not an ELF file\n");
    PluginHost host;
    CHECK_FALSE(host.load(tmp / "libjunk.so"));
    CHECK_FALSE(host.load(tmp / "libabsent.so"));
    REQUIRE(host.problems().size() == 2);
    CHECK(host.problems()[0].file == tmp / "libjunk.so");
    CHECK_THAT(host.problems()[0].reason, Catch::StartsWith("cannot load: "));
    CHECK(host.problems()[1].file == tmp / "libabsent.so");
    CHECK_THAT(host.problems()[1].reason, Catch::StartsWith("cannot load: "));
}

TEST_CASE("malformed descriptors are refused with what is wrong", "[plugin][refuse]") {
    PluginHost host;
    CHECK_FALSE(host.load(fixture("bad_json")));
    CHECK_FALSE(host.load(fixture("bad_kind")));
    CHECK_FALSE(host.load(fixture("no_types")));
    CHECK(host.types().empty());

    const auto json_reasons = reasons_for(host, fixture("bad_json"));
    REQUIRE(json_reasons.size() == 1);
    CHECK_THAT(json_reasons[0], Catch::Contains("malformed stage descriptor"));

    const auto kind_reasons = reasons_for(host, fixture("bad_kind"));
    REQUIRE(kind_reasons.size() == 1);
    CHECK_THAT(kind_reasons[0], Catch::Contains("malformed stage descriptor"));
    CHECK_THAT(kind_reasons[0], Catch::Contains("'kind' must be \"file\" or \"dir\""));
    CHECK_THAT(kind_reasons[0], Catch::Contains("\"socket\""));

    const auto empty_reasons = reasons_for(host, fixture("no_types"));
    REQUIRE(empty_reasons.size() == 1);
    CHECK_THAT(empty_reasons[0], Catch::Contains("no stage types"));
}

TEST_CASE("a plugin whose entry or descriptors are null is refused", "[plugin][refuse]") {
    PluginHost host;
    CHECK_FALSE(host.load(fixture("null_entry")));
    CHECK_FALSE(host.load(fixture("null_descriptors")));
    CHECK(host.types().empty());
    const auto entry = reasons_for(host, fixture("null_entry"));
    REQUIRE(entry.size() == 1);
    CHECK_THAT(entry[0], Catch::Contains("plugin entry returned null"));
    const auto descriptors = reasons_for(host, fixture("null_descriptors"));
    REQUIRE(descriptors.size() == 1);
    CHECK_THAT(descriptors[0], Catch::Contains("descriptors_json returned null"));
}

TEST_CASE("create() refusing a stage throws with the library, the type and the reason",
          "[plugin][create]") {
    PluginHost host;
    REQUIRE(host.load(fixture("null_create")));  // its descriptors are fine
    REQUIRE(host.find("fixture.null"));
    CHECK_THROWS_WITH(host.create("fixture.null"),
                      Catch::Contains(fixture("null_create").string()) &&
                          Catch::Contains("'fixture.null'") &&
                          Catch::Contains("needs a GPU and none is present"));
    CHECK_THROWS_WITH(host.create("fixture.nope"), Catch::Contains("unknown stage type"));
}

TEST_CASE("discover loads the good libraries of a directory and reports each bad one",
          "[plugin][discover]") {
    TempDir tmp;
    PluginHost host;
    host.discover({tmp / "does-not-exist", kFixtureDir});
    CHECK(host.types() == std::vector<std::string>{"fixture.dup_only", "fixture.null",
                                                   "fixture.ok", "fixture.raw", "fixture.throws",
                                                   "fixture.throws_foreign"});
    // libfixture_good.so sorts before libfixture_good_dup.so, so it keeps fixture.ok.
    CHECK(host.library_path("fixture.ok") == fixture("good"));
    CHECK(host.library_path("fixture.dup_only") == fixture("good_dup"));

    std::map<std::string, std::string> by_file;
    for (const auto& p : host.problems()) by_file[p.file.filename().string()] = p.reason;
    CHECK(by_file.size() == host.problems().size());  // one problem per bad library
    CHECK(by_file.size() == 8);
    CHECK_THAT(by_file["libfixture_wrong_abi.so"], Catch::Contains("rebuild"));
    CHECK_THAT(by_file["libfixture_no_abi.so"], Catch::Contains("not a graft plugin"));
    CHECK_THAT(by_file["libfixture_bad_json.so"], Catch::Contains("malformed"));
    CHECK_THAT(by_file["libfixture_bad_kind.so"], Catch::Contains("socket"));
    CHECK_THAT(by_file["libfixture_no_types.so"], Catch::Contains("no stage types"));
    CHECK_THAT(by_file["libfixture_null_entry.so"], Catch::Contains("entry returned null"));
    CHECK_THAT(by_file["libfixture_null_descriptors.so"], Catch::Contains("returned null"));
    CHECK_THAT(by_file["libfixture_good_dup.so"], Catch::Contains("already provided"));

    // The good library still works after its neighbours were refused.
    CHECK(run_type(host, "fixture.ok", tmp.path()).status == 0);
    CHECK(read_text(tmp / "out") == "hello\nhello\n");
}

TEST_CASE("exceptions thrown by a stage never cross the plugin boundary", "[plugin][run]") {
    TempDir tmp;
    PluginHost host;
    REQUIRE(host.load(fixture("good")));

    RunResult r;
    REQUIRE_NOTHROW(r = run_type(host, "fixture.throws", tmp / "std"));
    CHECK(r.status != 0);
    CHECK(r.error == "fixture.throws failed on purpose");

    REQUIRE_NOTHROW(r = run_type(host, "fixture.throws_foreign", tmp / "foreign"));
    CHECK(r.status != 0);
    CHECK(r.error == "unknown exception");
}

TEST_CASE("a stage handle keeps its library loaded after the host is destroyed",
          "[plugin][lifetime]") {
    TempDir tmp;
    // A private copy, so that no other host in this process holds the same library. The raw
    // fixture emits no STB_GNU_UNIQUE symbols, which would pin it in memory (see raw_stage.cpp).
    const fs::path lib = tmp / "libcopy.so";
    fs::copy_file(fixture("raw_stage"), lib);
    std::optional<StageHandle> stage;
    std::optional<StageDescriptor> descriptor;
    {
        PluginHost host;
        REQUIRE(host.load(lib));
        descriptor = *host.find("fixture.raw");
        stage = host.create("fixture.raw");
        CHECK(is_loaded(lib));
    }
    CHECK(is_loaded(lib));  // the host is gone, the stage still holds the library
    const RunResult r = run_stage(**stage, *descriptor, tmp.path());
    CHECK(r.status == 0);
    CHECK(r.metrics == std::map<std::string, double>{{"raw", 1.0}});
    CHECK(read_text(tmp / "out") == "raw stage test ran\n");
    stage.reset();  // destroy() runs inside the library, then the last reference goes
    CHECK_FALSE(is_loaded(lib));
}

TEST_CASE("an SDK stage still runs after the host that created it is destroyed",
          "[plugin][lifetime]") {
    TempDir tmp;
    std::optional<StageHandle> stage;
    std::optional<StageDescriptor> descriptor;
    {
        PluginHost host;
        REQUIRE(host.load(fixture("good")));
        descriptor = *host.find("fixture.ok");
        stage = host.create("fixture.ok");
    }
    const RunResult r = run_stage(**stage, *descriptor, tmp.path());
    CHECK(r.status == 0);
    CHECK(read_text(tmp / "out") == "hello\nhello\n");
}

TEST_CASE("the first library to provide a stage type wins and the duplicate is recorded",
          "[plugin][duplicate]") {
    TempDir tmp;
    SECTION("good first") {
        PluginHost host;
        REQUIRE(host.load(fixture("good")));
        REQUIRE(host.load(fixture("good_dup")));  // its other type still loads
        CHECK(host.library_path("fixture.ok") == fixture("good"));
        CHECK(host.find("fixture.ok")->version == "3");
        CHECK(host.library_path("fixture.dup_only") == fixture("good_dup"));
        REQUIRE(host.problems().size() == 1);
        CHECK(host.problems()[0].file == fixture("good_dup"));
        CHECK(host.problems()[0].reason ==
              fmt::format("stage type 'fixture.ok' is already provided by {}; this one is ignored",
                          fixture("good").string()));
        CHECK(run_type(host, "fixture.ok", tmp.path()).status == 0);
        CHECK(read_text(tmp / "out") == "hello\nhello\n");
    }
    SECTION("duplicate first") {
        PluginHost host;
        REQUIRE(host.load(fixture("good_dup")));
        REQUIRE(host.load(fixture("good")));
        CHECK(host.library_path("fixture.ok") == fixture("good_dup"));
        CHECK(host.find("fixture.ok")->version == "99");
        CHECK(host.find("fixture.throws"));
        REQUIRE(host.problems().size() == 1);
        CHECK(host.problems()[0].file == fixture("good"));
        CHECK(run_type(host, "fixture.ok", tmp.path()).status == 0);
        CHECK(read_text(tmp / "out") == "from good_dup\n");
    }
}

TEST_CASE("plugin_digest is stable and changes with the library's content", "[plugin][digest]") {
    TempDir tmp;
    const fs::path lib = tmp / "libdigest.so";
    fs::copy_file(fixture("good"), lib);
    Digest first, again, other_type;
    {
        PluginHost host;
        REQUIRE(host.load(lib));
        first = host.plugin_digest("fixture.ok");
        again = host.plugin_digest("fixture.ok");
        other_type = host.plugin_digest("fixture.throws");  // same library, same digest
        CHECK_THROWS_WITH(host.plugin_digest("fixture.missing"),
                          Catch::Contains("unknown stage type 'fixture.missing'"));
    }
    CHECK_FALSE(first.is_zero());
    CHECK(again == first);
    CHECK(other_type == first);
    {
        PluginHost host;  // a fresh host hashes the file anew: same bytes, same digest
        REQUIRE(host.load(lib));
        CHECK(host.plugin_digest("fixture.ok") == first);
    }
    {
        PluginHost host;  // the same content under another path: the digest is content only
        fs::copy_file(fixture("good"), tmp / "librenamed.so");
        REQUIRE(host.load(tmp / "librenamed.so"));
        CHECK(host.plugin_digest("fixture.ok") == first);
    }
    std::ofstream(lib, std::ios::binary | std::ios::app) << '\0';  // still a loadable ELF file
    {
        PluginHost host;
        REQUIRE(host.load(lib));
        CHECK(host.plugin_digest("fixture.ok") != first);
    }
}

TEST_CASE("default_search_path puts GRAFT_PLUGIN_PATH first, then the binary's prefix and the build tree",
          "[plugin][search-path]") {
    const fs::path build_dir = GRAFT_TEST_PLUGIN_DIR;
    SECTION("set: its directories come first, in order, empty items skipped") {
        ScopedEnv env("GRAFT_PLUGIN_PATH", "/opt/one::/opt/two:");
        const auto dirs = PluginHost::default_search_path();
        REQUIRE(dirs.size() >= 3);
        CHECK(dirs[0] == "/opt/one");
        CHECK(dirs[1] == "/opt/two");
        // Next the plugin dir relative to the running binary (an installed tree), then the build tree.
        CHECK(dirs[2].filename() == "plugins");
        CHECK(dirs[3] == build_dir);
        CHECK(std::none_of(dirs.begin(), dirs.end(), [](const fs::path& p) { return p.empty(); }));
    }
    SECTION("unset: the binary's own prefix, then the build tree's plugin directory") {
        ScopedEnv env("GRAFT_PLUGIN_PATH", nullptr);
        const auto dirs = PluginHost::default_search_path();
        REQUIRE(dirs.size() >= 2);
        CHECK(dirs[0].parent_path().filename() == "graft");  // <exe>/../lib/graft/plugins
        CHECK(dirs[1] == build_dir);
    }
    SECTION("discovering the default path finds a plugin in a GRAFT_PLUGIN_PATH directory") {
        TempDir tmp;
        fs::create_directories(tmp / "plugins");
        fs::copy_file(fixture("good"), tmp / "plugins/libmine.so");
        ScopedEnv env("GRAFT_PLUGIN_PATH", (tmp / "plugins").c_str());
        PluginHost host;
        host.discover(PluginHost::default_search_path());
        CHECK(host.library_path("fixture.ok") == tmp / "plugins/libmine.so");
    }
}
