// Where stage jobs run. The local executor is a thread pool; a Slurm or multi-process executor
// implements the same interface (each stage is runnable alone with `graft exec`).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace graft {

class Executor {
public:
    virtual ~Executor() = default;
    // How many jobs may run at once.
    virtual int slots() const = 0;
    // Runs `job` asynchronously. The job reports its own completion (the runner's job does).
    virtual void submit(std::function<void()> job) = 0;
};

class LocalExecutor final : public Executor {
public:
    explicit LocalExecutor(int threads);
    ~LocalExecutor() override;  // finishes queued jobs, then joins
    int slots() const override { return static_cast<int>(workers_.size()); }
    void submit(std::function<void()> job) override;

private:
    void work();
    std::vector<std::thread> workers_;
    std::deque<std::function<void()>> queue_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
};

}  // namespace graft
