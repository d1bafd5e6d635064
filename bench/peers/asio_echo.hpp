// bench/peers/asio_echo.hpp: standalone Asio's dynamic buffers as echo_buffers, and the standalone
// Asio flavour (StandaloneAsio) that asio_bench's echo session runs them on.
//
// AsioStringEcho (asio_string): asio::dynamic_buffer(std::string, max) (DynamicBuffer_v2); the
//   string reserves the capacity up front. consume() erases the front of the string, so every
//   message moves the bytes buffered behind it.
// AsioStreambufEcho (asio_streambuf): asio::streambuf(max). Asio 1.22 has no DynamicBuffer_v2
//   for streambuf, so this uses async_read_until's basic_streambuf& overload (the v1 model,
//   still built with ASIO_NO_DEPRECATED). prepare() grows it to the capacity up front.
// With ASIO_HAS_IO_URING + ASIO_DISABLE_EPOLL (asio_bench_uring) these run on Asio's io_uring
// backend. Defines RINGKIT_BENCH_HAVE_STANDALONE_ASIO. Thread safety: one thread (the
// io_context's).
#pragma once

#if defined(RINGKIT_HAS_ASIO) && __has_include(<asio.hpp>)
#define RINGKIT_BENCH_HAVE_STANDALONE_ASIO 1

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#pragma GCC diagnostic pop

#include "peers/interfaces.hpp"

namespace ringkit::bench {

/// Standalone Asio (ASIO_STANDALONE), the flavour ringkit::net adapts.
struct StandaloneAsio {
  using io_context = ::asio::io_context;
  using socket = ::asio::ip::tcp::socket;
  /// Adopts a connected IPv4 TCP socket.
  static void assign(socket& s, int fd) { s.assign(::asio::ip::tcp::v4(), fd); }
  /// True for the clean end of the stream.
  template <class ErrorCode>
  [[nodiscard]] static bool is_eof(const ErrorCode& ec) noexcept {
    return ec == ::asio::error::eof;
  }
  template <class ConstBufferSequence, class Handler>
  static void async_write(socket& s, const ConstBufferSequence& buffers, Handler&& handler) {
    ::asio::async_write(s, buffers, std::forward<Handler>(handler));
  }
};

class AsioStringEcho {
 public:
  using net = StandaloneAsio;
  static constexpr std::string_view kName = "asio_string";

  explicit AsioStringEcho(std::size_t capacity) : max_(capacity) { str_.reserve(capacity); }

  template <class Handler>
  void async_read_line(net::socket& s, Handler&& handler) {
    ::asio::async_read_until(s, ::asio::dynamic_buffer(str_, max_), '\n',
                             std::forward<Handler>(handler));
  }
  [[nodiscard]] ::asio::const_buffer line(std::size_t n) const noexcept {
    return ::asio::buffer(str_.data(), n);
  }
  void consume(std::size_t n) { ::asio::dynamic_buffer(str_, max_).consume(n); }

 private:
  std::string str_;
  std::size_t max_;
};

class AsioStreambufEcho {
 public:
  using net = StandaloneAsio;
  static constexpr std::string_view kName = "asio_streambuf";

  explicit AsioStreambufEcho(std::size_t capacity) : buf_(capacity) {
    // Grow the storage to (about) the capacity now, not while measured.
    try {
      (void)buf_.prepare(capacity - 512);
    } catch (const std::length_error&) {
    }
  }

  template <class Handler>
  void async_read_line(net::socket& s, Handler&& handler) {
    ::asio::async_read_until(s, buf_, '\n', std::forward<Handler>(handler));
  }
  [[nodiscard]] ::asio::const_buffer line(std::size_t n) const noexcept {
    return ::asio::buffer(buf_.data(), n);
  }
  void consume(std::size_t n) { buf_.consume(n); }

 private:
  ::asio::streambuf buf_;
};

static_assert(echo_buffer<AsioStringEcho>);
static_assert(echo_buffer<AsioStreambufEcho>);

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_STANDALONE_ASIO 0
#endif
