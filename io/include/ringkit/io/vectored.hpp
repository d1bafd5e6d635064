// ringkit/io/vectored.hpp: vectored POSIX I/O straight into and out of ring halves.
//
// read_some(fd, writer) readv()s into the writer's free space (at most two iovecs, one for a
// mirrored ring) and commits what arrived; write_some(fd, reader) writev()s the reader's data and
// consumes what left; send_some(fd, reader) does the same with sendmsg(MSG_NOSIGNAL) so a
// closed socket yields EPIPE instead of SIGPIPE. Each is one system call (EINTR retried) and
// works on blocking and non-blocking descriptors. Written once for every ring kind through the
// byte_reader/byte_writer concepts.
//
//   IoResult r = ringkit::io::read_some(sock, writer);
//   if (r.status == IoStatus::eof) ...          // peer closed
//   else if (r.status == IoStatus::error) log(r.error().message());
//
// Thread safety: each call uses its half as the half's single owner.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <ringkit/concepts.hpp>
#include <ringkit/error.hpp>

namespace ringkit::io {

/// How an I/O call ended.
enum class IoStatus : std::uint8_t {
  ok,           ///< `bytes` > 0 were transferred
  would_block,  ///< EAGAIN/EWOULDBLOCK on a non-blocking descriptor; nothing transferred
  eof,          ///< read returned 0 although space was offered: the peer closed its write side
  error,        ///< the call failed; `err` holds errno
  ring_full,    ///< read_some: the ring has no free space, no system call was made
  ring_empty,   ///< write_some/send_some: the ring has no data, no system call was made
  cancelled,    ///< (io_uring) the operation was cancelled before it completed
};

/// Short description of a status ("ok", "would_block", ...).
[[nodiscard]] const char* to_string(IoStatus s) noexcept;

/// Result of one vectored call: bytes, status and errno as plain integers; the
/// std::error_code is built only when asked for.
struct [[nodiscard]] IoResult {
  std::size_t bytes = 0;
  IoStatus status = IoStatus::ok;
  int err = 0;  ///< errno when status == error, else 0

  [[nodiscard]] bool ok() const noexcept { return status == IoStatus::ok; }
  /// {err, system_category()} for errors; std::error_code{} otherwise.
  [[nodiscard]] std::error_code error() const noexcept {
    return status == IoStatus::error ? std::error_code(err, std::system_category())
                                     : std::error_code{};
  }
};

namespace detail {
[[nodiscard]] inline IoResult from_errno(int e) noexcept {
  if (e == EAGAIN || e == EWOULDBLOCK) return {0, IoStatus::would_block, 0};
  return {0, IoStatus::error, e};
}
}  // namespace detail

/// readv()s from `fd` into the writer's free space and commits what arrived.
/// ring_full (no call made) when there is no space; eof when readv returned 0.
template <byte_writer Writer>
[[nodiscard]] IoResult read_some(int fd, Writer& writer) noexcept {
  int err = 0;
  const SliceResult s = writer.io_slices([&](std::span<iovec> iov, std::size_t) -> ssize_t {
    ssize_t r;
    do {
      r = ::readv(fd, iov.data(), static_cast<int>(iov.size()));
    } while (r < 0 && errno == EINTR);
    if (r < 0) err = errno;
    return r;
  });
  switch (s.errc) {
    case Errc::ok:
      if (s.bytes == 0) return {0, IoStatus::eof, 0};
      return {s.bytes, IoStatus::ok, 0};
    case Errc::ring_full:
      return {0, IoStatus::ring_full, 0};
    case Errc::callback_error:
      return detail::from_errno(err);
    default:  // over_report cannot come from readv; report it rather than hide it
      return {0, IoStatus::error, EIO};
  }
}

namespace detail {
template <class Reader, class Op>
[[nodiscard]] IoResult write_with(Reader& reader, Op op) noexcept {
  int err = 0;
  const SliceResult s = reader.io_slices([&](std::span<iovec> iov, std::size_t) -> ssize_t {
    ssize_t r;
    do {
      r = op(iov);
    } while (r < 0 && errno == EINTR);
    if (r < 0) err = errno;
    return r;
  });
  switch (s.errc) {
    case Errc::ok:
      if (s.bytes == 0) return {0, IoStatus::would_block, 0};  // a 0-byte write: try again later
      return {s.bytes, IoStatus::ok, 0};
    case Errc::ring_empty:
      return {0, IoStatus::ring_empty, 0};
    case Errc::callback_error:
      return from_errno(err);
    default:
      return {0, IoStatus::error, EIO};
  }
}
}  // namespace detail

/// writev()s the reader's data to `fd` and consumes what was written.
/// ring_empty (no call made) when there is no data. On a socket whose peer is gone this raises
/// SIGPIPE unless it is ignored; use send_some() for sockets.
template <byte_reader Reader>
[[nodiscard]] IoResult write_some(int fd, Reader& reader) noexcept {
  return detail::write_with(reader, [fd](std::span<iovec> iov) {
    return ::writev(fd, iov.data(), static_cast<int>(iov.size()));
  });
}

/// Like write_some() for sockets: sendmsg(MSG_NOSIGNAL), so a reset peer gives EPIPE, not SIGPIPE.
template <byte_reader Reader>
[[nodiscard]] IoResult send_some(int fd, Reader& reader) noexcept {
  return detail::write_with(reader, [fd](std::span<iovec> iov) {
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  });
}

}  // namespace ringkit::io
