// ringkit/net/asio_framing.hpp: read whole frames from an Asio stream into a dynamic buffer.
//
// async_read_frame(stream, buffer, decoder, token) reads from `stream` into `buffer` (a
// DynamicBuffer_v2: a net::DynamicRing's dynamic_buffer(), asio::dynamic_buffer(vector or
// string), ...) until the frame decoder (ringkit/framing.hpp: LengthFieldDecoder,
// DelimiterDecoder or any frame_decoder) finds a complete frame, then completes with
// (std::error_code, Decoded). The frame stays in the buffer, zero-copy: its payload is
// frame_payload(buffer, decoded) (one span on a mirrored ring), valid until the caller consumes
// decoded.consume bytes, which it must do before the next call. Like asio::async_read_until, the
// operation may read bytes beyond the frame; they stay in the buffer for the next call, and
// next_frame(buffer, decoder) decodes them without any I/O (the framed DynamicBuffer flow: drain
// what is buffered, then async_read_frame for more).
//
//   ringkit::net::DynamicRing ring(*ringkit::make_mirror_byte_ring(64 * 1024));
//   auto dec = *ringkit::LengthFieldDecoder::create({});
//   ringkit::net::async_read_frame(sock, ring, dec, [&](std::error_code ec, ringkit::Decoded d) {
//     if (ec) return close(ec);            // asio::error::eof: clean end on a frame boundary
//     handle(ringkit::net::frame_payload(ring.dynamic_buffer(), d).first());
//     ring.consume(d.consume);
//   });
//
// Completion: ec == {} and d.status == frame; or the decoder's per-stream error as an
// std::error_code in ringkit's category (frame_too_long, buffered_limit — also for a full
// buffer that holds no complete frame, never a spin — truncated for EOF inside a frame, ...);
// asio::error::eof for EOF on a frame boundary; the stream's own error otherwise. Under
// TooLongPolicy::discard the skipped bytes are consumed by the operation and the report
// completes it once with that Errc and d.status == skipped: the stream is still good, call
// again. Any completion token works (callbacks, use_future, use_awaitable); a frame already
// buffered completes through a post, never inside the initiating call. Memory grows with the
// bytes received only: an announced length is never reserved (a vector-backed buffer grows by
// at most 64 KiB per read).
//
// Thread safety: single-owner: the stream, the buffer and the decoder belong to one thread or
// strand, and only one async_read_frame may be outstanding on them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>

#include <ringkit/error.hpp>
#include <ringkit/framing.hpp>
#include <ringkit/net/asio.hpp>
#include <ringkit/segments.hpp>

namespace ringkit::net {

namespace detail {

/// Bytes [pos, pos + n) of a dynamic buffer as at most two spans; empty when the buffer's
/// sequence has more than two buffers there (not a ring or a vector; see next_frame()).
template <class DynamicBuffer>
[[nodiscard]] ConstSegments buffer_segments(const DynamicBuffer& buf, std::size_t pos,
                                            std::size_t n, bool* ok) noexcept {
  const auto seq = buf.data(pos, n);
  std::span<const std::byte> parts[2];
  std::size_t count = 0;
  *ok = true;
  for (auto it = asio::buffer_sequence_begin(seq); it != asio::buffer_sequence_end(seq); ++it) {
    const asio::const_buffer b(*it);
    if (b.size() == 0) continue;
    if (count == 2) {
      *ok = false;
      return {};
    }
    parts[count++] = {static_cast<const std::byte*>(b.data()), b.size()};
  }
  return {parts[0], parts[1]};
}

}  // namespace detail

/// The payload of frame `d` (from async_read_frame() or next_frame() on `buf`), zero-copy; valid
/// until `buf` is consumed or grown.
template <class DynamicBuffer>
[[nodiscard]] ConstSegments frame_payload(const DynamicBuffer& buf, const Decoded& d) noexcept {
  bool ok = true;
  return frame_view(detail::buffer_segments(buf, 0, buf.size(), &ok), d);
}

/// Decodes the next frame already in `buf` (a DynamicBuffer_v2 handle: copies alias the same
/// storage), without I/O: frame (consume d.consume after use),
/// need_more, error (the stream is bad: d.errc) or skipped (a discard report: the skipped bytes
/// are already consumed; call again). A buffer at max_size() without a complete frame is
/// Errc::buffered_limit (sticky). A buffer whose bytes are more than two buffers is
/// Errc::unsupported.
template <class DynamicBuffer, frame_decoder Decoder>
[[nodiscard]] Decoded next_frame(DynamicBuffer buf, Decoder& decoder) noexcept {
  for (;;) {
    bool ok = true;
    const ConstSegments view = detail::buffer_segments(buf, 0, buf.size(), &ok);
    if (!ok) return decoder.fail(Errc::unsupported);
    Decoded d = view.count() <= 1 ? decoder.next(view.first()) : decoder.next(view);
    if (d.status == FrameStatus::skipped) {
      buf.consume(d.consume);
      if (d.errc != Errc::ok) return d;
      continue;
    }
    if (d.status == FrameStatus::need_more &&
        (view.bytes() >= buf.max_size() || d.announced > buf.max_size())) {
      return decoder.fail(Errc::buffered_limit, d.announced > 0 ? d.announced : view.bytes());
    }
    return d;
  }
}

namespace detail {

template <class Stream, class DynamicBuffer, class Decoder>
class ReadFrameOp {
 public:
  ReadFrameOp(Stream& stream, DynamicBuffer buf, Decoder& decoder) noexcept
      : stream_(&stream), buf_(std::move(buf)), decoder_(&decoder) {}

  template <class Self>
  void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
    switch (state_) {
      case State::start:
        break;
      case State::posted:  // a frame (or an error) found at initiation, delivered after a post
        return self.complete(result_ec_, result_);
      case State::reading:
        buf_.shrink(grown_ - n);
        grown_ = 0;
        if (ec == asio::error::eof) {
          bool ok = true;
          const Errc e = decoder_->on_eof(buffer_segments(buf_, 0, buf_.size(), &ok));
          return self.complete(e == Errc::ok ? ec : make_error_code(e), Decoded{});
        }
        if (ec) return self.complete(ec, Decoded{});
        break;
    }
    const Decoded d = next_frame(buf_, *decoder_);
    if (d.status != FrameStatus::need_more) {
      const std::error_code out = d.errc == Errc::ok ? std::error_code{} : make_error_code(d.errc);
      if (state_ == State::start) {  // never complete inside the initiating call
        state_ = State::posted;
        result_ = d;
        result_ec_ = out;
        return asio::post(stream_->get_executor(), std::move(self));
      }
      return self.complete(out, d);
    }
    // Read into the free space: all of it for a ring, a bounded chunk for a growing buffer.
    const std::size_t size = buf_.size();
    std::size_t room = buf_.capacity() > size ? buf_.capacity() - size : 0;
    if (room == 0) room = std::clamp<std::size_t>(size, 4096, 65536);
    room = std::min(room, buf_.max_size() - size);
    buf_.grow(room);
    grown_ = room;
    state_ = State::reading;
    stream_->async_read_some(buf_.data(size, room), std::move(self));
  }

 private:
  enum class State : std::uint8_t { start, posted, reading };
  Stream* stream_;
  DynamicBuffer buf_;
  Decoder* decoder_;
  std::size_t grown_ = 0;
  State state_ = State::start;
  Decoded result_{};
  std::error_code result_ec_{};
};

}  // namespace detail

/// Reads until `decoder` finds a complete frame in `buffer` (a DynamicBuffer_v2); completes
/// with (std::error_code, Decoded). See the file comment.
template <class AsyncReadStream, class DynamicBuffer, frame_decoder Decoder, class CompletionToken>
auto async_read_frame(AsyncReadStream& stream, DynamicBuffer buffer, Decoder& decoder,
                      CompletionToken&& token) {
  return asio::async_compose<CompletionToken, void(std::error_code, Decoded)>(
      detail::ReadFrameOp<AsyncReadStream, DynamicBuffer, Decoder>(stream, std::move(buffer),
                                                                   decoder),
      token, stream);
}

/// Same, on a DynamicRing (its dynamic_buffer()).
template <class AsyncReadStream, byte_ring_pair Ring, frame_decoder Decoder, class CompletionToken>
auto async_read_frame(AsyncReadStream& stream, DynamicRing<Ring>& ring, Decoder& decoder,
                      CompletionToken&& token) {
  return async_read_frame(stream, ring.dynamic_buffer(), decoder,
                          std::forward<CompletionToken>(token));
}

}  // namespace ringkit::net
