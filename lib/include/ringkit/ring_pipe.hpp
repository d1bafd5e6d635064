// ringkit/ring_pipe.hpp: a duplex pipe of two SPSC channels, one per direction.
//
// make_ring_pipe<A, B>(capacity) returns two ends: `left` sends A and receives B, `right` sends
// B and receives A. Each direction is an ordinary ringkit::make_spsc channel (channel.hpp), so
// every call of SpscProducer/SpscConsumer is available on `sender`/`receiver` (batches, views,
// blocking calls with timeouts, close semantics).
//
//   auto [client, server] = *ringkit::make_ring_pipe<Request, Reply>(1024);
//   (void)client.sender.push(req);            // client thread
//   Request r;
//   if (server.receiver.pop(r)) (void)server.sender.push(reply_to(r));   // server thread
//
// Closing or destroying an end closes both of its halves: the peer's receiver drains and then
// reports the end of the stream, the peer's sender sees the consumer gone.
//
// Thread safety: each end is single-owner (one thread at a time); the two ends may live on
// different threads. Within an end, sender and receiver may also be used by two different
// threads (they are independent channel halves).
#pragma once

#include <cstddef>
#include <utility>

#include <ringkit/channel.hpp>
#include <ringkit/concepts.hpp>
#include <ringkit/mirror_queue.hpp>
#include <ringkit/result.hpp>

namespace ringkit {

/// One end of a RingPipe: sends Out, receives In. Move-only.
template <ring_element Out, ring_element In>
struct RingPipeEnd {
  SpscProducer<Out> sender;
  SpscConsumer<In> receiver;

  /// Both halves are valid (not moved from or closed).
  [[nodiscard]] bool valid() const noexcept { return sender.valid() && receiver.valid(); }
  /// Closes both halves (the peer's receiver drains, then sees the end of the stream).
  void close() noexcept {
    sender.close();
    receiver.close();
  }
};

/// The two ends of a duplex pipe: `auto [left, right] = *make_ring_pipe<A, B>(n);`
template <ring_element A, ring_element B>
struct RingPipe {
  RingPipeEnd<A, B> left;   ///< sends A, receives B
  RingPipeEnd<B, A> right;  ///< sends B, receives A
};

/// Creates a duplex pipe whose two directions hold at least `capacity` elements each.
/// Errors: those of make_spsc (Errc::invalid_capacity; the mapping's error).
template <ring_element A, ring_element B>
[[nodiscard]] Result<RingPipe<A, B>> make_ring_pipe(std::size_t capacity,
                                                    const RingOptions& options = {}) {
  auto ab = make_spsc<A>(capacity, options);
  if (!ab) return unexpected(ab.error(), ab.context());
  auto ba = make_spsc<B>(capacity, options);
  if (!ba) return unexpected(ba.error(), ba.context());
  RingPipe<A, B> pipe{{std::move(ab->producer), std::move(ba->consumer)},
                      {std::move(ba->producer), std::move(ab->consumer)}};
  return pipe;
}

}  // namespace ringkit
