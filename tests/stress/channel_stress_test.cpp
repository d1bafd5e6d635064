// Stress tests of the channels (ringkit/channel.hpp): one producer (SPSC), 4, 8 or 16 (MPSC
// lanes) or four (ordered MPSC) and one consumer move tagged elements {producer, sequence,
// checksum}; the consumer checks every element (checksum, per-producer FIFO order, no gap, no
// duplicate) and that every sequence arrived. MPSC producers run pinned to one CPU (so they
// preempt each other mid-push) or spread over two, and in one test they join and leave while
// the consumer runs (lanes freed and reused, handles refused while every lane is taken).
// Each side mixes its APIs at random (seeded): single try_push, push_slice batches of random
// sizes, blocking push, writable+commit (SPSC, MPSC lanes) / try_push_all (ordered MPSC);
// try_pop, blocking pop, pop_slice, readable+consume. Runs cover mirrored storage, the plain
// fallback (MirrorMode::never) and counters starting near 2^64. Starvation is flagged: by the time
// half of all elements arrived, every producer must have delivered some. Bounded by counts only;
// there are no timing assertions. Busy retry loops yield, so 5 threads finish on 2 cores.
#include <ringkit/channel.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <pthread.h>
#include <sched.h>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/mirror_queue.hpp>

#include "support/first_error.hpp"
#include "support/pattern.hpp"

namespace {

using ringkit::Errc;
using ringkit::MirrorMode;
using ringkit::RingOptions;
using u64 = std::uint64_t;

#ifdef RINGKIT_TEST_SANITIZED
constexpr u64 kSpscCount = 1'000'000;
constexpr u64 kPerProducer = 250'000;
constexpr u64 kLaneTotal = 240'000;  // per run, split over the producers
#else
constexpr u64 kSpscCount = 2'000'000;
constexpr u64 kPerProducer = 2'000'000;
constexpr u64 kLaneTotal = 2'400'000;
#endif
constexpr std::size_t kProducers = 4;
constexpr std::size_t kCapacity = 1024;  // 16 KiB of elements: wraps constantly

/// One element: who sent it, its number in that producer's stream, and a checksum of both.
struct Msg {
  std::uint32_t producer;
  std::uint32_t check;
  u64 seq;
};
static_assert(sizeof(Msg) == 16);

using ringkit_test::mix64;

constexpr std::uint32_t checksum(std::uint32_t producer, u64 seq) {
  return static_cast<std::uint32_t>(mix64((u64{producer} << 56) ^ seq));
}

constexpr Msg make_msg(std::uint32_t producer, u64 seq) {
  return {producer, checksum(producer, seq), seq};
}

/// xorshift64*: choices and batch sizes.
class Rng {
 public:
  explicit Rng(u64 seed) : s_(mix64(seed) | 1) {}
  u64 next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545f4914f6cdd1dULL;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  u64 s_;
};

/// Storage and counter variants every stress test runs on.
struct Variant {
  const char* name;
  MirrorMode mode;
  u64 start;
};

const Variant kVariants[] = {
    {"mirrored", MirrorMode::required, 0},
    {"fallback", MirrorMode::never, 0},
    {"mirrored_near_2pow64", MirrorMode::required, ~u64{0} - 3 * kCapacity / 2 + 7},
    {"fallback_near_2pow64", MirrorMode::never, ~u64{0} - kCapacity / 3},
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

/// The consumer's bookkeeping: next expected sequence per producer, first error.
class Checker {
 public:
  Checker(std::size_t producers, u64 total) : next_(producers, 0), total_(total) {}

  /// Checks one element; false (with error()) on the first bad one.
  bool check(const Msg& m) {
    if (m.producer >= next_.size()) return fail(m, "unknown producer");
    if (m.check != checksum(m.producer, m.seq)) return fail(m, "bad checksum (torn element)");
    if (m.seq != next_[m.producer]) {
      return fail(m, m.seq < next_[m.producer] ? "duplicate or reordered" : "gap (lost element)");
    }
    ++next_[m.producer];
    ++received_;
    if (received_ == total_ / 2) at_half_ = next_;
    return true;
  }
  [[nodiscard]] u64 received() const { return received_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const std::vector<u64>& next() const { return next_; }
  [[nodiscard]] const std::vector<u64>& at_half() const { return at_half_; }

 private:
  bool fail(const Msg& m, const char* what) {
    std::ostringstream os;
    os << what << ": element #" << received_ << " = {producer " << m.producer << ", seq " << m.seq
       << ", check " << m.check << "}, expected seq "
       << (m.producer < next_.size() ? next_[m.producer] : 0);
    error_ = os.str();
    return false;
  }
  std::vector<u64> next_;
  std::vector<u64> at_half_;
  u64 total_;
  u64 received_ = 0;
  std::string error_;
};

/// Failures of any thread, reported by the main thread after joining.
using Errors = ringkit_test::FirstError;

/// Pushes `src` completely with push_slice (yields while full); false if the consumer left.
template <class Producer>
bool push_all_slices(Producer& tx, std::span<const Msg> src) {
  while (!src.empty()) {
    const std::size_t k = tx.push_slice(src);
    if (k == 0) {
      if (!tx.peer_alive()) return false;
      std::this_thread::yield();
    }
    src = src.subspan(k);
  }
  return true;
}

/// Whether a producer offers writable() + commit() (not the ordered MPSC channel).
template <class Producer>
constexpr bool kHasWritable = requires(Producer& p) {
  p.writable();
};

/// Runs one producer's whole stream with a random mix of the producer APIs.
template <class Producer>
void produce(Producer tx, std::uint32_t id, u64 count, u64 seed, Errors& errors) {
  Rng rng(seed);
  std::vector<Msg> batch;
  u64 seq = 0;
  while (seq < count) {
    std::size_t op = rng.below(9);
    if (!kHasWritable<Producer> && op == 7) op = 8;  // the ordered channel has no writable()
    if (op < 2) {                                    // single try_push with back-off
      const Msg m = make_msg(id, seq);
      while (!tx.try_push(m)) {
        if (!tx.peer_alive()) return;
        std::this_thread::yield();
      }
      ++seq;
    } else if (op < 5) {  // a batch of random size, as many push_slice calls as it takes
      const std::size_t n =
          std::min<u64>(1 + rng.below(rng.below(8) == 0 ? kCapacity : 32), count - seq);
      batch.resize(n);
      for (std::size_t i = 0; i < n; ++i) batch[i] = make_msg(id, seq + i);
      if (!push_all_slices(tx, batch)) return;
      seq += n;
    } else if (op < 7) {  // blocking push
      if (!tx.push(make_msg(id, seq))) {
        errors.add("producer " + std::to_string(id) + ": push() failed at seq " +
                   std::to_string(seq));
        return;
      }
      ++seq;
    } else if (op == 7) {  // SPSC, MPSC lanes: fill slots in place
      if constexpr (kHasWritable<Producer>) {
        const auto s = tx.writable();
        if (s.empty()) {
          if (!tx.peer_alive()) return;
          std::this_thread::yield();
          continue;
        }
        const std::size_t n = std::min<u64>({s.size(), 1 + rng.below(256), count - seq});
        for (std::size_t i = 0; i < n; ++i) s[i] = make_msg(id, seq + i);
        if (tx.commit(n) != Errc::ok) {
          errors.add("producer " + std::to_string(id) + ": commit(" + std::to_string(n) +
                     ") of a writable() of " + std::to_string(s.size()) + " failed");
          return;
        }
        seq += n;
      }
    } else {  // all-or-nothing batch
      const std::size_t n = std::min<u64>(1 + rng.below(32), count - seq);
      batch.resize(n);
      for (std::size_t i = 0; i < n; ++i) batch[i] = make_msg(id, seq + i);
      while (!tx.try_push_all(batch)) {
        if (!tx.peer_alive()) return;
        std::this_thread::yield();
      }
      seq += n;
    }
  }
}

/// Receives `total` elements with a random mix of the consumer APIs, checking each.
template <class Consumer>
::testing::AssertionResult consume(Consumer& rx, Checker& checker, u64 total, u64 seed) {
  Rng rng(seed);
  std::vector<Msg> buf(kCapacity);
  Msg m{};
  while (checker.received() < total) {
    const u64 left = total - checker.received();
    switch (rng.below(4)) {
      case 0:
        if (rx.try_pop(m)) {
          if (!checker.check(m)) return ::testing::AssertionFailure() << checker.error();
        } else {
          std::this_thread::yield();
        }
        break;
      case 1:
        if (!rx.pop(m)) {
          return ::testing::AssertionFailure()
                 << "pop() reported end of stream with " << left << " elements missing";
        }
        if (!checker.check(m)) return ::testing::AssertionFailure() << checker.error();
        break;
      case 2: {
        const std::size_t want = 1 + rng.below(rng.below(8) == 0 ? kCapacity : 32);
        const std::size_t n = rx.pop_slice(std::span(buf).first(want));
        for (std::size_t i = 0; i < n; ++i) {
          if (!checker.check(buf[i])) return ::testing::AssertionFailure() << checker.error();
        }
        if (n == 0) std::this_thread::yield();
        break;
      }
      default: {
        const auto s = rx.readable();
        if (s.empty()) {
          std::this_thread::yield();
          break;
        }
        const std::size_t n = 1 + rng.below(s.size());
        for (std::size_t i = 0; i < n; ++i) {
          if (!checker.check(s[i])) return ::testing::AssertionFailure() << checker.error();
        }
        if (const Errc e = rx.consume(n); e != Errc::ok) {
          return ::testing::AssertionFailure()
                 << "consume(" << n << ") of a readable() of " << s.size() << " failed";
        }
      }
    }
  }
  return ::testing::AssertionSuccess();
}

class ChannelStress : public ::testing::TestWithParam<Variant> {};

INSTANTIATE_TEST_SUITE_P(Storage, ChannelStress, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& p) { return p.param.name; });

TEST_P(ChannelStress, SpscEveryElementInOrder) {
  const Variant& v = GetParam();
  auto ch =
      ringkit::make_spsc<Msg>(kCapacity, RingOptions{.mode = v.mode, .initial_position = v.start});
  if (!ch && v.mode == MirrorMode::required) GTEST_SKIP() << "mirroring: " << ch.message();
  ASSERT_TRUE(ch) << ch.message();
  auto& rx = ch->consumer;
  ASSERT_EQ(rx.mirrored(), v.mode != MirrorMode::never);

  Errors errors;
  Checker checker(1, kSpscCount);
  std::thread producer(produce<ringkit::SpscProducer<Msg>>, std::move(ch->producer), 0, kSpscCount,
                       u64{0x5eed0001} ^ v.start, std::ref(errors));
  const auto result = consume(rx, checker, kSpscCount, 0xc0ffee ^ v.start);
  if (!result) rx.close();  // unblock the producer
  producer.join();
  ASSERT_TRUE(result);
  EXPECT_EQ(errors.first(), "");
  EXPECT_EQ(checker.next()[0], kSpscCount) << "not every sequence arrived";
  Msg m{};
  EXPECT_FALSE(rx.pop(m)) << "pop() after the producer finished must report end of stream";
  EXPECT_FALSE(rx.try_pop(m)) << "an extra element arrived";
}

/// Where the MPSC producer threads run.
enum class Placement { one_cpu, both_cpus };

/// Pins the calling thread to `cpu` (best effort: a hint, not a must).
void pin_to(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  (void)::pthread_setaffinity_np(::pthread_self(), sizeof one, &one);
}

/// Checks what the consumer saw once every producer is done: every sequence and end of stream;
/// flags producers that delivered nothing in the first half (when they all started together).
template <class Consumer>
void expect_all_arrived(Consumer& rx, const Checker& checker, u64 per_producer,
                        bool flag_starvation = true) {
  for (std::size_t p = 0; p < checker.next().size(); ++p) {
    EXPECT_EQ(checker.next()[p], per_producer) << "producer " << p << ": sequences missing";
  }
  // Starvation is flagged, not failed (atomic_queue's BOOST_WARN_GT): on a loaded 2-core
  // machine a producer thread may simply start late, which is scheduling, not a ring bug.
  ASSERT_EQ(checker.at_half().size(), checker.next().size());
  for (std::size_t p = 0; flag_starvation && p < checker.at_half().size(); ++p) {
    if (checker.at_half()[p] == 0) {
      std::printf("WARNING: producer %zu delivered nothing in the first half\n", p);
      ::testing::Test::RecordProperty("starved_producer_" + std::to_string(p), "1");
    }
  }
  Msg m{};
  EXPECT_FALSE(rx.pop(m)) << "pop() after every producer finished must report end of stream";
  EXPECT_FALSE(rx.try_pop(m)) << "an extra element arrived";
}

/// `producers` MPSC producer threads, all pinned to CPU 0 (so they are preempted in the middle
/// of their pushes: for the ordered channel between reserve and commit, committing through each
/// other's done marks) or spread over CPUs 0 and 1, and one consumer: every element arrives
/// once, per-producer in order.
template <class Channel, class Make>
void run_mpsc(const Variant& v, Make make, std::uint32_t producers, u64 per_producer,
              Placement placement) {
  auto ch = make(RingOptions{.mode = v.mode, .initial_position = v.start});
  if (!ch && v.mode == MirrorMode::required) GTEST_SKIP() << "mirroring: " << ch.message();
  ASSERT_TRUE(ch) << ch.message();
  auto& rx = ch->consumer;
  ASSERT_EQ(rx.mirrored(), v.mode != MirrorMode::never);
  using Producer = std::remove_cvref_t<decltype(ch->producer)>;

  const u64 total = producers * per_producer;
  Errors errors;
  Checker checker(producers, total);
  std::vector<std::thread> threads;
  for (std::uint32_t id = 0; id < producers; ++id) {
    Producer tx = ch->producer;  // each thread gets its own handle (a lane of its own)
    ASSERT_TRUE(tx.valid()) << "handle " << id;
    const int cpu = placement == Placement::one_cpu ? 0 : static_cast<int>(id % 2);
    threads.emplace_back([&errors, tx = std::move(tx), id, cpu, per_producer,
                          seed = u64{0x5eed0100} + id + v.start]() mutable {
      pin_to(cpu);
      produce<Producer>(std::move(tx), id, per_producer, seed, errors);
    });
  }
  ch->producer.close();  // the channel stays open while the threads' handles live
  const auto result = consume(rx, checker, total, 0xfeed ^ v.start ^ producers);
  if (!result) rx.close();
  for (auto& t : threads) t.join();
  ASSERT_TRUE(result);
  EXPECT_EQ(errors.first(), "");
  expect_all_arrived(rx, checker, per_producer);
}

TEST_P(ChannelStress, OrderedMpscFourProducersEveryElementInOrder) {
  run_mpsc<ringkit::OrderedMpscChannel<Msg>>(
      GetParam(),
      [](const RingOptions& o) { return ringkit::make_ordered_mpsc<Msg>(kCapacity, o); },
      kProducers, kPerProducer, Placement::both_cpus);
}

TEST_P(ChannelStress, OrderedMpscFourProducersOnOneCpuEveryElementInOrder) {
  run_mpsc<ringkit::OrderedMpscChannel<Msg>>(
      GetParam(),
      [](const RingOptions& o) { return ringkit::make_ordered_mpsc<Msg>(kCapacity, o); },
      kProducers, kPerProducer, Placement::one_cpu);
}

/// MPSC lanes with 4, 8 and 16 producers, on one CPU and on both.
TEST_P(ChannelStress, MpscLanesEveryElementInOrder) {
  for (const std::uint32_t producers : {4U, 8U, 16U}) {
    for (const Placement placement : {Placement::one_cpu, Placement::both_cpus}) {
      SCOPED_TRACE(::testing::Message() << producers << " producers on "
                                        << (placement == Placement::one_cpu ? "one CPU" : "two"));
      run_mpsc<ringkit::MpscChannel<Msg>>(
          GetParam(), [](const RingOptions& o) { return ringkit::make_mpsc<Msg>(kCapacity, o); },
          producers, kLaneTotal / producers, placement);
      if (HasFatalFailure() || IsSkipped()) return;
    }
  }
}

/// Producers join and leave while the consumer runs: 16 producer threads in waves through a
/// channel of 5 lanes (one held by the spawner's root handle), so lanes are freed and reused
/// (a new handle appends after what the old one left) and clone() is refused while every lane
/// is taken. Each thread is one producer id with its own sequence.
TEST_P(ChannelStress, MpscLanesProducersJoinAndLeave) {
  const Variant& v = GetParam();
  constexpr std::uint32_t kThreads = 16;
  constexpr std::size_t kLanes = 5;
  constexpr u64 kPerThread = kLaneTotal / kThreads;
  auto ch = ringkit::make_mpsc<Msg>(
      kCapacity, RingOptions{.mode = v.mode, .initial_position = v.start}, kLanes);
  if (!ch && v.mode == MirrorMode::required) GTEST_SKIP() << "mirroring: " << ch.message();
  ASSERT_TRUE(ch) << ch.message();
  auto& rx = ch->consumer;

  const u64 total = kThreads * kPerThread;
  Errors errors;
  Checker checker(kThreads, total);
  std::atomic<u64> refused{0};
  std::thread spawner(
      [&errors, &refused, root = std::move(ch->producer), start = v.start]() mutable {
        std::vector<std::thread> threads;
        for (std::uint32_t id = 0; id < kThreads; ++id) {
          auto tx = root.clone();
          while (!tx) {  // every lane has a handle: wait for a producer to leave
            if (tx.error() != Errc::pool_exhausted) {
              errors.add("clone(): " + tx.message());
              break;
            }
            refused.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::yield();
            tx = root.clone();
          }
          if (!tx) break;
          threads.emplace_back(
              [&errors, tx = std::move(*tx), id, seed = u64{0x10ad} + id + start]() mutable {
                pin_to(static_cast<int>(id % 2));
                produce<ringkit::MpscProducer<Msg>>(std::move(tx), id, kPerThread, seed, errors);
              });
        }
        root.close();
        for (auto& t : threads) t.join();
      });
  const auto result = consume(rx, checker, total, 0xbeef ^ v.start);
  if (!result) rx.close();
  spawner.join();
  ASSERT_TRUE(result);
  EXPECT_EQ(errors.first(), "");
  expect_all_arrived(rx, checker, kPerThread, false);  // later waves start late by design
  ::testing::Test::RecordProperty("clone_refused", std::to_string(refused.load()));
}

}  // namespace
