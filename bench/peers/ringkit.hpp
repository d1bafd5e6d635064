// bench/peers/ringkit.hpp: ringkit itself behind the bench/peers/interfaces.hpp interfaces, so it
// runs through exactly the code paths its peers do.
//
// RingkitChannel (byte_channel): one ByteRing; write() is ByteWriter::write, read() is
// ByteReader::read. RingkitPump (pump_buffer): io::read_some / io::write_some (readv/writev on
// the ring's at most two segments). Thread safety: as the interfaces say.
//
// Frame buffers (frame_buffer): fill() is ByteWriter::write (one copy; for the mirrored ring one
// memcpy even across the wrap). parse():
//   RingkitMirrorFrames      (ringkit_mirror)       MirrorByteReader::readable() is all the
//                                                   data in one span: decoded in place, then
//                                                   consume(bytes of whole frames).
//   RingkitTwoSegmentFrames  (ringkit_two_segment)  ByteReader::readable(): frames inside the
//                                                   first segment are decoded in place; the one
//                                                   frame split by the wrap is peek()ed into a
//                                                   scratch buffer (header first, in case the
//                                                   header itself is split) and decoded there.
// Queues: RingkitSpsc<T> (element_queue, batch_queue) is make_spsc<T>: try_push/try_pop,
// push_slice, and readable() + consume() for batches (decoded in place, no copy out).
// RingkitMpsc<T> (mpsc_bulk_queue) is make_mpsc<T>: one copied MpscProducer handle (one lane)
// per producer thread, try_push / try_pop, push_slice / pop_slice. RingkitOrderedMpsc<T> is
// the same over make_ordered_mpsc<T> (kName ringkit_ordered: one ring, one sequence).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <ringkit/byte_ring.hpp>
#include <ringkit/channel.hpp>
#include <ringkit/concepts.hpp>
#include <ringkit/io/vectored.hpp>
#include <ringkit/mirror_ring.hpp>

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
  ByteRing ring_;  // writer and reader are each alignas(kFalseSharingRange): no false sharing here
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

// ---- frame buffers --------------------------------------------------------------------------

class RingkitMirrorFrames {
 public:
  static constexpr std::string_view kName = "ringkit_mirror";

  explicit RingkitMirrorFrames(std::size_t capacity)
      : ring_(make_mirror_byte_ring(capacity, {.mode = MirrorMode::required}).value()) {}

  std::size_t fill(const std::byte* src, std::size_t n) noexcept {
    return ring_.writer.write(src, n);
  }
  bool parse(FrameDecoder& decoder) noexcept {
    const std::span<const std::byte> all = ring_.reader.readable();
    const std::size_t n = decoder.decode(all);
    return ring_.reader.consume(n) == Errc::ok && !decoder.failed();
  }

 private:
  MirrorByteRing ring_;
};

class RingkitTwoSegmentFrames {
 public:
  static constexpr std::string_view kName = "ringkit_two_segment";

  explicit RingkitTwoSegmentFrames(std::size_t capacity)
      : ring_(make_byte_ring(capacity).value()), scratch_(capacity) {}

  std::size_t fill(const std::byte* src, std::size_t n) noexcept {
    return ring_.writer.write(src, n);
  }
  bool parse(FrameDecoder& decoder) noexcept {
    ConstSegments segs = ring_.reader.readable();
    for (;;) {
      // Whole frames inside the first segment: in place.
      const std::size_t first = segs.first().size();
      const std::size_t done = decoder.decode(segs.first());
      if (decoder.failed() || ring_.reader.consume(done) != Errc::ok) return false;
      const std::size_t left = segs.bytes() - done;
      if (segs.count() < 2 || left < kFrameHeaderBytes) return true;  // incomplete, no wrap
      if (done != first) {
        // The frame at the head is split by the wrap: linearise it into scratch.
        std::byte header[kFrameHeaderBytes];
        if (ring_.reader.peek(header) != kFrameHeaderBytes) return false;
        const std::size_t size = decoder.frame_size(header);
        if (size == 0) return false;
        if (size > left) return true;  // incomplete: wait for the rest
        const std::span<std::byte> frame(scratch_.data(), size);
        if (ring_.reader.peek(frame) != size || decoder.decode(frame) != size) return false;
        if (ring_.reader.consume(size) != Errc::ok) return false;
      }
      segs = ring_.reader.readable();  // one segment now (from the start of the storage)
    }
  }

 private:
  ByteRing ring_;
  std::vector<std::byte> scratch_;
};

static_assert(frame_buffer<RingkitMirrorFrames>);
static_assert(frame_buffer<RingkitTwoSegmentFrames>);

// ---- element queues ---------------------------------------------------------------------------

template <ring_element T>
class RingkitSpsc {
 public:
  static constexpr std::string_view kName = "ringkit";

  explicit RingkitSpsc(std::size_t capacity) : ch_(make_spsc<T>(capacity).value()) {}

  [[nodiscard]] std::size_t capacity() const noexcept { return ch_.producer.capacity(); }
  [[nodiscard]] bool mirrored() const noexcept { return ch_.producer.mirrored(); }

  bool try_push(const T& v) noexcept { return ch_.producer.try_push(v); }
  bool try_pop(T& v) noexcept { return ch_.consumer.try_pop(v); }
  std::size_t push_batch(std::span<const T> src) noexcept { return ch_.producer.push_slice(src); }
  template <class F>
  std::size_t consume_batch(std::span<T> scratch, F&& f) {
    const std::span<const T> all = ch_.consumer.readable();
    const std::size_t n = std::min(all.size(), scratch.size());
    if (n == 0) return 0;
    f(all.first(n));
    return ch_.consumer.consume(n) == Errc::ok ? n : 0;
  }

 private:
  SpscChannel<T> ch_;  // producer and consumer are each alignas(kFalseSharingRange)
};

/// make_mpsc (one lane per handle) or, with Ordered, make_ordered_mpsc (one ring, one sequence).
template <ring_element T, bool Ordered = false>
class RingkitMpscOf {
 public:
  static constexpr std::string_view kName = Ordered ? "ringkit_ordered" : "ringkit";
  using Channel = std::conditional_t<Ordered, OrderedMpscChannel<T>, MpscChannel<T>>;
  using Handle = decltype(Channel::producer);

  class Producer {
   public:
    explicit Producer(const Handle& p) noexcept : p_(p) {}
    bool try_push(const T& v) noexcept { return p_.try_push(v); }
    std::size_t push_bulk(std::span<const T> src) noexcept { return p_.push_slice(src); }

   private:
    Handle p_;
  };
  using producer_type = Producer;

  RingkitMpscOf(std::size_t capacity, std::size_t /*producers*/) : ch_(make(capacity)) {}

  [[nodiscard]] std::size_t capacity() const noexcept { return ch_.consumer.capacity(); }
  [[nodiscard]] bool mirrored() const noexcept { return ch_.consumer.mirrored(); }

  Producer make_producer() noexcept { return Producer(ch_.producer); }
  bool try_pop(T& v) noexcept { return ch_.consumer.try_pop(v); }
  std::size_t pop_bulk(std::span<T> out) noexcept { return ch_.consumer.pop_slice(out); }

 private:
  static Channel make(std::size_t capacity) {
    if constexpr (Ordered) {
      return make_ordered_mpsc<T>(capacity).value();
    } else {
      return make_mpsc<T>(capacity).value();
    }
  }
  Channel ch_;
};
template <ring_element T>
using RingkitMpsc = RingkitMpscOf<T, false>;
template <ring_element T>
using RingkitOrderedMpsc = RingkitMpscOf<T, true>;

}  // namespace ringkit::bench
