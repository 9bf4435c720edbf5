// The descriptor cache (plugins registered without loading them) and plugin digests that cover
// the graft libraries a plugin links.
#include "core/cache/disk.hpp"
#include "core/plugin/elf_deps.hpp"
#include "core/plugin/plugin_host.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace graft;
using graft::testing::TempDir;
using graft::testing::write_text;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = GRAFT_FIXTURE_PLUGIN_DIR;

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("a loaded plugin's descriptors are cached by path, size, mtime and inode", "[plugin][cache]") {
    TempDir t;
    fs::copy_file(kFixtures / "libfixture_good.so", t / "libgood.so");
    const fs::path cache = t / "cache" / "plugins.json";
    {
        PluginHost host(cache);
        host.discover({t.path()});
        REQUIRE(host.find("fixture.ok"));
    }
    REQUIRE(fs::exists(cache));
    const auto j = read_json(cache);
    CHECK(j["format"] == "graft.plugin-cache/1");
    CHECK(j["abi"] == GRAFT_ABI_VERSION);
    const auto key = fs::absolute(t / "libgood.so").lexically_normal().string();
    REQUIRE(j["entries"].contains(key));
    CHECK(j["entries"][key]["descriptors"].size() == 3);
}

TEST_CASE("a cached plugin is registered without loading it, and loaded on create", "[plugin][cache]") {
    TempDir t;
    // Descriptors from the real fixture, attached to a file that is not a library at all: if the
    // host dlopened it during discovery, the load would fail and the type would be missing.
    PluginHost real;
    REQUIRE(real.load(kFixtures / "libfixture_good.so"));
    nlohmann::json descriptors = nlohmann::json::array();
    descriptors.push_back(descriptor_to_json(*real.find("fixture.ok")));
    write_text(t / "libfake.so", "not an ELF file");
    RealDisk disk;
    const FileStat st = disk.stat(t / "libfake.so");
    const auto key = fs::absolute(t / "libfake.so").lexically_normal().string();
    nlohmann::json cache = {{"format", "graft.plugin-cache/1"}, {"abi", GRAFT_ABI_VERSION},
                            {"entries", {{key, {{"size", st.size}, {"mtime_ns", st.mtime_ns},
                                                {"inode", st.inode}, {"descriptors", descriptors}}}}}};
    write_text(t / "cache.json", cache.dump());

    PluginHost lazy(t / "cache.json");
    lazy.discover({t.path()});
    REQUIRE(lazy.find("fixture.ok"));
    CHECK(lazy.problems().empty());
    CHECK_THROWS_WITH(lazy.create("fixture.ok"), Catch::Contains("cannot load plugin") &&
                                                     Catch::Contains("libfake.so"));

    SECTION("a changed file is loaded again, not trusted from the cache") {
        std::ofstream(t / "libfake.so", std::ios::app) << "changed";
        PluginHost again(t / "cache.json");
        again.discover({t.path()});
        CHECK_FALSE(again.find("fixture.ok"));
        REQUIRE(again.problems().size() == 1);
        CHECK_THAT(again.problems()[0].reason, Catch::Contains("cannot load"));
    }
    SECTION("a cache from another ABI version is ignored") {
        cache["abi"] = GRAFT_ABI_VERSION + 1;
        write_text(t / "cache.json", cache.dump());
        PluginHost other(t / "cache.json");
        other.discover({t.path()});
        CHECK_FALSE(other.find("fixture.ok"));
    }
}

TEST_CASE("elf_dependencies finds the libgraft libraries a plugin links", "[plugin][digest]") {
    const auto deps = elf_dependencies(kFixtures / "deps" / "libfixture_with_dep.so", "libgraft");
    REQUIRE(deps.size() == 1);
    CHECK(deps[0].name == "libgraft_fixture_dep.so");
    CHECK(deps[0].resolved == kFixtures / "deps" / "libgraft_fixture_dep.so");
    CHECK(elf_dependencies(kFixtures / "deps" / "libfixture_with_dep.so", "libnothing").empty());
    CHECK_THROWS_WITH(elf_dependencies(kFixtures / ".." / "CMakeCache.txt", "libgraft"),
                      Catch::Contains("not a 64-bit little-endian ELF"));
}

TEST_CASE("a plugin's digest changes when a graft library it links changes", "[plugin][digest]") {
    TempDir t;
    fs::copy_file(kFixtures / "deps" / "libfixture_with_dep.so", t / "libfixture_with_dep.so");
    fs::copy_file(kFixtures / "deps" / "libgraft_fixture_dep.so", t / "libgraft_fixture_dep.so");
    Digest before;
    {
        PluginHost host;
        REQUIRE(host.load(t / "libfixture_with_dep.so"));
        before = host.plugin_digest("fixture.with_dep");
        PluginHost same;
        REQUIRE(same.load(t / "libfixture_with_dep.so"));
        CHECK(same.plugin_digest("fixture.with_dep") == before);
    }
    std::ofstream(t / "libgraft_fixture_dep.so", std::ios::app) << '\0';  // still loadable
    PluginHost host;
    REQUIRE(host.load(t / "libfixture_with_dep.so"));
    CHECK(host.plugin_digest("fixture.with_dep") != before);
}
