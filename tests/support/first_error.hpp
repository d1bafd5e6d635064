// Test support: the first failure any thread reports, read by the main thread after joining
// (stress tests must not call GoogleTest assertions from their worker threads).
//
// Thread safety: add() and failed() may be called from any thread; first() too.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

namespace ringkit_test {

class FirstError {
 public:
  /// Records `e` if no failure was recorded yet.
  void add(std::string e) {
    const std::lock_guard<std::mutex> lock(m_);
    if (first_.empty()) first_ = std::move(e);
    // (F1) relaxed: a hint for workers to stop early; the text travels under the mutex.
    failed_.store(true, std::memory_order_relaxed);
  }
  /// True once a failure was recorded (workers poll it to stop early).
  [[nodiscard]] bool failed() const { return failed_.load(std::memory_order_relaxed); }  // (F1)
  /// The first failure, or empty.
  [[nodiscard]] std::string first() {
    const std::lock_guard<std::mutex> lock(m_);
    return first_;
  }

 private:
  std::mutex m_;
  std::string first_;
  std::atomic<bool> failed_{false};
};

}  // namespace ringkit_test
