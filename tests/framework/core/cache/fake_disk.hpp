// An in-memory Disk for tests (like ninja's VirtualFileSystem): a map from normalised path to a
// file (content, exec bit) or a directory. Each write ticks a fake clock that serves as mtime, and
// every new file gets a fresh inode, so stat-based caches behave as on a real disk. Counters and
// failure injection let tests assert what was (not) read or hashed.
//
// Semantics follow RealDisk: write_file_atomic creates parents and gives the file a new inode
// (rename replaces the inode), rename refuses a non-empty directory target, list_dir is sorted
// bytewise, remove_all of a missing path is fine. Symlinks are not modelled. Thread-safe.
#pragma once

#include "core/cache/disk.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace graft::testing {

class FakeDisk final : public Disk {
public:
    struct Node {
        bool is_dir = false;
        std::string content;
        bool executable = false;
        bool read_only = false;
        std::int64_t mtime_ns = 0;
        std::uint64_t inode = 0;
    };

    // ---- Disk -----------------------------------------------------------------------------

    FileStat stat(const fs::path& p) override {
        std::lock_guard lock(mu_);
        ++stat_calls;
        maybe_fail("stat", p);
        FileStat st;
        std::string k = key(p);
        if (is_root(k)) {
            st.exists = st.is_dir = true;
            return st;
        }
        auto it = nodes_.find(k);
        if (it == nodes_.end()) return st;
        const Node& n = it->second;
        st.exists = true;
        st.is_dir = n.is_dir;
        st.executable = !n.is_dir && n.executable;
        st.size = n.is_dir ? 0 : n.content.size();
        st.mtime_ns = n.mtime_ns;
        st.inode = n.inode;
        return st;
    }

    std::optional<std::string> read_file(const fs::path& p) override {
        std::lock_guard lock(mu_);
        ++read_calls;
        maybe_fail("read_file", p);
        auto it = nodes_.find(key(p));
        if (it == nodes_.end()) return std::nullopt;
        if (it->second.is_dir) {
            throw std::runtime_error("cannot read " + p.string() + ": is a directory");
        }
        return it->second.content;
    }

    void write_file_atomic(const fs::path& p, std::string_view content) override {
        std::lock_guard lock(mu_);
        ++write_calls;
        maybe_fail("write_file_atomic", p);
        std::string k = key(p);
        if (auto it = nodes_.find(k); it != nodes_.end() && it->second.is_dir) {
            throw std::runtime_error("cannot replace " + p.string() + ": is a directory");
        }
        make_dirs_locked(parent_key(k));
        Node n;
        n.content = std::string(content);
        n.mtime_ns = tick();
        n.inode = next_inode_++;  // the temp file renamed over `p` is a new inode
        nodes_[k] = std::move(n);
    }

    std::vector<std::string> list_dir(const fs::path& p) override {
        std::lock_guard lock(mu_);
        ++list_calls;
        maybe_fail("list_dir", p);
        std::string k = key(p);
        std::vector<std::string> names;
        if (!is_root(k)) {
            auto it = nodes_.find(k);
            if (it == nodes_.end() || !it->second.is_dir) return names;
        }
        for (const auto& [path, node] : nodes_) {
            if (parent_key(path) == k) names.push_back(name_of(path));
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    void make_dirs(const fs::path& p) override {
        std::lock_guard lock(mu_);
        maybe_fail("make_dirs", p);
        make_dirs_locked(key(p));
    }

    bool rename(const fs::path& from, const fs::path& to) override {
        std::lock_guard lock(mu_);
        ++rename_calls;
        maybe_fail("rename", from);
        std::string f = key(from);
        std::string t = key(to);
        auto src = nodes_.find(f);
        if (src == nodes_.end()) {
            throw std::runtime_error("cannot rename " + from.string() + ": no such file");
        }
        if (f == t) return true;
        if (!is_root(parent_key(t)) && !is_dir_locked(parent_key(t))) {
            throw std::runtime_error("cannot rename to " + to.string() + ": no parent directory");
        }
        if (auto dst = nodes_.find(t); dst != nodes_.end()) {
            if (dst->second.is_dir) {
                if (!src->second.is_dir) {
                    throw std::runtime_error("cannot rename " + from.string() + " to " +
                                             to.string() + ": target is a directory");
                }
                if (has_children_locked(t)) return false;
            } else if (src->second.is_dir) {
                throw std::runtime_error("cannot rename " + from.string() + " to " +
                                         to.string() + ": target is not a directory");
            }
            nodes_.erase(dst);
        }
        std::vector<std::pair<std::string, Node>> moved;
        for (auto it = nodes_.begin(); it != nodes_.end();) {
            if (it->first == f || is_under(it->first, f)) {
                moved.emplace_back(t + it->first.substr(f.size()), std::move(it->second));
                it = nodes_.erase(it);
            } else {
                ++it;
            }
        }
        for (auto& [k, n] : moved) nodes_[k] = std::move(n);
        return true;
    }

    void remove_all(const fs::path& p) override {
        std::lock_guard lock(mu_);
        ++remove_calls;
        maybe_fail("remove_all", p);
        std::string k = key(p);
        for (auto it = nodes_.begin(); it != nodes_.end();) {
            if (it->first == k || is_under(it->first, k)) {
                it = nodes_.erase(it);
            } else {
                ++it;
            }
        }
    }

    Digest hash_file(const fs::path& p) override {
        std::lock_guard lock(mu_);
        ++hash_calls;
        maybe_fail("hash_file", p);
        auto it = nodes_.find(key(p));
        if (it == nodes_.end() || it->second.is_dir) {
            throw std::runtime_error("cannot hash " + p.string() + ": not a regular file");
        }
        return hash_bytes(it->second.content);
    }

    void make_read_only(const fs::path& p) override {
        std::lock_guard lock(mu_);
        maybe_fail("make_read_only", p);
        std::string k = key(p);
        for (auto& [path, n] : nodes_) {
            if ((path == k || is_under(path, k)) && !n.is_dir) n.read_only = true;
        }
    }

    // ---- Test helpers ---------------------------------------------------------------------

    // Creates or overwrites a file (and its parent directories); bumps the fake clock. Unlike
    // write_file_atomic it keeps the inode of an existing file, like an in-place edit.
    void write(const fs::path& p, std::string_view content, bool executable = false) {
        std::lock_guard lock(mu_);
        std::string k = key(p);
        make_dirs_locked(parent_key(k));
        Node& n = nodes_[k];
        if (n.inode == 0) n.inode = next_inode_++;
        n.is_dir = false;
        n.content = std::string(content);
        n.executable = executable;
        n.mtime_ns = tick();
    }

    void mkdir(const fs::path& p) { make_dirs(p); }

    // Sets a file's mtime, e.g. back to its old value to fake an edit the clock did not see.
    void set_mtime(const fs::path& p, std::int64_t mtime_ns) {
        std::lock_guard lock(mu_);
        node(p).mtime_ns = mtime_ns;
    }
    void set_executable(const fs::path& p, bool executable) {
        std::lock_guard lock(mu_);
        node(p).executable = executable;
    }
    // Bumps the mtime without changing the content.
    void touch(const fs::path& p) {
        std::lock_guard lock(mu_);
        node(p).mtime_ns = tick();
    }

    bool exists(const fs::path& p) {
        std::lock_guard lock(mu_);
        return is_root(key(p)) || nodes_.count(key(p)) != 0;
    }
    bool is_dir(const fs::path& p) {
        std::lock_guard lock(mu_);
        return is_root(key(p)) || is_dir_locked(key(p));
    }
    // Content of a file; throws if it is missing or a directory.
    std::string content(const fs::path& p) {
        std::lock_guard lock(mu_);
        Node& n = node(p);
        if (n.is_dir) throw std::runtime_error(p.string() + " is a directory");
        return n.content;
    }
    bool is_read_only(const fs::path& p) {
        std::lock_guard lock(mu_);
        return node(p).read_only;
    }

    // Every path (files and directories), sorted; handy for asserting "nothing else was left".
    std::vector<std::string> all_paths() {
        std::lock_guard lock(mu_);
        std::vector<std::string> out;
        for (const auto& [k, n] : nodes_) out.push_back(k);
        return out;
    }

    // The next call of `op` ("rename", "hash_file", ...) on exactly `p` throws, once.
    void fail_once(std::string op, const fs::path& p) {
        std::lock_guard lock(mu_);
        failures_.insert({std::move(op), key(p)});
    }

    std::int64_t now_ns() const { return clock_; }
    void set_clock(std::int64_t ns) {
        std::lock_guard lock(mu_);
        clock_ = ns;
    }

    void reset_counters() {
        std::lock_guard lock(mu_);
        stat_calls = read_calls = write_calls = list_calls = rename_calls = remove_calls =
            hash_calls = 0;
    }

    int stat_calls = 0;
    int read_calls = 0;
    int write_calls = 0;
    int list_calls = 0;
    int rename_calls = 0;
    int remove_calls = 0;
    int hash_calls = 0;

private:
    static std::string key(const fs::path& p) {
        std::string s = p.lexically_normal().generic_string();
        while (s.size() > 1 && s.back() == '/') s.pop_back();
        if (s == ".") s.clear();
        return s;
    }
    static bool is_root(const std::string& k) { return k.empty() || k == "/"; }
    static std::string parent_key(const std::string& k) {
        auto slash = k.rfind('/');
        if (slash == std::string::npos) return "";
        if (slash == 0) return "/";
        return k.substr(0, slash);
    }
    static std::string name_of(const std::string& k) {
        auto slash = k.rfind('/');
        return slash == std::string::npos ? k : k.substr(slash + 1);
    }
    static bool is_under(const std::string& path, const std::string& dir) {
        if (is_root(dir)) return !is_root(path) && (dir.empty() ? path[0] != '/' : path[0] == '/');
        return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
               path[dir.size()] == '/';
    }

    bool is_dir_locked(const std::string& k) const {
        auto it = nodes_.find(k);
        return it != nodes_.end() && it->second.is_dir;
    }
    bool has_children_locked(const std::string& k) const {
        for (const auto& [path, n] : nodes_) {
            if (parent_key(path) == k) return true;
        }
        return false;
    }

    void make_dirs_locked(const std::string& k) {
        if (is_root(k)) return;
        make_dirs_locked(parent_key(k));
        auto it = nodes_.find(k);
        if (it != nodes_.end()) {
            if (!it->second.is_dir) {
                throw std::runtime_error("cannot create directory " + k + ": a file is in the way");
            }
            return;
        }
        Node n;
        n.is_dir = true;
        n.mtime_ns = tick();
        n.inode = next_inode_++;
        nodes_[k] = std::move(n);
    }

    Node& node(const fs::path& p) {  // callers hold mu_
        auto it = nodes_.find(key(p));
        if (it == nodes_.end()) throw std::runtime_error("FakeDisk: no such path " + p.string());
        return it->second;
    }

    void maybe_fail(const char* op, const fs::path& p) {
        auto it = failures_.find({op, key(p)});
        if (it == failures_.end()) return;
        failures_.erase(it);
        throw std::runtime_error(std::string("FakeDisk: injected failure of ") + op + " on " +
                                 p.string());
    }

    std::int64_t tick() { return ++clock_; }

    std::recursive_mutex mu_;
    std::map<std::string, Node> nodes_;
    std::set<std::pair<std::string, std::string>> failures_;
    std::int64_t clock_ = 1'000'000'000;  // fake mtimes: far in the past for the racy-git guard
    std::uint64_t next_inode_ = 2;
};

}  // namespace graft::testing
