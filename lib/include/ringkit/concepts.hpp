// ringkit/concepts.hpp: the concepts that let I/O and adapters be written once for every ring kind.
//
// byte_writer — the producer half of a byte ring (ByteWriter, and later MirrorByteRing's writer):
//   w.writable()        -> the free space: MutableSegments (<= 2 spans, in order) or one
//                          std::span<std::byte> (mirrored); segments_of() normalises both
//   w.writable_segments() -> MutableSegments of all the free space (both parts on fallback)
//   w.commit(n)         -> Errc: publishes n bytes of writable(); over_commit publishes nothing
//   w.write(span)       -> std::size_t bytes copied in (may be fewer than asked)
//   w.io_slices(f)      -> SliceResult: f(std::span<iovec>, total) -> ssize_t; commits the result
//   w.capacity()        -> std::size_t
// byte_reader — the consumer half (ByteReader, ...):
//   r.readable()        -> the data: ConstSegments or one std::span<const std::byte>
//   r.readable_segments() -> ConstSegments of all the data (both parts on fallback)
//   r.consume(n)        -> Errc: releases n bytes of readable(); over_consume releases nothing
//   r.read(span), r.peek(span) -> std::size_t bytes copied out (peek keeps them)
//   r.io_slices(f)      -> SliceResult, as above, consuming the result
//   r.capacity()        -> std::size_t
// ring_element<T> — trivially copyable and sizeof(T) divides the 4 KiB page (mirrored rings).
// element_producer<P, T> — the producer side of a typed channel:
//   p.try_push(v) -> bool (false when full), p.push_slice(span) -> std::size_t elements taken,
//   p.push(v) -> bool (waits; false when the consumer is gone), p.peer_alive(), p.capacity(),
//   p.close()
// element_consumer<C, T> — the consumer side of a typed channel:
//   c.try_pop(out) -> bool (false when empty), c.pop_slice(span) -> std::size_t,
//   c.pop(out) -> bool (waits; false at end of stream), c.readable() -> std::span<const T>,
//   c.consume(n) -> Errc (over_consume releases nothing), c.peer_alive(), c.capacity(), c.close()
// All halves name the other side's liveness peer_alive(), and size_hint() is always a relaxed,
// possibly stale count of filled units (bytes or elements).
//
// Thread safety: n/a (compile-time only).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ranges>
#include <span>
#include <type_traits>

#include <sys/uio.h>

#include <ringkit/error.hpp>
#include <ringkit/segments.hpp>

namespace ringkit {
namespace detail {
/// A callable of the shape io_slices() takes, used only to state the concepts.
struct IoSlicesProbe {
  std::ptrdiff_t operator()(std::span<iovec> /*iov*/, std::size_t /*total*/) const noexcept {
    return 0;
  }
};
}  // namespace detail

/// A callable io_slices() accepts: f(std::span<iovec> iov, std::size_t total) -> ssize_t-like
/// (bytes transferred, or negative for an error).
template <class F>
concept slice_callback = std::invocable<F&, std::span<iovec>, std::size_t> &&
    std::convertible_to<std::invoke_result_t<F&, std::span<iovec>, std::size_t>, std::ptrdiff_t>;

template <class W>
concept byte_writer = requires(W& w, std::size_t n, std::span<const std::byte> src) {
  { segments_of(w.writable()) } -> std::same_as<MutableSegments>;
  { w.writable_segments() } -> std::same_as<MutableSegments>;
  { w.commit(n) } -> std::same_as<Errc>;
  { w.write(src) } -> std::same_as<std::size_t>;
  { w.io_slices(detail::IoSlicesProbe{}) } -> std::same_as<SliceResult>;
  { w.capacity() } -> std::convertible_to<std::size_t>;
};

template <class R>
concept byte_reader = requires(R& r, std::size_t n, std::span<std::byte> dst) {
  { segments_of(r.readable()) } -> std::same_as<ConstSegments>;
  { r.readable_segments() } -> std::same_as<ConstSegments>;
  { r.consume(n) } -> std::same_as<Errc>;
  { r.read(dst) } -> std::same_as<std::size_t>;
  { r.peek(dst) } -> std::same_as<std::size_t>;
  { r.io_slices(detail::IoSlicesProbe{}) } -> std::same_as<SliceResult>;
  { r.capacity() } -> std::convertible_to<std::size_t>;
};

/// Elements of mirrored rings and channels: copied as bytes, and a whole number of them fit a page.
template <class T>
concept ring_element = std::is_trivially_copyable_v<T> &&(4096 % sizeof(T)) == 0;

/// The producer side of a typed channel (SpscProducer<T>, MpscProducer<T>).
template <class P, class T>
concept element_producer = requires(P& p, const T& v, std::span<const T> src) {
  { p.try_push(v) } -> std::same_as<bool>;
  { p.push_slice(src) } -> std::same_as<std::size_t>;
  { p.push(v) } -> std::same_as<bool>;
  { p.peer_alive() } -> std::same_as<bool>;
  { p.capacity() } -> std::convertible_to<std::size_t>;
  p.close();
};

/// The consumer side of a typed channel (SpscConsumer<T>, MpscConsumer<T>).
template <class C, class T>
concept element_consumer = requires(C& c, T& out, std::span<T> dst, std::size_t n) {
  { c.try_pop(out) } -> std::same_as<bool>;
  { c.pop_slice(dst) } -> std::same_as<std::size_t>;
  { c.pop(out) } -> std::same_as<bool>;
  { c.readable() } -> std::same_as<std::span<const T>>;
  { c.consume(n) } -> std::same_as<Errc>;
  { c.peer_alive() } -> std::same_as<bool>;
  { c.capacity() } -> std::convertible_to<std::size_t>;
  c.close();
};

}  // namespace ringkit
