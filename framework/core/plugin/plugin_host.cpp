#include "core/plugin/plugin_host.hpp"

#include "core/cache/disk.hpp"
#include "core/plugin/elf_deps.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <sstream>

namespace graft {

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

void warn(const std::string& msg) {
    if (auto logger = spdlog::get("plugin")) logger->warn("{}", msg);
}

}  // namespace

// A plugin library, loaded on first use. The ABI version is checked before any other symbol is
// touched; the library stays mapped while the host or any StageHandle refers to it.
class PluginLibrary {
public:
    explicit PluginLibrary(std::filesystem::path path) : path_(std::move(path)) {}

    // Loads the library and returns its descriptors JSON; the reason on failure.
    std::optional<std::string> load(std::string& descriptors) {
        std::lock_guard lock(mu_);
        if (auto bad = load_locked()) return bad;
        const char* text = plugin_->descriptors_json();
        if (!text) return std::string("plugin failed to describe its stages (descriptors_json returned null)");
        descriptors = text;
        return std::nullopt;
    }

    abi::Plugin& plugin() {
        std::lock_guard lock(mu_);
        if (auto bad = load_locked())
            throw std::runtime_error(fmt::format("cannot load plugin {}: {}", path_.string(), *bad));
        return *plugin_;
    }

    const std::filesystem::path& path() const { return path_; }

    Digest digest() {
        std::call_once(digest_once_, [this] {
            RealDisk disk;
            Hasher h;
            h.field("plugin", disk.hash_file(path_));
            try {
                for (const auto& dep : elf_dependencies(path_, "libgraft")) {
                    h.field("needs", dep.name);
                    if (!dep.resolved.empty()) h.field("digest", disk.hash_file(dep.resolved));
                }
            } catch (const std::exception& e) {
                warn(fmt::format("{}: cannot read its dependencies ({}); its digest covers the "
                                 "plugin file only", path_.string(), e.what()));
            }
            digest_ = h.finish();
        });
        return digest_;
    }

private:
    std::optional<std::string> load_locked() {
        if (plugin_) return std::nullopt;
        if (error_) return error_;
        try {
            lib_.load(path_, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
        } catch (const std::exception& e) {
            return error_ = fmt::format("cannot load: {}", e.what());
        }
        if (auto bad = check_abi(lib_)) return error_ = bad;
        try {
            auto& entry = lib_.get_alias<abi::PluginEntry>(GRAFT_PLUGIN_SYMBOL);
            plugin_ = entry();
        } catch (const std::exception& e) {
            return error_ = fmt::format("cannot resolve the plugin entry: {}", e.what());
        }
        if (!plugin_) return error_ = std::string("plugin entry returned null");
        return std::nullopt;
    }

    std::filesystem::path path_;
    std::mutex mu_;
    boost::dll::shared_library lib_;
    abi::Plugin* plugin_ = nullptr;
    std::optional<std::string> error_;
    std::once_flag digest_once_;
    Digest digest_;
};

void StageDeleter::operator()(abi::Stage* s) const noexcept {
    if (s) s->destroy();  // runs the plugin's own delete while its code is still mapped
}

PluginHost::PluginHost(std::filesystem::path descriptor_cache) : cache_file_(std::move(descriptor_cache)) {
    if (cache_file_.empty()) return;
    RealDisk disk;
    try {
        if (auto text = disk.read_file(cache_file_)) {
            auto j = nlohmann::json::parse(*text);
            // Another format or ABI: start afresh rather than trust it.
            if (j.value("format", "") == "graft.plugin-cache/1" && j.value("abi", 0) == GRAFT_ABI_VERSION &&
                j.contains("entries") && j["entries"].is_object())
                cache_ = std::move(j);
        }
    } catch (const std::exception&) {
    }
    if (cache_.is_null())
        cache_ = {{"format", "graft.plugin-cache/1"}, {"abi", GRAFT_ABI_VERSION}, {"entries", nlohmann::json::object()}};
}

PluginHost::~PluginHost() = default;

std::filesystem::path PluginHost::default_descriptor_cache() {
    if (const char* env = std::getenv("GRAFT_PLUGIN_CACHE")) {
        if (std::string(env) == "0") return {};
        return env;
    }
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "graft" / "plugins.json";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".cache" / "graft" / "plugins.json";
    return {};
}

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
    save_descriptor_cache();
}

bool PluginHost::load(const std::filesystem::path& path) {
    auto refuse = [&](std::string reason) {
        warn(fmt::format("{}: {}", path.string(), reason));
        problems_.push_back({path, std::move(reason)});
        return false;
    };
    auto library = std::make_shared<PluginLibrary>(path);
    const std::string key = std::filesystem::absolute(path).lexically_normal().string();
    RealDisk disk;
    const FileStat st = disk.stat(path);
    std::string text;
    bool from_cache = false;
    if (!cache_file_.empty() && cache_["entries"].contains(key)) {
        const auto& e = cache_["entries"][key];
        if (e.value("size", std::uint64_t{0}) == st.size && e.value("mtime_ns", std::int64_t{0}) == st.mtime_ns &&
            e.value("inode", std::uint64_t{0}) == st.inode && e.contains("descriptors")) {
            text = e["descriptors"].dump();
            from_cache = true;
        }
    }
    if (!from_cache) {
        if (auto bad = library->load(text)) return refuse(*bad);
    }

    std::vector<StageDescriptor> descriptors;
    nlohmann::json parsed;
    try {
        parsed = nlohmann::json::parse(text);
        if (!parsed.is_array()) return refuse("descriptors are not a JSON array");
        for (const auto& d : parsed) descriptors.push_back(descriptor_from_json(d));
    } catch (const std::exception& e) {
        return refuse(fmt::format("malformed stage descriptor: {}", e.what()));
    }
    if (descriptors.empty()) return refuse("plugin provides no stage types");
    if (!from_cache && !cache_file_.empty()) {
        cache_["entries"][key] = {{"size", st.size}, {"mtime_ns", st.mtime_ns}, {"inode", st.inode},
                                  {"descriptors", parsed}};
        cache_dirty_ = true;
    }

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

void PluginHost::save_descriptor_cache() {
    if (!cache_dirty_ || cache_file_.empty()) return;
    try {
        RealDisk disk;
        disk.write_file_atomic(cache_file_, cache_.dump());
        cache_dirty_ = false;
    } catch (const std::exception& e) {
        warn(fmt::format("cannot write the plugin descriptor cache {}: {}", cache_file_.string(), e.what()));
        cache_file_.clear();
    }
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
