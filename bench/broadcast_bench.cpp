// bench/broadcast_bench.cpp: the broadcast ring (ringkit/broadcast.hpp) against its peers.
//
// BM_broadcast_64B/<impl>/<readers>: one writer (the benchmark thread, pinned to CPU 0)
//   publishes 64-byte events in batches of 16 to 2 or 3 reader threads (all pinned to CPU 1:
//   the machine has 2 cores), each of which must see every event: it checks each event's
//   sequence and its stamp at the other end (SkipWithError on a mismatch). One iteration is one
//   batch of 16 events taken by the ring(s); items/s counts events published (= delivered to
//   every reader, give or take one ring). Ring capacity 4096 events for every impl.
//     ringkit            BroadcastRing<Msg64, gated>: try_publish(span) once per batch, and
//                        publish() (spin, then futex sleep) while full; readers read in place:
//                        readable(), check, consume(n), and wait_for() (spin, then futex
//                        sleep) while there is nothing
//     boost_spsc_fanout  one boost::lockfree::spsc_queue<Msg64, capacity<4096>> per reader: the
//                        writer pushes each batch into every queue (bulk push, copies once per
//                        reader); readers consume_all() in place
//     mutex_condvar      peers/mutex_broadcast.hpp: one shared ring under a mutex, batch copy in
//                        and out under one lock, notify only when someone waits
// BM_broadcast1_64B/<impl>/<readers>: the same, one event per call on both sides (ringkit
//   try_publish / try_pop; boost push / pop), both spinning and yielding when they cannot go
//   on (sleeping per event would cost a futex wake per event). One iteration is one event.
// In the batch runs each impl waits the way it can: ringkit and the mutex queue sleep on a
// futex (a woken thread preempts a CPU hog at once), boost spins and yields (on this shared
// machine a yield can hand the core to another tenant for a whole time slice).
// BM_overwrite_64B/<impl>/4096: the overwrite policy's writer throughput, one try_publish per
//   iteration (benchmark thread on CPU 0), ring of 4096 events, timed on the writer's CPU time
//   (it never waits; see the registration below).
//     ringkit_noreaders  nobody reads
//     ringkit_2slow      2 slow readers on CPU 1: each copies one event out (read() of 1, the
//                        same as try_pop), checks it, then spends ~0.5 us on it; they are
//                        lapped constantly, and received + lost must equal what was published
//                        since they joined
//     ringkit_2slow_batch  the same readers copying out up to 64 events per read()
//   Target: 2 slow readers >= 0.8x ringkit_noreaders (tools/bench_ratios.py --base ringkit_2slow
//   and --base ringkit_2slow_batch). A lapped reader resumes at the oldest element left, which is
//   where the writer writes next: each lap puts the reader on the writer's hottest lines.
//
// Every busy loop backs off (support/backoff.hpp): PAUSE, then sched_yield after 1024 failed
// attempts in a row, so readers sharing CPU 1 hand it to each other when they have nothing to
// do. ctx_invol counts the involuntary context switches of the process during a run.
//
//   broadcast_bench --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//                   --benchmark_report_aggregates_only=true --benchmark_out=r.json
//                   --benchmark_out_format=json
//   tools/bench_ratios.py r.json
//   tools/bench_ratios.py r.json --base ringkit_2slow
//   tools/bench_ratios.py r.json --base ringkit_2slow_batch
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include <ringkit/broadcast.hpp>
#include <ringkit/error.hpp>

#include "peers/boost_spsc.hpp"
#include "peers/mutex_broadcast.hpp"
#include "support/affinity.hpp"
#include "support/backoff.hpp"
#include "support/report.hpp"
#include "support/rusage.hpp"

namespace ringkit::bench {
namespace {

constexpr std::size_t kCapacity = 4096;
constexpr std::size_t kBatch = 16;

/// A 64-byte event stamped at both ends, so a torn or misplaced copy is caught.
struct Msg64 {
  std::uint64_t seq;
  std::uint64_t body[6];
  std::uint64_t check;  // ~seq
};
static_assert(sizeof(Msg64) == 64);

[[nodiscard]] inline Msg64 make_msg(std::uint64_t seq) noexcept {
  Msg64 m{};
  m.seq = seq;
  for (std::size_t i = 0; i < 6; ++i) m.body[i] = seq + i;
  m.check = ~seq;
  return m;
}

/// One reader's running check: events must arrive in sequence, unless a lag is reported.
struct SeqCheck {
  std::uint64_t next = 0;
  bool ok = true;
  void take(const Msg64& m) noexcept {
    ok &= m.seq == next && m.check == ~next;
    ++next;
  }
};

/// The state every threaded run shares: readers pinned, readers' verdicts.
struct Readers {
  std::vector<std::thread> threads;
  std::atomic<std::size_t> pinned{0};
  std::atomic<bool> failed{false};

  template <class F>
  void spawn(std::size_t n, F body) {
    for (std::size_t id = 0; id < n; ++id) {
      threads.emplace_back([this, id, body]() mutable {
        if (pin_current_thread(kConsumerCpu)) pinned.fetch_add(1, std::memory_order_relaxed);
        if (!body(id)) failed.store(true, std::memory_order_relaxed);
      });
    }
  }
  void join() {
    for (auto& t : threads) t.join();
    threads.clear();
  }
};

void finish(benchmark::State& state, Readers& readers, std::size_t n_readers, std::int64_t items,
            std::int64_t switches, bool writer_pinned) {
  readers.join();
  if (readers.failed.load()) {
    state.SkipWithError("data mismatch: a reader saw an event out of sequence or torn");
    return;
  }
  report_run(state, items, items * static_cast<std::int64_t>(sizeof(Msg64)), switches,
             writer_pinned && readers.pinned.load() == n_readers);
}

/// A reader with nothing to read gives CPU 1 to the other readers at once: they share it, and
/// the writer cannot go on until the slowest of them has read (gated) or its queue has room.
inline void idle() noexcept { std::this_thread::yield(); }

/// Publishes all of `batch` through `try_some(span) -> taken`, backing off while full.
template <class F>
void publish_all(std::span<const Msg64> batch, F&& try_some) {
  Backoff backoff;
  for (std::size_t done = 0; done < batch.size();) {
    const std::size_t n = try_some(batch.subspan(done));
    if (n == 0) {
      backoff.pause();
    } else {
      backoff.reset();
      done += n;
    }
  }
}

// ---- batches of 16 -----------------------------------------------------------------------------

void bm_ringkit(benchmark::State& state) {
  const auto n_readers = static_cast<std::size_t>(state.range(0));
  auto ring = *BroadcastRing<Msg64>::create(kCapacity);
  auto writer = *ring.take_writer();
  std::vector<BroadcastRing<Msg64>::Reader> handles;
  for (std::size_t i = 0; i < n_readers; ++i) handles.push_back(*ring.subscribe());
  Readers readers;
  const ScopedPin pin(kProducerCpu);
  const std::int64_t switches = involuntary_switches();
  readers.spawn(n_readers, [&](std::size_t id) {
    auto& r = handles[id];
    SeqCheck check;
    for (;;) {
      const auto view = r.readable();
      if (view.empty()) {
        // Spin briefly, then sleep until the writer publishes or closes (futex).
        if (r.wait_for(std::chrono::milliseconds(100)).closed()) break;
        continue;
      }
      for (const Msg64& m : view) check.take(m);
      (void)r.consume(view.size());
    }
    return check.ok;
  });
  std::array<Msg64, kBatch> batch{};
  std::uint64_t seq = 0;
  for (auto _ : state) {
    for (auto& m : batch) m = make_msg(seq++);
    // Full: wait for the slowest reader in publish() (spin, then futex sleep).
    for (std::size_t done = 0; done < batch.size();) {
      const std::size_t n = writer.try_publish(std::span<const Msg64>(batch).subspan(done));
      if (n != 0) {
        done += n;
      } else if (writer.publish(batch[done]) == Errc::ok) {
        ++done;
      }
    }
  }
  writer.close();
  finish(state, readers, n_readers, static_cast<std::int64_t>(seq), switches, pin.pinned());
}

#if RINGKIT_BENCH_HAVE_BOOST_SPSC
using BoostQueue = boost::lockfree::spsc_queue<Msg64, boost::lockfree::capacity<kCapacity>>;

void bm_boost_fanout(benchmark::State& state) {
  const auto n_readers = static_cast<std::size_t>(state.range(0));
  std::vector<std::unique_ptr<BoostQueue>> queues;
  for (std::size_t i = 0; i < n_readers; ++i) queues.push_back(std::make_unique<BoostQueue>());
  std::atomic<bool> stop{false};
  Readers readers;
  const ScopedPin pin(kProducerCpu);
  const std::int64_t switches = involuntary_switches();
  readers.spawn(n_readers, [&](std::size_t id) {
    BoostQueue& q = *queues[id];
    SeqCheck check;
    for (;;) {
      const std::size_t n = q.consume_all([&](const Msg64& m) { check.take(m); });
      if (n != 0) continue;
      if (stop.load(std::memory_order_acquire)) {
        if (q.consume_all([&](const Msg64& m) { check.take(m); }) == 0) break;
        continue;
      }
      idle();
    }
    return check.ok;
  });
  std::array<Msg64, kBatch> batch{};
  std::uint64_t seq = 0;
  for (auto _ : state) {
    for (auto& m : batch) m = make_msg(seq++);
    for (auto& q : queues) {
      publish_all(batch, [&](std::span<const Msg64> s) { return q->push(s.data(), s.size()); });
    }
  }
  stop.store(true, std::memory_order_release);
  finish(state, readers, n_readers, static_cast<std::int64_t>(seq), switches, pin.pinned());
}
#endif

void bm_mutex(benchmark::State& state) {
  const auto n_readers = static_cast<std::size_t>(state.range(0));
  MutexBroadcast<Msg64> q(kCapacity, n_readers);
  Readers readers;
  const ScopedPin pin(kProducerCpu);
  const std::int64_t switches = involuntary_switches();
  readers.spawn(n_readers, [&](std::size_t id) {
    SeqCheck check;
    std::vector<Msg64> out(kCapacity);
    for (;;) {
      const std::size_t n = q.consume(id, std::span<Msg64>(out));
      if (n == 0) break;  // closed and drained
      for (std::size_t i = 0; i < n; ++i) check.take(out[i]);
    }
    return check.ok;
  });
  std::array<Msg64, kBatch> batch{};
  std::uint64_t seq = 0;
  for (auto _ : state) {
    for (auto& m : batch) m = make_msg(seq++);
    (void)q.publish(batch);
  }
  q.close();
  finish(state, readers, n_readers, static_cast<std::int64_t>(seq), switches, pin.pinned());
}

// ---- one event per call ---------------------------------------------------------------------

void bm_ringkit_single(benchmark::State& state) {
  const auto n_readers = static_cast<std::size_t>(state.range(0));
  auto ring = *BroadcastRing<Msg64>::create(kCapacity);
  auto writer = *ring.take_writer();
  std::vector<BroadcastRing<Msg64>::Reader> handles;
  for (std::size_t i = 0; i < n_readers; ++i) handles.push_back(*ring.subscribe());
  Readers readers;
  const ScopedPin pin(kProducerCpu);
  const std::int64_t switches = involuntary_switches();
  readers.spawn(n_readers, [&](std::size_t id) {
    auto& r = handles[id];
    SeqCheck check;
    Msg64 m{};
    for (;;) {
      const RecvResult res = r.try_pop(m);
      if (res) {
        check.take(m);
      } else if (res.closed()) {
        break;
      } else {
        idle();
      }
    }
    return check.ok;
  });
  std::uint64_t seq = 0;
  for (auto _ : state) {
    const Msg64 m = make_msg(seq++);
    Backoff backoff;
    while (!writer.try_publish(m)) backoff.pause();
  }
  writer.close();
  finish(state, readers, n_readers, static_cast<std::int64_t>(seq), switches, pin.pinned());
}

#if RINGKIT_BENCH_HAVE_BOOST_SPSC
void bm_boost_single(benchmark::State& state) {
  const auto n_readers = static_cast<std::size_t>(state.range(0));
  std::vector<std::unique_ptr<BoostQueue>> queues;
  for (std::size_t i = 0; i < n_readers; ++i) queues.push_back(std::make_unique<BoostQueue>());
  std::atomic<bool> stop{false};
  Readers readers;
  const ScopedPin pin(kProducerCpu);
  const std::int64_t switches = involuntary_switches();
  readers.spawn(n_readers, [&](std::size_t id) {
    BoostQueue& q = *queues[id];
    SeqCheck check;
    Msg64 m{};
    for (;;) {
      if (q.pop(m)) {
        check.take(m);
      } else if (stop.load(std::memory_order_acquire)) {
        if (!q.pop(m)) break;
        check.take(m);
      } else {
        idle();
      }
    }
    return check.ok;
  });
  std::uint64_t seq = 0;
  for (auto _ : state) {
    const Msg64 m = make_msg(seq++);
    for (auto& q : queues) {
      Backoff backoff;
      while (!q->push(m)) backoff.pause();
    }
  }
  stop.store(true, std::memory_order_release);
  finish(state, readers, n_readers, static_cast<std::int64_t>(seq), switches, pin.pinned());
}
#endif

// ---- overwrite: the writer with and without slow readers --------------------------------------

/// ~0.5 us of work per event: a slow consumer.
inline void slow_work() noexcept {
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(500);
  while (std::chrono::steady_clock::now() < until) cpu_relax();
}

/// `batch` 0: no readers; 1: readers take one event per try_pop(); more: read() batches.
void bm_overwrite(benchmark::State& state, std::size_t n_readers, std::size_t batch) {
  using Ring = BroadcastRing<Msg64, BroadcastPolicy::overwrite>;
  auto ring = *Ring::create(static_cast<std::size_t>(state.range(0)));
  auto writer = *ring.take_writer();
  std::vector<Ring::Reader> handles;
  for (std::size_t i = 0; i < n_readers; ++i) handles.push_back(*ring.subscribe());
  Readers readers;
  const ScopedPin pin(kProducerCpu);
  const std::int64_t switches = involuntary_switches();
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> lost{0};
  readers.spawn(n_readers, [&](std::size_t id) {
    auto& r = handles[id];
    SeqCheck check;
    std::vector<Msg64> out(batch);
    std::uint64_t got = 0;
    for (;;) {
      const RecvResult res = r.read(std::span<Msg64>(out));
      if (res) {
        for (std::uint64_t i = 0; i < res.count; ++i) {
          check.take(out[i]);
          slow_work();
        }
        got += res.count;
      } else if (res.lagged()) {
        check.next += res.count;
      } else if (res.closed()) {
        break;
      } else {
        idle();
      }
    }
    received.fetch_add(got, std::memory_order_relaxed);
    lost.fetch_add(r.lost_count(), std::memory_order_relaxed);
    return check.ok && got + r.lost_count() == r.position() - r.start_position();
  });
  std::uint64_t seq = 0;
  for (auto _ : state) {
    if (!writer.try_publish(make_msg(seq))) [[unlikely]] {
      state.SkipWithError("overwrite publish refused");
      break;
    }
    ++seq;
  }
  writer.close();
  finish(state, readers, n_readers, static_cast<std::int64_t>(seq), switches, pin.pinned());
  if (n_readers != 0) {
    state.counters["received"] = benchmark::Counter(static_cast<double>(received.load()));
    state.counters["lost"] = benchmark::Counter(static_cast<double>(lost.load()));
  }
}

void bm_overwrite_noreaders(benchmark::State& state) { bm_overwrite(state, 0, 0); }
void bm_overwrite_2slow(benchmark::State& state) { bm_overwrite(state, 2, 1); }
void bm_overwrite_2slow_batch(benchmark::State& state) { bm_overwrite(state, 2, 64); }

}  // namespace

BENCHMARK(bm_ringkit)->Name("BM_broadcast_64B/ringkit")->Arg(2)->Arg(3)->UseRealTime();
#if RINGKIT_BENCH_HAVE_BOOST_SPSC
BENCHMARK(bm_boost_fanout)
    ->Name("BM_broadcast_64B/boost_spsc_fanout")
    ->Arg(2)
    ->Arg(3)
    ->UseRealTime();
#endif
BENCHMARK(bm_mutex)->Name("BM_broadcast_64B/mutex_condvar")->Arg(2)->Arg(3)->UseRealTime();
BENCHMARK(bm_ringkit_single)->Name("BM_broadcast1_64B/ringkit")->Arg(2)->Arg(3)->UseRealTime();
#if RINGKIT_BENCH_HAVE_BOOST_SPSC
BENCHMARK(bm_boost_single)
    ->Name("BM_broadcast1_64B/boost_spsc_fanout")
    ->Arg(2)
    ->Arg(3)
    ->UseRealTime();
#endif
// The overwrite writer never waits, so its cost is its own CPU time (the default clock here):
// real time would also count the other tenants of this shared machine that the scheduler moves
// onto CPU 0 while the two readers keep CPU 1 busy.
BENCHMARK(bm_overwrite_noreaders)->Name("BM_overwrite_64B/ringkit_noreaders")->Arg(4096);
BENCHMARK(bm_overwrite_2slow)->Name("BM_overwrite_64B/ringkit_2slow")->Arg(4096);
BENCHMARK(bm_overwrite_2slow_batch)->Name("BM_overwrite_64B/ringkit_2slow_batch")->Arg(4096);

// Every benchmark above registers itself with BENCHMARK(); main() is bench/support/main.cpp.
void register_all() {}

}  // namespace ringkit::bench
