// bench/peers/ringkit_asio.hpp: ringkit's Asio adapter (ringkit/net/asio.hpp) as echo_buffers.
//
// RingkitEcho<Ring>: a net::DynamicRing over a 64 KiB ring; async_read_until gets its
// dynamic_buffer() (DynamicBuffer_v2: a cheap handle, no allocation), the line is
// dynamic_buffer().data(0, n) (one buffer on the mirrored ring, at most two on the two-segment
// ring) and consume() publishes/consumes through the handle.
//   RingkitMirrorEcho      (ringkit)              MirrorByteRing (MirrorMode::required)
//   RingkitTwoSegmentEcho  (ringkit_two_segment)  ByteRing
// Needs standalone Asio (RINGKIT_HAS_ASIO). Thread safety: one thread (the io_context's).
#pragma once

#include "peers/asio_echo.hpp"

#if RINGKIT_BENCH_HAVE_STANDALONE_ASIO

#include <cstddef>
#include <string_view>
#include <utility>

#include <ringkit/byte_ring.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/asio.hpp>

#include "peers/interfaces.hpp"

namespace ringkit::bench {

template <class Ring, class Traits>
class RingkitEcho {
 public:
  using net = StandaloneAsio;
  static constexpr std::string_view kName = Traits::kName;

  explicit RingkitEcho(std::size_t capacity) : ring_(Traits::make(capacity)) {}

  template <class Handler>
  void async_read_line(net::socket& s, Handler&& handler) {
    ::asio::async_read_until(s, ring_.dynamic_buffer(), '\n', std::forward<Handler>(handler));
  }
  [[nodiscard]] auto line(std::size_t n) noexcept { return ring_.dynamic_buffer().data(0, n); }
  void consume(std::size_t n) noexcept { ring_.dynamic_buffer().consume(n); }

 private:
  ::ringkit::net::DynamicRing<Ring> ring_;
};

struct MirrorEchoTraits {
  static constexpr std::string_view kName = "ringkit";
  static MirrorByteRing make(std::size_t capacity) {
    return make_mirror_byte_ring(capacity, {.mode = MirrorMode::required}).value();
  }
};
struct TwoSegmentEchoTraits {
  static constexpr std::string_view kName = "ringkit_two_segment";
  static ByteRing make(std::size_t capacity) { return make_byte_ring(capacity).value(); }
};

using RingkitMirrorEcho = RingkitEcho<MirrorByteRing, MirrorEchoTraits>;
using RingkitTwoSegmentEcho = RingkitEcho<ByteRing, TwoSegmentEchoTraits>;

static_assert(echo_buffer<RingkitMirrorEcho>);
static_assert(echo_buffer<RingkitTwoSegmentEcho>);

}  // namespace ringkit::bench

#endif
