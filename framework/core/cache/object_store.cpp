#include "core/cache/object_store.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>

namespace graft {

namespace {

std::atomic<std::uint64_t> g_temp_counter{0};

// Tags end up in a directory name: keep them to a safe, readable alphabet.
std::string sanitize_tag(std::string_view tag) {
    std::string out;
    for (char c : tag) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out += ok ? c : '_';
    }
    return out;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
}

// "<pid>-<counter>-<tag>" -> pid; nullopt when the name is not one of ours.
std::optional<pid_t> temp_owner(std::string_view name) {
    auto d1 = name.find('-');
    if (d1 == std::string_view::npos) return std::nullopt;
    auto d2 = name.find('-', d1 + 1);
    if (d2 == std::string_view::npos) return std::nullopt;
    std::uint64_t pid = 0;
    std::uint64_t counter = 0;
    if (!parse_u64(name.substr(0, d1), pid) ||
        !parse_u64(name.substr(d1 + 1, d2 - d1 - 1), counter)) {
        return std::nullopt;
    }
    // pid 0 or a huge value would make kill() signal a process group, or overflow pid_t.
    if (pid == 0 || pid > static_cast<std::uint64_t>(INT_MAX)) return std::nullopt;
    return static_cast<pid_t>(pid);
}

// EPERM means the process exists but belongs to someone else: alive. A recycled pid keeps a
// stale directory alive until the next clean after that process exits, which is harmless.
// (A workspace shared between machines would need host names in the temp names; graft assumes a
// workspace is used from one machine at a time.)
bool pid_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

}  // namespace

ObjectStore::ObjectStore(Disk& disk, WorkspacePaths ws) : disk_(disk), ws_(std::move(ws)) {}

fs::path ObjectStore::object_path(const Digest& d) const {
    std::string hex = d.hex();
    return ws_.objects() / hex.substr(0, 2) / hex.substr(2);
}

bool ObjectStore::has(const Digest& d) { return disk_.stat(object_path(d)).exists; }

Digest ObjectStore::publish(const fs::path& temp_path) {
    Digest d = digest_artifact(disk_, temp_path);
    fs::path dst = object_path(d);
    // Never replace an existing object: it has the same content, and a reader may be using it.
    if (has(d)) {
        disk_.remove_all(temp_path);
        return d;
    }
    disk_.make_dirs(dst.parent_path());
    if (!disk_.rename(temp_path, dst)) {
        // Another writer published the same directory between has() and rename(): same content,
        // so theirs is as good as ours.
        disk_.remove_all(temp_path);
        return d;
    }
    disk_.make_read_only(dst);
    return d;
}

fs::path ObjectStore::make_temp_dir(std::string_view tag) {
    std::string prefix = std::to_string(::getpid()) + "-";
    std::string suffix = "-" + sanitize_tag(tag);
    // A dead process with our (recycled) pid may have left a directory with the same counter.
    for (;;) {
        fs::path p = ws_.tmp() / (prefix + std::to_string(++g_temp_counter) + suffix);
        if (disk_.stat(p).exists) continue;
        disk_.make_dirs(p);
        return p;
    }
}

fs::path ObjectStore::rename_temp_dir(const fs::path& dir, std::string_view tag) {
    std::string prefix = std::to_string(::getpid()) + "-";
    std::string suffix = "-" + sanitize_tag(tag);
    for (;;) {
        fs::path p = ws_.tmp() / (prefix + std::to_string(++g_temp_counter) + suffix);
        // Like make_temp_dir, skip names a dead process with our (recycled) pid left behind;
        // rename() would replace an empty one silently and refuses a non-empty one.
        if (disk_.stat(p).exists) continue;
        if (disk_.rename(dir, p)) return p;
    }
}

int ObjectStore::clean_stale_temps() {
    int removed = 0;
    for (const auto& name : disk_.list_dir(ws_.tmp())) {
        auto pid = temp_owner(name);
        if (pid && pid_alive(*pid)) continue;
        disk_.remove_all(ws_.tmp() / name);
        ++removed;
    }
    return removed;
}

std::vector<Digest> ObjectStore::list() {
    std::vector<Digest> out;
    for (const auto& prefix : disk_.list_dir(ws_.objects())) {
        if (prefix.size() != 2) continue;
        for (const auto& rest : disk_.list_dir(ws_.objects() / prefix)) {
            // Anything that is not <2 hex>/<30 hex> (a stray file) is not an object.
            if (auto d = Digest::from_hex(prefix + rest); d && d->hex() == prefix + rest) {
                out.push_back(*d);
            }
        }
    }
    return out;
}

namespace {

std::uint64_t tree_size(Disk& disk, const fs::path& p) {
    FileStat st = disk.stat(p);
    if (!st.exists) return 0;
    if (!st.is_dir) return st.size;
    std::uint64_t total = 0;
    for (const auto& name : disk.list_dir(p)) total += tree_size(disk, p / name);
    return total;
}

}  // namespace

std::uint64_t ObjectStore::object_size(const Digest& d) { return tree_size(disk_, object_path(d)); }

void ObjectStore::remove(const Digest& d) { disk_.remove_all(object_path(d)); }

}  // namespace graft
