// bench/byte_ring_bench.cpp: the split-halves byte ring against its real peers.
//
// BM_bytes_spsc/<impl>/<record bytes>: a producer thread pinned to CPU 0 streams records of
//   8, 64, 512 B or chunks of 4 KiB, 64 KiB through a 64 KiB channel to the benchmark thread,
//   pinned to CPU 1, which reads records of the same size. Both sides loop over partial
//   transfers until the whole record has moved. One iteration is one record. Every record starts
//   with its 64-bit sequence number (and ends with a marker byte); the consumer checks both, so
//   the copies cannot be elided and a broken ring stops the benchmark with an error.
//     ringkit     ByteWriter::write / ByteReader::read
//     boost_spsc  boost::lockfree::spsc_queue<char> bulk push(const T*, n) / pop(T*, n)
//     memcpy      one thread: copy in + copy out through a 64 KiB buffer (the physical limit)
// BM_pipe_pump/<impl>/<capacity>: a writer thread feeds pipe A with 64 KiB writes; the benchmark
//   thread pumps A -> 64 KiB buffer -> pipe B; a drain thread reads B and checks every 64 KiB
//   block's header. One iteration moves 64 MiB. Writer and drain on CPU 0, pump on CPU 1.
//     ringkit         io::read_some / io::write_some (readv/writev on the ring halves)
//     beast_flat      boost::beast::flat_buffer prepare/commit/data/consume with read/write
//     asio_streambuf  asio::streambuf prepare/commit/data/consume with read/write
//
// Pair the results with tools/bench_ratios.py (about a minute on 2 cores):
//   byte_ring_bench --benchmark_repetitions=15 --benchmark_min_time=0.2
//                   --benchmark_enable_random_interleaving=true
//                   --benchmark_report_aggregates_only=true
//                   --benchmark_out=r.json --benchmark_out_format=json
//   tools/bench_ratios.py r.json
// On a shared machine, interleaving spreads background load over all implementations, and the
// ctx_invol counter (involuntary context switches during the run) marks disturbed repetitions:
// a preempted spinning thread stalls its partner, so such a repetition says nothing about the
// ring.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <ringkit/unique_fd.hpp>

#include "peers/asio_streambuf.hpp"
#include "peers/beast_flat.hpp"
#include "peers/boost_spsc.hpp"
#include "peers/interfaces.hpp"
#include "peers/ringkit.hpp"
#include "support/affinity.hpp"
#include "support/rusage.hpp"

namespace ringkit::bench {
namespace {

constexpr std::size_t kRingBytes = std::size_t{64} * 1024;
constexpr std::size_t kSeqBytes = sizeof(std::uint64_t);
constexpr std::byte kTailMark{0xA5};
constexpr std::int64_t kRecordSizes[] = {8, 64, 512, 4096, std::int64_t{64} * 1024};

constexpr std::size_t kPumpTotal = std::size_t{64} << 20;   // bytes per pump iteration
constexpr std::size_t kPumpBlock = std::size_t{64} * 1024;  // writer's write() size
constexpr std::size_t kPumpBlocks = kPumpTotal / kPumpBlock;

/// A cache-line aligned byte buffer (heap): records never straddle an extra line by accident.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::size_t n)
      : p_(static_cast<std::byte*>(::operator new (n, std::align_val_t{64}))), n_(n) {
    std::memset(p_, 0, n_);
  }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  AlignedBytes(AlignedBytes&&) = delete;
  AlignedBytes& operator=(AlignedBytes&&) = delete;
  ~AlignedBytes() { ::operator delete (p_, std::align_val_t{64}); }
  [[nodiscard]] std::byte* data() const noexcept { return p_; }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }

 private:
  std::byte* p_;
  std::size_t n_;
};

/// A record of `n` bytes: sequence number first, kTailMark last (n >= 8).
void fill_record(std::byte* rec, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) rec[i] = static_cast<std::byte>(i * 31 + 7);
  if (n > kSeqBytes) rec[n - 1] = kTailMark;
}

[[nodiscard]] bool record_ok(const std::byte* rec, std::size_t n, std::uint64_t seq) {
  std::uint64_t got;
  std::memcpy(&got, rec, kSeqBytes);
  return got == seq && (n <= kSeqBytes || rec[n - 1] == kTailMark);
}

/// Reports bytes/s and items/s (one item per iteration unless `items_per_iteration` says more),
/// the involuntary context switches since `switches_before`, and "unpinned" if pinning failed.
void report(benchmark::State& state, std::size_t bytes_per_item, std::int64_t items_per_iteration,
            std::int64_t switches_before, bool pinned) {
  const auto items = static_cast<std::int64_t>(state.iterations()) * items_per_iteration;
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<std::int64_t>(bytes_per_item));
  state.counters["ctx_invol"] =
      benchmark::Counter(static_cast<double>(involuntary_switches() - switches_before));
  if (!pinned) state.SetLabel("unpinned");
}

// ---- BM_bytes_spsc ------------------------------------------------------------------------------

template <byte_channel Channel>
void bm_bytes_spsc(benchmark::State& state) {
  const auto rec = static_cast<std::size_t>(state.range(0));
  auto channel = std::make_unique<Channel>(kRingBytes);
  std::atomic<bool> stop{false};
  std::atomic<bool> producer_pinned{false};
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();

  std::thread producer([&] {
    producer_pinned.store(pin_current_thread(kProducerCpu), std::memory_order_relaxed);
    AlignedBytes src(rec);
    fill_record(src.data(), rec);
    for (std::uint64_t seq = 0;; ++seq) {
      std::memcpy(src.data(), &seq, kSeqBytes);
      for (std::size_t off = 0; off < rec;) {
        const std::size_t n = channel->write(src.data() + off, rec - off);
        if (n == 0) {
          // Full: the consumer has stopped for good once `stop` is set (joined below).
          if (stop.load(std::memory_order_relaxed)) return;
          cpu_relax();
        }
        off += n;
      }
    }
  });

  AlignedBytes dst(rec);
  std::uint64_t seq = 0;
  for (auto _ : state) {
    for (std::size_t off = 0; off < rec;) {
      const std::size_t n = channel->read(dst.data() + off, rec - off);
      if (n == 0) cpu_relax();
      off += n;
    }
    if (!record_ok(dst.data(), rec, seq)) [[unlikely]] {
      state.SkipWithError("data mismatch: record out of sequence or torn");
      break;
    }
    ++seq;
  }
  stop.store(true, std::memory_order_relaxed);
  producer.join();
  report(state, rec, 1, switches, pin.pinned() && producer_pinned.load(std::memory_order_relaxed));
}

/// The same bytes copied in and out of a 64 KiB buffer by one thread, with the ring's
/// two-piece wrap: the bandwidth ceiling without any cross-core traffic.
void bm_bytes_memcpy(benchmark::State& state) {
  const auto rec = static_cast<std::size_t>(state.range(0));
  const ScopedPin pin(kConsumerCpu);
  AlignedBytes src(rec);
  AlignedBytes buf(kRingBytes);
  AlignedBytes dst(rec);
  fill_record(src.data(), rec);
  const std::int64_t switches = involuntary_switches();
  std::size_t pos = 0;
  std::uint64_t seq = 0;
  for (auto _ : state) {
    std::memcpy(src.data(), &seq, kSeqBytes);
    const std::size_t first = rec < kRingBytes - pos ? rec : kRingBytes - pos;
    std::memcpy(buf.data() + pos, src.data(), first);
    std::memcpy(buf.data(), src.data() + first, rec - first);
    benchmark::ClobberMemory();  // the copy out must read the buffer, not forward from src
    std::memcpy(dst.data(), buf.data() + pos, first);
    std::memcpy(dst.data() + first, buf.data(), rec - first);
    pos = (pos + rec) & (kRingBytes - 1);
    benchmark::DoNotOptimize(dst.data());
    if (!record_ok(dst.data(), rec, seq)) [[unlikely]] {
      state.SkipWithError("data mismatch in memcpy baseline");
      break;
    }
    ++seq;
  }
  report(state, rec, 1, switches, pin.pinned());
}

// ---- BM_pipe_pump -------------------------------------------------------------------------------

struct PipePair {
  UniqueFd read_end;
  UniqueFd write_end;
};

[[nodiscard]] bool make_pipe(PipePair& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  p.read_end.reset(fds[0]);
  p.write_end.reset(fds[1]);
  return true;
}

/// Writes kPumpBlocks blocks of kPumpBlock bytes; the first word of block i is i. Closes `fd`.
void pump_writer(UniqueFd fd, std::atomic<bool>& failed) {
  pin_current_thread(kProducerCpu);
  AlignedBytes block(kPumpBlock);
  fill_record(block.data(), kPumpBlock);
  for (std::uint64_t i = 0; i < kPumpBlocks; ++i) {
    std::memcpy(block.data(), &i, kSeqBytes);
    for (std::size_t off = 0; off < kPumpBlock;) {
      const io::IoResult r = sys_write(fd.get(), block.data() + off, kPumpBlock - off);
      if (!r.ok()) {  // the pump gave up (EPIPE) or a real error
        failed.store(true, std::memory_order_relaxed);
        return;
      }
      off += r.bytes;
    }
  }
}

/// Reads whole blocks until EOF and checks each block's header and tail; sets `failed` on a
/// mismatch or when the byte count is not exactly kPumpTotal.
void pump_drain(int fd, std::atomic<bool>& failed) {
  pin_current_thread(kProducerCpu);
  AlignedBytes block(kPumpBlock);
  std::uint64_t blocks = 0;
  for (;;) {
    std::size_t off = 0;
    while (off < kPumpBlock) {
      const io::IoResult r = sys_read(fd, block.data() + off, kPumpBlock - off);
      if (!r.ok()) break;  // eof or error
      off += r.bytes;
    }
    if (off == 0) break;  // clean EOF on a block boundary
    if (off != kPumpBlock || !record_ok(block.data(), kPumpBlock, blocks)) {
      failed.store(true, std::memory_order_relaxed);
      return;
    }
    ++blocks;
  }
  if (blocks != kPumpBlocks) failed.store(true, std::memory_order_relaxed);
}

/// Moves everything from `in` to `out` through `buf` until `in` reports EOF and `buf` is empty.
template <pump_buffer Buffer>
[[nodiscard]] bool pump(Buffer& buf, int in, int out) {
  bool eof = false;
  for (;;) {
    if (!eof) {
      const io::IoResult r = buf.read_from(in);
      if (r.status == io::IoStatus::eof) {
        eof = true;
      } else if (r.status == io::IoStatus::error) {
        return false;
      }
    }
    const io::IoResult w = buf.write_to(out);
    if (w.status == io::IoStatus::ring_empty) {
      if (eof) return true;
    } else if (w.status == io::IoStatus::error) {
      return false;
    }
  }
}

template <pump_buffer Buffer>
void bm_pipe_pump(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  Buffer buf(capacity);
  const ScopedPin pin(kConsumerCpu);
  const std::int64_t switches = involuntary_switches();
  for (auto _ : state) {
    PipePair a;
    PipePair b;
    if (!make_pipe(a) || !make_pipe(b)) {
      state.SkipWithError("pipe2 failed");
      break;
    }
    std::atomic<bool> failed{false};
    std::thread writer(pump_writer, std::move(a.write_end), std::ref(failed));
    std::thread drain(pump_drain, b.read_end.get(), std::ref(failed));
    const bool ok = pump(buf, a.read_end.get(), b.write_end.get());
    a.read_end.reset();   // a failed pump unblocks the writer (EPIPE)
    b.write_end.reset();  // the drain sees EOF
    writer.join();
    drain.join();
    if (!ok || failed.load(std::memory_order_relaxed)) {
      state.SkipWithError(ok ? "pipe pump: data mismatch or short stream" : "pipe pump: I/O error");
      break;
    }
  }
  report(state, kPumpBlock, static_cast<std::int64_t>(kPumpBlocks), switches, pin.pinned());
}

// ---- registration -------------------------------------------------------------------------------

void threaded(benchmark::internal::Benchmark* b) { b->UseRealTime()->MeasureProcessCPUTime(); }

template <byte_channel Channel>
void register_bytes_spsc() {
  auto* b = benchmark::RegisterBenchmark(
      (std::string("BM_bytes_spsc/") + std::string(Channel::kName)).c_str(),
      bm_bytes_spsc<Channel>);
  for (const std::int64_t size : kRecordSizes) b->Arg(size);
  threaded(b);
}

template <pump_buffer Buffer>
void register_pipe_pump() {
  auto* b = benchmark::RegisterBenchmark(
      (std::string("BM_pipe_pump/") + std::string(Buffer::kName)).c_str(), bm_pipe_pump<Buffer>);
  b->Arg(static_cast<std::int64_t>(kRingBytes));
  threaded(b);
}

}  // namespace

void register_all() {
  register_bytes_spsc<RingkitChannel>();
#if RINGKIT_BENCH_HAVE_BOOST_SPSC
  register_bytes_spsc<BoostSpscChannel>();
#endif
  {
    auto* b = benchmark::RegisterBenchmark("BM_bytes_spsc/memcpy", bm_bytes_memcpy);
    for (const std::int64_t size : kRecordSizes) b->Arg(size);
    threaded(b);  // same name suffixes as the threaded peers, so the script pairs them
  }

  register_pipe_pump<RingkitPump>();
#if RINGKIT_BENCH_HAVE_BEAST_FLAT
  register_pipe_pump<BeastFlatPump>();
#endif
#if RINGKIT_BENCH_HAVE_ASIO_STREAMBUF
  register_pipe_pump<AsioStreambufPump>();
#endif

  benchmark::AddCustomContext("ringkit_ring_bytes", std::to_string(kRingBytes));
  benchmark::AddCustomContext("ringkit_pinning",
                              "producer/writer/drain cpu " + std::to_string(kProducerCpu) +
                                  ", consumer/pump cpu " + std::to_string(kConsumerCpu));
  benchmark::AddCustomContext("ringkit_pump_bytes_per_iteration", std::to_string(kPumpTotal));
  benchmark::AddCustomContext("ringkit_compiler", __VERSION__);
}

}  // namespace ringkit::bench
