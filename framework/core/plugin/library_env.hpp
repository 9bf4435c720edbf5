// Defaults for environment variables that libraries under the plugins read once, when they are
// loaded: they must be in the environment before the first plugin is, so the host sets them at
// start-up. A value the user already exported always wins.
#pragma once

#include <string>
#include <vector>

namespace graft {

struct LibraryEnvDefault {
    const char* name;
    const char* value;
};

// OMP_WAIT_POLICY=PASSIVE: LibTorch's OpenMP workers sleep between parallel regions instead of
// spinning for ~0.2 ms. Spinning workers take the cores from OpenBLAS's own threads and from the
// serial parts of a training step (on a 2-vCPU machine, fine-tuning ran ~1.2x faster passive);
// libgomp reads the variable in its load-time constructor, so no later call can change it.
const std::vector<LibraryEnvDefault>& library_env_defaults();

// Sets every default whose variable is unset (setenv without overwrite); returns the names it
// set. Call it before loading any plugin.
std::vector<std::string> apply_library_env_defaults();

}  // namespace graft
