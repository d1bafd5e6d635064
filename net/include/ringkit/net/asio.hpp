// ringkit/net/asio.hpp: ringkit byte rings as Asio buffer sequences and dynamic buffers.
//
// readable_buffers(reader) is a ConstBufferSequence of the reader's data and
// writable_buffers(writer) a MutableBufferSequence of the writer's free space: at most two
// buffers (one for a mirrored ring), allocation-free, never an empty buffer, for both ring kinds.
// They go straight into socket.async_read_some / async_write_some / asio::write.
//
// DynamicRing<Ring> owns both halves of one ring (ByteRing or MirrorByteRing) for use on one
// thread (or strand) and hands out dynamic_buffer(): a DynamicBuffer_v2 handle, so asio::read,
// asio::async_read, asio::read_until, asio::async_read_until, asio::write and asio::async_write
// work unchanged. The handle is a cheap copy; copies alias the same ring (as Asio requires of
// DynamicBuffer_v2: it copies the buffer into its composed operations). grow() past capacity
// throws std::length_error, as Asio's requirements demand; nothing else here throws.
//
//   ringkit::net::DynamicRing ring(*ringkit::make_mirror_byte_ring(64 * 1024));
//   std::size_t n = asio::read_until(sock, ring.dynamic_buffer(), '\n');
//   handle_line(ring.data().first(n));          // one span: the ring is mirrored
//   ring.dynamic_buffer().consume(n);
//
// Dynamic buffer model: data(0, size()) = the ring's readable bytes followed by the bytes added
// by grow() and not yet published to the reader; consume() publishes what it needs of them
// first. shrink() removes grown bytes only (published bytes are never retracted; Asio's
// algorithms only ever shrink what they grew).
//
// async_read_some_into(socket, writer, token) / async_write_some_from(socket, reader, token):
// one async_read_some/async_write_some on the ring halves that commits/consumes the bytes on
// completion; any completion token (callbacks, use_future, use_awaitable). The half must
// outlive the operation and must not be used by anything else until it completes.
//
// Thread safety: buffer sequences are values over a half's memory (single-owner, like the
// half); DynamicRing and its handles are single-owner (one thread or strand).
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <ringkit/byte_ring.hpp>
#include <ringkit/concepts.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/segments.hpp>

namespace ringkit::net {

/// Up to two Asio buffers (asio::const_buffer or asio::mutable_buffer); end() never shows an
/// empty one. Satisfies ConstBufferSequence (and MutableBufferSequence for mutable_buffer).
template <class Buffer>
class RingBuffers {
 public:
  using value_type = Buffer;
  using const_iterator = const Buffer*;

  constexpr RingBuffers() noexcept = default;
  template <class Byte>
  explicit RingBuffers(const Segments<Byte>& segs) noexcept {
    for (const auto& s : segs) bufs_[count_++] = Buffer(s.data(), s.size());
  }
  [[nodiscard]] const Buffer* begin() const noexcept { return bufs_.data(); }
  [[nodiscard]] const Buffer* end() const noexcept { return bufs_.data() + count_; }
  /// Number of buffers (0, 1 or 2).
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  /// Total bytes.
  [[nodiscard]] std::size_t bytes() const noexcept { return bufs_[0].size() + bufs_[1].size(); }

 private:
  std::array<Buffer, 2> bufs_{};
  std::size_t count_ = 0;
};

using ConstRingBuffers = RingBuffers<asio::const_buffer>;
using MutableRingBuffers = RingBuffers<asio::mutable_buffer>;

/// The reader's data as a ConstBufferSequence (invalidated like reader.readable()).
template <byte_reader Reader>
[[nodiscard]] ConstRingBuffers readable_buffers(Reader& reader) noexcept {
  return ConstRingBuffers(reader.readable_segments());
}

/// The writer's free space as a MutableBufferSequence (invalidated like writer.writable()).
/// Reads into it must be followed by writer.commit(bytes_read).
template <byte_writer Writer>
[[nodiscard]] MutableRingBuffers writable_buffers(Writer& writer) noexcept {
  return MutableRingBuffers(writer.writable_segments());
}

/// Both halves of one byte ring, as DynamicRing needs them: a `writer` (byte_writer with
/// segments_at()) and a `reader` (byte_reader with position()) — ByteRing and MirrorByteRing.
template <class Ring>
concept byte_ring_pair = byte_writer<decltype(std::declval<Ring&>().writer)> &&
    byte_reader<decltype(std::declval<Ring&>().reader)> &&
    requires(Ring& r, std::uint64_t pos, std::size_t n) {
  { r.writer.segments_at(pos, n) } -> std::same_as<MutableSegments>;
  { r.reader.position() } -> std::same_as<std::uint64_t>;
};

template <byte_ring_pair Ring>
class DynamicRing;

/// The DynamicBuffer_v2 handle of a DynamicRing: cheap to copy, copies alias the same ring.
template <byte_ring_pair Ring>
class RingDynamicBuffer {
 public:
  using const_buffers_type = ConstRingBuffers;
  using mutable_buffers_type = MutableRingBuffers;

  explicit RingDynamicBuffer(DynamicRing<Ring>& owner) noexcept : owner_(&owner) {}

  /// Readable bytes plus grown-but-unpublished bytes.
  [[nodiscard]] std::size_t size() const noexcept { return owner_->size(); }
  /// The ring's capacity: the most size() can ever be.
  [[nodiscard]] std::size_t max_size() const noexcept { return owner_->capacity(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return owner_->capacity(); }

  /// The bytes [pos, pos + n) of the buffer (clamped to size()); at most two buffers.
  [[nodiscard]] mutable_buffers_type data(std::size_t pos, std::size_t n) noexcept {
    return MutableRingBuffers(owner_->region(pos, n));
  }
  [[nodiscard]] const_buffers_type data(std::size_t pos, std::size_t n) const noexcept {
    return ConstRingBuffers(owner_->region(pos, n));
  }
  /// Adds `n` bytes at the end. Throws std::length_error if size() + n > max_size().
  void grow(std::size_t n) { owner_->grow(n); }
  /// Removes up to `n` grown (unpublished) bytes from the end.
  void shrink(std::size_t n) noexcept { owner_->shrink(n); }
  /// Removes `n` bytes from the front (everything if n > size()).
  void consume(std::size_t n) noexcept { owner_->consume(n); }

 private:
  DynamicRing<Ring>* owner_;
};

/// Owns both halves of one byte ring (ByteRing or MirrorByteRing) and adapts them to Asio's
/// DynamicBuffer_v2 through dynamic_buffer(). Non-copyable and non-movable (handles point at it).
template <byte_ring_pair Ring>
class DynamicRing {
 public:
  using writer_type = std::remove_cvref_t<decltype(std::declval<Ring&>().writer)>;
  using reader_type = std::remove_cvref_t<decltype(std::declval<Ring&>().reader)>;

  explicit DynamicRing(Ring ring) noexcept : ring_(std::move(ring)) {}
  DynamicRing(const DynamicRing&) = delete;
  DynamicRing& operator=(const DynamicRing&) = delete;
  DynamicRing(DynamicRing&&) = delete;
  DynamicRing& operator=(DynamicRing&&) = delete;
  ~DynamicRing() = default;

  /// The DynamicBuffer_v2 handle (copies alias this ring).
  [[nodiscard]] RingDynamicBuffer<Ring> dynamic_buffer() noexcept {
    return RingDynamicBuffer<Ring>(*this);
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return ring_.writer.capacity(); }
  /// Published readable bytes plus grown bytes.
  [[nodiscard]] std::size_t size() const noexcept { return published() + grown_; }
  /// The first `size()` bytes in one span when the ring is mirrored, else up to the wrap.
  [[nodiscard]] std::span<const std::byte> data() noexcept { return region(0, size()).first(); }

  /// The halves, for direct use (e.g. io::write_some on the reader) between Asio operations.
  [[nodiscard]] writer_type& writer() noexcept { return ring_.writer; }
  [[nodiscard]] reader_type& reader() noexcept { return ring_.reader; }

  /// See RingDynamicBuffer::grow().
  void grow(std::size_t n) {
    if (n > capacity() - size()) {
      throw std::length_error("ringkit::net::DynamicRing::grow: beyond the ring's capacity");
    }
    grown_ += n;
  }
  void shrink(std::size_t n) noexcept { grown_ -= n < grown_ ? n : grown_; }
  void consume(std::size_t n) noexcept {
    const std::size_t avail = published();
    if (n > avail) {
      const std::size_t extra = std::min(n - avail, grown_);
      // Publish the grown bytes the consume reaches (cannot fail: they fit by construction).
      if (extra != 0 && ring_.writer.commit(extra) == Errc::ok) grown_ -= extra;
      n = std::min(n, published());
    }
    (void)ring_.reader.consume(n);  // n <= published(): cannot fail
  }
  /// Bytes [pos, pos + n) of the dynamic buffer's memory, clamped to size().
  [[nodiscard]] MutableSegments region(std::size_t pos, std::size_t n) noexcept {
    const std::size_t sz = size();
    if (pos >= sz) return {};
    n = std::min(n, sz - pos);
    // DynamicRing owns both halves: the bytes from the reader's position on are the published
    // ones followed by the grown ones in the writer's free space.
    return ring_.writer.segments_at(ring_.reader.position() + pos, n);
  }

 private:
  [[nodiscard]] std::size_t published() const noexcept {
    return static_cast<std::size_t>(ring_.writer.position() - ring_.reader.position());
  }

  Ring ring_;
  std::size_t grown_ = 0;
};

template <byte_ring_pair Ring>
DynamicRing(Ring) -> DynamicRing<Ring>;

namespace detail {

template <class Stream, class Writer>
struct ReadSomeInto {
  Stream* stream;
  Writer* writer;
  template <class Handler>
  void operator()(Handler&& handler) const {
    Writer* w = writer;
    stream->async_read_some(writable_buffers(*w), [w, h = std::forward<Handler>(handler)](
                                                      std::error_code ec, std::size_t n) mutable {
      if (n != 0 && w->commit(n) != Errc::ok) {
        ec = make_error_code(Errc::over_commit);
        n = 0;
      }
      std::move(h)(ec, n);
    });
  }
};

template <class Stream, class Reader>
struct WriteSomeFrom {
  Stream* stream;
  Reader* reader;
  template <class Handler>
  void operator()(Handler&& handler) const {
    Reader* r = reader;
    stream->async_write_some(readable_buffers(*r), [r, h = std::forward<Handler>(handler)](
                                                       std::error_code ec, std::size_t n) mutable {
      if (n != 0 && r->consume(n) != Errc::ok) {
        ec = make_error_code(Errc::over_consume);
        n = 0;
      }
      std::move(h)(ec, n);
    });
  }
};

}  // namespace detail

/// One async_read_some into the writer's free space; commits the bytes read, then completes
/// with (error_code, bytes). A full ring completes at once with 0 bytes (Asio's rule for empty
/// buffers), so check writable() first when that matters.
template <class AsyncReadStream, byte_writer Writer, class CompletionToken>
auto async_read_some_into(AsyncReadStream& stream, Writer& writer, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(std::error_code, std::size_t)>(
      detail::ReadSomeInto<AsyncReadStream, Writer>{&stream, &writer}, token);
}

/// One async_write_some from the reader's data; consumes the bytes written, then completes
/// with (error_code, bytes).
template <class AsyncWriteStream, byte_reader Reader, class CompletionToken>
auto async_write_some_from(AsyncWriteStream& stream, Reader& reader, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(std::error_code, std::size_t)>(
      detail::WriteSomeFrom<AsyncWriteStream, Reader>{&stream, &reader}, token);
}

}  // namespace ringkit::net
