#include "core/exec/executor.hpp"

#include <algorithm>

namespace graft {

LocalExecutor::LocalExecutor(int threads) {
    const int n = std::max(1, threads);
    workers_.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
}

LocalExecutor::~LocalExecutor() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
}

void LocalExecutor::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mu_);
        queue_.push_back(std::move(job));
    }
    cv_.notify_one();
}

void LocalExecutor::work() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stop_ and drained
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job();  // jobs catch their own exceptions (see stage_job.cpp)
    }
}

}  // namespace graft
