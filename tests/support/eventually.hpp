// Test support: poll a condition until it holds or a deadline passes. Socket tests wait on a
// server's counters with it instead of sleeping a fixed time (the machine is shared; sanitized
// builds run 5-20x slower, so the default deadline is generous and only a failure waits it out).
//
// Thread safety: call from the test's thread; `pred` reads whatever it reads under its own rules.
#pragma once

#include <chrono>
#include <thread>

namespace ringkit_test {

/// Polls `pred` every 10 ms for up to `limit` (15 s by default); true as soon as it holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace ringkit_test
