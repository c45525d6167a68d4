#pragma once
// Time is injected: everything that windows, schedules or expires takes a Clock&, so tests advance
// time by hand instead of sleeping. Only SystemClock reads the real clocks.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace canaryd {

/// Source of wall-clock and monotonic time.
/// Thread safety: implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time in milliseconds since the Unix epoch (the unit of remote-write timestamps).
  virtual int64_t NowMillis() const = 0;
  /// Monotonic time, for durations and timeouts.
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

/// The real clocks. Thread-safe; stateless.
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  std::chrono::steady_clock::time_point Monotonic() const override;
  /// A process-wide instance, for wiring in main().
  static SystemClock& Instance();
};

/// A clock that only moves when told to. Both time lines advance together.
/// Thread-safe (atomics), so tests may advance it while server threads read it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_millis = 1'700'000'000'000) : millis_(start_millis) {}
  int64_t NowMillis() const override { return millis_.load(std::memory_order_relaxed); }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(
        std::chrono::milliseconds(millis_.load(std::memory_order_relaxed)));
  }
  void Advance(std::chrono::milliseconds d) {
    millis_.fetch_add(d.count(), std::memory_order_relaxed);
  }
  void SetMillis(int64_t millis) { millis_.store(millis, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> millis_;
};

}  // namespace canaryd
