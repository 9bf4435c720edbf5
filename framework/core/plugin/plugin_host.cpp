#include "core/plugin/plugin_host.hpp"

#include "core/cache/disk.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <sstream>

namespace graft {

class PluginLibrary {
public:
    PluginLibrary(boost::dll::shared_library lib, std::filesystem::path path, abi::Plugin* plugin)
        : lib_(std::move(lib)), path_(std::move(path)), plugin_(plugin) {}

    abi::Plugin& plugin() const { return *plugin_; }
    const std::filesystem::path& path() const { return path_; }

    // Hashed on first use only: most commands never need it.
    Digest digest() const {
        std::call_once(digest_once_, [this] {
            RealDisk disk;
            digest_ = disk.hash_file(path_);
        });
        return digest_;
    }

private:
    boost::dll::shared_library lib_;  // unloaded when the last StageHandle and type entry are gone
    std::filesystem::path path_;
    abi::Plugin* plugin_;
    mutable std::once_flag digest_once_;
    mutable Digest digest_;
};

void StageDeleter::operator()(abi::Stage* s) const noexcept {
    if (s) s->destroy();  // runs the plugin's own delete while its code is still mapped
}

PluginHost::PluginHost() = default;
PluginHost::~PluginHost() = default;

std::vector<std::filesystem::path> PluginHost::default_search_path() {
    std::vector<std::filesystem::path> dirs;
    if (const char* env = std::getenv("GRAFT_PLUGIN_PATH")) {
        std::stringstream ss(env);
        std::string item;
        while (std::getline(ss, item, ':'))
            if (!item.empty()) dirs.emplace_back(item);
    }
#ifdef GRAFT_PLUGIN_REL_DIR
    // Relative to the running binary (<prefix>/bin/graft -> <prefix>/lib/graft/plugins), so an
    // installed tree works wherever it was installed or moved to.
    try {
        dirs.push_back(boost::dll::program_location().parent_path().parent_path() / GRAFT_PLUGIN_REL_DIR);
    } catch (const std::exception&) {
    }
#endif
#ifdef GRAFT_BUILD_PLUGIN_DIR
    dirs.emplace_back(GRAFT_BUILD_PLUGIN_DIR);
#endif
#ifdef GRAFT_INSTALL_PLUGIN_DIR
    dirs.emplace_back(GRAFT_INSTALL_PLUGIN_DIR);
#endif
    return dirs;
}

void PluginHost::discover(const std::vector<std::filesystem::path>& dirs) {
    for (const auto& dir : dirs) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) continue;
        std::vector<std::filesystem::path> libs;
        for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
            const auto name = e.path().filename().string();
            if (name.starts_with("lib") && e.path().extension() == ".so") libs.push_back(e.path());
        }
        std::sort(libs.begin(), libs.end());
        for (const auto& lib : libs) load(lib);
    }
}

namespace {

std::optional<std::string> check_abi(const boost::dll::shared_library& lib) {
    if (!lib.has(GRAFT_ABI_SYMBOL) || !lib.has(GRAFT_PLUGIN_SYMBOL))
        return std::string("not a graft plugin: it exports no '" GRAFT_ABI_SYMBOL "'/'" GRAFT_PLUGIN_SYMBOL
                           "' symbols (build it with graft_add_stage() and GRAFT_EXPORT_STAGES)");
    const int version = lib.get_alias<const int>(GRAFT_ABI_SYMBOL);
    if (version != GRAFT_ABI_VERSION)
        return fmt::format(
            "plugin ABI version {} but this graft expects {}; rebuild the plugin against this "
            "graft's SDK",
            version, GRAFT_ABI_VERSION);
    return std::nullopt;
}

}  // namespace

bool PluginHost::load(const std::filesystem::path& path) {
    auto refuse = [&](std::string reason) {
        spdlog::get("plugin") ? spdlog::get("plugin")->warn("{}: {}", path.string(), reason)
                              : spdlog::debug("{}: {}", path.string(), reason);
        problems_.push_back({path, std::move(reason)});
        return false;
    };
    boost::dll::shared_library lib;
    try {
        lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return refuse(fmt::format("cannot load: {}", e.what()));
    }
    // The ABI version is checked before any other symbol is touched.
    if (auto bad = check_abi(lib)) return refuse(*bad);

    abi::Plugin* plugin = nullptr;
    try {
        auto& entry = lib.get_alias<abi::PluginEntry>(GRAFT_PLUGIN_SYMBOL);
        plugin = entry();
    } catch (const std::exception& e) {
        return refuse(fmt::format("cannot resolve the plugin entry: {}", e.what()));
    }
    if (!plugin) return refuse("plugin entry returned null");
    const char* text = plugin->descriptors_json();
    if (!text) return refuse("plugin failed to describe its stages (descriptors_json returned null)");

    std::vector<StageDescriptor> descriptors;
    try {
        auto j = nlohmann::json::parse(text);
        if (!j.is_array()) return refuse("descriptors are not a JSON array");
        for (const auto& d : j) descriptors.push_back(descriptor_from_json(d));
    } catch (const std::exception& e) {
        return refuse(fmt::format("malformed stage descriptor: {}", e.what()));
    }
    if (descriptors.empty()) return refuse("plugin provides no stage types");

    auto library = std::make_shared<PluginLibrary>(std::move(lib), path, plugin);
    for (auto& d : descriptors) {
        auto it = types_.find(d.type);
        if (it != types_.end()) {
            problems_.push_back(
                {path, fmt::format("stage type '{}' is already provided by {}; this one is ignored",
                                   d.type, it->second.library->path().string())});
            continue;
        }
        std::string type = d.type;
        types_.emplace(std::move(type), TypeEntry{std::move(d), library});
    }
    return true;
}

const StageDescriptor* PluginHost::find(std::string_view type) const {
    auto it = types_.find(type);
    return it == types_.end() ? nullptr : &it->second.descriptor;
}

std::vector<std::string> PluginHost::types() const {
    std::vector<std::string> out;
    out.reserve(types_.size());
    for (const auto& [name, _] : types_) out.push_back(name);
    return out;
}

std::filesystem::path PluginHost::library_path(std::string_view type) const {
    auto it = types_.find(type);
    return it == types_.end() ? std::filesystem::path() : it->second.library->path();
}

Digest PluginHost::plugin_digest(std::string_view type) const {
    auto it = types_.find(type);
    if (it == types_.end()) throw std::runtime_error(fmt::format("unknown stage type '{}'", type));
    return it->second.library->digest();
}

StageHandle PluginHost::create(std::string_view type) const {
    auto it = types_.find(type);
    if (it == types_.end()) throw std::runtime_error(fmt::format("unknown stage type '{}'", type));
    char error[1024] = {0};
    const std::string name(type);
    abi::Stage* stage = it->second.library->plugin().create(name.c_str(), error, sizeof error);
    if (!stage)
        throw std::runtime_error(fmt::format("plugin {} could not create stage '{}': {}",
                                             it->second.library->path().string(), name,
                                             error[0] ? error : "no reason given"));
    return StageHandle(stage, StageDeleter{it->second.library});
}

}  // namespace graft
