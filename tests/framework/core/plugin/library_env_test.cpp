// The host exports defaults for variables that plugin libraries read at load time; a user's own
// value always wins.
#include "core/plugin/library_env.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

namespace {

// Restores one environment variable when the test ends.
struct SavedEnv {
    explicit SavedEnv(const char* n) : name(n) {
        if (const char* v = std::getenv(n)) value = v;
    }
    ~SavedEnv() {
        if (value) {
            setenv(name, value->c_str(), 1);
        } else {
            unsetenv(name);
        }
    }
    const char* name;
    std::optional<std::string> value;
};

}  // namespace

TEST_CASE("OpenMP waits passively unless the user chose", "[plugin][env]") {
    SavedEnv saved("OMP_WAIT_POLICY");
    const auto& defaults = graft::library_env_defaults();
    REQUIRE(std::any_of(defaults.begin(), defaults.end(), [](const auto& d) {
        return std::string(d.name) == "OMP_WAIT_POLICY" && std::string(d.value) == "PASSIVE";
    }));

    unsetenv("OMP_WAIT_POLICY");
    const auto set = graft::apply_library_env_defaults();
    CHECK(std::find(set.begin(), set.end(), "OMP_WAIT_POLICY") != set.end());
    REQUIRE(std::getenv("OMP_WAIT_POLICY") != nullptr);
    CHECK(std::string(std::getenv("OMP_WAIT_POLICY")) == "PASSIVE");

    setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
    const auto again = graft::apply_library_env_defaults();
    CHECK(std::find(again.begin(), again.end(), "OMP_WAIT_POLICY") == again.end());
    CHECK(std::string(std::getenv("OMP_WAIT_POLICY")) == "ACTIVE");
}
