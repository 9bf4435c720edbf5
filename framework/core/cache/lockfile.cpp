#include "core/cache/lockfile.hpp"

#include "core/cache/metric_json.hpp"

#include <stdexcept>

namespace graft {

namespace {

constexpr const char* kLockFormat = "graft.lock/1";

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

ojson stage_to_json(const LockEntry& e) {
    ojson s;
    s["type"] = e.stage_type;
    s["version"] = e.stage_version;
    s["plugin"] = e.plugin_digest.hex();
    s["key"] = e.key.hex();
    s["seed"] = e.seed;
    // nlohmann::json objects are sorted maps, so re-parsing keeps the params in sorted order.
    s["params"] = ojson::parse(e.params.dump());
    auto& inputs = s["inputs"] = ojson::object();
    for (const auto& [port, in] : e.inputs) {
        inputs[port] = ojson{{"source", in.source}, {"digest", in.digest.hex()}};
    }
    auto& outputs = s["outputs"] = ojson::object();
    for (const auto& [port, d] : e.outputs) outputs[port] = d.hex();
    auto& metrics = s["metrics"] = ojson::object();
    for (const auto& [name, v] : e.metrics) metrics[name] = metric_to_json<ojson>(v);
    if (!e.workspace.empty()) s["workspace"] = e.workspace;
    return s;
}

// Reads one lock file, naming the offending key in every error.
class Reader {
public:
    explicit Reader(const std::string& file) : file_(file) {}

    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw std::runtime_error(file_ + ": " + where + ": " + what +
                                 "; fix it, or delete the lock file and re-run to regenerate it");
    }

    const json& member(const json& obj, const std::string& where, const char* key) const {
        auto it = obj.find(key);
        if (it == obj.end()) fail(where, std::string("missing key \"") + key + "\"");
        return *it;
    }

    std::string string_at(const json& obj, const std::string& where, const char* key) const {
        const json& v = member(obj, where, key);
        if (!v.is_string()) fail(where + "." + key, "expected a string, got " + v.dump());
        return v.get<std::string>();
    }

    Digest digest(const json& v, const std::string& where) const {
        std::optional<Digest> d;
        if (v.is_string()) d = Digest::from_hex(v.get<std::string>());
        if (!d) fail(where, "expected a 32-hex-digit digest, got " + v.dump());
        return *d;
    }

    const json& object_at(const json& obj, const std::string& where, const char* key) const {
        const json& v = member(obj, where, key);
        if (!v.is_object()) fail(where + "." + key, "expected an object, got " + v.dump());
        return v;
    }

    LockEntry stage(const json& s, const std::string& where) const {
        if (!s.is_object()) fail(where, "expected an object, got " + s.dump());
        LockEntry e;
        e.stage_type = string_at(s, where, "type");
        e.stage_version = string_at(s, where, "version");
        e.plugin_digest = digest(member(s, where, "plugin"), where + ".plugin");
        e.key = digest(member(s, where, "key"), where + ".key");
        const json& seed = member(s, where, "seed");
        bool non_negative = seed.is_number_unsigned() ||
                            (seed.is_number_integer() && seed.get<std::int64_t>() >= 0);
        if (!non_negative) {
            fail(where + ".seed", "expected a non-negative integer, got " + seed.dump());
        }
        e.seed = seed.get<std::uint64_t>();
        e.params = object_at(s, where, "params");
        for (const auto& [port, in] : object_at(s, where, "inputs").items()) {
            std::string w = where + ".inputs." + port;
            if (!in.is_object()) fail(w, "expected {\"source\": ..., \"digest\": ...}");
            e.inputs[port] = LockInput{string_at(in, w, "source"),
                                       digest(member(in, w, "digest"), w + ".digest")};
        }
        for (const auto& [port, d] : object_at(s, where, "outputs").items()) {
            e.outputs[port] = digest(d, where + ".outputs." + port);
        }
        for (const auto& [name, v] : object_at(s, where, "metrics").items()) {
            auto m = metric_from_json(v);
            if (!m) fail(where + ".metrics." + name, "expected a number, got " + v.dump());
            e.metrics[name] = *m;
        }
        if (s.contains("workspace")) e.workspace = string_at(s, where, "workspace");
        return e;
    }

private:
    std::string file_;
};

}  // namespace

std::string lockfile_to_text(const LockFile& lf) {
    ojson root;
    root["format"] = kLockFormat;
    root["pipeline"] = lf.pipeline;
    auto& stages = root["stages"] = ojson::object();
    for (const auto& [id, e] : lf.stages) stages[id] = stage_to_json(e);  // std::map: sorted ids
    return root.dump(2) + "\n";
}

LockFile lockfile_from_text(std::string_view text, const std::string& file_for_messages) {
    const std::string& file = file_for_messages;
    json root;
    try {
        root = json::parse(text);
    } catch (const json::parse_error& e) {
        throw std::runtime_error(file + ": not a graft lock file (not valid JSON: " +
                                 std::string(e.what()) +
                                 "); restore it from version control, or delete it and re-run");
    }
    auto fmt = root.is_object() ? root.find("format") : root.end();
    if (!root.is_object() || fmt == root.end() || !fmt->is_string()) {
        throw std::runtime_error(file + ": not a graft lock file (format key missing, expected \"" +
                                 kLockFormat + "\")");
    }
    if (*fmt != kLockFormat) {
        throw std::runtime_error(file + ": not a graft lock file (format " + fmt->dump() +
                                 ", expected \"" + kLockFormat +
                                 "\"); it may come from another graft version: upgrade graft, "
                                 "or delete it and re-run");
    }
    Reader r(file);
    LockFile lf;
    lf.pipeline = r.string_at(root, "top level", "pipeline");
    for (const auto& [id, s] : r.object_at(root, "top level", "stages").items()) {
        lf.stages[id] = r.stage(s, "stages." + id);
    }
    return lf;
}

std::optional<LockFile> read_lockfile(Disk& disk, const fs::path& p) {
    auto text = disk.read_file(p);
    if (!text) return std::nullopt;
    return lockfile_from_text(*text, p.string());
}

void write_lockfile(Disk& disk, const fs::path& p, const LockFile& lf) {
    disk.write_file_atomic(p, lockfile_to_text(lf));
}

}  // namespace graft
