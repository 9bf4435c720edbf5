// One status interface, owned by the host: everything the runner wants to tell the user about
// progress goes through it (the console, a test recorder, later a JSON event stream).
#pragma once

#include <graft/abi.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace graft {

enum class StageStatus { Ran, Cached, Failed, Skipped, Cancelled, Planned };
const char* to_string(StageStatus s);

struct StageReport {
    std::string id;
    std::string type;
    StageStatus status = StageStatus::Planned;
    double seconds = 0;
    std::vector<std::string> reasons;  // why it ran / was restored / was skipped
    std::string error;
    std::map<std::string, double> metrics;
};

class StatusSink {
public:
    virtual ~StatusSink() = default;
    virtual void plan_ready(std::size_t total_stages) = 0;
    virtual void stage_started(const std::string& id, const std::string& type,
                               const std::vector<std::string>& reasons) = 0;
    virtual void stage_log(const std::string& id, abi::LogLevel level, const std::string& msg) = 0;
    virtual void stage_progress(const std::string& id, std::uint64_t done, std::uint64_t total,
                                const std::string& unit) = 0;
    virtual void stage_finished(const StageReport& report) = 0;
    virtual void run_finished(const std::vector<StageReport>& reports, double seconds) = 0;
};

struct ConsoleOptions {
    bool explain = false;  // print every reason under each stage
    int verbosity = 0;     // -1 quiet, 0 normal, 1 verbose (debug logs from stages)
    bool color = false;
    bool progress = false;  // live progress line (a terminal)
};

// Line-oriented console output (stderr): one line per finished stage, stage logs prefixed with
// the stage id, a summary line at the end. Thread-safe.
class ConsoleStatus final : public StatusSink {
public:
    explicit ConsoleStatus(ConsoleOptions opts);
    void plan_ready(std::size_t total_stages) override;
    void stage_started(const std::string& id, const std::string& type,
                       const std::vector<std::string>& reasons) override;
    void stage_log(const std::string& id, abi::LogLevel level, const std::string& msg) override;
    void stage_progress(const std::string& id, std::uint64_t done, std::uint64_t total,
                        const std::string& unit) override;
    void stage_finished(const StageReport& report) override;
    void run_finished(const std::vector<StageReport>& reports, double seconds) override;

private:
    void clear_progress_line();
    ConsoleOptions opts_;
    std::mutex mu_;
    std::size_t total_ = 0, finished_ = 0;
    bool progress_shown_ = false;
    std::int64_t last_progress_ns_ = 0;
};

std::string format_seconds(double s);
std::string format_metric(double v);

}  // namespace graft
