#include "core/exec/status.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace graft {

const char* to_string(StageStatus s) {
    switch (s) {
        case StageStatus::Ran: return "ran";
        case StageStatus::Cached: return "cached";
        case StageStatus::Failed: return "FAILED";
        case StageStatus::Skipped: return "skipped";
        case StageStatus::Cancelled: return "cancelled";
        case StageStatus::Planned: return "planned";
    }
    return "?";
}

std::string format_seconds(double s) {
    if (s < 1) return fmt::format("{:.0f}ms", s * 1000);
    if (s < 60) return fmt::format("{:.2f}s", s);
    return fmt::format("{}m{:02.0f}s", static_cast<int>(s / 60), std::fmod(s, 60));
}

std::string format_metric(double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
        return fmt::format("{}", static_cast<long long>(v));
    return fmt::format("{:.4g}", v);
}

ConsoleStatus::ConsoleStatus(ConsoleOptions opts) : opts_(opts) {}

void ConsoleStatus::clear_progress_line() {
    if (progress_shown_) {
        std::fputs("\r\033[K", stderr);
        progress_shown_ = false;
    }
}

void ConsoleStatus::plan_ready(std::size_t total_stages) {
    std::lock_guard lock(mu_);
    total_ = total_stages;
}

void ConsoleStatus::stage_started(const std::string& id, const std::string& type,
                                  const std::vector<std::string>& reasons) {
    if (opts_.verbosity < 0) return;
    std::lock_guard lock(mu_);
    clear_progress_line();
    std::string why = reasons.empty() ? "" : "  (" + reasons.front() +
                                             (reasons.size() > 1 ? fmt::format(", +{} more", reasons.size() - 1) : "") + ")";
    fmt::print(stderr, "[graft] running {} ({}){}\n", id, type, opts_.explain ? "" : why);
    if (opts_.explain)
        for (const auto& r : reasons) fmt::print(stderr, "          - {}\n", r);
    std::fflush(stderr);
}

void ConsoleStatus::stage_log(const std::string& id, abi::LogLevel level, const std::string& msg) {
    if (opts_.verbosity < 0 && level < abi::LogLevel::warn) return;
    if (opts_.verbosity < 1 && level < abi::LogLevel::info) return;
    std::lock_guard lock(mu_);
    clear_progress_line();
    const char* tag = level >= abi::LogLevel::error ? "error: "
                      : level == abi::LogLevel::warn ? "warning: "
                                                     : "";
    fmt::print(stderr, "  [{}] {}{}\n", id, tag, msg);
}

void ConsoleStatus::stage_progress(const std::string& id, std::uint64_t done, std::uint64_t total,
                                   const std::string& unit) {
    if (!opts_.progress || opts_.verbosity < 0) return;
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::lock_guard lock(mu_);
    if (now - last_progress_ns_ < 100'000'000) return;  // at most 10 updates a second
    last_progress_ns_ = now;
    if (total > 0)
        fmt::print(stderr, "\r\033[K  [{}] {}/{} {} ({:.0f}%)", id, done, total, unit,
                   100.0 * static_cast<double>(done) / static_cast<double>(total));
    else
        fmt::print(stderr, "\r\033[K  [{}] {} {}", id, done, unit);
    std::fflush(stderr);
    progress_shown_ = true;
}

void ConsoleStatus::stage_finished(const StageReport& r) {
    std::lock_guard lock(mu_);
    ++finished_;
    if (opts_.verbosity < 0 && r.status != StageStatus::Failed) return;
    clear_progress_line();
    std::string line = fmt::format("[{}/{}] {:<9} {}", finished_, total_, to_string(r.status), r.id);
    if (r.status == StageStatus::Ran) line += fmt::format(" in {}", format_seconds(r.seconds));
    std::string metrics;
    for (const auto& [k, v] : r.metrics) {
        if (metrics.size() > 80) {
            metrics += " ...";
            break;
        }
        metrics += fmt::format(" {}={}", k, format_metric(v));
    }
    if (!metrics.empty()) line += "  " + metrics;
    fmt::print(stderr, "{}\n", line);
    if (opts_.explain && r.status != StageStatus::Ran)
        for (const auto& why : r.reasons) fmt::print(stderr, "          - {}\n", why);
    if (r.status == StageStatus::Failed && !r.error.empty()) {
        fmt::print(stderr, "  error in stage '{}': {}\n", r.id, r.error);
    } else if (r.status == StageStatus::Skipped && !r.reasons.empty() && !opts_.explain) {
        fmt::print(stderr, "          ({})\n", r.reasons.front());
    }
    std::fflush(stderr);
}

void ConsoleStatus::run_finished(const std::vector<StageReport>& reports, double seconds) {
    std::map<StageStatus, int> counts;
    for (const auto& r : reports) ++counts[r.status];
    if (opts_.verbosity < 0 && counts[StageStatus::Failed] == 0) return;
    std::lock_guard lock(mu_);
    clear_progress_line();
    std::string parts;
    for (auto s : {StageStatus::Ran, StageStatus::Cached, StageStatus::Failed, StageStatus::Skipped,
                   StageStatus::Cancelled, StageStatus::Planned}) {
        if (counts[s] == 0) continue;
        if (!parts.empty()) parts += ", ";
        parts += fmt::format("{} {}", counts[s], s == StageStatus::Planned ? "would run" : to_string(s));
    }
    if (reports.empty()) parts = "nothing to do";
    fmt::print(stderr, "[graft] {} stage{}: {} in {}\n", reports.size(),
               reports.size() == 1 ? "" : "s", parts, format_seconds(seconds));
}

}  // namespace graft
