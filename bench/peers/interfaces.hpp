// bench/peers/interfaces.hpp: the interfaces every adapter in bench/peers/ gives its peer, so one
// benchmark body runs ringkit and each peer the same way (atomic_queue's adaptors; STYLE rule 19).
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
// Each peer header guards its peer with __has_include and defines RINGKIT_BENCH_HAVE_<PEER> to
// 1 or 0, so the benchmarks build (without that peer) when a package is missing.
// Thread safety: as documented per concept above.
#pragma once

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <string_view>

#include <sys/types.h>
#include <unistd.h>

#include <ringkit/io/vectored.hpp>

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

}  // namespace ringkit::bench
