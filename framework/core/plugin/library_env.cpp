#include "core/plugin/library_env.hpp"

#include <cstdlib>

namespace graft {

const std::vector<LibraryEnvDefault>& library_env_defaults() {
    static const std::vector<LibraryEnvDefault> defaults = {
        {"OMP_WAIT_POLICY", "PASSIVE"},
    };
    return defaults;
}

std::vector<std::string> apply_library_env_defaults() {
    std::vector<std::string> set;
    for (const auto& entry : library_env_defaults()) {
        if (std::getenv(entry.name) != nullptr) continue;
        if (setenv(entry.name, entry.value, /*overwrite=*/0) == 0) set.emplace_back(entry.name);
    }
    return set;
}

}  // namespace graft
