#include "core/exec/temp_pool.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <system_error>

namespace graft {

TempDirPool::TempDirPool(Disk& disk, ObjectStore& objects, std::vector<std::string> keep,
                         std::size_t capacity)
    : disk_(disk), objects_(objects), keep_(std::move(keep)), capacity_(capacity) {}

TempDirPool::~TempDirPool() {
    for (const auto& d : idle_) {
        try {
            disk_.remove_all(d);
        } catch (const std::exception&) {
            // Left for clean_stale_temps() of a later run, once this process is gone.
        }
    }
}

fs::path TempDirPool::acquire(std::string_view tag) {
    for (;;) {
        fs::path dir;
        {
            std::lock_guard lock(mu_);
            if (idle_.empty()) break;
            dir = std::move(idle_.back());
            idle_.pop_back();
        }
        try {
            return objects_.rename_temp_dir(dir, tag);
        } catch (const std::exception&) {
            // Gone or not renamable (someone removed tmp/ under us): drop it, try the next.
            try {
                disk_.remove_all(dir);
            } catch (const std::exception&) {
            }
        }
    }
    return objects_.make_temp_dir(tag);
}

void TempDirPool::empty(const fs::path& dir) {
    for (const auto& name : disk_.list_dir(dir)) {
        const fs::path p = dir / name;
        const bool kept = std::find(keep_.begin(), keep_.end(), name) != keep_.end();
        std::error_code ec;
        // Not stat(): a stage that replaced scratch/ by a symlink must not get its target emptied.
        if (kept && fs::symlink_status(p, ec).type() == fs::file_type::directory) {
            for (const auto& child : disk_.list_dir(p)) disk_.remove_all(p / child);
            // A stage may have made the directory read-only or hidden entries we could not see.
            if (!disk_.list_dir(p).empty()) throw std::runtime_error("not emptied");
        } else {
            disk_.remove_all(p);
        }
    }
}

void TempDirPool::release(const fs::path& dir) {
    bool reuse = false;
    try {
        empty(dir);
        reuse = true;
    } catch (const std::exception&) {
    }
    if (reuse) {
        std::lock_guard lock(mu_);
        if (idle_.size() < capacity_) {
            idle_.push_back(dir);
            return;
        }
    }
    try {
        disk_.remove_all(dir);
    } catch (const std::exception&) {
        // Left for clean_stale_temps() of a later run, once this process is gone.
    }
}

std::size_t TempDirPool::idle() const {
    std::lock_guard lock(mu_);
    return idle_.size();
}

}  // namespace graft
