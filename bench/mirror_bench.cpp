// bench/mirror_bench.cpp: the mirrored rings and channels against their real peers.
//
// BM_framed_parse/<impl>/<max payload>: length-prefixed frames (support/frames.hpp: 4-byte LE
//   length, payload 200 B .. 2 KiB or 200 B .. 16 KiB, seeded, 4 MiB pre-generated and replayed)
//   pushed through a 64 KiB buffer by one thread, pinned to CPU 1. One iteration: copy the next
//   chunk of up to 16 KiB of the stream into the free space (like a socket read), then decode
//   and consume every complete frame. The buffer wraps every 4 chunks, so a frame straddles the
//   wrap every cycle. Every impl hands contiguous frames to the same FrameDecoder, which checks
//   each frame's length and the 32 bytes derived from its index (SkipWithError on a mismatch).
//   Reports bytes/s (of the stream) and items/s (frames).
//     ringkit_mirror       MirrorByteRing: readable() is one span, decoded in place
//     ringkit_two_segment  ByteRing: the frame split by the wrap is peek()ed into scratch first
//     (readable() must show every committed byte, or a parser waiting for the rest of a frame
//     stalls with the buffer full: the benchmark stops with "stalled" then; fixed in 2cbd098)
//     beast_flat           boost::beast::flat_buffer (limit and reserve 64 KiB): prepare/commit,
//                          data() decoded in place, consume; prepare() moves the tail to the front
// BM_spsc_u64/<impl>/<capacity>, BM_spsc_64B/<impl>/<capacity>: a producer thread pinned to
//   CPU 0 pushes sequence numbers (an 8-byte value, or a 64-byte struct stamped at both ends)
//   one try_push at a time to the benchmark thread, pinned to CPU 1, which pops them one at a
//   time and checks each. One iteration is one element.
//     ringkit         make_spsc<T>: try_push / try_pop
//     boost_spsc      boost::lockfree::spsc_queue<T, capacity<N>>: push / pop (holds N - 1)
//     moodycamel_rwq  moodycamel::ReaderWriterQueue<T>(N): try_enqueue / try_dequeue
// BM_spsc_batch32/<impl>/<capacity>: the same with batches of 32 u64: the producer pushes each
//   batch with as few bulk calls as fit; one iteration is one batch of 32 taken by the consumer.
//     ringkit     push_slice / readable() + consume() (checked in place)
//     boost_spsc  bulk push(const T*, n) / pop(T*, n) (copied out into a 32-element array)
// BM_mpsc/<impl>/<producers>: 1 or 2 producer threads push u64 values (producer id << 56 |
//   sequence) with try_push; the benchmark thread pops with try_pop and checks that every
//   producer's sequence arrives complete and in order. Producers are pinned to CPU 0, the
//   consumer to CPU 1: with 2 producers they share a core (the machine has 2), so the 2P1C run
//   measures the multi-producer protocol and its behaviour under preemption, not cross-core
//   producer contention. Capacity 1024 elements. One iteration is one element. In the 2P1C
//   runs ctx_invol mostly counts the producers' own yields to each other (sched_yield counts as
//   an involuntary switch); min_share is the smaller producer's share of the elements.
//     ringkit        make_mpsc<T>: one copied MpscProducer per producer thread
//     moodycamel_cq  moodycamel::ConcurrentQueue<T>, pre-sized, producer + consumer tokens
//     tbb_bounded    tbb::concurrent_bounded_queue<T> with set_capacity: try_push / try_pop
//     boost_queue    boost::lockfree::queue<T, capacity<1024>>: push / pop
//     ringkit_ordered make_ordered_mpsc<T>: the globally ordered channel (one ring, in-order
//                    commit), for comparison with the lanes
// BM_mpsc_oversub/<impl>/<producers>: the oversubscribed case: 1, 2 or 4 producer threads, ALL
//   pinned to CPU 0, push u64 values (id << 56 | seq) with try_push and the Backoff below; the
//   benchmark thread (CPU 1) pops up to 64 per call (the peer's bulk dequeue, or a loop of
//   single pops where it has none) and checks every producer's sequence. Capacity 16384 (per
//   producer lane for ringkit; moodycamel with tokens also holds >= capacity per producer, see
//   peers/moodycamel.hpp; one shared bound for the others). One iteration is one pop call that
//   returned elements; items/s counts elements.
//     ringkit, ringkit_ordered, moodycamel_cq (tokens), moodycamel_cq_notok (no tokens:
//     implicit producers), tbb_bounded, boost_queue as for BM_mpsc
// BM_mpsc_batch32/<impl>/<producers>: the same with batches: each producer pushes 32 values per
//   bulk call (push_slice / try_enqueue_bulk; a loop of single pushes for tbb and boost), the
//   consumer pops up to 32 per call (pop_slice / try_dequeue_bulk).
// BM_region_create/<impl>/<bytes>: one thread creates and destroys a region of 64 KiB or 1 MiB.
//     ringkit    MirrorRegion::create (memfd_create + ftruncate + 3 mmaps) + destroy
//     mmap_anon  mmap(2 x bytes, MAP_ANONYMOUS | MAP_PRIVATE) + munmap: the floor; ringkit is
//                expected to be slower, the ratio says by how much
//
// Every busy loop backs off (support/backoff.hpp): PAUSE, then sched_yield after 1024 failed
// attempts in a row, so a thread waiting for a descheduled partner gives it the CPU.
//
// Pair the results with tools/bench_ratios.py (about 2 minutes on 2 cores):
//   mirror_bench --benchmark_repetitions=9 --benchmark_min_time=0.2
//                --benchmark_enable_random_interleaving=true
//                --benchmark_report_aggregates_only=true
//                --benchmark_out=r.json --benchmark_out_format=json
//   tools/bench_ratios.py r.json                          # ringkit vs each peer
//   tools/bench_ratios.py r.json --base ringkit_mirror    # BM_framed_parse
// Interleaving spreads background load over all implementations; ctx_invol counts the
// involuntary context switches of the process during a run (a preempted thread stalls its
// partner, so a disturbed repetition says little about the queue). Single-threaded benchmarks
// (framed_parse, region_create) are timed on CPU time, the threaded ones on real time.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/mman.h>

#include <benchmark/benchmark.h>

#include <ringkit/mirror.hpp>

#include "peers/beast_flat.hpp"
#include "peers/boost_lockfree_queue.hpp"
#include "peers/boost_spsc.hpp"
#include "peers/interfaces.hpp"
#include "peers/moodycamel.hpp"
#include "peers/ringkit.hpp"
#include "peers/tbb_queue.hpp"
#include "support/affinity.hpp"
#include "support/backoff.hpp"
#include "support/frames.hpp"
#include "support/report.hpp"
#include "support/rusage.hpp"

namespace ringkit::bench {
namespace {

constexpr std::size_t kFrameRingBytes = std::size_t{64} * 1024;
constexpr std::size_t kChunkBytes = std::size_t{16} * 1024;
constexpr std::size_t kFrameStreamBytes = std::size_t{4} << 20;
constexpr std::size_t kMinPayload = 200;
constexpr std::int64_t kMaxPayloads[] = {2048, 16384};
constexpr std::uint64_t kFrameSeed = 0x5EED'F4A3'0000'0001ULL;

constexpr std::size_t kQueueCapacity = 1024;
constexpr std::size_t kBatch = 32;
constexpr std::int64_t kProducerCounts[] = {1, 2};
constexpr int kIdShift = 56;
constexpr std::uint64_t kSeqMask = (std::uint64_t{1} << kIdShift) - 1;

constexpr std::size_t kOversubCapacity = 16384;
constexpr std::int64_t kOversubProducers[] = {1, 2, 4};
constexpr std::size_t kOversubPop = 64;

constexpr std::int64_t kRegionSizes[] = {std::int64_t{64} * 1024, std::int64_t{1024} * 1024};

/// A 64-byte element stamped at both ends, so a torn copy is caught.
struct Msg64 {
  std::uint64_t seq;
  std::uint64_t body[6];
  std::uint64_t check;  // ~seq
};
static_assert(sizeof(Msg64) == 64);

template <class T>
[[nodiscard]] T make_element(std::uint64_t seq) noexcept {
  if constexpr (std::is_same_v<T, Msg64>) {
    Msg64 m{};
    m.seq = seq;
    for (std::size_t i = 0; i < 6; ++i) m.body[i] = seq + i;
    m.check = ~seq;
    return m;
  } else {
    return static_cast<T>(seq);
  }
}

template <class T>
[[nodiscard]] bool element_ok(const T& v, std::uint64_t seq) noexcept {
  if constexpr (std::is_same_v<T, Msg64>) {
    return v.seq == seq && v.check == ~seq;
  } else {
    return v == seq;
  }
}

/// Benchmark bodies run on the benchmark thread; adapters whose setup throws (a Result's
/// value() on a failed mapping, a fixed-capacity peer) report the reason instead.
template <class T, class... Args>
[[nodiscard]] std::unique_ptr<T> make_or_skip(benchmark::State& state, Args&&... args) {
  try {
    return std::make_unique<T>(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return nullptr;
  }
}

// ---- BM_framed_parse ----------------------------------------------------------------------------

[[nodiscard]] const FrameStream& frame_stream(std::size_t max_payload) {
  static std::map<std::size_t, std::unique_ptr<FrameStream>> streams;  // benchmark thread only
  auto& s = streams[max_payload];
  if (!s)
    s = std::make_unique<FrameStream>(kMinPayload, max_payload, kFrameStreamBytes, kFrameSeed);
  return *s;
}

template <frame_buffer Buffer>
void bm_framed_parse(benchmark::State& state) {
  const FrameStream& stream = frame_stream(static_cast<std::size_t>(state.range(0)));
  auto buf = make_or_skip<Buffer>(state, kFrameRingBytes);
  if (!buf) return;
  FrameDecoder decoder(stream);
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  const std::byte* const src = stream.bytes().data();
  const std::size_t total = stream.bytes().size();
  std::size_t pos = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const std::size_t n = buf->fill(src + pos, std::min(kChunkBytes, total - pos));
    if (n == 0) [[unlikely]] {
      state.SkipWithError("stalled: the buffer is full but holds no complete frame");
      break;
    }
    pos += n;
    if (pos == total) pos = 0;
    bytes += static_cast<std::int64_t>(n);
    if (!buf->parse(decoder)) [[unlikely]] {
      state.SkipWithError("frame mismatch: bad length, tag or order");
      break;
    }
  }
  report_run(state, static_cast<std::int64_t>(decoder.frames()), bytes, switches, pin.pinned());
}

// ---- BM_spsc_u64 / BM_spsc_64B / BM_spsc_batch32 ----------------------------------------------

template <class T, element_queue<T> Queue>
void bm_spsc(benchmark::State& state) {
  auto q = make_or_skip<Queue>(state, static_cast<std::size_t>(state.range(0)));
  if (!q) return;
  std::atomic<bool> stop{false};
  std::atomic<bool> producer_pinned{false};
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();

  std::thread producer([&] {
    producer_pinned.store(pin_current_thread(kProducerCpu), std::memory_order_relaxed);
    Backoff backoff;
    for (std::uint64_t seq = 0;; ++seq) {
      const T v = make_element<T>(seq);
      while (!q->try_push(v)) {
        // Full: once `stop` is set the consumer has stopped for good (joined below).
        if (stop.load(std::memory_order_relaxed)) return;
        backoff.pause();
      }
      backoff.reset();
    }
  });

  T v{};
  std::uint64_t seq = 0;
  for (auto _ : state) {
    Backoff backoff;
    while (!q->try_pop(v)) backoff.pause();
    if (!element_ok(v, seq)) [[unlikely]] {
      state.SkipWithError("data mismatch: element out of sequence or torn");
      break;
    }
    ++seq;
  }
  stop.store(true, std::memory_order_relaxed);
  producer.join();
  report_run(state, static_cast<std::int64_t>(state.iterations()),
             static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(sizeof(T)),
             switches, pin.pinned() && producer_pinned.load(std::memory_order_relaxed));
}

template <batch_queue<std::uint64_t> Queue>
void bm_spsc_batch(benchmark::State& state) {
  auto q = make_or_skip<Queue>(state, static_cast<std::size_t>(state.range(0)));
  if (!q) return;
  std::atomic<bool> stop{false};
  std::atomic<bool> producer_pinned{false};
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();

  std::thread producer([&] {
    producer_pinned.store(pin_current_thread(kProducerCpu), std::memory_order_relaxed);
    std::array<std::uint64_t, kBatch> batch{};
    Backoff backoff;
    for (std::uint64_t seq = 0;; seq += kBatch) {
      for (std::size_t i = 0; i < kBatch; ++i) batch[i] = seq + i;
      for (std::size_t done = 0; done < kBatch;) {
        const std::size_t n = q->push_batch(std::span<const std::uint64_t>(batch).subspan(done));
        if (n == 0) {
          if (stop.load(std::memory_order_relaxed)) return;
          backoff.pause();
        } else {
          backoff.reset();
          done += n;
        }
      }
    }
  });

  std::array<std::uint64_t, kBatch> scratch{};
  std::uint64_t seq = 0;
  bool ok = true;
  for (auto _ : state) {
    Backoff backoff;
    for (std::size_t got = 0; got < kBatch;) {
      const std::size_t n = q->consume_batch(std::span<std::uint64_t>(scratch).first(kBatch - got),
                                             [&](std::span<const std::uint64_t> elems) {
                                               for (const std::uint64_t v : elems) {
                                                 ok &= v == seq;
                                                 ++seq;
                                               }
                                             });
      if (n == 0) {
        backoff.pause();
      } else {
        backoff.reset();
        got += n;
      }
    }
    if (!ok) [[unlikely]] {
      state.SkipWithError("data mismatch: element out of sequence");
      break;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  producer.join();
  const auto items = static_cast<std::int64_t>(state.iterations() * kBatch);
  report_run(state, items, items * static_cast<std::int64_t>(sizeof(std::uint64_t)), switches,
             pin.pinned() && producer_pinned.load(std::memory_order_relaxed));
}

// ---- BM_mpsc ------------------------------------------------------------------------------------

template <mpsc_queue<std::uint64_t> Queue>
void bm_mpsc(benchmark::State& state) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  auto q = make_or_skip<Queue>(state, kQueueCapacity, producers);
  if (!q) return;
  std::vector<typename Queue::producer_type> handles;
  handles.reserve(producers);
  for (std::size_t i = 0; i < producers; ++i) handles.push_back(q->make_producer());

  std::atomic<bool> stop{false};
  std::atomic<std::size_t> producers_pinned{0};
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();

  std::vector<std::thread> threads;
  threads.reserve(producers);
  for (std::size_t id = 0; id < producers; ++id) {
    threads.emplace_back([&, id, h = std::move(handles[id])]() mutable {
      if (pin_current_thread(kProducerCpu))
        producers_pinned.fetch_add(1, std::memory_order_relaxed);
      Backoff backoff;
      for (std::uint64_t seq = 0;; ++seq) {
        const std::uint64_t v = (static_cast<std::uint64_t>(id) << kIdShift) | seq;
        while (!h.try_push(v)) {
          if (stop.load(std::memory_order_relaxed)) return;
          backoff.pause();
        }
        backoff.reset();
      }
    });
  }

  std::vector<std::uint64_t> expected(producers, 0);
  for (auto _ : state) {
    Backoff backoff;
    std::uint64_t v = 0;
    while (!q->try_pop(v)) backoff.pause();
    const auto id = static_cast<std::size_t>(v >> kIdShift);
    if (id >= producers || (v & kSeqMask) != expected[id]) [[unlikely]] {
      state.SkipWithError("data mismatch: a producer's sequence is out of order or has a gap");
      break;
    }
    ++expected[id];
  }
  stop.store(true, std::memory_order_relaxed);
  for (auto& t : threads) t.join();

  std::uint64_t popped = 0;
  for (const std::uint64_t e : expected) popped += e;
  if (popped != static_cast<std::uint64_t>(state.iterations()) && !state.error_occurred()) {
    state.SkipWithError("data mismatch: popped count differs from the iterations");
  }
  // The smallest producer's share of the elements (0.5 is fair for 2 producers).
  if (producers > 1 && popped != 0) {
    const std::uint64_t least = *std::min_element(expected.begin(), expected.end());
    state.counters["min_share"] =
        benchmark::Counter(static_cast<double>(least) / static_cast<double>(popped));
  }
  report_run(state, static_cast<std::int64_t>(state.iterations()),
             static_cast<std::int64_t>(state.iterations() * sizeof(std::uint64_t)), switches,
             pin.pinned() && producers_pinned.load(std::memory_order_relaxed) == producers);
}

// ---- BM_mpsc_oversub, BM_mpsc_batch32 -------------------------------------------------------

// g++ 12 -O3 misreports -Wstringop-overflow inside moodycamel's try_enqueue_bulk once it is
// inlined into the producer loop below (an atomic load "writing 8 bytes into a region of size 0").
#pragma GCC diagnostic push
#if !defined(__clang__)  // clang (and clang-tidy) has no such warning group
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
/// Producers pinned to CPU 0 push `push_batch` values per call (1: try_push), the benchmark
/// thread pops up to `pop_max` per call and checks each producer's sequence.
template <mpsc_bulk_queue<std::uint64_t> Queue>
void bm_mpsc_bulk(benchmark::State& state, std::size_t push_batch, std::size_t pop_max) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  auto q = make_or_skip<Queue>(state, kOversubCapacity, producers);
  if (!q) return;
  std::vector<typename Queue::producer_type> handles;
  handles.reserve(producers);
  for (std::size_t i = 0; i < producers; ++i) handles.push_back(q->make_producer());

  std::atomic<bool> stop{false};
  std::atomic<std::size_t> producers_pinned{0};
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();

  std::vector<std::thread> threads;
  threads.reserve(producers);
  for (std::size_t id = 0; id < producers; ++id) {
    threads.emplace_back([&, id, h = std::move(handles[id])]() mutable {
      if (pin_current_thread(kProducerCpu))
        producers_pinned.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t tag = static_cast<std::uint64_t>(id) << kIdShift;
      Backoff backoff;
      std::vector<std::uint64_t> batch(push_batch);
      for (std::uint64_t seq = 0;;) {
        if (push_batch == 1) {
          while (!h.try_push(tag | seq)) {
            if (stop.load(std::memory_order_relaxed)) return;
            backoff.pause();
          }
          backoff.reset();
          ++seq;
          continue;
        }
        for (std::size_t i = 0; i < push_batch; ++i) batch[i] = tag | (seq + i);
        for (std::size_t done = 0; done < push_batch;) {
          const std::size_t k = h.push_bulk(std::span<const std::uint64_t>(batch).subspan(done));
          if (k == 0) {
            if (stop.load(std::memory_order_relaxed)) return;
            backoff.pause();
            continue;
          }
          backoff.reset();
          done += k;
        }
        seq += push_batch;
      }
    });
  }

  std::vector<std::uint64_t> expected(producers, 0);
  std::array<std::uint64_t, kOversubPop> buf{};
  const std::span<std::uint64_t> out = std::span(buf).first(std::min(pop_max, buf.size()));
  std::int64_t items = 0;
  bool ok = true;
  for (auto _ : state) {
    Backoff backoff;
    std::size_t n = 0;
    while ((n = q->pop_bulk(out)) == 0) backoff.pause();
    for (std::size_t i = 0; i < n; ++i) {
      const auto id = static_cast<std::size_t>(buf[i] >> kIdShift);
      if (id >= producers || (buf[i] & kSeqMask) != expected[id]) [[unlikely]] {
        ok = false;
        break;
      }
      ++expected[id];
    }
    items += static_cast<std::int64_t>(n);
    if (!ok) [[unlikely]] {
      state.SkipWithError("data mismatch: a producer's sequence is out of order or has a gap");
      break;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  for (auto& t : threads) t.join();
  if (producers > 1 && items != 0) {
    const std::uint64_t least = *std::min_element(expected.begin(), expected.end());
    state.counters["min_share"] =
        benchmark::Counter(static_cast<double>(least) / static_cast<double>(items));
  }
  state.counters["per_pop"] =
      benchmark::Counter(state.iterations() == 0 ? 0.0
                                                 : static_cast<double>(items) /
                                                       static_cast<double>(state.iterations()));
  report_run(state, items, items * static_cast<std::int64_t>(sizeof(std::uint64_t)), switches,
             pin.pinned() && producers_pinned.load(std::memory_order_relaxed) == producers);
}

#pragma GCC diagnostic pop

// ---- BM_region_create ---------------------------------------------------------------------------

void bm_region_create_ringkit(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  for (auto _ : state) {
    auto region = MirrorRegion::create(bytes);
    if (!region) [[unlikely]] {
      state.SkipWithError(("MirrorRegion::create: " + region.message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(region->data());
  }  // destroyed here: 1 munmap of the 2 x bytes reservation
  report_run(state, static_cast<std::int64_t>(state.iterations()), 0, switches, pin.pinned());
}

void bm_region_create_mmap(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  for (auto _ : state) {
    void* p =
        ::mmap(nullptr, 2 * bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) [[unlikely]] {
      state.SkipWithError("mmap failed");
      break;
    }
    benchmark::DoNotOptimize(p);
    ::munmap(p, 2 * bytes);
  }
  report_run(state, static_cast<std::int64_t>(state.iterations()), 0, switches, pin.pinned());
}

// ---- registration -------------------------------------------------------------------------------

void threaded(benchmark::internal::Benchmark* b) { b->UseRealTime()->MeasureProcessCPUTime(); }

[[nodiscard]] std::string bm_name(std::string_view op, std::string_view impl) {
  return "BM_" + std::string(op) + "/" + std::string(impl);
}

template <frame_buffer Buffer>
void register_framed_parse() {
  auto* b = benchmark::RegisterBenchmark(bm_name("framed_parse", Buffer::kName).c_str(),
                                         bm_framed_parse<Buffer>);
  for (const std::int64_t max : kMaxPayloads) b->Arg(max);
}

template <class T, element_queue<T> Queue>
void register_spsc(std::string_view op) {
  auto* b = benchmark::RegisterBenchmark(bm_name(op, Queue::kName).c_str(), bm_spsc<T, Queue>);
  b->Arg(static_cast<std::int64_t>(kQueueCapacity));
  threaded(b);
}

template <batch_queue<std::uint64_t> Queue>
void register_spsc_batch() {
  auto* b = benchmark::RegisterBenchmark(bm_name("spsc_batch32", Queue::kName).c_str(),
                                         bm_spsc_batch<Queue>);
  b->Arg(static_cast<std::int64_t>(kQueueCapacity));
  threaded(b);
}

template <mpsc_queue<std::uint64_t> Queue>
void register_mpsc() {
  auto* b = benchmark::RegisterBenchmark(bm_name("mpsc", Queue::kName).c_str(), bm_mpsc<Queue>);
  for (const std::int64_t p : kProducerCounts) b->Arg(p);
  threaded(b);
}

template <mpsc_bulk_queue<std::uint64_t> Queue>
void register_mpsc_bulk() {
  auto* a = benchmark::RegisterBenchmark(
      bm_name("mpsc_oversub", Queue::kName).c_str(),
      [](benchmark::State& s) { bm_mpsc_bulk<Queue>(s, 1, kOversubPop); });
  for (const std::int64_t p : kOversubProducers) a->Arg(p);
  threaded(a);
  auto* b = benchmark::RegisterBenchmark(
      bm_name("mpsc_batch32", Queue::kName).c_str(),
      [](benchmark::State& s) { bm_mpsc_bulk<Queue>(s, kBatch, kBatch); });
  for (const std::int64_t p : kOversubProducers) b->Arg(p);
  threaded(b);
}

void register_region_create(std::string_view impl, void (*fn)(benchmark::State&)) {
  auto* b = benchmark::RegisterBenchmark(bm_name("region_create", impl).c_str(), fn);
  for (const std::int64_t bytes : kRegionSizes) b->Arg(bytes);
}

}  // namespace

void register_all() {
  register_framed_parse<RingkitMirrorFrames>();
  register_framed_parse<RingkitTwoSegmentFrames>();
#if RINGKIT_BENCH_HAVE_BEAST_FLAT
  register_framed_parse<BeastFlatFrames>();
#endif

  register_spsc<std::uint64_t, RingkitSpsc<std::uint64_t>>("spsc_u64");
  register_spsc<Msg64, RingkitSpsc<Msg64>>("spsc_64B");
#if RINGKIT_BENCH_HAVE_BOOST_SPSC
  register_spsc<std::uint64_t, BoostSpscQueue<std::uint64_t, kQueueCapacity>>("spsc_u64");
  register_spsc<Msg64, BoostSpscQueue<Msg64, kQueueCapacity>>("spsc_64B");
#endif
#if RINGKIT_BENCH_HAVE_MOODYCAMEL_RWQ
  register_spsc<std::uint64_t, MoodycamelRwq<std::uint64_t>>("spsc_u64");
  register_spsc<Msg64, MoodycamelRwq<Msg64>>("spsc_64B");
#endif

  register_spsc_batch<RingkitSpsc<std::uint64_t>>();
#if RINGKIT_BENCH_HAVE_BOOST_SPSC
  register_spsc_batch<BoostSpscQueue<std::uint64_t, kQueueCapacity>>();
#endif

  register_mpsc<RingkitMpsc<std::uint64_t>>();
  register_mpsc<RingkitOrderedMpsc<std::uint64_t>>();
#if RINGKIT_BENCH_HAVE_MOODYCAMEL_CQ
  register_mpsc<MoodycamelCq<std::uint64_t>>();
#endif
#if RINGKIT_BENCH_HAVE_TBB
  register_mpsc<TbbBoundedQueue<std::uint64_t>>();
#endif
#if RINGKIT_BENCH_HAVE_BOOST_LOCKFREE_QUEUE
  register_mpsc<BoostLockfreeQueue<std::uint64_t, kQueueCapacity>>();
#endif

  register_mpsc_bulk<RingkitMpsc<std::uint64_t>>();
  register_mpsc_bulk<RingkitOrderedMpsc<std::uint64_t>>();
#if RINGKIT_BENCH_HAVE_MOODYCAMEL_CQ
  register_mpsc_bulk<MoodycamelCq<std::uint64_t>>();
  register_mpsc_bulk<MoodycamelCqNoTokens<std::uint64_t>>();
#endif
#if RINGKIT_BENCH_HAVE_TBB
  register_mpsc_bulk<TbbBoundedQueue<std::uint64_t>>();
#endif
#if RINGKIT_BENCH_HAVE_BOOST_LOCKFREE_QUEUE
  register_mpsc_bulk<BoostLockfreeQueue<std::uint64_t, kOversubCapacity>>();
#endif

  register_region_create("ringkit", bm_region_create_ringkit);
  register_region_create("mmap_anon", bm_region_create_mmap);

  benchmark::AddCustomContext("ringkit_frame_ring_bytes", std::to_string(kFrameRingBytes));
  benchmark::AddCustomContext("ringkit_frame_chunk_bytes", std::to_string(kChunkBytes));
  benchmark::AddCustomContext("ringkit_frame_stream_bytes", std::to_string(kFrameStreamBytes));
  benchmark::AddCustomContext("ringkit_queue_capacity", std::to_string(kQueueCapacity));
  benchmark::AddCustomContext("ringkit_pinning", "producers cpu " + std::to_string(kProducerCpu) +
                                                     ", consumer/single-thread cpu " +
                                                     std::to_string(kConsumerCpu));
  benchmark::AddCustomContext("ringkit_compiler", __VERSION__);
}

}  // namespace ringkit::bench
