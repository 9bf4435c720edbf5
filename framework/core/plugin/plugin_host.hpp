// Finds, loads and checks stage plugins (Boost.DLL). A plugin is refused, with a message naming
// the file and the reason, when it lacks the ABI symbols, reports another ABI version, or returns
// malformed descriptors; the host keeps going with the others. A library stays loaded while any
// stage object created from it lives (each StageHandle holds a reference to it).
#pragma once

#include "core/spec/descriptor.hpp"
#include "core/cache/hash.hpp"

#include <nlohmann/json.hpp>

#include <graft/abi.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graft {

class PluginLibrary;  // a loaded shared library

struct StageDeleter {
    std::shared_ptr<PluginLibrary> library;  // keeps the code alive until destroy() returned
    void operator()(abi::Stage* s) const noexcept;
};
using StageHandle = std::unique_ptr<abi::Stage, StageDeleter>;

struct PluginProblem {
    std::filesystem::path file;
    std::string reason;
};

class PluginHost final : public StageCatalog {
public:
    // Without a descriptor cache every discovered library is loaded (dlopen) at once. With one,
    // a library whose (path, size, mtime, inode) matches a cached entry is registered from the
    // cache and only loaded when a stage of it is created: `graft plan`, `graft stages` and
    // cached runs then never pay for loading LibTorch.
    explicit PluginHost(std::filesystem::path descriptor_cache = {});
    ~PluginHost() override;

    // $GRAFT_PLUGIN_CACHE, else $XDG_CACHE_HOME/graft/plugins.json, else ~/.cache/graft/...;
    // empty (no cache) when GRAFT_PLUGIN_CACHE=0 or no home directory is known.
    static std::filesystem::path default_descriptor_cache();

    // Where plugins are searched, in order: $GRAFT_PLUGIN_PATH (colon-separated), the build tree's
    // plugin directory, the install prefix's. Missing directories are skipped.
    static std::vector<std::filesystem::path> default_search_path();

    // Loads every lib*.so in the directories. The first library to provide a stage type wins; a
    // later duplicate is reported as a problem.
    void discover(const std::vector<std::filesystem::path>& dirs);
    // Loads one library; returns false (and records a problem) when it is refused.
    bool load(const std::filesystem::path& library);

    const StageDescriptor* find(std::string_view type) const override;
    std::vector<std::string> types() const override;
    const std::vector<PluginProblem>& problems() const { return problems_; }

    std::filesystem::path library_path(std::string_view type) const;
    // Content digest of the library that provides `type` and of the graft libraries it links
    // (libgraft*.so, found through its RUNPATH): part of every cache key.
    Digest plugin_digest(std::string_view type) const;

    // A new stage object; throws std::runtime_error with the plugin's reason on failure.
    StageHandle create(std::string_view type) const;

private:
    struct TypeEntry {
        StageDescriptor descriptor;
        std::shared_ptr<PluginLibrary> library;
    };
    void save_descriptor_cache();
    std::map<std::string, TypeEntry, std::less<>> types_;
    std::vector<PluginProblem> problems_;
    std::filesystem::path cache_file_;
    nlohmann::json cache_;  // {"format", "abi", "entries": {path: {size, mtime_ns, inode, descriptors}}}
    bool cache_dirty_ = false;
};

}  // namespace graft
