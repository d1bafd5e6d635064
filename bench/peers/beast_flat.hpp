// bench/peers/beast_flat.hpp: boost::beast::flat_buffer as a pump_buffer.
//
// prepare(free) -> read(2) -> commit(n); data() -> write(2) -> consume(n), with the buffer's
// limit (max_size) set to the bench's capacity. flat_buffer is one contiguous block, so it moves
// leftover bytes to the front when prepare() needs room. Defines RINGKIT_BENCH_HAVE_BEAST_FLAT.
// Thread safety: one thread.
#pragma once

#if __has_include(<boost/beast/core/flat_buffer.hpp>)
#define RINGKIT_BENCH_HAVE_BEAST_FLAT 1

#include <cstddef>
#include <string_view>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <boost/beast/core/flat_buffer.hpp>
#pragma GCC diagnostic pop

#include "peers/interfaces.hpp"

namespace ringkit::bench {

class BeastFlatPump {
 public:
  static constexpr std::string_view kName = "beast_flat";

  explicit BeastFlatPump(std::size_t capacity) : buf_(capacity) {}

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
  boost::beast::flat_buffer buf_;
};

static_assert(pump_buffer<BeastFlatPump>);

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_BEAST_FLAT 0
#endif
