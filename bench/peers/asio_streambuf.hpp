// bench/peers/asio_streambuf.hpp: asio::streambuf as a pump_buffer.
//
// prepare(free) -> read(2) -> commit(n); data() -> write(2) -> consume(n), with max_size set to
// the bench's capacity. Uses standalone Asio when ringkit::net was built with it
// (RINGKIT_HAS_ASIO), else boost::asio::streambuf when Boost is installed; the adapter name is
// asio_streambuf either way. Defines RINGKIT_BENCH_HAVE_ASIO_STREAMBUF. Thread safety: one thread.
#pragma once

#if defined(RINGKIT_HAS_ASIO) && __has_include(<asio/streambuf.hpp>)
#define RINGKIT_BENCH_HAVE_ASIO_STREAMBUF 1
#define RINGKIT_BENCH_ASIO_NS ::asio
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <asio/streambuf.hpp>
#pragma GCC diagnostic pop
#elif __has_include(<boost/asio/streambuf.hpp>)
#define RINGKIT_BENCH_HAVE_ASIO_STREAMBUF 1
#define RINGKIT_BENCH_ASIO_NS ::boost::asio
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <boost/asio/streambuf.hpp>
#pragma GCC diagnostic pop
#else
#define RINGKIT_BENCH_HAVE_ASIO_STREAMBUF 0
#endif

#if RINGKIT_BENCH_HAVE_ASIO_STREAMBUF

#include <cstddef>
#include <string_view>

#include "peers/interfaces.hpp"

namespace ringkit::bench {

class AsioStreambufPump {
 public:
  static constexpr std::string_view kName = "asio_streambuf";

  explicit AsioStreambufPump(std::size_t capacity) : buf_(capacity) {}

  io::IoResult read_from(int fd) {
    const std::size_t room = buf_.max_size() - buf_.size();
    if (room == 0) return {0, io::IoStatus::ring_full, 0};
    const auto mb = buf_.prepare(room);
    const io::IoResult r = sys_read(fd, mb.data(), mb.size());
    buf_.commit(r.bytes);
    return r;
  }
  io::IoResult write_to(int fd) {
    if (buf_.size() == 0) return {0, io::IoStatus::ring_empty, 0};
    const auto cb = buf_.data();
    const io::IoResult r = sys_write(fd, cb.data(), cb.size());
    buf_.consume(r.bytes);
    return r;
  }

 private:
  RINGKIT_BENCH_ASIO_NS::streambuf buf_;
};

static_assert(pump_buffer<AsioStreambufPump>);

}  // namespace ringkit::bench

#endif
