// ringkit/mirror_ring.hpp: the split-halves byte ring on a mirrored region: one contiguous span.
//
// make_mirror_byte_ring(capacity) returns a MirrorByteWriter and a MirrorByteReader with the same
// contract as ByteWriter/ByteReader (ringkit/byte_ring.hpp: move-only single-owner halves,
// checked commit/consume, io_slices, cached counters, 64-bit counters), but the storage is a
// MirrorRegion, so writable() and readable() are always ONE contiguous std::span: a parser never
// sees a wrap, readv/writev get one iovec, io_uring can use fixed buffers.
//
//   auto [w, r] = *ringkit::make_mirror_byte_ring(64 * 1024);
//   std::span<const std::byte> all = r.readable();   // every filled byte, contiguous
//   if (auto frame = parse(all)) (void)r.consume(frame->size());
//
// Fallback: with MirrorMode::automatic (the default) a ring whose mapping is refused
// (no memfd, mmap limits) falls back to plain storage and says so: mirrored() == false. Then
// readable()/writable() end at the wrap (the rest appears after a consume()/commit()), while
// io_slices() still offers both parts. MirrorMode::required turns the fallback into an error.
//
// A parser that needs a whole frame in view therefore picks one of two calls, and the choice is
// visible where the ring is made or read: create the ring with MirrorMode::required (then
// readable() holds every filled byte, guaranteed by the creation succeeding), or read
// readable_segments(), which is one span when mirrored and both parts otherwise, as the frame
// decoders of ringkit/framing.hpp do. Looking only at readable() on a ring that may have fallen
// back would wait forever for a frame that straddles the wrap.
//
// Thread safety: single-owner per half; the two halves may live on different threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <ringkit/byte_ring.hpp>
#include <ringkit/concepts.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>

namespace ringkit {

/// The producer half of a mirrored byte ring: writable() is one std::span<std::byte>.
using MirrorByteWriter = BasicByteWriter<true>;
/// The consumer half of a mirrored byte ring: readable() is one std::span<const std::byte>.
using MirrorByteReader = BasicByteReader<true>;

/// The two halves of one mirrored byte ring: `auto [writer, reader] = *make_mirror_byte_ring(c);`
struct MirrorByteRing {
  MirrorByteWriter writer;
  MirrorByteReader reader;
};

/// Creates a mirrored byte ring of `capacity` bytes: a power of two and a multiple of the page
/// size. Errors: Errc::invalid_capacity, Errc::not_page_multiple; with MirrorMode::required also
/// the mapping's error (context() names the failing call).
[[nodiscard]] Result<MirrorByteRing> make_mirror_byte_ring(std::size_t capacity,
                                                           const RingOptions& options = {});

static_assert(byte_writer<MirrorByteWriter>);
static_assert(byte_reader<MirrorByteReader>);

}  // namespace ringkit
