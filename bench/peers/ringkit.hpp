// bench/peers/ringkit.hpp: ringkit itself behind the bench/peers/interfaces.hpp interfaces, so it
// runs through exactly the code paths its peers do.
//
// RingkitChannel (byte_channel): one ByteRing; write() is ByteWriter::write, read() is
// ByteReader::read. RingkitPump (pump_buffer): io::read_some / io::write_some (readv/writev on
// the ring's at most two segments). Thread safety: as the interfaces say.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include <ringkit/byte_ring.hpp>
#include <ringkit/io/vectored.hpp>

#include "peers/interfaces.hpp"

namespace ringkit::bench {

class RingkitChannel {
 public:
  static constexpr std::string_view kName = "ringkit";

  explicit RingkitChannel(std::size_t capacity) : ring_(make_byte_ring(capacity).value()) {}

  std::size_t write(const std::byte* src, std::size_t n) noexcept {
    return ring_.writer.write(std::span<const std::byte>(src, n));
  }
  std::size_t read(std::byte* dst, std::size_t n) noexcept {
    return ring_.reader.read(std::span<std::byte>(dst, n));
  }

 private:
  ByteRing ring_;  // writer and reader are each alignas(kCacheLine): no false sharing here
};

class RingkitPump {
 public:
  static constexpr std::string_view kName = "ringkit";

  explicit RingkitPump(std::size_t capacity) : ring_(make_byte_ring(capacity).value()) {}

  io::IoResult read_from(int fd) noexcept { return io::read_some(fd, ring_.writer); }
  io::IoResult write_to(int fd) noexcept { return io::write_some(fd, ring_.reader); }

 private:
  ByteRing ring_;
};

static_assert(byte_channel<RingkitChannel>);
static_assert(pump_buffer<RingkitPump>);

}  // namespace ringkit::bench
