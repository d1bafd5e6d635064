// Unit tests of the mirrored byte ring (ringkit/mirror_ring.hpp): one contiguous view across the
// wrap and one iovec when mirrored; the plain fallback (MirrorMode::never) whose views end at
// the wrap while io_slices() offers both parts; creation errors; data straddling the 2^64 wrap
// in one span; read_some/write_some through a pipe. What every byte ring kind does (checked
// commit/consume, moves, closing, positions near 2^64) is the typed contract in
// byte_ring_test.cpp and byte_ring_lifetime_test.cpp.
#include <ringkit/mirror_ring.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/io/vectored.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>
#include <ringkit/unique_fd.hpp>

#include "support/pattern.hpp"
#include "support/ring_kinds.hpp"

namespace {

using ringkit::Errc;
using ringkit::MirrorByteReader;
using ringkit::MirrorByteRing;
using ringkit::MirrorByteWriter;
using ringkit::MirrorMode;
using ringkit::MirrorRegion;
using ringkit::RingOptions;
using ringkit::SliceResult;
using ringkit::io::IoStatus;

constexpr std::uint64_t kNear2Pow64 =
    ~std::uint64_t{0} - std::uint64_t{4096} * 3 + 77;  // 2^64 - 12211

/// Stream bytes [offset, offset + n) of the test stream `seed` (support/pattern.hpp).
std::vector<std::byte> stream(std::uint64_t seed, std::uint64_t offset, std::size_t n) {
  std::vector<std::byte> v(n);
  ringkit_test::fill_pattern(seed, offset, v);
  return v;
}

using ringkit_test::matches_pattern;

std::size_t page() { return MirrorRegion::page_size(); }

/// A mirrored ring (MirrorMode::required); skips the test when the kernel refuses the mapping.
#define MAKE_MIRRORED_OR_SKIP(var, capacity, start)                                        \
  auto var##_result = ringkit::make_mirror_byte_ring(                                      \
      (capacity), RingOptions{.mode = MirrorMode::required, .initial_position = (start)}); \
  if (!var##_result) GTEST_SKIP() << "mirroring unavailable: " << var##_result.message();  \
  auto& var = *var##_result  // NOLINT(bugprone-macro-parentheses): names the new variable

MirrorByteRing make_fallback(std::size_t capacity, std::uint64_t start = 0) {
  auto r = ringkit::make_mirror_byte_ring(
      capacity, RingOptions{.mode = MirrorMode::never, .initial_position = start});
  EXPECT_TRUE(r) << r.message();
  return r ? std::move(*r) : MirrorByteRing{};
}

/// Leaves the ring empty with both positions at ring index `idx` (the positions move forward).
/// The ring is filled completely on the way, so each half has seen the other's latest position:
/// the next writable()/readable() show all the free space / data. (Whether they do without that
/// is what the typed contract's *AfterAnEarlierLook tests check.)
void park_at_index(MirrorByteRing& ring, std::size_t idx) {
  const std::size_t cap = ring.writer.capacity();
  const std::size_t k = (idx - static_cast<std::size_t>(ring.reader.position())) & (cap - 1);
  const std::vector<std::byte> junk(cap, std::byte{0xEE});
  ASSERT_EQ(ring.writer.write(std::span(junk).first(k)), k);
  ASSERT_EQ(ring.reader.consume(k), Errc::ok);
  ASSERT_EQ(ring.writer.write(junk), cap);
  ASSERT_EQ(ring.reader.consume(cap), Errc::ok);
  ASSERT_EQ(static_cast<std::size_t>(ring.writer.position()) & (cap - 1), idx);
  ASSERT_EQ(ring.reader.position(), ring.writer.position());
}

/// The iovecs an io_slices() call offers (the callback reports 0 bytes, so nothing changes).
template <class Half>
std::vector<iovec> offered_iovecs(Half& half, std::size_t* total = nullptr) {
  std::vector<iovec> out;
  const SliceResult r = half.io_slices([&](std::span<iovec> iov, std::size_t t) {
    out.assign(iov.begin(), iov.end());
    if (total != nullptr) *total = t;
    return 0;
  });
  EXPECT_EQ(r.errc, Errc::ok);
  EXPECT_EQ(r.bytes, 0U);
  return out;
}

std::vector<std::byte> concat(const std::vector<iovec>& iov) {
  std::vector<std::byte> v;
  for (const iovec& e : iov) {
    const auto* p = static_cast<const std::byte*>(e.iov_base);
    v.insert(v.end(), p, p + e.iov_len);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

TEST(MirrorByteRing, DefaultModeMirrorsWhenPossible) {
  auto r = ringkit::make_mirror_byte_ring(4 * page());
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->writer.capacity(), 4 * page());
  EXPECT_EQ(r->reader.capacity(), 4 * page());
  EXPECT_EQ(r->writer.mirrored(), r->reader.mirrored());
  // automatic only falls back when the mapping is refused: a plain MirrorRegion works here too.
  EXPECT_EQ(r->writer.mirrored(), static_cast<bool>(MirrorRegion::create(4 * page())));
  EXPECT_TRUE(r->writer.valid());
  EXPECT_TRUE(r->reader.valid());
  EXPECT_TRUE(r->writer.peer_alive());
  EXPECT_TRUE(r->reader.peer_alive());
}

TEST(MirrorByteRing, CapacityErrors) {
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::required, MirrorMode::never}) {
    SCOPED_TRACE(static_cast<int>(mode));
    for (const std::size_t cap : {std::size_t{0}, 3 * page(), 5 * page(), page() + 1}) {
      auto r = ringkit::make_mirror_byte_ring(cap, {.mode = mode});
      ASSERT_FALSE(r) << cap;
      EXPECT_EQ(r.error(), Errc::invalid_capacity) << cap;
      EXPECT_FALSE(r.message().empty());
    }
  }
  // A power of two below the page size cannot be mirrored.
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::required}) {
    auto r = ringkit::make_mirror_byte_ring(page() / 4, {.mode = mode});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Errc::not_page_multiple);
    EXPECT_FALSE(r.message().empty());
    EXPECT_STRNE(r.context(), "");
  }
}

TEST(MirrorByteRing, RequiredWithAnImpossibleRequestFails) {
  // Huge pages cannot back a 4 KiB ring: either "not a huge page multiple" or "no huge pages".
  auto r = ringkit::make_mirror_byte_ring(
      page(), {.mode = MirrorMode::required, .region = {.huge_pages = true}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error() == Errc::not_page_multiple || r.error() == Errc::unsupported)
      << r.message();
  EXPECT_STRNE(r.context(), "");
  EXPECT_FALSE(r.message().empty());
}

TEST(MirrorByteRing, AutomaticFallsBackWhenTheMappingIsRefused) {
  auto r = ringkit::make_mirror_byte_ring(
      page(), {.mode = MirrorMode::automatic, .region = {.huge_pages = true}});
  ASSERT_TRUE(r) << r.message();
  EXPECT_FALSE(r->writer.mirrored());
  EXPECT_FALSE(r->reader.mirrored());
  const auto data = stream(1, 0, 100);
  ASSERT_EQ(r->writer.write(data), data.size());
  std::vector<std::byte> out(100);
  ASSERT_EQ(r->reader.read(out), out.size());
  EXPECT_EQ(out, data);
}

TEST(MirrorByteRing, PopulateOptionWorks) {
  auto r = ringkit::make_mirror_byte_ring(
      16 * page(), {.mode = MirrorMode::automatic, .region = {.populate = true}});
  ASSERT_TRUE(r) << r.message();
  const auto data = stream(2, 0, 3 * page());
  ASSERT_EQ(r->writer.write(data), data.size());
  std::vector<std::byte> out(data.size());
  ASSERT_EQ(r->reader.read(out), out.size());
  EXPECT_EQ(out, data);
}

// ---------------------------------------------------------------------------------------------
// Mirrored: one contiguous span
// ---------------------------------------------------------------------------------------------

TEST(MirrorByteRing, WritableIsOneSpanAcrossTheWrap) {
  const std::size_t cap = 2 * page();
  MAKE_MIRRORED_OR_SKIP(ring, cap, 0);
  ASSERT_TRUE(ring.writer.mirrored());
  ASSERT_TRUE(ring.reader.mirrored());
  park_at_index(ring, cap - 10);  // both positions 10 bytes before the wrap

  const std::span<std::byte> w = ring.writer.writable();
  ASSERT_EQ(w.size(), cap) << "writable() must be all the free space, across the wrap";
  const auto data = stream(3, 0, cap);
  std::memcpy(w.data(), data.data(), cap);
  ASSERT_EQ(ring.writer.commit(cap), Errc::ok);
  EXPECT_TRUE(ring.writer.writable().empty()) << "full ring";

  const std::span<const std::byte> r = ring.reader.readable();
  ASSERT_EQ(r.size(), cap) << "readable() must be all the data, across the wrap";
  EXPECT_EQ(static_cast<const void*>(r.data()), static_cast<const void*>(w.data()));
  EXPECT_TRUE(matches_pattern(3, 0, r));
  EXPECT_EQ(ring.reader.readable_segments().count(), 1U);

  // Consume a part that ends after the wrap; the rest is still one span.
  ASSERT_EQ(ring.reader.consume(cap / 2), Errc::ok);
  const auto rest = ring.reader.readable();
  ASSERT_EQ(rest.size(), cap / 2);
  EXPECT_TRUE(matches_pattern(3, cap / 2, rest));
}

TEST(MirrorByteRing, ReadableIsOneSpanForEveryStartOffset) {
  const std::size_t cap = page();
  MAKE_MIRRORED_OR_SKIP(ring, cap, 0);
  // Walk the start index over the ring; fill the ring completely from there each time.
  for (std::size_t step = 0; step < 64; ++step) {
    const std::size_t idx = (step * 97 + step / 8) % cap;
    park_at_index(ring, idx);
    const auto data = stream(4, step, cap);
    ASSERT_EQ(ring.writer.write(data), cap);
    const auto r = ring.reader.readable();
    ASSERT_EQ(r.size(), cap) << "start index " << idx;
    ASSERT_TRUE(matches_pattern(4, step, r)) << "start index " << idx;
    ASSERT_EQ(ring.reader.consume(cap), Errc::ok);
  }
}

TEST(MirrorByteRing, IoSlicesOffersOneIovecWhenMirrored) {
  const std::size_t cap = 2 * page();
  MAKE_MIRRORED_OR_SKIP(ring, cap, 0);
  park_at_index(ring, cap - 100);

  std::size_t total = 0;
  auto wiov = offered_iovecs(ring.writer, &total);
  ASSERT_EQ(wiov.size(), 1U);
  EXPECT_EQ(wiov[0].iov_len, cap);
  EXPECT_EQ(total, cap);
  EXPECT_EQ(ring.writer.writable_segments().count(), 1U);

  // Fill through io_slices across the wrap.
  const auto data = stream(5, 0, cap - 1);
  const SliceResult w = ring.writer.io_slices([&](std::span<iovec> iov, std::size_t) {
    EXPECT_EQ(iov.size(), 1U);
    std::memcpy(iov[0].iov_base, data.data(), data.size());
    return static_cast<std::ptrdiff_t>(data.size());
  });
  ASSERT_EQ(w.errc, Errc::ok);
  ASSERT_EQ(w.bytes, data.size());

  auto riov = offered_iovecs(ring.reader, &total);
  ASSERT_EQ(riov.size(), 1U);
  EXPECT_EQ(total, data.size());
  EXPECT_TRUE(matches_pattern(5, 0, concat(riov)));
  const SliceResult r =
      ring.reader.io_slices([](std::span<iovec>, std::size_t t) { return static_cast<long>(t); });
  EXPECT_EQ(r.errc, Errc::ok);
  EXPECT_EQ(r.bytes, data.size());
  EXPECT_TRUE(ring.reader.readable().empty());
}

/// A view taken after data arrived shows that data, even when an earlier view was not empty
/// (a parser waiting for the rest of a frame calls readable() again and must see it).
/// Likewise a writer waiting for room for a whole record must see space the reader freed.
// ---------------------------------------------------------------------------------------------
// Fallback (MirrorMode::never)
// ---------------------------------------------------------------------------------------------

TEST(MirrorByteRingFallback, ViewsEndAtTheWrapAndIoSlicesOffersBothParts) {
  const std::size_t cap = 2 * page();
  auto ring = make_fallback(cap);
  ASSERT_TRUE(ring.writer.valid());
  EXPECT_FALSE(ring.writer.mirrored());
  EXPECT_FALSE(ring.reader.mirrored());
  park_at_index(ring, cap - 10);

  // Writer: the view ends at the wrap, segments and io_slices show both parts.
  EXPECT_EQ(ring.writer.writable().size(), 10U);
  const auto wseg = ring.writer.writable_segments();
  ASSERT_EQ(wseg.count(), 2U);
  EXPECT_EQ(wseg[0].size(), 10U);
  EXPECT_EQ(wseg[1].size(), cap - 10);
  std::size_t total = 0;
  auto wiov = offered_iovecs(ring.writer, &total);
  ASSERT_EQ(wiov.size(), 2U);
  EXPECT_EQ(wiov[0].iov_len, 10U);
  EXPECT_EQ(wiov[1].iov_len, cap - 10);
  EXPECT_EQ(total, cap);

  // Fill through io_slices (both iovecs), then check every byte several ways.
  const SliceResult w = ring.writer.io_slices([](std::span<iovec> iov, std::size_t t) {
    std::uint64_t off = 0;
    for (const iovec& e : iov) {
      auto* p = static_cast<std::byte*>(e.iov_base);
      for (std::size_t i = 0; i < e.iov_len; ++i) p[i] = ringkit_test::pattern_byte(8, off++);
    }
    return static_cast<std::ptrdiff_t>(t);
  });
  ASSERT_EQ(w.errc, Errc::ok);
  ASSERT_EQ(w.bytes, cap);

  const auto r = ring.reader.readable();
  ASSERT_EQ(r.size(), 10U) << "fallback readable() ends at the wrap";
  EXPECT_TRUE(matches_pattern(8, 0, r));
  const auto rseg = ring.reader.readable_segments();
  ASSERT_EQ(rseg.count(), 2U);
  EXPECT_TRUE(matches_pattern(8, 0, rseg[0]));
  EXPECT_TRUE(matches_pattern(8, 10, rseg[1]));
  auto riov = offered_iovecs(ring.reader, &total);
  ASSERT_EQ(riov.size(), 2U);
  EXPECT_EQ(total, cap);
  EXPECT_TRUE(matches_pattern(8, 0, concat(riov)));

  std::vector<std::byte> all(cap);
  ASSERT_EQ(ring.reader.peek(all), cap);
  EXPECT_TRUE(matches_pattern(8, 0, all));
  // After consuming the part before the wrap, the rest appears as one view.
  ASSERT_EQ(ring.reader.consume(10), Errc::ok);
  const auto rest = ring.reader.readable();
  ASSERT_EQ(rest.size(), cap - 10);
  EXPECT_TRUE(matches_pattern(8, 10, rest));
}

TEST(MirrorByteRingFallback, CopiesAcrossTheWrapAreCorrect) {
  const std::size_t cap = page();
  auto ring = make_fallback(cap);
  std::uint64_t written = 0;
  std::uint64_t read = 0;
  for (std::size_t step = 0; step < 200; ++step) {
    const std::size_t n = 1 + (step * 131) % cap;
    const auto data = stream(9, written, n);
    written += ring.writer.write(data);
    std::vector<std::byte> out(1 + (step * 71) % cap);
    const std::size_t got = ring.reader.read(out);
    ASSERT_TRUE(matches_pattern(9, read, std::span(out).first(got))) << "step " << step;
    read += got;
  }
  EXPECT_EQ(ring.writer.position(), written);
  EXPECT_EQ(ring.reader.position(), read);
}

TEST(MirrorByteRingFallback, SmallCapacitiesWork) {
  // Without mirroring the capacity need not be a page multiple.
  auto r = ringkit::make_mirror_byte_ring(16, {.mode = MirrorMode::never});
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->writer.capacity(), 16U);
  const auto data = stream(10, 0, 16);
  ASSERT_EQ(r->writer.write(data), 16U);
  EXPECT_EQ(r->writer.write(data), 0U);
  std::vector<std::byte> out(16);
  ASSERT_EQ(r->reader.read(out), 16U);
  EXPECT_EQ(out, data);
}

// ---------------------------------------------------------------------------------------------
// Counters near 2^64 (the generic wrap, checked commit/consume, moves and closing are in the typed
// byte ring contract: byte_ring_test.cpp, byte_ring_lifetime_test.cpp)
// ---------------------------------------------------------------------------------------------

TEST(MirrorByteRing, CountersNear2Pow64WithDataStraddlingBothWraps) {
  const std::size_t cap = page();
  // Start 5 bytes before the counter wrap (which is also an index wrap).
  const std::uint64_t start = ~std::uint64_t{0} - 4;
  MAKE_MIRRORED_OR_SKIP(ring, cap, start);
  const auto data = stream(12, 0, cap);
  const auto w = ring.writer.writable();
  ASSERT_EQ(w.size(), cap);
  std::memcpy(w.data(), data.data(), cap);
  ASSERT_EQ(ring.writer.commit(cap), Errc::ok);
  EXPECT_EQ(ring.writer.position(), start + cap);
  const auto r = ring.reader.readable();
  ASSERT_EQ(r.size(), cap);
  EXPECT_TRUE(matches_pattern(12, 0, r));
  EXPECT_EQ(static_cast<const void*>(r.data()),
            static_cast<const void*>(w.data()));  // same index: start & (cap - 1)
}

// ---------------------------------------------------------------------------------------------
// Vectored I/O through a pipe
// ---------------------------------------------------------------------------------------------

struct Pipe {
  ringkit::UniqueFd r;
  ringkit::UniqueFd w;
};

Pipe make_pipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0)
      << std::error_code(errno, std::system_category()).message();
  return {ringkit::UniqueFd(fds[0]), ringkit::UniqueFd(fds[1])};
}

TEST(MirrorByteRing, ReadSomeAndWriteSomeUseOneIovecThroughAPipe) {
  const std::size_t cap = 4 * page();  // 16 KiB: well below the 64 KiB pipe buffer
  MAKE_MIRRORED_OR_SKIP(ring, cap, kNear2Pow64);
  Pipe in = make_pipe();
  Pipe out = make_pipe();
  ASSERT_TRUE(in.r && out.r);
  park_at_index(ring, cap - 1000);  // the free space wraps

  // Everything the ring can take arrives in the pipe; one readv with one iovec takes it all.
  const auto data = stream(18, 0, cap);
  ASSERT_EQ(::write(in.w.get(), data.data(), cap), static_cast<ssize_t>(cap));
  ASSERT_EQ(offered_iovecs(ring.writer).size(), 1U);
  const auto rr = ringkit::io::read_some(in.r.get(), ring.writer);
  ASSERT_EQ(rr.status, IoStatus::ok) << rr.error().message();
  ASSERT_EQ(rr.bytes, cap);
  const auto view = ring.reader.readable();
  ASSERT_EQ(view.size(), cap);
  EXPECT_TRUE(matches_pattern(18, 0, view));
  EXPECT_EQ(ringkit::io::read_some(in.r.get(), ring.writer).status, IoStatus::ring_full);

  // The wrapped data leaves through one writev with one iovec.
  ASSERT_EQ(offered_iovecs(ring.reader).size(), 1U);
  const auto wr = ringkit::io::write_some(out.w.get(), ring.reader);
  ASSERT_EQ(wr.status, IoStatus::ok) << wr.error().message();
  ASSERT_EQ(wr.bytes, cap);
  std::vector<std::byte> got(cap);
  ASSERT_EQ(::read(out.r.get(), got.data(), cap), static_cast<ssize_t>(cap));
  EXPECT_TRUE(matches_pattern(18, 0, got));
  EXPECT_EQ(ringkit::io::write_some(out.w.get(), ring.reader).status, IoStatus::ring_empty);

  // Nothing to read: would_block; the writer closed: eof.
  EXPECT_EQ(ringkit::io::read_some(in.r.get(), ring.writer).status, IoStatus::would_block);
  in.w.reset();
  EXPECT_EQ(ringkit::io::read_some(in.r.get(), ring.writer).status, IoStatus::eof);
}

TEST(MirrorByteRingFallback, ReadSomeAndWriteSomeThroughAPipe) {
  const std::size_t cap = 4 * page();
  auto ring = make_fallback(cap, kNear2Pow64);
  Pipe p = make_pipe();
  ASSERT_TRUE(p.r);
  park_at_index(ring, cap - 1000);
  const auto data = stream(19, 0, cap);
  ASSERT_EQ(::write(p.w.get(), data.data(), cap), static_cast<ssize_t>(cap));
  ASSERT_EQ(offered_iovecs(ring.writer).size(), 2U);
  const auto rr = ringkit::io::read_some(p.r.get(), ring.writer);
  ASSERT_EQ(rr.status, IoStatus::ok);
  ASSERT_EQ(rr.bytes, cap) << "readv with two iovecs takes everything";
  EXPECT_EQ(ring.reader.readable().size(), 1000U);
  ASSERT_EQ(offered_iovecs(ring.reader).size(), 2U);
  const auto wr = ringkit::io::write_some(p.w.get(), ring.reader);
  ASSERT_EQ(wr.status, IoStatus::ok);
  ASSERT_EQ(wr.bytes, cap);
  std::vector<std::byte> got(cap);
  ASSERT_EQ(::read(p.r.get(), got.data(), cap), static_cast<ssize_t>(cap));
  EXPECT_TRUE(matches_pattern(19, 0, got));
}

}  // namespace
