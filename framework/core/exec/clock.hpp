// Time behind an interface so run records and timings can be tested with a fake clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace graft {

class Clock {
public:
    virtual ~Clock() = default;
    // Wall-clock time, nanoseconds since the Unix epoch (for records).
    virtual std::int64_t now_ns() = 0;
    // Monotonic time in nanoseconds (for durations).
    virtual std::int64_t steady_ns() = 0;
};

class SystemClock final : public Clock {
public:
    std::int64_t now_ns() override {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    std::int64_t steady_ns() override {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
};

}  // namespace graft
