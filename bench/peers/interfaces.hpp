// bench/peers/interfaces.hpp: the interfaces every adapter in bench/peers/ gives its peer, so one
// benchmark body runs ringkit and each peer the same way (atomic_queue's adaptors;
// docs/conventions.md rule 19).
//
// byte_channel: a bounded single-producer/single-consumer byte stream.
//   C c(capacity_bytes);
//   c.write(const std::byte* p, n) -> std::size_t  producer thread only; bytes taken, 0 when full
//   c.read(std::byte* p, n)        -> std::size_t  consumer thread only; bytes given, 0 when empty
//   C::kName                                        the <impl> part of BM_<op>/<impl>/<args>
// Both may transfer fewer bytes than asked; callers loop until a whole record has moved.
//
// pump_buffer: a bounded byte buffer between two file descriptors, used by one thread.
//   B b(capacity_bytes);
//   b.read_from(fd) -> ringkit::io::IoResult   one read-like system call into the free space:
//                                              ok / eof / error / would_block, or ring_full
//                                              (no call made) when there is no free space
//   b.write_to(fd)  -> ringkit::io::IoResult   one write-like system call from the buffered
//                                              bytes: ok / error / would_block, or ring_empty
//                                              (no call made) when nothing is buffered
//   B::kName
//
// frame_buffer: a bounded byte buffer that one thread fills from a stream of length-prefixed
// frames (support/frames.hpp) and parses in place.
//   B b(capacity_bytes);
//   b.fill(const std::byte* p, n) -> std::size_t  copies up to n bytes into the free space, like
//                                                 a socket read; 0 when full
//   b.parse(FrameDecoder& d)      -> bool         hands every complete buffered frame to
//                                                 d.decode() as contiguous bytes (linearising
//                                                 a frame split by the wrap if the buffer must),
//                                                 then consumes them; false when d failed
//   B::kName
//
// element_queue<T>: a bounded single-producer/single-consumer queue of T.
//   Q q(capacity_elements);
//   q.try_push(const T&) -> bool   producer thread only; false when full
//   q.try_pop(T&)        -> bool   consumer thread only; false when empty
//   Q::kName
// batch_queue<T>: an element_queue<T> that also moves batches.
//   q.push_batch(std::span<const T>)  -> std::size_t  as many as fit in one call, 0 when full
//   q.consume_batch(std::span<T> scratch, f) -> std::size_t  calls f(std::span<const T>) once
//       with up to scratch.size() elements (in place when the queue can show them contiguously,
//       else copied into scratch), then removes them; 0 (f not called) when empty
//
// mpsc_queue<T>: a bounded multi-producer/single-consumer queue of T.
//   Q q(capacity_elements, producers);
//   auto h = q.make_producer();   any thread, before the producers start; one handle per
//                                 producer thread, moved there
//   h.try_push(const T&) -> bool  that producer thread only; false when full
//   q.try_pop(T&)        -> bool  the consumer thread only; false when empty
//   Q::kName
// mpsc_bulk_queue<T>: an mpsc_queue<T> that also moves batches.
//   h.push_bulk(std::span<const T>) -> std::size_t  as many as the queue takes in one call (the
//                                                   peer's bulk call; 0 when full)
//   q.pop_bulk(std::span<T>)        -> std::size_t  up to out.size() elements in one call, 0 when
//                                                   empty
// Per-producer order is FIFO for every adapter (the benchmarks check it).
//
// echo_buffer (bench/asio_bench.cpp): the dynamic buffer of one line-echo session, used on the
// thread that runs its io_context.
//   B b(capacity_bytes);
//   typename B::net                 the Asio flavour: StandaloneAsio or BoostAsio (socket type,
//                                   async_write), see peers/asio_echo.hpp, peers/beast_echo.hpp
//   b.async_read_line(socket, h)    async_read_until(socket, <b's dynamic buffer>, '\n', h)
//   b.line(n)                       a ConstBufferSequence of the first n bytes (until consume)
//   b.consume(n)                    drops the first n bytes
//   B::kName
//
// Each peer header guards its peer with __has_include and defines RINGKIT_BENCH_HAVE_<PEER> to
// 1 or 0, so the benchmarks build (without that peer) when a package is missing.
// Thread safety: as documented per concept above.
#pragma once

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <span>
#include <string_view>

#include <sys/types.h>
#include <unistd.h>

#include <ringkit/io/vectored.hpp>

#include "support/frames.hpp"

namespace ringkit::bench {

template <class C>
concept byte_channel = std::constructible_from<C, std::size_t> &&
    requires(C& c, const std::byte* src, std::byte* dst, std::size_t n) {
  { c.write(src, n) } -> std::same_as<std::size_t>;
  { c.read(dst, n) } -> std::same_as<std::size_t>;
  { C::kName } -> std::convertible_to<std::string_view>;
};

template <class B>
concept pump_buffer = std::constructible_from<B, std::size_t> && requires(B& b, int fd) {
  { b.read_from(fd) } -> std::same_as<io::IoResult>;
  { b.write_to(fd) } -> std::same_as<io::IoResult>;
  { B::kName } -> std::convertible_to<std::string_view>;
};

/// Maps the result of one read(2)/write(2) (`r`, errno when negative) to an IoResult, the way
/// ringkit::io does: 0 from a read is eof, 0 from a write is would_block.
[[nodiscard]] inline io::IoResult to_io_result(ssize_t r, bool is_read) noexcept {
  if (r > 0) return {static_cast<std::size_t>(r), io::IoStatus::ok, 0};
  if (r == 0) return {0, is_read ? io::IoStatus::eof : io::IoStatus::would_block, 0};
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, io::IoStatus::would_block, 0};
  return {0, io::IoStatus::error, errno};
}

/// read(2) with EINTR retried.
[[nodiscard]] inline io::IoResult sys_read(int fd, void* dst, std::size_t n) noexcept {
  ssize_t r;
  do {
    r = ::read(fd, dst, n);
  } while (r < 0 && errno == EINTR);
  return to_io_result(r, true);
}

/// write(2) with EINTR retried.
[[nodiscard]] inline io::IoResult sys_write(int fd, const void* src, std::size_t n) noexcept {
  ssize_t r;
  do {
    r = ::write(fd, src, n);
  } while (r < 0 && errno == EINTR);
  return to_io_result(r, false);
}

template <class B>
concept frame_buffer = std::constructible_from<B, std::size_t> &&
    requires(B& b, const std::byte* src, std::size_t n, FrameDecoder& d) {
  { b.fill(src, n) } -> std::same_as<std::size_t>;
  { b.parse(d) } -> std::same_as<bool>;
  { B::kName } -> std::convertible_to<std::string_view>;
};

template <class Q, class T>
concept element_queue = std::constructible_from<Q, std::size_t> &&
    requires(Q& q, const T& in, T& out) {
  { q.try_push(in) } -> std::same_as<bool>;
  { q.try_pop(out) } -> std::same_as<bool>;
  { Q::kName } -> std::convertible_to<std::string_view>;
};

/// What batch_queue's consume_batch() hands its elements to (used only to state the concept).
template <class T>
struct BatchProbe {
  void operator()(std::span<const T> /*elements*/) const noexcept {}
};

template <class Q, class T>
concept batch_queue = element_queue<Q, T> &&
    requires(Q& q, std::span<const T> src, std::span<T> scratch) {
  { q.push_batch(src) } -> std::same_as<std::size_t>;
  { q.consume_batch(scratch, BatchProbe<T>{}) } -> std::same_as<std::size_t>;
};

template <class B>
concept echo_buffer = std::constructible_from<B, std::size_t> && requires(B& b, std::size_t n) {
  typename B::net;
  b.line(n);
  b.consume(n);
  { B::kName } -> std::convertible_to<std::string_view>;
};

template <class Q, class T>
concept mpsc_queue = std::constructible_from<Q, std::size_t, std::size_t> &&
    requires(Q& q, typename Q::producer_type& h, const T& in, T& out) {
  { q.make_producer() } -> std::same_as<typename Q::producer_type>;
  { h.try_push(in) } -> std::same_as<bool>;
  { q.try_pop(out) } -> std::same_as<bool>;
  { Q::kName } -> std::convertible_to<std::string_view>;
};

template <class Q, class T>
concept mpsc_bulk_queue = mpsc_queue<Q, T> &&
    requires(Q& q, typename Q::producer_type& h, std::span<const T> in, std::span<T> out) {
  { h.push_bulk(in) } -> std::same_as<std::size_t>;
  { q.pop_bulk(out) } -> std::same_as<std::size_t>;
};

}  // namespace ringkit::bench
