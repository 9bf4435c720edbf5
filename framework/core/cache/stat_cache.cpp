#include "core/cache/action_cache.hpp"

#include "core/cache/artifact_digest.hpp"

#include <charconv>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string_view>

namespace graft {

namespace {

constexpr std::string_view kStatFormat = "graft.stat-cache/1";

// Racy-git guard. A file modified twice within the file system's timestamp granularity keeps its
// mtime (and usually its size), so a digest remembered between the two writes would be trusted
// for the second content. A digest is therefore only remembered (in memory, and so in the saved
// file) when the file's mtime is at least this much older than "now" at hashing time; a file
// written within the window is simply re-hashed until its mtime is old enough.
constexpr std::int64_t kRacyWindowNs = 2'000'000'000;

template <class T>
bool parse_num(std::string_view s, T& out) {
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
}

// Splits off the next space-separated field.
std::string_view next_field(std::string_view& line) {
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) {
        std::string_view all = line;
        line = {};
        return all;
    }
    std::string_view f = line.substr(0, sp);
    line.remove_prefix(sp + 1);
    return f;
}

std::string cache_key_of(const fs::path& p) { return p.lexically_normal().generic_string(); }

std::int64_t wall_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

StatCache::StatCache(Disk& disk, fs::path file) : disk_(disk), file_(std::move(file)) {
    std::optional<std::string> text;
    try {
        text = disk_.read_file(file_);
    } catch (const std::exception&) {
        return;  // unreadable: only a cache, start empty (save() reports a real I/O problem)
    }
    if (!text) return;
    std::string_view rest = *text;
    auto take_line = [&rest]() -> std::optional<std::string_view> {
        if (rest.empty()) return std::nullopt;
        auto nl = rest.find('\n');
        if (nl == std::string_view::npos) return std::nullopt;  // truncated last line
        std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        return line;
    };
    auto header = take_line();
    if (!header || *header != kStatFormat) return;  // another version or not ours: start empty
    std::map<std::string, Entry> loaded;
    while (auto line = take_line()) {
        std::string_view l = *line;
        auto hex = next_field(l);
        auto size = next_field(l);
        auto mtime = next_field(l);
        auto inode = next_field(l);
        Entry e{};
        auto d = Digest::from_hex(hex);
        if (!d || !parse_num(size, e.size) || !parse_num(mtime, e.mtime_ns) ||
            !parse_num(inode, e.inode) || l.empty()) {
            return;  // corrupt: trust none of it (it is only a cache)
        }
        e.digest = *d;
        loaded[std::string(l)] = e;
    }
    if (!rest.empty()) return;
    entries_ = std::move(loaded);
}

Digest StatCache::digest(const fs::path& p) {
    auto content = [this](const fs::path& f, const FileStat& st) {
        std::string key = cache_key_of(f);
        auto it = entries_.find(key);
        if (it != entries_.end() && it->second.size == st.size &&
            it->second.mtime_ns == st.mtime_ns && it->second.inode == st.inode) {
            return it->second.digest;
        }
        Digest d = disk_.hash_file(f);
        if (st.mtime_ns <= wall_now_ns() - kRacyWindowNs) {
            entries_[key] = Entry{st.size, st.mtime_ns, st.inode, d};
            dirty_ = true;
        } else if (it != entries_.end()) {
            entries_.erase(it);  // outdated, and the new stat is too recent to remember
            dirty_ = true;
        }
        return d;
    };
    // Directory digests are not remembered (a directory's mtime does not change when a file
    // deep inside it is edited); the walk costs one stat per entry, the file contents are reused.
    return digest_artifact_with(disk_, p, content);
}

void StatCache::save() {
    if (!dirty_) return;
    std::string out(kStatFormat);
    out += '\n';
    for (const auto& [path, e] : entries_) {
        if (path.find('\n') != std::string::npos) continue;  // cannot be stored in a line
        out += e.digest.hex() + ' ' + std::to_string(e.size) + ' ' + std::to_string(e.mtime_ns) +
               ' ' + std::to_string(e.inode) + ' ' + path + '\n';
    }
    disk_.write_file_atomic(file_, out);
    dirty_ = false;
}

}  // namespace graft
