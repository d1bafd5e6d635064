// Stress test of the ring allocator (ringkit/ring_allocator.hpp), model-based: the allocator's
// thread makes buffers of random sizes (1 B - 64 KiB, log-uniform) filled with the seeded
// pattern stream, as FixedBuf, as ExtBuf grown in random pieces and finalized, and as FrozenBuf
// shared with another thread. Each buffer lives for a random time: kept by the allocator's
// thread (its model), or sent through an SPSC channel to one of two releaser threads that keep
// it for a while and release it there. After every step each thread checks every byte of every
// buffer it holds; any byte changed means the allocator handed out memory still in use. The
// allocator's own view (stats) must agree with the model at the end. Runs on mirrored and plain
// stores; bounded by step counts (smaller under sanitizers); no timing assertions.
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/channel.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/ring_allocator.hpp>  // first: the header is self-contained

#include "support/pattern.hpp"

namespace {

using ringkit::Errc;
using ringkit::ExtBuf;
using ringkit::FixedBuf;
using ringkit::FrozenBuf;
using ringkit::MirrorMode;
using ringkit::RingAllocator;
using ringkit_test::fill_pattern;
using ringkit_test::first_mismatch;
using ringkit_test::Rng;

#if defined(RINGKIT_TEST_SANITIZED)
constexpr int kSteps = 6000;
#else
constexpr int kSteps = 30000;
#endif
constexpr std::size_t kStore = std::size_t{2} << 20;

/// One buffer in flight to a releaser: a FixedBuf or one FrozenBuf reference, and its seed.
struct Msg {
  ringkit::RawFixedBuf fixed;
  ringkit::RawFrozenBuf frozen;
  std::uint64_t seed = 0;
};
static_assert(sizeof(Msg) == 64);

/// A buffer held by one thread, with the stream it must contain.
struct Held {
  FixedBuf fixed;
  FrozenBuf frozen;
  std::uint64_t seed = 0;
  [[nodiscard]] std::span<const std::byte> bytes() const {
    return fixed ? std::span<const std::byte>(fixed.span()) : frozen.span();
  }
};

[[nodiscard]] std::string check_all(const std::deque<Held>& held, const char* who) {
  for (const Held& h : held) {
    if (auto bad = first_mismatch(h.seed, 0, h.bytes())) {
      return std::string(who) + ": buffer " + std::to_string(h.seed) + " byte " +
             std::to_string(*bad) + " of " + std::to_string(h.bytes().size()) + " changed";
    }
  }
  return {};
}

/// 1 B - 64 KiB, log-uniform (most buffers small, some near the maximum).
[[nodiscard]] std::size_t random_size(Rng& rng) {
  const int bits = static_cast<int>(rng.below(17));  // 2^0 .. 2^16
  const std::size_t lo = std::size_t{1} << (bits == 0 ? 0 : bits - 1);
  return std::min<std::size_t>(rng.between(lo, std::size_t{1} << bits), 64 << 10);
}

void releaser(ringkit::SpscConsumer<Msg> rx, std::uint64_t seed, std::string& error,
              std::atomic<std::uint64_t>& released) {
  Rng rng(seed);
  std::deque<Held> held;
  const std::size_t keep = 1 + rng.below(12);
  bool open = true;
  while (open || !held.empty()) {
    Msg m{};
    bool got = false;
    if (open) {
      got = rx.try_pop(m);
      if (!got && !rx.peer_alive()) {
        got = rx.try_pop(m);
        open = got;
      }
    }
    if (got) {
      Held h;
      h.seed = m.seed;
      if (m.fixed.header != nullptr) h.fixed = FixedBuf::from_raw(m.fixed);
      if (m.frozen.header != nullptr) h.frozen = FrozenBuf::from_raw(m.frozen);
      held.push_back(std::move(h));
    }
    if (std::string e = check_all(held, "releaser"); !e.empty()) {
      error = e;
      return;
    }
    // Release at random: more eagerly when holding many or when nothing arrives.
    if (!held.empty() && (held.size() > keep || !got || rng.below(4) == 0)) {
      const std::size_t i = rng.below(held.size());
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      released.fetch_add(1, std::memory_order_relaxed);
    }
    if (!got) std::this_thread::yield();
  }
}

class RingAllocatorStress : public ::testing::TestWithParam<MirrorMode> {};

INSTANTIATE_TEST_SUITE_P(Store, RingAllocatorStress,
                         ::testing::Values(MirrorMode::required, MirrorMode::never),
                         [](const auto& param_info) {
                           return param_info.param == MirrorMode::required ? std::string("mirrored")
                                                                           : std::string("plain");
                         });

TEST_P(RingAllocatorStress, EveryLiveBufferIntactWhileReleasedElsewhere) {
  auto made = RingAllocator::create(kStore, {.mode = GetParam()});
  ASSERT_TRUE(made.has_value()) << made.error().message();
  RingAllocator alloc = std::move(*made);

  constexpr int kReleasers = 2;
  std::vector<ringkit::SpscProducer<Msg>> tx;
  std::vector<std::thread> threads;
  std::string errors[kReleasers];
  std::atomic<std::uint64_t> released{0};
  for (int r = 0; r < kReleasers; ++r) {
    auto ch = ringkit::make_spsc<Msg>(256);
    ASSERT_TRUE(ch.has_value());
    tx.push_back(std::move(ch->producer));
    threads.emplace_back(releaser, std::move(ch->consumer), 1000 + r, std::ref(errors[r]),
                         std::ref(released));
  }

  Rng rng(GetParam() == MirrorMode::required ? 17 : 18);
  std::deque<Held> mine;
  std::uint64_t next_seed = 1;
  std::uint64_t sent = 0;
  std::uint64_t head_in_use = 0;
  std::uint64_t ext_moves = 0;
  std::uint64_t stalls = 0;
  std::vector<std::byte> piece(64 << 10);
  std::string error;

  for (int step = 0; step < kSteps && error.empty(); ++step) {
    const std::size_t n = random_size(rng);
    const std::uint64_t seed = next_seed++;
    Held h;
    h.seed = seed;
    Errc e = Errc::ok;
    const unsigned kind = static_cast<unsigned>(rng.below(10));
    if (kind < 2) {  // ExtBuf grown in random pieces, through write() and writable()+commit()
      ExtBuf ext;
      e = alloc.extend(ext, rng.below(n + 1));
      std::size_t done = 0;
      std::byte* const start = ext ? ext.data() : nullptr;
      while (e == Errc::ok && done < n) {
        const std::size_t k = std::min(n - done, rng.between(1, 8192));
        if (rng.below(2) == 0) {
          fill_pattern(seed, done, std::span(piece).first(k));
          e = ext.write(std::span(piece).first(k));
        } else if ((e = ext.reserve(k)) == Errc::ok) {
          fill_pattern(seed, done, ext.writable().first(k));
          e = ext.commit(k);
        }
        if (e == Errc::ok) done += k;
        if (auto bad = first_mismatch(seed, 0, ext.span())) {
          error = "ExtBuf byte " + std::to_string(*bad) + " changed while growing";
        }
      }
      if (e == Errc::ok && ext.spare() < 4096 && rng.below(2) == 0) {
        // Fill the region exactly: finalize() then rewrites no guard, so the in-use bit set
        // while growing is what protects the buffer.
        fill_pattern(seed, done, ext.writable());
        e = ext.commit(ext.spare());
      }
      if (e == Errc::ok) {
        ext_moves += ext.data() != start ? 1 : 0;
        h.fixed = std::move(ext).finalize();
      }
    } else {
      e = alloc.allocate(n, h.fixed, std::size_t{16} << rng.below(4));
      if (e == Errc::ok) {
        fill_pattern(seed, 0, h.fixed.writable().first(n));
        EXPECT_EQ(h.fixed.commit(n), Errc::ok);
      }
    }
    if (e == Errc::head_in_use) {
      ++head_in_use;
      // Make room: drop our oldest, or let the releasers run.
      if (!mine.empty()) {
        mine.pop_front();
      } else {
        ++stalls;
        std::this_thread::yield();
      }
      continue;
    }
    ASSERT_EQ(e, Errc::ok) << ringkit::describe(e) << " size " << n;

    const unsigned fate = static_cast<unsigned>(rng.below(8));
    if (fate < 3) {  // sent to a releaser
      Msg m{};
      m.seed = seed;
      if (fate == 0) {  // frozen, shared: one reference here, one there
        h.frozen = std::move(h.fixed).freeze();
        FrozenBuf other = h.frozen;
        m.frozen = std::move(other).into_raw();
        mine.push_back(std::move(h));
      } else {
        m.fixed = std::move(h.fixed).into_raw();
      }
      auto& q = tx[static_cast<std::size_t>(rng.below(kReleasers))];
      while (!q.try_push(m)) std::this_thread::yield();
      ++sent;
    } else {
      mine.push_back(std::move(h));
    }
    // Random lifetimes here too.
    while (mine.size() > 24 || (!mine.empty() && rng.below(3) == 0)) {
      mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(rng.below(mine.size())));
    }
    error = check_all(mine, "allocator thread");
  }
  EXPECT_EQ(error, "");

  // The model agrees with the allocator's own view once every releaser is done.
  tx.clear();
  for (auto& t : threads) t.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  const auto st = alloc.stats();
  EXPECT_EQ(st.live_buffers, mine.size());
  mine.clear();
  const auto end = alloc.stats();
  EXPECT_EQ(end.live_buffers, 0U);
  EXPECT_EQ(end.bytes_in_use, 0U);
  EXPECT_FALSE(alloc.oldest_live().has_value());
  EXPECT_GT(sent, 0U);
  EXPECT_EQ(released.load(), sent);
  std::printf(
      "ring allocator stress (%s): %d steps, %llu allocations, %llu sent, %llu head_in_use"
      " (%llu stalls), %llu ExtBuf moves\n",
      alloc.mirrored() ? "mirrored" : "plain", kSteps,
      static_cast<unsigned long long>(end.allocations), static_cast<unsigned long long>(sent),
      static_cast<unsigned long long>(head_in_use), static_cast<unsigned long long>(stalls),
      static_cast<unsigned long long>(ext_moves));
  // Everything released: the whole store can be had again.
  FixedBuf all;
  EXPECT_EQ(alloc.allocate(alloc.max_size(), all), Errc::ok);
}

// The allocator is destroyed while the releasers still hold its buffers: they keep the store
// alive, check their bytes and release them (the last one frees the store).
TEST(RingAllocatorStressTeardown, AllocatorDestroyedWhileOthersRelease) {
  for (int round = 0; round < 20; ++round) {
    auto ch = ringkit::make_spsc<Msg>(256);
    ASSERT_TRUE(ch.has_value());
    std::string error;
    std::atomic<std::uint64_t> released{0};
    std::thread t(releaser, std::move(ch->consumer), 50 + round, std::ref(error),
                  std::ref(released));
    std::uint64_t sent = 0;
    {
      auto made = RingAllocator::create(1 << 20);
      ASSERT_TRUE(made.has_value());
      Rng rng(round);
      for (int i = 0; i < 100; ++i) {
        FixedBuf b;
        const std::size_t n = random_size(rng);
        if (made->allocate(n, b) != Errc::ok) continue;
        fill_pattern(i, 0, b.writable().first(n));
        ASSERT_EQ(b.commit(n), Errc::ok);
        Msg m{};
        m.seed = static_cast<std::uint64_t>(i);
        if (i % 3 == 0) {
          m.frozen = std::move(b).freeze().into_raw();
        } else {
          m.fixed = std::move(b).into_raw();
        }
        while (!ch->producer.try_push(m)) std::this_thread::yield();
        ++sent;
      }
    }  // the allocator goes while buffers are in the channel and held by the releaser
    ch->producer = ringkit::SpscProducer<Msg>();
    t.join();
    EXPECT_EQ(error, "");
    EXPECT_EQ(released.load(), sent);
  }
}

}  // namespace
