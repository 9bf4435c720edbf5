#include "core/cache/disk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace graft {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what, const fs::path& p) {
    throw std::system_error(err, std::generic_category(), what + " " + p.string());
}

// Closes a POSIX fd on scope exit (errors on close of a read-only fd carry no information).
struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

bool missing_errno(int err) { return err == ENOENT || err == ENOTDIR; }

void write_all(int fd, std::string_view content, const fs::path& p) {
    const char* data = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, data, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "cannot write", p);
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
}

std::atomic<std::uint64_t> g_tmp_counter{0};

constexpr mode_t kWriteBits = S_IWUSR | S_IWGRP | S_IWOTH;

}  // namespace

FileStat RealDisk::stat(const fs::path& p) {
    struct ::stat st {};
    FileStat out;
    if (::stat(p.c_str(), &st) != 0) {
        if (missing_errno(errno) || errno == ELOOP) return out;
        throw_errno(errno, "cannot stat", p);
    }
    out.exists = true;
    out.is_dir = S_ISDIR(st.st_mode);
    out.executable = !out.is_dir && (st.st_mode & S_IXUSR) != 0;
    out.size = out.is_dir ? 0 : static_cast<std::uint64_t>(st.st_size);
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                   static_cast<std::int64_t>(st.st_mtim.tv_nsec);
    out.inode = static_cast<std::uint64_t>(st.st_ino);
    return out;
}

std::optional<std::string> RealDisk::read_file(const fs::path& p) {
    Fd f(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.fd < 0) {
        if (missing_errno(errno)) return std::nullopt;
        throw_errno(errno, "cannot open", p);
    }
    std::string out;
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "cannot read", p);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// Durability note: there is no fsync. The cache guards against killed processes (a crash between
// write and rename leaves only a stray temp file; the rename itself is atomic), not against power
// loss, where a renamed-but-unsynced file may come back empty; an fsync per entry would cost far
// more than the rare re-run it could save.
void RealDisk::write_file_atomic(const fs::path& p, std::string_view content) {
    if (p.has_parent_path()) make_dirs(p.parent_path());
    fs::path tmp = p;
    tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++g_tmp_counter);
    {
        Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, 0666));
        if (f.fd < 0) throw_errno(errno, "cannot create", tmp);
        try {
            write_all(f.fd, content, tmp);
        } catch (...) {
            ::unlink(tmp.c_str());
            throw;
        }
        int fd = f.fd;
        f.fd = -1;
        if (::close(fd) != 0) {
            int err = errno;
            ::unlink(tmp.c_str());
            throw_errno(err, "cannot write", tmp);
        }
    }
    if (::rename(tmp.c_str(), p.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw_errno(err, "cannot replace", p);
    }
}

std::vector<std::string> RealDisk::list_dir(const fs::path& p) {
    std::vector<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(p, ec);
    if (ec) {
        // A file where a directory is expected lists as empty too, like a missing directory.
        if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
            return names;
        }
        throw fs::filesystem_error("cannot list directory", p, ec);
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    if (ec) throw fs::filesystem_error("cannot list directory", p, ec);
    std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned char
    return names;
}

void RealDisk::make_dirs(const fs::path& p) {
    std::error_code ec;
    fs::create_directories(p, ec);
    if (ec) throw fs::filesystem_error("cannot create directory", p, ec);
}

bool RealDisk::rename(const fs::path& from, const fs::path& to) {
    if (::rename(from.c_str(), to.c_str()) == 0) return true;
    // rename(2) refuses to replace a non-empty directory; for the object store that means another
    // writer published the same content first.
    if (errno == ENOTEMPTY || errno == EEXIST) return false;
    throw std::system_error(errno, std::generic_category(),
                            "cannot rename " + from.string() + " to " + to.string());
}

namespace {

// Removes `p` without following symlinks. Directories need u+wx to delete their entries, so a
// read-only tree (e.g. made by a user, since published objects keep directories writable) is
// made writable on the way down.
void remove_tree(const fs::path& p) {
    struct ::stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
        if (missing_errno(errno)) return;
        throw_errno(errno, "cannot stat", p);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlink(p.c_str()) != 0 && !missing_errno(errno)) {
            throw_errno(errno, "cannot remove", p);
        }
        return;
    }
    constexpr mode_t kNeed = S_IRWXU;
    if ((st.st_mode & kNeed) != kNeed && ::chmod(p.c_str(), st.st_mode | kNeed) != 0) {
        throw_errno(errno, "cannot make writable", p);
    }
    std::error_code ec;
    std::vector<fs::path> children;
    for (fs::directory_iterator it(p, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        children.push_back(it->path());
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
        throw fs::filesystem_error("cannot list directory", p, ec);
    }
    for (const auto& c : children) remove_tree(c);
    if (::rmdir(p.c_str()) != 0 && !missing_errno(errno)) throw_errno(errno, "cannot remove", p);
}

void make_tree_read_only(const fs::path& p) {
    struct ::stat st {};
    if (::lstat(p.c_str(), &st) != 0) throw_errno(errno, "cannot stat", p);
    if (S_ISLNK(st.st_mode)) return;  // chmod would follow it out of the tree
    if (S_ISDIR(st.st_mode)) {
        for (const auto& e : fs::directory_iterator(p)) make_tree_read_only(e.path());
        return;  // directories stay writable so gc can delete their entries
    }
    mode_t mode = st.st_mode & 07777;
    if ((mode & kWriteBits) != 0 && ::chmod(p.c_str(), mode & ~kWriteBits) != 0) {
        throw_errno(errno, "cannot make read-only", p);
    }
}

}  // namespace

void RealDisk::remove_all(const fs::path& p) { remove_tree(p); }

Digest RealDisk::hash_file(const fs::path& p) {
    Fd f(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.fd < 0) throw_errno(errno, "cannot open", p);
    // One buffer per thread, allocated once and not zero-filled: most files hashed are small,
    // and a fresh zeroed megabyte per file cost more than reading them.
    constexpr std::size_t kBuf = 1 << 20;
    thread_local const std::unique_ptr<char[]> buf(new char[kBuf]);
    Hasher h;
    for (;;) {
        ssize_t n = ::read(f.fd, buf.get(), kBuf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "cannot read", p);
        }
        if (n == 0) break;
        h.update(buf.get(), static_cast<std::size_t>(n));
    }
    return h.finish();
}

void RealDisk::make_read_only(const fs::path& p) { make_tree_read_only(p); }

void RealDisk::copy_tree(const fs::path& from, const fs::path& to) {
    if (fs::is_directory(from)) {
        fs::create_directories(to);
        for (const auto& entry : fs::directory_iterator(from)) {
            copy_tree(entry.path(), to / entry.path().filename());
        }
        return;
    }
    std::error_code ec;
    fs::create_hard_link(from, to, ec);
    if (ec) fs::copy_file(from, to);  // throws with the path when even a copy fails
}

void Disk::copy_tree(const fs::path& from, const fs::path& to) {
    const FileStat st = stat(from);
    if (!st.exists) throw std::runtime_error("copy_tree: " + from.string() + " does not exist");
    if (st.is_dir) {
        make_dirs(to);
        for (const auto& name : list_dir(from)) copy_tree(from / name, to / name);
        return;
    }
    auto content = read_file(from);
    if (!content) throw std::runtime_error("copy_tree: " + from.string() + " vanished");
    write_file_atomic(to, *content);
}

}  // namespace graft
