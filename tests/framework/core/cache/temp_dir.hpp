// A fresh directory under the system temp dir, removed (read-only files included) on scope exit.
#pragma once

#include "core/cache/disk.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

namespace graft::testing {

class TempDir {
public:
    explicit TempDir(const std::string& tag = "cache") {
        static std::atomic<int> counter{0};
        auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ = fs::temp_directory_path() /
                ("graft-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
                 std::to_string(++counter) + "-" + std::to_string(ticks));
        fs::create_directories(path_);
    }
    ~TempDir() {
        try {
            RealDisk().remove_all(path_);
        } catch (...) {  // never throw from a destructor; a leftover temp dir is harmless
        }
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }
    fs::path operator/(const fs::path& rel) const { return path_ / rel; }

private:
    fs::path path_;
};

}  // namespace graft::testing
