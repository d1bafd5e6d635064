// Event pools under churn: one thread allocates, 1-3 others release, and every live event's
// bytes are checked while slots are recycled around it.
//
// The producer allocates events of random sizes (every class, XXL included) filled with the
// splitmix stream of their sequence number, and sends a reference to a random non-empty subset
// of the consumers (one token per consumer, through a per-consumer SPSC channel). It keeps its
// own window of recent events and weak handles to older ones: a weak lock() that succeeds must
// show exactly the event it was made from (a recycled slot must never be resurrected). Each
// consumer adopts its tokens (which must never be stale), checks sequence order and contents,
// holds a random number of them, re-checks them on release, and drops everything whenever its
// channel runs dry (so no thread waits on slots another idle thread holds). The producer
// destroys the pools' owner right after its last allocation: the consumers finish on pools
// that are kept alive by their handles alone. At the end every slot must be back.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/channel.hpp>
#include <ringkit/event_pool.hpp>

#include "support/pattern.hpp"

namespace {

using ringkit::EventPools;
using ringkit::EventRef;
using ringkit::EventToken;
using ringkit::PoolConfig;
using ringkit::WeakEventRef;

#if RINGKIT_TEST_SANITIZED
constexpr std::uint64_t kEvents = 30'000;
constexpr int kChurn = 5'000;
#else
constexpr std::uint64_t kEvents = 400'000;
constexpr int kChurn = 50'000;
#endif

/// Event `i`'s size: mostly small, every class reached, now and then XXL.
std::size_t size_of_event(std::uint64_t i) {
  const std::uint64_t h = ringkit_test::mix64(i ^ 0x51ed);
  switch (h % 16) {
    case 0:
      return 16385 + h % 20000;  // XXL
    case 1:
    case 2:
      return 4097 + h % 12288;  // XL
    case 3:
    case 4:
      return 1025 + h % 3072;  // L
    case 5:
    case 6:
    case 7:
      return 257 + h % 768;
    case 8:
    case 9:
    case 10:
      return 65 + h % 192;
    default:
      return 1 + h % 64;
  }
}

/// Empty when `ev` is event `i` with its exact bytes, else what is wrong.
std::string check(const EventRef& ev, std::uint64_t i) {
  if (!ev) return "empty handle";
  if (ev.type() != static_cast<std::uint32_t>(i)) return "type " + std::to_string(ev.type());
  if (ev.size() != size_of_event(i)) return "size " + std::to_string(ev.size());
  if (auto bad = ringkit_test::first_mismatch(i, 0, ev.bytes())) {
    return "byte " + std::to_string(*bad) + " of event " + std::to_string(i);
  }
  return {};
}

struct Failure {
  std::atomic<bool> any{false};
  std::string what;  // written once, by the first thread that sets `any`
  void report(const std::string& w) {
    if (!any.exchange(true)) what = w;
  }
};

void run(std::size_t consumers) {
  PoolConfig config = PoolConfig::custom(512, 512, 256, 128, 96);
  config.xxl_slots = 48;
  auto created = EventPools::create(config);
  ASSERT_TRUE(created) << created.message();
  std::optional<EventPools> pools(std::move(*created));

  std::vector<ringkit::SpscProducer<EventToken>> tx;
  std::vector<ringkit::SpscConsumer<EventToken>> rx;
  for (std::size_t c = 0; c < consumers; ++c) {
    auto [p, q] = *ringkit::make_spsc<EventToken>(256);
    tx.push_back(std::move(p));
    rx.push_back(std::move(q));
  }
  Failure failure;
  std::vector<std::uint64_t> received(consumers, 0);
  std::vector<std::uint64_t> sent(consumers, 0);
  std::atomic<std::uint64_t> weak_hits{0};
  std::atomic<std::uint64_t> weak_misses{0};
  std::atomic<std::uint64_t> exhausted{0};

  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < consumers; ++c) {
    threads.emplace_back([&, c] {
      ringkit_test::Rng rng(c + 100);
      std::deque<std::pair<EventRef, std::uint64_t>> held;
      std::uint64_t last = 0;
      bool first = true;
      EventToken tok;
      while (!failure.any.load(std::memory_order_relaxed)) {
        if (!rx[c].try_pop(tok)) {
          held.clear();                // idle: hold nothing another thread might wait for
          if (!rx[c].pop(tok)) break;  // closed and drained
        }
        auto ev = EventRef::from_token(tok);
        if (!ev) {
          failure.report("stale token at consumer " + std::to_string(c));
          break;
        }
        const std::uint64_t i = ev->type();
        if (!first && i <= last) failure.report("out of order");
        first = false;
        last = i;
        if (auto e = check(*ev, i); !e.empty()) failure.report("consumer: " + e);
        ++received[c];
        held.emplace_back(std::move(*ev), i);
        const std::size_t keep = rng.below(33);
        while (held.size() > keep) {
          if (auto e = check(held.front().first, held.front().second); !e.empty()) {
            failure.report("held event changed: " + e);
          }
          held.pop_front();
        }
      }
      for (auto& [h, i] : held) {
        if (auto e = check(h, i); !e.empty()) failure.report("at exit: " + e);
      }
    });
  }

  threads.emplace_back([&] {
    ringkit_test::Rng rng(7);
    std::deque<std::pair<EventRef, std::uint64_t>> window;
    std::array<std::pair<WeakEventRef, std::uint64_t>, 16> weak{};
    for (std::uint64_t i = 0; i < kEvents && !failure.any.load(std::memory_order_relaxed); ++i) {
      const std::size_t n = size_of_event(i);
      std::optional<EventRef> ev;
      for (;;) {
        auto w = pools->allocate_uninit(n, static_cast<std::uint32_t>(i));
        if (w) {
          ringkit_test::fill_pattern(i, 0, w->writable());
          ev = std::move(*w).publish();
          break;
        }
        if (w.error() != ringkit::Errc::pool_exhausted) {
          failure.report("allocate: " + w.message());
          return;
        }
        exhausted.fetch_add(1, std::memory_order_relaxed);
        window.clear();
        std::this_thread::yield();
      }
      if (i % 8 == 0) weak[(i / 8) % weak.size()] = {WeakEventRef(*ev), i};  // 128 back
      auto& [probe, probe_i] = weak[rng.below(weak.size())];
      if (auto locked = probe.lock()) {
        weak_hits.fetch_add(1, std::memory_order_relaxed);
        if (auto e = check(*locked, probe_i); !e.empty()) failure.report("weak lock: " + e);
      } else {
        weak_misses.fetch_add(1, std::memory_order_relaxed);
      }
      std::uint32_t mask = 0;
      while (mask == 0) mask = static_cast<std::uint32_t>(rng.below(1U << consumers));
      for (std::size_t c = 0; c < consumers; ++c) {
        if ((mask & (1U << c)) == 0) continue;
        EventRef copy = *ev;
        if (!tx[c].push(std::move(copy).into_token())) failure.report("consumer gone");
        ++sent[c];
      }
      window.emplace_back(std::move(*ev), i);
      if (window.size() > 64) window.pop_front();
      if (!window.empty() && (i & 7) == 0) {
        const auto& [h, hi] = window[rng.below(window.size())];
        if (auto e = check(h, hi); !e.empty()) failure.report("producer window: " + e);
      }
    }
    pools.reset();  // the owner goes first; consumers still hold events
    for (auto& [h, i] : window) {
      if (auto e = check(h, i); !e.empty()) failure.report("window after owner: " + e);
    }
    for (auto& t : tx) t.close();
  });

  for (auto& t : threads) t.join();
  ASSERT_FALSE(failure.any.load()) << failure.what;
  for (std::size_t c = 0; c < consumers; ++c) EXPECT_EQ(received[c], sent[c]) << "consumer " << c;
  EXPECT_GT(weak_hits.load(), 0U);
  std::printf("consumers=%zu events=%llu weak_hits=%llu weak_misses=%llu retries=%llu\n", consumers,
              static_cast<unsigned long long>(kEvents),
              static_cast<unsigned long long>(weak_hits.load()),
              static_cast<unsigned long long>(weak_misses.load()),
              static_cast<unsigned long long>(exhausted.load()));
}

TEST(EventPoolStress, OneReleaser) { run(1); }
TEST(EventPoolStress, TwoReleasers) { run(2); }
TEST(EventPoolStress, ThreeReleasers) { run(3); }

/// Every slot is returned: after churn on several threads and their exit, the whole capacity
/// of every class can be taken again by one thread.
TEST(EventPoolStress, NothingIsLostAcrossThreads) {
  const PoolConfig config = PoolConfig::custom(300, 200, 100, 50, 20);
  auto pools = *EventPools::create(config);
  std::vector<std::thread> threads;
  threads.reserve(3);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      ringkit_test::Rng rng(t);
      std::vector<EventRef> mine;
      for (int i = 0; i < kChurn; ++i) {
        const std::size_t n = 1 + rng.below(16384);
        if (auto ev = pools.allocate_uninit(n, static_cast<std::uint32_t>(i))) {
          mine.push_back(std::move(*ev).publish());
        }
        if (mine.size() > 20 || rng.below(3) == 0) {
          if (!mine.empty()) mine.erase(mine.begin() + static_cast<long>(rng.below(mine.size())));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t k = 0; k < ringkit::kFixedClasses; ++k) {
    const auto cls = static_cast<ringkit::SizeClass>(k);
    EXPECT_EQ(pools.stats(cls).in_use, 0U) << "class " << k;
    std::vector<EventRef> all;
    for (std::uint32_t i = 0; i < config.slots[k]; ++i) {
      auto ev = pools.allocate_uninit(ringkit::kClassBytes[k]);
      ASSERT_TRUE(ev) << "class " << k << " slot " << i;
      all.push_back(std::move(*ev).publish());
    }
    EXPECT_EQ(pools.allocate_uninit(ringkit::kClassBytes[k]).error(),
              ringkit::Errc::pool_exhausted);
  }
}

}  // namespace
