// bench/peers/beast_flat.hpp: boost::beast::flat_buffer as a pump_buffer.
//
// prepare(free) -> read(2) -> commit(n); data() -> write(2) -> consume(n), with the buffer's
// limit (max_size) set to the bench's capacity. flat_buffer is one contiguous block, so it moves
// leftover bytes to the front when prepare() needs room. Defines RINGKIT_BENCH_HAVE_BEAST_FLAT.
// Thread safety: one thread.
//
// BeastFlatFrames (frame_buffer): the same flat_buffer with its limit at the bench's capacity
// and that much reserved up front (no growth while measured). fill() is prepare(n) + memcpy +
// commit(n), parse() decodes data() (always one contiguous buffer) in place and consume()s the
// whole frames; the price of contiguity is prepare() moving the unparsed tail to the front.
#pragma once

#if __has_include(<boost/beast/core/flat_buffer.hpp>)
#define RINGKIT_BENCH_HAVE_BEAST_FLAT 1

#include <cstddef>
#include <cstring>
#include <span>
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

class BeastFlatFrames {
 public:
  static constexpr std::string_view kName = "beast_flat";

  explicit BeastFlatFrames(std::size_t capacity) : buf_(capacity) { buf_.reserve(capacity); }

  std::size_t fill(const std::byte* src, std::size_t n) {
    const std::size_t room = buf_.max_size() - buf_.size();
    if (n > room) n = room;
    if (n == 0) return 0;
    const auto mb = buf_.prepare(n);
    std::memcpy(mb.data(), src, n);
    buf_.commit(n);
    return n;
  }
  bool parse(FrameDecoder& decoder) {
    const auto cb = buf_.data();
    const std::size_t n = decoder.decode(
        std::span<const std::byte>(static_cast<const std::byte*>(cb.data()), cb.size()));
    buf_.consume(n);
    return !decoder.failed();
  }

 private:
  boost::beast::flat_buffer buf_;
};

static_assert(frame_buffer<BeastFlatFrames>);

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_BEAST_FLAT 0
#endif
