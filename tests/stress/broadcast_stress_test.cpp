// Stress tests of the broadcast ring (ringkit/broadcast.hpp). Every event carries its sequence
// and payload words all derived from it (plus a checksum), so a reader can check each event it
// gets: the right sequence (in order, no gap unless reported as lagged), and no torn copy.
//   - gated: 3 readers receive every event in order while the writer and the readers mix every
//     API (single, batch, in-place views, blocking, timeouts);
//   - overwrite: for each reader, events received + events reported lagged == events
//     published since it joined, with a fast and a slow reader;
//   - readers join and leave while the writer runs (both policies): each one's first event is
//     the sequence it joined at and nothing after it is lost (gated) or unaccounted (overwrite);
//   - torn reads: a writer racing a slow reader over a tiny ring of 256-byte events; an event
//     whose words do not all belong to one sequence fails the test;
//   - close wakes readers blocked in pop and a gated writer blocked in publish.
// Bounded by counts; no timing assertions. Waits are blocking calls or yield, so the threads
// finish on 2 cores.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/broadcast.hpp>  // first: the header is self-contained
#include <ringkit/error.hpp>

#include "support/first_error.hpp"
#include "support/pattern.hpp"

namespace {

using ringkit::BroadcastPolicy;
using ringkit::BroadcastRing;
using ringkit::Errc;
using ringkit::RecvResult;
using ringkit::RecvStatus;
using ringkit_test::mix64;
using ringkit_test::Rng;
using u64 = std::uint64_t;
using namespace std::chrono_literals;

#ifdef RINGKIT_TEST_SANITIZED
constexpr u64 kEvents = 30'000;
constexpr u64 kTornReceived = 2'000;
#else
constexpr u64 kEvents = 400'000;
constexpr u64 kTornReceived = 20'000;
#endif
constexpr u64 kTornMaxEvents = 5'000'000;

/// An event of `Words` 64-bit words: [0] the sequence, [1..Words-2] payload words derived from
/// it, [Words-1] a checksum of all the others.
template <std::size_t Words>
struct Event {
  u64 w[Words];
};
using Ev64 = Event<8>;
using Ev256 = Event<32>;

template <std::size_t Words>
Event<Words> make_event(u64 seq) {
  Event<Words> e{};
  e.w[0] = seq;
  u64 sum = seq;
  for (std::size_t i = 1; i + 1 < Words; ++i) {
    e.w[i] = mix64(seq * 64 + i);
    sum = mix64(sum ^ e.w[i]);
  }
  e.w[Words - 1] = sum;
  return e;
}

/// Empty when `e` is event `seq`, whole and untorn; else what is wrong.
template <std::size_t Words>
std::string check_event(const Event<Words>& e, u64 seq) {
  const Event<Words> want = make_event<Words>(seq);
  for (std::size_t i = 0; i < Words; ++i) {
    if (e.w[i] != want.w[i]) {
      std::ostringstream os;
      os << "event " << seq << ": word " << i << " is " << e.w[i] << ", want " << want.w[i]
         << (i == 0 ? " (wrong sequence)" : " (torn or corrupt)");
      return os.str();
    }
  }
  return {};
}

/// Failures of any thread, reported by the main thread after joining.
using Errors = ringkit_test::FirstError;

// ---- gated: 3 readers, every event in order ------------------------------------------------

using GatedRing = BroadcastRing<Ev64, BroadcastPolicy::gated>;

void gated_writer(GatedRing::Writer& w, u64 total, u64 seed, Errors& errors) {
  Rng rng(seed);
  std::array<Ev64, 16> batch{};
  u64 seq = 0;
  while (seq < total && !errors.failed()) {
    switch (rng.below(5)) {
      case 0:
        if (!w.try_publish(make_event<8>(seq))) {
          std::this_thread::yield();
          break;
        }
        ++seq;
        break;
      case 1:
        if (w.publish(make_event<8>(seq)) != Errc::ok) return errors.add("publish failed");
        ++seq;
        break;
      case 2: {
        const Errc e = w.publish_for(make_event<8>(seq), 1ms);
        if (e == Errc::ok) {
          ++seq;
        } else if (e != Errc::timed_out) {
          return errors.add("publish_for failed");
        }
        break;
      }
      case 3: {
        const std::size_t n = std::min<u64>(1 + rng.below(batch.size()), total - seq);
        for (std::size_t i = 0; i < n; ++i) batch[i] = make_event<8>(seq + i);
        const std::size_t did = w.try_publish(std::span<const Ev64>(batch.data(), n));
        if (did == 0) std::this_thread::yield();
        seq += did;
        break;
      }
      default: {
        const std::span<Ev64> span = w.writable();
        const std::size_t n =
            std::min<u64>(std::min<std::size_t>(span.size(), 1 + rng.below(32)), total - seq);
        if (n == 0) {
          std::this_thread::yield();
          break;
        }
        for (std::size_t i = 0; i < n; ++i) span[i] = make_event<8>(seq + i);
        if (w.commit(n) != Errc::ok) return errors.add("commit failed");
        seq += n;
        break;
      }
    }
  }
  w.close();
}

void gated_reader(GatedRing::Reader& r, u64 total, u64 seed, Errors& errors) {
  Rng rng(seed);
  std::array<Ev64, 24> out{};
  u64 next = 0;
  const auto take = [&](const Ev64& e) {
    const std::string bad = check_event(e, next);
    if (!bad.empty()) {
      errors.add("gated reader: " + bad);
      return false;
    }
    ++next;
    return true;
  };
  for (;;) {
    if (errors.failed()) return;
    RecvResult res;
    switch (rng.below(5)) {
      case 0: {
        Ev64 e;
        res = r.try_pop(e);
        if (res && !take(e)) return;
        if (res.status == RecvStatus::empty) std::this_thread::yield();
        break;
      }
      case 1: {
        Ev64 e;
        res = r.pop(e);
        if (res && !take(e)) return;
        break;
      }
      case 2: {
        Ev64 e;
        res = r.pop_for(e, 1ms);
        if (res && !take(e)) return;
        break;
      }
      case 3: {
        res = r.read_for(std::span<Ev64>(out.data(), 1 + rng.below(out.size())), 1ms);
        for (u64 i = 0; res && i < res.count; ++i) {
          if (!take(out[i])) return;
        }
        break;
      }
      default: {
        const auto view = r.readable();
        const std::size_t n = view.empty() ? 0 : 1 + rng.below(view.size());
        for (std::size_t i = 0; i < n; ++i) {
          if (!take(view[i])) return;
        }
        if (r.consume(n) != Errc::ok) return errors.add("consume failed");
        if (n == 0) {
          Ev64 e;
          res = r.try_pop(e);  // learns about closed
          if (res && !take(e)) return;
          if (res.status == RecvStatus::empty) std::this_thread::yield();
        }
        break;
      }
    }
    if (res.status == RecvStatus::lagged) return errors.add("gated reader got lagged");
    if (res.status == RecvStatus::closed) break;
  }
  if (next != total) {
    errors.add("gated reader: closed after " + std::to_string(next) + " of " +
               std::to_string(total) + " events");
  }
}

TEST(BroadcastStress, GatedThreeReadersSeeEveryEventInOrder) {
  for (const std::size_t cap : {std::size_t{8}, std::size_t{256}}) {
    SCOPED_TRACE(cap);
    auto ring = *GatedRing::create(cap);
    auto w = *ring.take_writer();
    std::vector<GatedRing::Reader> readers;
    readers.reserve(3);
    for (int i = 0; i < 3; ++i) readers.push_back(*ring.subscribe());
    Errors errors;
    const u64 total = cap == 8 ? kEvents / 4 : kEvents;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < readers.size(); ++i) {
      threads.emplace_back([&, i] { gated_reader(readers[i], total, 100 + i, errors); });
    }
    threads.emplace_back([&] { gated_writer(w, total, 7, errors); });
    for (auto& t : threads) t.join();
    ASSERT_FALSE(errors.failed()) << errors.first();
    for (const auto& r : readers) {
      EXPECT_EQ(r.position(), total);
      EXPECT_EQ(r.lost_count(), 0U);
    }
  }
}

// ---- overwrite: exact lag accounting -------------------------------------------------------

using OverwriteRing = BroadcastRing<Ev64, BroadcastPolicy::overwrite>;

struct LagTally {
  u64 received = 0;
  u64 lost = 0;
  u64 lag_events = 0;
};

/// Reads until closed, checking every event; `slow` readers dawdle so they get lapped.
LagTally overwrite_reader(OverwriteRing::Reader& r, bool slow, u64 seed, Errors& errors) {
  Rng rng(seed);
  LagTally t;
  u64 next = r.position();
  std::array<Ev64, 8> out{};
  for (;;) {
    if (errors.failed()) return t;
    if (slow && rng.below(8) == 0) {
      for (int i = 0, n = static_cast<int>(rng.below(4)); i < n; ++i) std::this_thread::yield();
    }
    const RecvResult res = rng.below(2) == 0 ? r.pop(out[0]) : r.read_for(std::span(out), 1ms);
    if (res.status == RecvStatus::closed) break;
    if (res.status == RecvStatus::timed_out) continue;
    if (res.status == RecvStatus::lagged) {
      if (res.count == 0) errors.add("lagged(0)");
      t.lost += res.count;
      ++t.lag_events;
      next += res.count;
      continue;
    }
    if (!res) {
      errors.add("unexpected status");
      return t;
    }
    for (u64 i = 0; i < res.count; ++i) {
      const std::string bad = check_event(out[i], next);
      if (!bad.empty()) {
        errors.add("overwrite reader: " + bad);
        return t;
      }
      ++next;
      ++t.received;
    }
  }
  if (next != r.position()) errors.add("position disagrees with the tally");
  return t;
}

TEST(BroadcastStress, OverwriteLagAccountingIsExact) {
  auto ring = *OverwriteRing::create(64);
  auto w = *ring.take_writer();
  auto fast = *ring.subscribe();
  auto slow = *ring.subscribe();
  Errors errors;
  LagTally tf, ts;
  std::thread a([&] { tf = overwrite_reader(fast, false, 1, errors); });
  std::thread b([&] { ts = overwrite_reader(slow, true, 2, errors); });
  std::thread writer([&] {
    Rng rng(3);
    std::array<Ev64, 8> batch{};
    for (u64 seq = 0; seq < kEvents;) {
      if (rng.below(4) == 0) {
        const std::size_t n = std::min<u64>(batch.size(), kEvents - seq);
        for (std::size_t i = 0; i < n; ++i) batch[i] = make_event<8>(seq + i);
        seq += w.try_publish(std::span<const Ev64>(batch.data(), n));
      } else {
        if (!w.try_publish(make_event<8>(seq))) return errors.add("overwrite publish refused");
        ++seq;
      }
      if (rng.below(64) == 0) std::this_thread::yield();
    }
    w.close();
  });
  writer.join();
  a.join();
  b.join();
  ASSERT_FALSE(errors.failed()) << errors.first();
  for (const auto* p : {&tf, &ts}) {
    EXPECT_EQ(p->received + p->lost, kEvents);
  }
  EXPECT_EQ(fast.lost_count(), tf.lost);
  EXPECT_EQ(slow.lost_count(), ts.lost);
  EXPECT_EQ(slow.lapped_count(), ts.lag_events);
  EXPECT_EQ(fast.position(), kEvents);
  EXPECT_EQ(slow.position(), kEvents);
  std::printf(
      "overwrite: fast reader received %llu lost %llu; slow reader received %llu lost %llu "
      "in %llu laps\n",
      static_cast<unsigned long long>(tf.received), static_cast<unsigned long long>(tf.lost),
      static_cast<unsigned long long>(ts.received), static_cast<unsigned long long>(ts.lost),
      static_cast<unsigned long long>(ts.lag_events));
}

// ---- join and leave while the writer runs --------------------------------------------------

template <BroadcastPolicy Policy>
void join_and_leave() {
  using Ring = BroadcastRing<Ev64, Policy>;
  auto ring = *Ring::create(16);
  auto w = *ring.take_writer();
  Errors errors;
  std::atomic<bool> done{false};
  std::atomic<u64> sessions{0};
  const u64 total = kEvents / 2;
  // An overwrite writer never waits for readers, so on a fast or lightly loaded machine it can
  // publish `total` events before the readers have joined more than once each. It keeps
  // publishing until every reader has had several sessions (or a deadline passes, which then
  // fails the session count below), so the test always exercises join and leave mid-stream.
  constexpr u64 kMinSessions = 12;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::thread writer([&] {
    for (u64 seq = 0;; ++seq) {
      if (seq >= total &&
          (sessions.load() >= kMinSessions || std::chrono::steady_clock::now() > deadline))
        break;
      if (w.publish(make_event<8>(seq)) != Errc::ok) return errors.add("publish failed");
      if ((seq & 255) == 0) std::this_thread::yield();
    }
    done.store(true);
    w.close();
  });
  std::vector<std::thread> readers;
  readers.reserve(3);
  for (int id = 0; id < 3; ++id) {
    readers.emplace_back([&, id] {
      Rng rng(50 + id);
      while (!done.load() && !errors.failed()) {
        auto joined = ring.subscribe();
        if (!joined) {
          if (joined.error() != Errc::closed) errors.add("subscribe failed");
          return;
        }
        auto r = std::move(*joined);
        sessions.fetch_add(1);
        u64 next = r.start_position();
        u64 received = 0;
        u64 lost = 0;
        const u64 want = 1 + rng.below(300);
        while (received < want) {
          Ev64 e;
          const RecvResult res = r.pop(e);
          if (res.status == RecvStatus::closed) break;
          if (res.status == RecvStatus::lagged) {
            if (Policy == BroadcastPolicy::gated) return errors.add("gated reader got lagged");
            next += res.count;
            lost += res.count;
            continue;
          }
          if (!res) return errors.add("unexpected status");
          const std::string bad = check_event(e, next);
          if (!bad.empty()) return errors.add("joined reader: " + bad);
          ++next;
          ++received;
        }
        if (r.position() - r.start_position() != received + lost)
          return errors.add("join/leave accounting");
        if (rng.below(3) == 0) std::this_thread::yield();
      }  // the reader leaves here
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  ASSERT_FALSE(errors.failed()) << errors.first();
  EXPECT_GE(sessions.load(), kMinSessions);
  EXPECT_EQ(ring.reader_count(), 0U);
}

TEST(BroadcastStress, GatedReadersJoinAndLeaveWhileWriting) {
  join_and_leave<BroadcastPolicy::gated>();
}
TEST(BroadcastStress, OverwriteReadersJoinAndLeaveWhileWriting) {
  join_and_leave<BroadcastPolicy::overwrite>();
}

// ---- torn reads ------------------------------------------------------------------------------

TEST(BroadcastStress, TornReadsAreNeverReturned) {
  // 4 slots of 256-byte events: the writer rewrites the slot a slow reader copies constantly.
  auto ring = *BroadcastRing<Ev256, BroadcastPolicy::overwrite>::create(4);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  Errors errors;
  std::atomic<u64> received{0};
  u64 lost = 0;
  std::thread reader([&] {
    u64 next = 0;
    Ev256 e;
    for (;;) {
      const RecvResult res = r.pop(e);
      if (res.status == RecvStatus::closed) break;
      if (res.status == RecvStatus::lagged) {
        next += res.count;
        lost += res.count;
        continue;
      }
      if (!res) return errors.add("unexpected status");
      const std::string bad = check_event(e, next);
      if (!bad.empty()) return errors.add("torn read returned: " + bad);
      ++next;
      received.fetch_add(1, std::memory_order_relaxed);
    }
  });
  // The writer runs until the reader has copied enough events while racing it (or a bound).
  u64 published = 0;
  while (published < kTornMaxEvents && received.load(std::memory_order_relaxed) < kTornReceived &&
         !errors.failed()) {
    ASSERT_TRUE(w.try_publish(make_event<32>(published)));
    ++published;
  }
  w.close();
  reader.join();
  ASSERT_FALSE(errors.failed()) << errors.first();
  EXPECT_EQ(received.load() + lost, published);
  std::printf(
      "torn-read race: published %llu, received %llu, lost %llu (%llu laps)\n",
      static_cast<unsigned long long>(published), static_cast<unsigned long long>(received.load()),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(r.lapped_count()));
}

// ---- close wakes everyone ------------------------------------------------------------------

TEST(BroadcastStress, CloseWakesBlockedReadersAndBlockedWriter) {
  for (int round = 0; round < 20; ++round) {
    auto ring = *GatedRing::create(4);
    auto w = *ring.take_writer();
    auto stuck = *ring.subscribe();  // never reads: the writer blocks once 4 are published
    std::vector<GatedRing::Reader> readers;
    readers.reserve(3);
    for (int i = 0; i < 3; ++i) readers.push_back(*ring.subscribe());
    Errors errors;
    std::atomic<int> finished{0};
    std::vector<std::thread> threads;
    threads.reserve(readers.size());
    for (auto& r : readers) {
      threads.emplace_back([&] {
        u64 next = 0;
        for (;;) {
          Ev64 e;
          const RecvResult res = r.pop(e);  // blocks; only close() ends it
          if (res.status == RecvStatus::closed) break;
          if (!res) return errors.add("unexpected status");
          const std::string bad = check_event(e, next++);
          if (!bad.empty()) return errors.add(bad);
        }
        if (next != 4) errors.add("reader did not drain the 4 events before closed");
        finished.fetch_add(1);
      });
    }
    threads.emplace_back([&] {
      for (u64 seq = 0;; ++seq) {
        const Errc e = w.publish(make_event<8>(seq));  // the 5th blocks on `stuck`
        if (e == Errc::closed) break;
        if (e != Errc::ok) return errors.add("publish failed");
      }
      finished.fetch_add(1);
    });
    // Let everyone block (no assertion depends on it), then close from this thread.
    while (stuck.lag() < 4) std::this_thread::yield();
    std::this_thread::sleep_for(round % 2 == 0 ? 1ms : 0ms);
    ring.close();
    for (auto& t : threads) t.join();
    ASSERT_FALSE(errors.failed()) << errors.first();
    EXPECT_EQ(finished.load(), 4);
    EXPECT_EQ(stuck.lag(), 4U);
  }
}

}  // namespace
