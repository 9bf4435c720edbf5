#include "core/cache/action_cache.hpp"

#include "core/cache/metric_json.hpp"
#include "core/cache/object_store.hpp"

#include <nlohmann/json.hpp>

#include <exception>

namespace graft {

namespace {

constexpr const char* kActionFormat = "graft.action/1";
constexpr const char* kSuffix = ".json";

fs::path entry_path(const WorkspacePaths& ws, const Digest& key) {
    std::string hex = key.hex();
    return ws.actions() / hex.substr(0, 2) / (hex.substr(2) + kSuffix);
}

// Any deviation from what put() writes makes the entry unusable: the caller re-runs the stage
// and overwrites it, which is always safe for a cache.
std::optional<ActionResult> parse_entry(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    auto fmt = j.find("format");
    if (fmt == j.end() || !fmt->is_string() || *fmt != kActionFormat) return std::nullopt;
    ActionResult r;
    auto type = j.find("stage_type");
    auto version = j.find("stage_version");
    auto outputs = j.find("outputs");
    auto metrics = j.find("metrics");
    auto seconds = j.find("seconds");
    auto created = j.find("created_ns");
    if (type == j.end() || !type->is_string() || version == j.end() || !version->is_string() ||
        outputs == j.end() || !outputs->is_object() || metrics == j.end() ||
        !metrics->is_object() || seconds == j.end() || !seconds->is_number() ||
        created == j.end() || !created->is_number_integer()) {
        return std::nullopt;
    }
    r.stage_type = type->get<std::string>();
    r.stage_version = version->get<std::string>();
    for (const auto& [port, hex] : outputs->items()) {
        if (!hex.is_string()) return std::nullopt;
        auto d = Digest::from_hex(hex.get<std::string>());
        if (!d) return std::nullopt;
        r.outputs[port] = *d;
    }
    for (const auto& [name, value] : metrics->items()) {
        auto v = metric_from_json(value);
        if (!v) return std::nullopt;
        r.metrics[name] = *v;
    }
    r.seconds = seconds->get<double>();
    r.created_ns = created->get<std::int64_t>();
    return r;
}

}  // namespace

ActionCache::ActionCache(Disk& disk, WorkspacePaths ws) : disk_(disk), ws_(std::move(ws)) {}

std::optional<ActionResult> ActionCache::get(const Digest& key) {
    std::optional<std::string> text;
    try {
        text = disk_.read_file(entry_path(ws_, key));
    } catch (const std::exception&) {
        return std::nullopt;  // unreadable (e.g. a directory in its place): a miss, re-run
    }
    if (!text) return std::nullopt;
    auto r = parse_entry(*text);
    if (!r) return std::nullopt;
    // gc removes entries before their objects, but a user may delete objects by hand: an entry
    // whose outputs cannot all be restored is a miss, not a half-restored stage.
    ObjectStore store(disk_, ws_);
    for (const auto& [port, digest] : r->outputs) {
        if (!disk_.stat(store.object_path(digest)).exists) return std::nullopt;
    }
    return r;
}

void ActionCache::put(const Digest& key, const ActionResult& r) {
    nlohmann::ordered_json j;
    j["format"] = kActionFormat;  // first key, so a reader can tell the format from the start
    j["stage_type"] = r.stage_type;
    j["stage_version"] = r.stage_version;
    auto& outputs = j["outputs"] = nlohmann::ordered_json::object();
    for (const auto& [port, digest] : r.outputs) outputs[port] = digest.hex();
    auto& metrics = j["metrics"] = nlohmann::ordered_json::object();
    for (const auto& [name, value] : r.metrics) {
        metrics[name] = metric_to_json<nlohmann::ordered_json>(value);
    }
    j["seconds"] = r.seconds;
    j["created_ns"] = r.created_ns;
    disk_.write_file_atomic(entry_path(ws_, key), j.dump(2) + "\n");
}

std::vector<Digest> ActionCache::list() {
    std::vector<Digest> out;
    const std::string suffix = kSuffix;
    for (const auto& prefix : disk_.list_dir(ws_.actions())) {
        if (prefix.size() != 2) continue;
        for (const auto& name : disk_.list_dir(ws_.actions() / prefix)) {
            // Skips leftovers of an interrupted atomic write (<entry>.json.tmp.<pid>.<n>).
            if (name.size() != 30 + suffix.size() || !name.ends_with(suffix)) continue;
            std::string hex = prefix + name.substr(0, 30);
            if (auto d = Digest::from_hex(hex); d && d->hex() == hex) out.push_back(*d);
        }
    }
    return out;
}

void ActionCache::remove(const Digest& key) { disk_.remove_all(entry_path(ws_, key)); }

}  // namespace graft
