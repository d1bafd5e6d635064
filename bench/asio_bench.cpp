// bench/asio_bench.cpp: ringkit's Asio adapter against Asio's and Beast's buffers.
//
// BM_asio_echo/<impl>/<message bytes>: a line echo over loopback TCP (127.0.0.1, ephemeral port)
//   in one process. The server is one session on an io_context run by a thread pinned to CPU 1:
//   async_read_until(socket, <dynamic buffer>, '\n'), then async_write of that line straight from
//   the buffer, then consume(line), then the next read. The client is the benchmark thread,
//   pinned to CPU 0, on a blocking socket: pipelined, one iteration sends a batch of 16 KiB of
//   newline-terminated messages (256 x 64 B or 16 x 1 KiB) in one send(), then receives the
//   whole echo and compares every byte with what it sent (each message starts with its number in
//   hex, so a lost, reordered or torn line is caught: SkipWithError). The batch (16 KiB) is far
//   below the socket buffers, so the server reads many lines per read and writes one line per
//   async_write, and the buffer's own costs (search, line view, consume) are part of every
//   message. Reports messages/s (items) and bytes/s, and allocs_per_msg: heap allocations (all
//   threads, counted by the replaced global operator new below) per echoed message while
//   measured, after a warm-up of 8 batches; ringkit's adapters must show 0.
//     ringkit              net::DynamicRing over a 64 KiB MirrorByteRing (its dynamic_buffer())
//     ringkit_two_segment  net::DynamicRing over a 64 KiB ByteRing
//     asio_string          asio::dynamic_buffer(std::string, 64 KiB)
//     asio_streambuf       asio::streambuf(64 KiB), async_read_until's basic_streambuf& overload
//                          (Asio 1.22 has no DynamicBuffer_v2 for streambuf)
//   on standalone Asio 1.22 (epoll; io_uring in asio_bench_uring), and
//     beast_flat           boost::beast::flat_buffer (limit 64 KiB, reserved)
//     beast_multi          boost::beast::multi_buffer (limit 64 KiB)
//     boost_asio_string    boost::asio::dynamic_buffer(std::string, 64 KiB): calibration
//   on Boost.Asio 1.74 (epoll): Beast cannot run on standalone Asio, so these run the same
//   session template on Boost.Asio; compare boost_asio_string with asio_string to see how much
//   of a ringkit/beast ratio is the Asio build rather than the buffer.
//
// Standalone Asio and Boost.Asio cannot share a translation unit, so the Boost-based impls are
// instantiated in asio_bench_boost.cpp (linked into asio_bench when Boost.Asio and Beast are
// installed); both TUs run the one session/client template in support/echo.hpp, in one binary
// and one interleaved run.
//
// asio_bench_uring (built when RINGKIT_ASIO_IO_URING is ON) is this file alone with
// ASIO_HAS_IO_URING + ASIO_DISABLE_EPOLL: the standalone-Asio impls on Asio's io_uring backend.
// Boost 1.74's Asio has no io_uring backend, so the Boost-based impls are left out there (they
// would still run on epoll); the context field ringkit_asio_backend says which backend ran.
//
// Pair the results with tools/bench_ratios.py (about a minute on 2 cores):
//   asio_bench --benchmark_repetitions=9 --benchmark_min_time=0.2
//              --benchmark_enable_random_interleaving=true
//              --benchmark_report_aggregates_only=true
//              --benchmark_out=r.json --benchmark_out_format=json
//   tools/bench_ratios.py r.json
// ctx_invol counts the involuntary context switches of the process during a run.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include <benchmark/benchmark.h>

#include "peers/asio_echo.hpp"
#include "peers/ringkit_asio.hpp"
#include "support/affinity.hpp"
#include "support/alloc_count.hpp"
#include "support/echo.hpp"

// Every allocation in the process goes through bench/support/alloc_count.hpp's replacements;
// the count is what the echo benchmark reports per message (the server thread's allocations
// during the timed loop are all counted: the loop ends only after the last echo arrived).
namespace ringkit::bench {

std::uint64_t allocations() noexcept { return heap_allocations(); }

namespace {

[[nodiscard]] bool asio_on_io_uring() noexcept {
#if defined(ASIO_HAS_IO_URING) && defined(ASIO_DISABLE_EPOLL)
  return true;
#else
  return false;
#endif
}

}  // namespace

void register_all() {
#if RINGKIT_BENCH_HAVE_STANDALONE_ASIO
  register_echo<RingkitMirrorEcho>();
  register_echo<RingkitTwoSegmentEcho>();
  register_echo<AsioStringEcho>();
  register_echo<AsioStreambufEcho>();
#endif
#if defined(RINGKIT_BENCH_WITH_BOOST_ECHO)
  register_boost_echo();
#endif

  benchmark::AddCustomContext("ringkit_asio_backend", asio_on_io_uring() ? "io_uring" : "epoll");
  benchmark::AddCustomContext("ringkit_buffer_bytes", std::to_string(kEchoBufferBytes));
  benchmark::AddCustomContext("ringkit_batch_bytes", std::to_string(kEchoBatchBytes));
  benchmark::AddCustomContext("ringkit_pinning", "client cpu " + std::to_string(kProducerCpu) +
                                                     ", server io_context cpu " +
                                                     std::to_string(kConsumerCpu));
  benchmark::AddCustomContext("ringkit_compiler", __VERSION__);
}

}  // namespace ringkit::bench
