// bench/ring_allocator_bench.cpp: the ring allocator against the general-purpose allocators.
//
// Built once per allocator (bench/CMakeLists.txt, RINGKIT_BENCH_PER_MALLOC): in each binary the
// peer "<malloc>" is SystemMalloc (peers/malloc.hpp), i.e. glibc, mimalloc, jemalloc or
// tcmalloc; SystemMalloc::verify() must confirm the link, or the peer's runs are skipped.
//
// BM_xthread/<impl>/<max size>/<outstanding>: short-lived buffers of random size, uniform in
//   64 B .. 16 KiB or 64 B .. 64 KiB (one seeded sequence of 4096 sizes, the same for every
//   impl), allocated on the benchmark thread (CPU 0), stamped (the first and last 8 bytes) and
//   passed through a ringkit SPSC channel of <outstanding> elements (64 or 1024) to a thread on
//   CPU 1, which checks both stamps and frees the buffer. One iteration is one buffer.
//     ringkit   RingAllocator (max x (outstanding + 1) bytes, about twice the average bytes
//               in flight; mirrored) allocate(); a full store waits like a full channel;
//               the FixedBuf crosses as RawFixedBuf (32 B) and is released on CPU 1
//     <malloc>  malloc(n) / free(p) on CPU 1; {pointer, size} crosses (16 B)
// BM_ext_grow/<impl>/<final size>: one thread builds a buffer of 1, 4, 16 or 64 KiB in 64-byte
//   appends, then drops it. One iteration is one buffer; bytes/s counts the bytes appended.
//     ringkit     RingAllocator::extend() + ExtBuf::write() + finalize(), then released; the
//                 store is 256 KiB (the ring cycles through all of it, so its size is the
//                 working set: a 4 MiB store runs from L3 and ties with the vector at 64 KiB)
//     std_vector  std::vector<char> from empty, insert() at the end (its growth policy)
// BM_frozen_copy/<impl>/<copies>: one thread makes <copies> (1 or 16) copies of a shared
//   read-only 1 KiB buffer into an array of exactly that many handles, reads the first byte
//   through each, then destroys them. items/s counts copies.
//     ringkit     FrozenBuf copies (refcount in the region header)
//     shared_ptr  std::shared_ptr<const std::vector<char>> copies
//
// Run (each binary in turn; about a minute each on 2 cores):
//   ring_allocator_bench --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true --benchmark_out=r.json --benchmark_out_format=json
//   tools/bench_ratios.py r.json --target 'xthread:glibc:*=2.0'
// The threaded benchmark is timed on real time with both threads pinned; ctx_invol counts the
// involuntary context switches of the process during a run (a preempted partner stalls the
// pipeline, so a disturbed repetition says little about the allocator).
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include <ringkit/channel.hpp>
#include <ringkit/ring_allocator.hpp>

#include "peers/malloc.hpp"
#include "support/affinity.hpp"
#include "support/backoff.hpp"
#include "support/report.hpp"
#include "support/rusage.hpp"

namespace ringkit::bench {
namespace {

constexpr std::size_t kMinSize = 64;
constexpr std::int64_t kMaxSizes[] = {16 << 10, 64 << 10};
constexpr std::int64_t kOutstanding[] = {64, 1024};
constexpr std::int64_t kExtFinal[] = {1 << 10, 4 << 10, 16 << 10, 64 << 10};
constexpr std::size_t kSizeCount = 4096;  // a power of two

/// The same seeded size sequence for every impl.
[[nodiscard]] const std::vector<std::uint32_t>& sizes(std::size_t max) {
  static std::vector<std::uint32_t> small;  // benchmark thread only
  static std::vector<std::uint32_t> large;
  auto& v = max <= (16 << 10) ? small : large;
  if (v.empty()) {
    std::mt19937_64 gen(0x5EED0000ULL + max);
    std::uniform_int_distribution<std::uint32_t> dist(kMinSize, static_cast<std::uint32_t>(max));
    v.resize(kSizeCount);
    for (auto& s : v) s = dist(gen);
  }
  return v;
}

inline void stamp(std::byte* p, std::size_t n, std::uint64_t seq) noexcept {
  std::memcpy(p, &seq, 8);
  std::memcpy(p + n - 8, &seq, 8);
}
[[nodiscard]] inline bool stamped(const std::byte* p, std::size_t n, std::uint64_t seq) noexcept {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + n - 8, 8);
  return a == seq && b == seq;
}

/// One buffer crossing to the freeing thread.
struct MallocItem {
  std::byte* p;
  std::size_t n;
};

/// The cross-thread pipeline: `make(n, seq, item)` on the benchmark thread (false: retry),
/// `check_and_free(item, seq)` on the other thread (false: corrupt).
template <class Item, class Make, class Free>
void run_xthread(benchmark::State& state, Make&& make, Free&& check_and_free) {
  const auto& sz = sizes(static_cast<std::size_t>(state.range(0)));
  const auto outstanding = static_cast<std::size_t>(state.range(1));
  auto ch = make_spsc<Item>(outstanding, RingOptions{.mode = MirrorMode::never});
  if (!ch) {
    state.SkipWithError("make_spsc failed");
    return;
  }
  auto tx = std::move(ch->producer);
  std::atomic<bool> stop{false};
  std::atomic<bool> bad{false};
  std::atomic<bool> consumer_pinned{false};
  std::thread consumer([&, rx = std::move(ch->consumer)]() mutable {
    consumer_pinned.store(pin_current_thread(kConsumerCpu), std::memory_order_relaxed);
    Backoff backoff;
    Item item{};
    for (std::uint64_t seq = 0;; ++seq) {
      while (!rx.try_pop(item)) {
        if (stop.load(std::memory_order_acquire) && !rx.try_pop(item)) return;
        backoff.pause();
      }
      backoff.reset();
      if (!check_and_free(item, seq)) bad.store(true, std::memory_order_relaxed);
    }
  });
  const ScopedPin pin(kProducerCpu);
  const std::int64_t switches = involuntary_switches();
  std::uint64_t seq = 0;
  std::int64_t bytes = 0;
  Backoff backoff;
  for (auto _ : state) {
    const std::size_t n = sz[seq & (kSizeCount - 1)];
    Item item{};
    while (!make(n, seq, item)) backoff.pause();
    backoff.reset();
    while (!tx.try_push(item)) backoff.pause();
    backoff.reset();
    bytes += static_cast<std::int64_t>(n);
    ++seq;
  }
  stop.store(true, std::memory_order_release);
  consumer.join();
  if (bad.load()) state.SkipWithError("stamp mismatch: a buffer was corrupted");
  report_run(state, static_cast<std::int64_t>(state.iterations()), bytes, switches,
             pin.pinned() && consumer_pinned.load(std::memory_order_relaxed));
}

void bm_xthread_ringkit(benchmark::State& state) {
  const auto max = static_cast<std::size_t>(state.range(0));
  const auto outstanding = static_cast<std::size_t>(state.range(1));
  auto made = RingAllocator::create(max * (outstanding + 1));
  if (!made) {
    state.SkipWithError("RingAllocator::create failed");
    return;
  }
  RingAllocator alloc = std::move(*made);
  {  // fault the store in before timing
    FixedBuf all;
    if (alloc.allocate(alloc.max_size(), all) == Errc::ok) std::memset(all.data(), 0, all.spare());
  }
  state.counters["mirrored"] = alloc.mirrored() ? 1 : 0;
  run_xthread<RawFixedBuf>(
      state,
      [&](std::size_t n, std::uint64_t seq, RawFixedBuf& item) {
        FixedBuf b;
        if (alloc.allocate(n, b) != Errc::ok) return false;
        stamp(b.data(), n, seq);
        (void)b.commit(n);
        item = std::move(b).into_raw();
        return true;
      },
      [](const RawFixedBuf& item, std::uint64_t seq) {
        const FixedBuf b = FixedBuf::from_raw(item);
        return stamped(b.data(), b.size(), seq);
      });
}

void bm_xthread_malloc(benchmark::State& state) {
  if (const char* why = SystemMalloc::verify()) {
    state.SkipWithError(why);
    return;
  }
  run_xthread<MallocItem>(
      state,
      [](std::size_t n, std::uint64_t seq, MallocItem& item) {
        auto* p = static_cast<std::byte*>(SystemMalloc::allocate(n));
        if (p == nullptr) return false;
        stamp(p, n, seq);
        item = {p, n};
        return true;
      },
      [](const MallocItem& item, std::uint64_t seq) {
        const bool ok = stamped(item.p, item.n, seq);
        SystemMalloc::release(item.p);
        return ok;
      });
}

// ---- BM_ext_grow --------------------------------------------------------------------------------

constexpr std::size_t kPiece = 64;
/// 4 x the largest buffer: the ring walks its whole store, so the store is what stays in cache
/// (a vector reuses the block malloc just freed).
constexpr std::size_t kExtStore = 256 << 10;

void bm_ext_grow_ringkit(benchmark::State& state) {
  const auto final_size = static_cast<std::size_t>(state.range(0));
  auto made = RingAllocator::create(kExtStore);
  if (!made) {
    state.SkipWithError("RingAllocator::create failed");
    return;
  }
  RingAllocator alloc = std::move(*made);
  std::byte piece[kPiece];
  std::memset(piece, 0x5A, sizeof piece);
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  for (auto _ : state) {
    ExtBuf e;
    if (alloc.extend(e) != Errc::ok) {
      state.SkipWithError("extend failed");
      break;
    }
    for (std::size_t done = 0; done < final_size; done += kPiece) {
      if (e.write(piece, kPiece) != Errc::ok) [[unlikely]] {
        state.SkipWithError("ExtBuf::write failed");
        break;
      }
    }
    FixedBuf f = std::move(e).finalize();
    benchmark::DoNotOptimize(f.data());
    benchmark::ClobberMemory();
  }
  report_run(state, static_cast<std::int64_t>(state.iterations()),
             static_cast<std::int64_t>(state.iterations() * final_size), switches, pin.pinned());
}

void bm_ext_grow_vector(benchmark::State& state) {
  const auto final_size = static_cast<std::size_t>(state.range(0));
  char piece[kPiece];
  std::memset(piece, 0x5A, sizeof piece);
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  for (auto _ : state) {
    std::vector<char> v;
    for (std::size_t done = 0; done < final_size; done += kPiece) {
      v.insert(v.end(), piece, piece + kPiece);
    }
    benchmark::DoNotOptimize(v.data());
    benchmark::ClobberMemory();
  }
  report_run(state, static_cast<std::int64_t>(state.iterations()),
             static_cast<std::int64_t>(state.iterations() * final_size), switches, pin.pinned());
}

// ---- BM_frozen_copy -----------------------------------------------------------------------------

constexpr std::size_t kFrozenBytes = 1024;

template <std::size_t Copies>
void bm_frozen_copy_ringkit(benchmark::State& state) {
  auto made = RingAllocator::create(1 << 16);
  if (!made) {
    state.SkipWithError("RingAllocator::create failed");
    return;
  }
  FixedBuf b;
  if (made->allocate(kFrozenBytes, b) != Errc::ok) {
    state.SkipWithError("allocate failed");
    return;
  }
  std::memset(b.data(), 1, kFrozenBytes);
  (void)b.commit(kFrozenBytes);
  const FrozenBuf shared = std::move(b).freeze();
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  unsigned sum = 0;
  for (auto _ : state) {
    std::array<FrozenBuf, Copies> c;
    for (auto& x : c) x = shared;
    for (const auto& x : c) sum += static_cast<unsigned>(x.data()[0]);
    benchmark::DoNotOptimize(sum);
  }
  report_run(state, static_cast<std::int64_t>(state.iterations() * Copies), 0, switches,
             pin.pinned());
}

template <std::size_t Copies>
void bm_frozen_copy_shared_ptr(benchmark::State& state) {
  const auto shared = std::make_shared<const std::vector<char>>(kFrozenBytes, char{1});
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  unsigned sum = 0;
  for (auto _ : state) {
    std::array<std::shared_ptr<const std::vector<char>>, Copies> c;
    for (auto& x : c) x = shared;
    for (const auto& x : c) sum += static_cast<unsigned>((*x)[0]);
    benchmark::DoNotOptimize(sum);
  }
  report_run(state, static_cast<std::int64_t>(state.iterations() * Copies), 0, switches,
             pin.pinned());
}

// ---- registration -------------------------------------------------------------------------------

[[nodiscard]] std::string bm_name(std::string_view op, std::string_view impl) {
  return "BM_" + std::string(op) + "/" + std::string(impl);
}

}  // namespace

void register_all() {
  for (auto [impl, fn] :
       {std::pair<std::string_view, void (*)(benchmark::State&)>{"ringkit", bm_xthread_ringkit},
        {SystemMalloc::name(), bm_xthread_malloc}}) {
    auto* b = benchmark::RegisterBenchmark(bm_name("xthread", impl).c_str(), fn);
    for (const std::int64_t max : kMaxSizes) {
      for (const std::int64_t n : kOutstanding) b->Args({max, n});
    }
    b->UseRealTime()->MeasureProcessCPUTime();
  }
  for (auto [impl, fn] :
       {std::pair<std::string_view, void (*)(benchmark::State&)>{"ringkit", bm_ext_grow_ringkit},
        {"std_vector", bm_ext_grow_vector}}) {
    auto* b = benchmark::RegisterBenchmark(bm_name("ext_grow", impl).c_str(), fn);
    for (const std::int64_t n : kExtFinal) b->Arg(n);
  }
  // The copy count is a template argument (exactly that many handles per iteration); the Arg
  // only names the run.
  benchmark::RegisterBenchmark(bm_name("frozen_copy", "ringkit").c_str(), bm_frozen_copy_ringkit<1>)
      ->Arg(1);
  benchmark::RegisterBenchmark(bm_name("frozen_copy", "ringkit").c_str(),
                               bm_frozen_copy_ringkit<16>)
      ->Arg(16);
  benchmark::RegisterBenchmark(bm_name("frozen_copy", "shared_ptr").c_str(),
                               bm_frozen_copy_shared_ptr<1>)
      ->Arg(1);
  benchmark::RegisterBenchmark(bm_name("frozen_copy", "shared_ptr").c_str(),
                               bm_frozen_copy_shared_ptr<16>)
      ->Arg(16);
}

}  // namespace ringkit::bench
