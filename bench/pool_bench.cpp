// bench/pool_bench.cpp: event pools against the process's malloc (glibc, mimalloc, jemalloc or
// tcmalloc: this file is built once per allocator, see peers/malloc.hpp) and std::shared_ptr.
//
// <malloc> below is SystemMalloc::name() of the binary (glibc / mimalloc / jemalloc / tcmalloc).
// Every impl writes the first 8 bytes of each object it allocates (and the cross-thread reader
// reads them), so the work per object is the same.
//
// BM_alloc_release/<impl>/<bytes>: one thread allocates an object and releases it at once;
//   bytes 64, 256, 1024 (classes XS, S, M).
//     ringkit    allocate_uninit(n) -> write -> publish() -> EventRef destroyed
//     <malloc>   malloc(n) -> write -> free
// BM_alloc_release_64/<impl>/<bytes>: the same with 64 objects outstanding (each iteration
//   releases the oldest and allocates a new one); bytes 4096, 16384 (classes L, XL).
// BM_cross_thread/<impl>/<bytes>: a producer thread pinned to CPU 0 allocates objects, writes
//   them and pushes a 16-byte handle through a ringkit SPSC channel (make_spsc, 1024 slots) to
//   the benchmark thread pinned to CPU 1, which reads the first 8 bytes and does the last
//   release. One iteration is one object; bytes 8 .. 16384.
//     ringkit    EventToken (into_token / EventRef::from_token), the release on CPU 1
//     <malloc>   {pointer, size} pushed the same way, free() on CPU 1
// BM_ref_copy/<impl>/0: copy a handle and destroy the copy (one thread).
//     ringkit    EventRef copy + destroy
//     shared_ptr std::shared_ptr<const std::array<char, 64>> copy + destroy
// BM_alloc_publish/<impl>/<bytes>: create a refcounted immutable object and drop it.
//     ringkit    allocate_uninit(n) -> write -> publish() -> destroyed
//     shared_ptr std::make_shared<std::array<char, n>>() -> write -> destroyed
//
// Pair the results with tools/bench_ratios.py:
//   pool_bench --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//              --benchmark_report_aggregates_only=true --benchmark_out=r.json
//              --benchmark_out_format=json
//   tools/bench_ratios.py r.json
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <benchmark/benchmark.h>

#include <ringkit/channel.hpp>
#include <ringkit/event_pool.hpp>

#include "peers/malloc.hpp"
#include "support/affinity.hpp"
#include "support/backoff.hpp"

namespace ringkit::bench {
namespace {

constexpr std::size_t kChannelSlots = 1024;
constexpr std::size_t kOutstanding = 64;

/// Pools large enough that no benchmark is limited by slot counts.
EventPools& bench_pools() {
  static EventPools pools = [] {
    PoolConfig c = PoolConfig::custom(16384, 8192, 4096, 4096, 4096);
    c.cache_batch = 32;
    return std::move(*EventPools::create(c));
  }();
  return pools;
}

std::string impl_name(std::string_view op, std::string_view impl) {
  std::string s = "BM_";
  s += op;
  s += '/';
  s += impl;
  return s;
}

inline void stamp(std::byte* p, std::uint64_t v) noexcept { std::memcpy(p, &v, sizeof v); }
inline std::uint64_t read_stamp(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool skip_if_wrong_malloc(benchmark::State& state) {
  if (const char* why = SystemMalloc::verify()) {
    state.SkipWithError(why);
    return true;
  }
  return false;
}

// --- Same thread -----------------------------------------------------------------------------

void bm_alloc_release_ringkit(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  EventPools& pools = bench_pools();
  std::uint64_t i = 0;
  for (auto _ : state) {
    auto w = pools.allocate_uninit(n);
    if (!w) {
      state.SkipWithError("allocate failed");
      break;
    }
    stamp(w->writable().data(), ++i);
    EventRef ev = std::move(*w).publish();
    benchmark::DoNotOptimize(ev.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_alloc_release_malloc(benchmark::State& state) {
  if (skip_if_wrong_malloc(state)) return;
  const auto n = static_cast<std::size_t>(state.range(0));
  std::uint64_t i = 0;
  for (auto _ : state) {
    auto* p = static_cast<std::byte*>(SystemMalloc::allocate(n));
    stamp(p, ++i);
    benchmark::DoNotOptimize(p);
    SystemMalloc::release(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_outstanding_ringkit(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  EventPools& pools = bench_pools();
  std::array<EventRef, kOutstanding> live;
  std::uint64_t i = 0;
  for (auto _ : state) {
    EventRef& slot = live[i % kOutstanding];
    slot.reset();
    auto w = pools.allocate_uninit(n);
    if (!w) {
      state.SkipWithError("allocate failed");
      break;
    }
    stamp(w->writable().data(), ++i);
    slot = std::move(*w).publish();
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_outstanding_malloc(benchmark::State& state) {
  if (skip_if_wrong_malloc(state)) return;
  const auto n = static_cast<std::size_t>(state.range(0));
  std::array<std::byte*, kOutstanding> live{};
  std::uint64_t i = 0;
  for (auto _ : state) {
    std::byte*& slot = live[i % kOutstanding];
    SystemMalloc::release(slot);
    slot = static_cast<std::byte*>(SystemMalloc::allocate(n));
    stamp(slot, ++i);
  }
  for (std::byte* p : live) SystemMalloc::release(p);
  state.SetItemsProcessed(state.iterations());
}

// --- Allocate on CPU 0, last release on CPU 1 ------------------------------------------------

struct RawMsg {
  std::byte* p;
  std::uint64_t n;
};
static_assert(sizeof(RawMsg) == sizeof(EventToken));

/// A flag on a line of its own (the producer polls it on every object).
struct alignas(kFalseSharingRange) StopFlag {
  std::atomic<bool> stop{false};
};

/// Runs `produce(seq, msg)` on a thread pinned to CPU 0 and `consume(msg)` for each iteration
/// on the benchmark thread pinned to CPU 1, through one SPSC channel. The producer owns its
/// channel half and copies of its callables, so nothing it touches per object shares a cache
/// line with the consumer's stack.
template <class Msg, class Produce, class Consume>
void cross_thread(benchmark::State& state, Produce produce, Consume consume) {
  auto ch = make_spsc<Msg>(kChannelSlots);
  if (!ch) {
    state.SkipWithError("make_spsc failed");
    return;
  }
  auto& rx = ch->consumer;
  const auto flag = std::make_unique<StopFlag>();
  std::thread producer([tx = std::move(ch->producer), produce, consume, f = flag.get()]() mutable {
    const bool pinned = pin_current_thread(kProducerCpu);
    (void)pinned;
    Backoff backoff;
    std::uint64_t seq = 0;
    while (!f->stop.load(std::memory_order_relaxed)) {
      Msg m{};
      if (!produce(++seq, m)) {
        backoff.pause();
        --seq;
        continue;
      }
      while (!tx.try_push(m)) {
        if (f->stop.load(std::memory_order_relaxed)) {
          consume(m);  // not handed over: released here
          return;
        }
        backoff.pause();
      }
      backoff.reset();
    }
  });
  ScopedPin pin(kConsumerCpu);
  Backoff backoff;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    Msg m{};
    while (!rx.try_pop(m)) backoff.pause();
    backoff.reset();
    sum += consume(m);
  }
  flag->stop.store(true, std::memory_order_relaxed);
  producer.join();
  Msg m{};
  while (rx.try_pop(m)) sum += consume(m);
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
  if (!pin.pinned()) state.SetLabel("unpinned");
}

void bm_cross_ringkit(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  EventPools* pools = &bench_pools();
  const SizeClass cls = size_class_for(n);
  const std::uint64_t failed_before = pools->stats(cls).failed;
  cross_thread<EventToken>(
      state,
      [pools, n](std::uint64_t seq, EventToken& out) {
        auto w = pools->allocate_uninit(n);
        if (!w) return false;  // every slot in flight: retry
        stamp(w->writable().data(), seq);
        out = std::move(*w).publish().into_token();
        return true;
      },
      [](const EventToken& t) -> std::uint64_t {
        auto ev = EventRef::from_token(t);
        return ev ? read_stamp(ev->data()) : 0;  // the last release, on this thread
      });
  EventPools::flush_thread_cache();
  // Allocations refused because every slot was in flight (the producer retries them).
  state.counters["exhausted"] = static_cast<double>(pools->stats(cls).failed - failed_before);
}

void bm_cross_malloc(benchmark::State& state) {
  if (skip_if_wrong_malloc(state)) return;
  const auto n = static_cast<std::size_t>(state.range(0));
  cross_thread<RawMsg>(
      state,
      [n](std::uint64_t seq, RawMsg& out) {
        auto* p = static_cast<std::byte*>(SystemMalloc::allocate(n));
        stamp(p, seq);
        out = RawMsg{p, n};
        return true;
      },
      [](const RawMsg& m) -> std::uint64_t {
        const std::uint64_t v = read_stamp(m.p);
        SystemMalloc::release(m.p);
        return v;
      });
}

// --- Handles ---------------------------------------------------------------------------------

void bm_ref_copy_ringkit(benchmark::State& state) {
  auto w = bench_pools().allocate_uninit(64);
  if (!w) {
    state.SkipWithError("allocate failed");
    return;
  }
  stamp(w->writable().data(), 1);
  const EventRef ev = std::move(*w).publish();
  for (auto _ : state) {
    EventRef copy = ev;
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_ref_copy_shared(benchmark::State& state) {
  const std::shared_ptr<const std::array<char, 64>> sp = std::make_shared<std::array<char, 64>>();
  for (auto _ : state) {
    std::shared_ptr<const std::array<char, 64>> copy = sp;
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}

// BM_alloc_publish/ringkit is the same operation as BM_alloc_release/ringkit (allocate in place,
// write, publish, drop), compared here with make_shared instead of malloc: one body for both.

template <std::size_t N>
void bm_alloc_publish_shared(benchmark::State& state) {
  std::uint64_t i = 0;
  for (auto _ : state) {
    auto sp = std::make_shared<std::array<char, N>>();
    std::memcpy(sp->data(), &++i, sizeof i);
    const std::shared_ptr<const std::array<char, N>> ev = std::move(sp);
    benchmark::DoNotOptimize(ev.get());
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

void register_all() {
  const std::string m(SystemMalloc::name());
  for (const std::int64_t n : {64, 256, 1024}) {
    benchmark::RegisterBenchmark(impl_name("alloc_release", "ringkit").c_str(),
                                 bm_alloc_release_ringkit)
        ->Arg(n);
    benchmark::RegisterBenchmark(impl_name("alloc_release", m).c_str(), bm_alloc_release_malloc)
        ->Arg(n);
  }
  for (const std::int64_t n : {4096, 16384}) {
    benchmark::RegisterBenchmark(impl_name("alloc_release_64", "ringkit").c_str(),
                                 bm_outstanding_ringkit)
        ->Arg(n);
    benchmark::RegisterBenchmark(impl_name("alloc_release_64", m).c_str(), bm_outstanding_malloc)
        ->Arg(n);
  }
  for (const std::int64_t n : {8, 64, 256, 1024, 4096, 16384}) {
    benchmark::RegisterBenchmark(impl_name("cross_thread", "ringkit").c_str(), bm_cross_ringkit)
        ->Arg(n)
        ->UseRealTime();
    benchmark::RegisterBenchmark(impl_name("cross_thread", m).c_str(), bm_cross_malloc)
        ->Arg(n)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_ref_copy/ringkit", bm_ref_copy_ringkit)->Arg(0);
  benchmark::RegisterBenchmark("BM_ref_copy/shared_ptr", bm_ref_copy_shared)->Arg(0);
  for (const std::int64_t n : {64, 256, 1024}) {
    benchmark::RegisterBenchmark("BM_alloc_publish/ringkit", bm_alloc_release_ringkit)->Arg(n);
  }
  benchmark::RegisterBenchmark("BM_alloc_publish/shared_ptr", bm_alloc_publish_shared<64>)->Arg(64);
  benchmark::RegisterBenchmark("BM_alloc_publish/shared_ptr", bm_alloc_publish_shared<256>)
      ->Arg(256);
  benchmark::RegisterBenchmark("BM_alloc_publish/shared_ptr", bm_alloc_publish_shared<1024>)
      ->Arg(1024);
}

}  // namespace ringkit::bench
