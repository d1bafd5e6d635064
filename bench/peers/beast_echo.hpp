// bench/peers/beast_echo.hpp: Boost.Beast's buffers (and Boost.Asio's string buffer) as
// echo_buffers, and the Boost.Asio flavour (BoostAsio) that asio_bench's echo session runs them on.
//
// Beast works with boost::asio only, not with standalone Asio, so these run the same echo
// session template on Boost.Asio (Debian: Boost 1.74, i.e. Asio 1.18, epoll). boost_asio_string
// is the calibration: the same std::string dynamic buffer as asio_string, on Boost.Asio, so the
// difference between the two Asio builds can be told apart from the buffers.
//   BeastFlatEcho      (beast_flat)         boost::beast::flat_buffer, limit = capacity, reserved
//                                           up front; the line is one contiguous buffer
//   BeastMultiEcho     (beast_multi)        boost::beast::multi_buffer, limit = capacity; the line
//                                           is buffers_prefix(n, data())
//   BoostAsioStringEcho (boost_asio_string) boost::asio::dynamic_buffer(std::string, max)
// Beast's buffers are storage, not handles, and Boost 1.74's async_read_until takes a
// DynamicBuffer_v1 by value (it decays and copies it), so BeastBufferRef passes a reference (what
// beast::buffer_ref does in later Boost releases). Defines RINGKIT_BENCH_HAVE_BOOST_ASIO and
// RINGKIT_BENCH_HAVE_BEAST. Thread safety: one thread (the io_context's).
#pragma once

#if __has_include(<boost/asio.hpp>)
#define RINGKIT_BENCH_HAVE_BOOST_ASIO 1

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop

#include "peers/interfaces.hpp"

namespace ringkit::bench {

/// Boost.Asio, the flavour Beast is written for.
struct BoostAsio {
  using io_context = ::boost::asio::io_context;
  using socket = ::boost::asio::ip::tcp::socket;
  /// Adopts a connected IPv4 TCP socket.
  static void assign(socket& s, int fd) { s.assign(::boost::asio::ip::tcp::v4(), fd); }
  /// True for the clean end of the stream.
  template <class ErrorCode>
  [[nodiscard]] static bool is_eof(const ErrorCode& ec) noexcept {
    return ec == ::boost::asio::error::eof;
  }
  template <class ConstBufferSequence, class Handler>
  static void async_write(socket& s, const ConstBufferSequence& buffers, Handler&& handler) {
    ::boost::asio::async_write(s, buffers, std::forward<Handler>(handler));
  }
};

class BoostAsioStringEcho {
 public:
  using net = BoostAsio;
  static constexpr std::string_view kName = "boost_asio_string";

  explicit BoostAsioStringEcho(std::size_t capacity) : max_(capacity) { str_.reserve(capacity); }

  template <class Handler>
  void async_read_line(net::socket& s, Handler&& handler) {
    ::boost::asio::async_read_until(s, ::boost::asio::dynamic_buffer(str_, max_), '\n',
                                    std::forward<Handler>(handler));
  }
  [[nodiscard]] ::boost::asio::const_buffer line(std::size_t n) const noexcept {
    return ::boost::asio::buffer(str_.data(), n);
  }
  void consume(std::size_t n) { ::boost::asio::dynamic_buffer(str_, max_).consume(n); }

 private:
  std::string str_;
  std::size_t max_;
};

static_assert(echo_buffer<BoostAsioStringEcho>);

}  // namespace ringkit::bench

#if __has_include(<boost/beast/core/flat_buffer.hpp>) && \
    __has_include(<boost/beast/core/multi_buffer.hpp>)
#define RINGKIT_BENCH_HAVE_BEAST 1

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/multi_buffer.hpp>
#pragma GCC diagnostic pop

namespace ringkit::bench {

/// A DynamicBuffer_v1 that refers to a Beast buffer (copies alias it).
template <class Buffer>
class BeastBufferRef {
 public:
  using const_buffers_type = typename Buffer::const_buffers_type;
  using mutable_buffers_type = typename Buffer::mutable_buffers_type;

  explicit BeastBufferRef(Buffer& b) noexcept : b_(&b) {}

  [[nodiscard]] std::size_t size() const noexcept { return b_->size(); }
  [[nodiscard]] std::size_t max_size() const noexcept { return b_->max_size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return b_->capacity(); }
  [[nodiscard]] const_buffers_type data() const noexcept {
    return static_cast<const Buffer&>(*b_).data();
  }
  mutable_buffers_type prepare(std::size_t n) { return b_->prepare(n); }
  void commit(std::size_t n) { b_->commit(n); }
  void consume(std::size_t n) { b_->consume(n); }

 private:
  Buffer* b_;
};

class BeastFlatEcho {
 public:
  using net = BoostAsio;
  static constexpr std::string_view kName = "beast_flat";

  explicit BeastFlatEcho(std::size_t capacity) : buf_(capacity) { buf_.reserve(capacity); }

  template <class Handler>
  void async_read_line(net::socket& s, Handler&& handler) {
    ::boost::asio::async_read_until(s, BeastBufferRef(buf_), '\n', std::forward<Handler>(handler));
  }
  [[nodiscard]] ::boost::asio::const_buffer line(std::size_t n) const noexcept {
    return ::boost::asio::buffer(buf_.data(), n);
  }
  void consume(std::size_t n) { buf_.consume(n); }

 private:
  ::boost::beast::flat_buffer buf_;
};

class BeastMultiEcho {
 public:
  using net = BoostAsio;
  static constexpr std::string_view kName = "beast_multi";

  explicit BeastMultiEcho(std::size_t capacity) : buf_(capacity) {}

  template <class Handler>
  void async_read_line(net::socket& s, Handler&& handler) {
    ::boost::asio::async_read_until(s, BeastBufferRef(buf_), '\n', std::forward<Handler>(handler));
  }
  [[nodiscard]] auto line(std::size_t n) const noexcept {
    return ::boost::beast::buffers_prefix(n, buf_.data());
  }
  void consume(std::size_t n) { buf_.consume(n); }

 private:
  ::boost::beast::multi_buffer buf_;
};

static_assert(echo_buffer<BeastFlatEcho>);
static_assert(echo_buffer<BeastMultiEcho>);

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_BEAST 0
#endif

#else
#define RINGKIT_BENCH_HAVE_BOOST_ASIO 0
#define RINGKIT_BENCH_HAVE_BEAST 0
#endif
