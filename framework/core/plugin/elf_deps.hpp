// The shared libraries a plugin links (ELF DT_NEEDED), resolved the way the loader would through
// DT_RUNPATH/DT_RPATH ($ORIGIN expanded) and the plugin's own directory. The host folds the
// digests of graft's own libraries (libgraft*) into the plugin digest, so rebuilding, say, the ML
// library invalidates the results of every stage that links it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace graft {

struct ElfDependency {
    std::string name;               // as in DT_NEEDED, e.g. "libgraft_ml.so"
    std::filesystem::path resolved;  // empty when not found in the searched directories
};

// Throws std::runtime_error for a file that is not a 64-bit little-endian ELF object.
std::vector<ElfDependency> elf_dependencies(const std::filesystem::path& file,
                                            const std::string& name_prefix);

}  // namespace graft
