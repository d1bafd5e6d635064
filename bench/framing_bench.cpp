// bench/framing_bench.cpp: frame decoding into pooled messages against the common Asio ways of
// reading messages, all from an in-memory stream (no sockets: the decode path only).
//
// BM_decode_copy/<impl>/<payload>: length-prefixed frames (4-byte big-endian length, then a
//   fixed payload of 64, 256 or 1024 bytes, pre-generated and replayed). One iteration consumes
//   16 KiB of the stream, as one socket read would deliver it.
//     ringkit      16 KiB copied into a 64 KiB mirrored ring (the "recv"), then decode_into():
//                  LengthFieldDecoder in place + one copy into a MessageStore pool slot, handed
//                  out as a MessageRef and dropped (slot back to the pool)
//     asio_async_vector  the usual Asio reader: async_read() of the 4-byte header, then a
//                  std::vector<char> of the announced length and async_read() of the body into
//                  it, per message, over an in-memory AsyncReadStream whose completions are
//                  posted to an io_context (as a socket's are; no syscalls)
//     asio_vector  the same synchronously (asio::read() over an in-memory SyncReadStream): no
//                  completion handlers at all, the lower bound of any Asio reader of this shape
// BM_decode_lines/<impl>/<line bytes>: lines of 64, 256 or 1024 bytes ending in "\n".
//     ringkit         as above with a line-mode DelimiterDecoder (memchr scan, bare CR checked)
//     asio_streambuf  asio::read_until(stream, streambuf, '\n'), a std::string of the line,
//                     streambuf.consume(n): the usual line reader
//   Both report items/s (messages) and allocs_per_msg (operator new calls per message in the
//   timed loop; ringkit's target is 0 after warm-up).
// BM_frame_copy/<impl>/<max payload>: the same decode + copy with payloads drawn uniformly from
//   200 B .. 2 KiB or 200 B .. 16 KiB, through a 64 KiB ring that wraps every 4 iterations:
//     ringkit_mirror       mirrored ring: every frame is one span
//     ringkit_two_segment  two-segment ring: a frame across the wrap is copied from both parts
//   Reports bytes/s; pair with --base ringkit_mirror.
//
//   framing_bench --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//                 --benchmark_report_aggregates_only=true --benchmark_out=r.json
//                 --benchmark_out_format=json
//   tools/bench_ratios.py r.json                         # ringkit vs asio_*
//   tools/bench_ratios.py r.json --base ringkit_mirror   # BM_frame_copy
// Single-threaded, pinned to CPU 1, timed on CPU time.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#pragma GCC diagnostic pop

#include <ringkit/byte_ring.hpp>
#include <ringkit/framing.hpp>
#include <ringkit/message_store.hpp>
#include <ringkit/mirror_ring.hpp>

#include "support/affinity.hpp"
#include "support/alloc_count.hpp"
#include "support/pattern.hpp"

namespace {

constexpr std::size_t kChunk = std::size_t{16} * 1024;  // bytes per iteration ("one recv")
constexpr std::size_t kRing = std::size_t{64} * 1024;   // ring capacity
constexpr std::size_t kStreamTarget = 1 << 20;          // pre-generated stream size

/// A replayed stream: whole messages up to about kStreamTarget bytes.
struct Stream {
  std::vector<std::byte> bytes;
  std::size_t messages = 0;
};

Stream length_stream(std::size_t min_payload, std::size_t max_payload, std::uint64_t seed) {
  Stream s;
  std::uint64_t i = 0;
  while (s.bytes.size() < kStreamTarget) {
    const std::size_t len =
        min_payload + ringkit_test::mix64(seed + i) % (max_payload - min_payload + 1);
    for (int k = 3; k >= 0; --k) s.bytes.push_back(static_cast<std::byte>((len >> (8 * k)) & 0xFF));
    const std::size_t at = s.bytes.size();
    s.bytes.resize(at + len);
    ringkit_test::fill_pattern(seed, i * 4096, std::span<std::byte>(s.bytes).subspan(at, len));
    ++s.messages;
    ++i;
  }
  return s;
}

Stream line_stream(std::size_t line_bytes) {
  Stream s;
  while (s.bytes.size() < kStreamTarget) {
    for (std::size_t k = 0; k + 1 < line_bytes; ++k) {
      s.bytes.push_back(static_cast<std::byte>('a' + (s.messages + k) % 26));
    }
    s.bytes.push_back(std::byte{'\n'});
    ++s.messages;
  }
  return s;
}

/// Hands out the stream in order, wrapping around: the "socket".
class Replay {
 public:
  explicit Replay(const Stream& s) : s_(&s) {}
  /// Up to `n` next bytes (fewer at the end of the stream, like a short read).
  [[nodiscard]] std::span<const std::byte> next(std::size_t n) {
    if (pos_ == s_->bytes.size()) pos_ = 0;
    const std::size_t k = std::min(n, s_->bytes.size() - pos_);
    const std::span<const std::byte> out(s_->bytes.data() + pos_, k);
    pos_ += k;
    return out;
  }

 private:
  const Stream* s_;
  std::size_t pos_ = 0;
};

/// An Asio SyncReadStream over a Replay: read_some copies what the buffers ask for, up to what
/// "arrived" (the rest of the current 16 KiB chunk), like a socket.
class MemoryStream {
 public:
  explicit MemoryStream(const Stream& s) : replay_(s) {}
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, std::error_code& ec) {
    ec = {};
    std::size_t total = 0;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      const asio::mutable_buffer b = *it;
      if (b.size() == 0) continue;
      const std::span<const std::byte> src = replay_.next(b.size());
      std::memcpy(b.data(), src.data(), src.size());
      total += src.size();
      break;  // one "recv" per call, like a socket
    }
    return total;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    std::error_code ec;
    return read_some(buffers, ec);
  }

 private:
  Replay replay_;
};

/// An Asio AsyncReadStream over the same replay: async_read_some completes through the
/// io_context (posted, never inline), as a socket's completion would.
class AsyncMemoryStream {
 public:
  using executor_type = asio::io_context::executor_type;
  AsyncMemoryStream(asio::io_context& ioc, const Stream& s) : ioc_(&ioc), sync_(s) {}
  executor_type get_executor() noexcept { return ioc_->get_executor(); }
  template <class MutableBufferSequence, class Handler>
  void async_read_some(const MutableBufferSequence& buffers, Handler&& handler) {
    std::error_code ec;
    const std::size_t n = sync_.read_some(buffers, ec);
    asio::post(*ioc_, [h = std::forward<Handler>(handler), ec, n]() mutable { h(ec, n); });
  }

 private:
  asio::io_context* ioc_;
  MemoryStream sync_;
};

/// The usual async message reader: async_read(header) -> vector -> async_read(body) -> repeat.
class AsyncVectorReader {
 public:
  AsyncVectorReader(AsyncMemoryStream& stream, std::size_t payload)
      : stream_(&stream), payload_(payload) {}
  /// Reads messages until at least `bytes` arrived.
  void start(std::size_t budget) {
    budget_ = budget;
    read_header();
  }
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  bool bad = false;

 private:
  void read_header() {
    asio::async_read(*stream_, asio::buffer(header_), [this](std::error_code ec, std::size_t) {
      bad |= static_cast<bool>(ec);
      const std::size_t len = (std::size_t{header_[0]} << 24U) | (std::size_t{header_[1]} << 16U) |
                              (std::size_t{header_[2]} << 8U) | header_[3];
      body_ = std::vector<char>(len);
      asio::async_read(*stream_, asio::buffer(body_), [this](std::error_code ec2, std::size_t) {
        bad |= ec2 || body_.size() != payload_;
        checksum += static_cast<unsigned char>(body_[0]) + body_.size();
        ++messages;
        bytes += 4 + body_.size();
        const std::size_t done = 4 + body_.size();
        body_ = {};  // the message is handled and dropped
        budget_ = budget_ > done ? budget_ - done : 0;
        if (budget_ != 0) read_header();
      });
    });
  }

  AsyncMemoryStream* stream_;
  std::size_t payload_;
  std::size_t budget_ = 0;
  unsigned char header_[4] = {};
  std::vector<char> body_;
};

void finish(benchmark::State& state, std::uint64_t messages, std::uint64_t bytes,
            std::uint64_t allocs) {
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["allocs_per_msg"] =
      messages == 0 ? 0.0 : static_cast<double>(allocs) / static_cast<double>(messages);
}

/// The ringkit loop shared by every benchmark: one chunk into the ring, then decode_into().
template <class Reader, class Writer, class Decoder>
void ringkit_loop(benchmark::State& state, Writer& w, Reader& r, Decoder& dec, const Stream& s,
                  std::size_t expect_size) {
  auto store = ringkit::MessageStore::create({});
  if (!store) {
    state.SkipWithError(store.message().c_str());
    return;
  }
  Replay replay(s);
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  bool bad = false;
  const auto on = [&](const ringkit::MessageRef& m) {
    bad |= expect_size != 0 && m.size() != expect_size;
    checksum += std::to_integer<std::uint64_t>(m.data()[0]) + m.size();
  };
  const auto one = [&] {
    std::size_t want = kChunk;
    while (want != 0) {  // the stream's end: take the rest from its start
      const std::span<const std::byte> part = replay.next(want);
      const std::size_t put = w.write(part);
      want -= part.size();
      bytes += put;
    }
    const ringkit::DecodeRun run = ringkit::decode_into(r, dec, *store, on);
    messages += run.frames;
    bad |= run.status != ringkit::FrameStatus::need_more;
  };
  for (int i = 0; i < 64; ++i) one();  // warm-up: pool slots, thread cache, page faults
  messages = bytes = 0;
  const std::uint64_t allocs_before = ringkit::bench::heap_allocations();
  for (auto _ : state) one();
  const std::uint64_t allocs = ringkit::bench::heap_allocations() - allocs_before;
  benchmark::DoNotOptimize(checksum);
  if (bad) state.SkipWithError("decode failed");
  finish(state, messages, bytes, allocs);
}

void BM_decode_copy_ringkit(benchmark::State& state) {
  const ringkit::bench::ScopedPin pin(ringkit::bench::kConsumerCpu);
  const auto payload = static_cast<std::size_t>(state.range(0));
  const Stream s = length_stream(payload, payload, 1);
  auto ring = ringkit::make_mirror_byte_ring(kRing, {.mode = ringkit::MirrorMode::required});
  auto dec = ringkit::LengthFieldDecoder::create({});
  if (!ring || !dec) {
    state.SkipWithError("setup failed");
    return;
  }
  ringkit_loop(state, ring->writer, ring->reader, *dec, s, payload);
}

void BM_decode_copy_asio_vector(benchmark::State& state) {
  const ringkit::bench::ScopedPin pin(ringkit::bench::kConsumerCpu);
  const auto payload = static_cast<std::size_t>(state.range(0));
  const Stream s = length_stream(payload, payload, 1);
  MemoryStream stream(s);
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  bool bad = false;
  const auto one = [&] {
    for (std::size_t done = 0; done < kChunk;) {
      unsigned char header[4];
      std::error_code ec;
      asio::read(stream, asio::buffer(header), ec);
      const std::size_t len = (std::size_t{header[0]} << 24U) | (std::size_t{header[1]} << 16U) |
                              (std::size_t{header[2]} << 8U) | header[3];
      std::vector<char> body(len);
      asio::read(stream, asio::buffer(body), ec);
      bad |= ec || len != payload;
      checksum += static_cast<unsigned char>(body[0]) + body.size();
      done += 4 + len;
      bytes += 4 + len;
      ++messages;
    }
  };
  for (int i = 0; i < 64; ++i) one();
  messages = bytes = 0;
  const std::uint64_t allocs_before = ringkit::bench::heap_allocations();
  for (auto _ : state) one();
  const std::uint64_t allocs = ringkit::bench::heap_allocations() - allocs_before;
  benchmark::DoNotOptimize(checksum);
  if (bad) state.SkipWithError("decode failed");
  finish(state, messages, bytes, allocs);
}

void BM_decode_copy_asio_async_vector(benchmark::State& state) {
  const ringkit::bench::ScopedPin pin(ringkit::bench::kConsumerCpu);
  const auto payload = static_cast<std::size_t>(state.range(0));
  const Stream s = length_stream(payload, payload, 1);
  asio::io_context ioc(1);
  AsyncMemoryStream stream(ioc, s);
  AsyncVectorReader reader(stream, payload);
  const auto one = [&] {
    reader.start(kChunk);
    ioc.restart();
    ioc.run();
  };
  for (int i = 0; i < 64; ++i) one();
  reader.messages = reader.bytes = 0;
  const std::uint64_t allocs_before = ringkit::bench::heap_allocations();
  for (auto _ : state) one();
  const std::uint64_t allocs = ringkit::bench::heap_allocations() - allocs_before;
  benchmark::DoNotOptimize(reader.checksum);
  if (reader.bad) state.SkipWithError("decode failed");
  finish(state, reader.messages, reader.bytes, allocs);
}

void BM_decode_lines_ringkit(benchmark::State& state) {
  const ringkit::bench::ScopedPin pin(ringkit::bench::kConsumerCpu);
  const auto line = static_cast<std::size_t>(state.range(0));
  const Stream s = line_stream(line);
  auto ring = ringkit::make_mirror_byte_ring(kRing, {.mode = ringkit::MirrorMode::required});
  auto dec = ringkit::DelimiterDecoder::create(ringkit::DelimiterOptions::line_mode());
  if (!ring || !dec) {
    state.SkipWithError("setup failed");
    return;
  }
  ringkit_loop(state, ring->writer, ring->reader, *dec, s, line - 1);
}

void BM_decode_lines_asio_streambuf(benchmark::State& state) {
  const ringkit::bench::ScopedPin pin(ringkit::bench::kConsumerCpu);
  const auto line = static_cast<std::size_t>(state.range(0));
  const Stream s = line_stream(line);
  MemoryStream stream(s);
  asio::streambuf sb;  // as usually declared: no max_size
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
  bool bad = false;
  const auto one = [&] {
    for (std::size_t done = 0; done < kChunk;) {
      std::error_code ec;
      const std::size_t n = asio::read_until(stream, sb, '\n', ec);
      const auto begin = asio::buffers_begin(sb.data());
      std::string text(begin, begin + static_cast<std::ptrdiff_t>(n - 1));
      sb.consume(n);
      bad |= ec || text.size() != line - 1;
      checksum += static_cast<unsigned char>(text[0]) + text.size();
      done += n;
      bytes += n;
      ++messages;
    }
  };
  for (int i = 0; i < 64; ++i) one();
  messages = bytes = 0;
  const std::uint64_t allocs_before = ringkit::bench::heap_allocations();
  for (auto _ : state) one();
  const std::uint64_t allocs = ringkit::bench::heap_allocations() - allocs_before;
  benchmark::DoNotOptimize(checksum);
  if (bad) state.SkipWithError("decode failed");
  finish(state, messages, bytes, allocs);
}

template <bool Mirror>
void BM_frame_copy(benchmark::State& state) {
  const ringkit::bench::ScopedPin pin(ringkit::bench::kConsumerCpu);
  const Stream s = length_stream(200, static_cast<std::size_t>(state.range(0)), 2);
  auto dec = ringkit::LengthFieldDecoder::create({});
  if (!dec) {
    state.SkipWithError("setup failed");
    return;
  }
  if constexpr (Mirror) {
    auto ring = ringkit::make_mirror_byte_ring(kRing, {.mode = ringkit::MirrorMode::required});
    if (!ring) {
      state.SkipWithError(ring.message().c_str());
      return;
    }
    ringkit_loop(state, ring->writer, ring->reader, *dec, s, 0);
  } else {
    auto ring = ringkit::make_byte_ring(kRing);
    if (!ring) {
      state.SkipWithError(ring.message().c_str());
      return;
    }
    ringkit_loop(state, ring->writer, ring->reader, *dec, s, 0);
  }
}

}  // namespace

BENCHMARK(BM_decode_copy_ringkit)->Name("BM_decode_copy/ringkit")->Arg(64)->Arg(256)->Arg(1024);
BENCHMARK(BM_decode_copy_asio_vector)
    ->Name("BM_decode_copy/asio_vector")
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024);
BENCHMARK(BM_decode_copy_asio_async_vector)
    ->Name("BM_decode_copy/asio_async_vector")
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024);
BENCHMARK(BM_decode_lines_ringkit)->Name("BM_decode_lines/ringkit")->Arg(64)->Arg(256)->Arg(1024);
BENCHMARK(BM_decode_lines_asio_streambuf)
    ->Name("BM_decode_lines/asio_streambuf")
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024);
BENCHMARK(BM_frame_copy<true>)->Name("BM_frame_copy/ringkit_mirror")->Arg(2048)->Arg(16384);
BENCHMARK(BM_frame_copy<false>)->Name("BM_frame_copy/ringkit_two_segment")->Arg(2048)->Arg(16384);

BENCHMARK_MAIN();
