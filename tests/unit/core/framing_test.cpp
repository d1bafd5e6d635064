// Frame decoders and encoders: every bad input of the length-field and delimiter decoders on
// every ring kind (and every fixed width and byte order where it applies), wraps, drip-feeding,
// discards reported exactly once, limits changed at run time, store exhaustion as backpressure,
// chunking invariance and encoder/decoder round trips.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/framing.hpp>  // first: the header is self-contained
#include <ringkit/message_store.hpp>
#include <ringkit/mirror_ring.hpp>

#include "support/pattern.hpp"
#include "support/ring_kinds.hpp"

namespace {

using ringkit::Decoded;
using ringkit::DelimiterDecoder;
using ringkit::DelimiterOptions;
using ringkit::DelimiterWriter;
using ringkit::Endian;
using ringkit::Errc;
using ringkit::FrameStatus;
using ringkit::LengthFieldDecoder;
using ringkit::LengthFieldOptions;
using ringkit::LengthPrepender;
using ringkit::LengthWidth;
using ringkit::TooLongPolicy;
using ringkit::VarintMode;
using Bytes = std::vector<std::byte>;

Bytes bytes_of(std::string_view s) {
  Bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}
Bytes pattern(std::uint64_t seed, std::size_t n) {
  Bytes b(n);
  ringkit_test::fill_pattern(seed, 0, b);
  return b;
}
void append(Bytes& to, const Bytes& from) { to.insert(to.end(), from.begin(), from.end()); }
void append_uint(Bytes& to, std::uint64_t v, std::size_t width, Endian e) {
  for (std::size_t i = 0; i < width; ++i) {
    const std::size_t shift = e == Endian::big ? (width - 1 - i) * 8 : i * 8;
    to.push_back(static_cast<std::byte>((v >> shift) & 0xFFU));
  }
}
Bytes raw(std::initializer_list<unsigned> v) {
  Bytes b;
  for (const unsigned x : v) b.push_back(static_cast<std::byte>(x));
  return b;
}

constexpr LengthWidth kFixedWidths[] = {LengthWidth::u8, LengthWidth::u16, LengthWidth::u24,
                                        LengthWidth::u32, LengthWidth::u64};
constexpr Endian kEndians[] = {Endian::big, Endian::little};

/// What a stream decoded to.
struct Outcome {
  std::vector<Bytes> frames;
  std::vector<std::pair<Errc, std::uint64_t>> reports;  // skipped results carrying an errc
  Errc error = Errc::ok;                                // stream error (sticky)
  std::uint64_t announced = 0;
  std::size_t bytes_fed_at_error = 0;
  Errc eof = Errc::ok;
  bool stuck = false;  // need_more with a full ring
};

/// Feeds `stream` into a ring of kind Kind in chunks (sizes cycle through `chunks`), decoding
/// after each chunk with next() on the reader's view (the span overload on a mirrored ring).
/// `start` positions the ring's counters so frames can be placed across the wrap.
template <class Kind, class Decoder>
[[nodiscard]] ::testing::AssertionResult feed(Decoder& dec, const Bytes& stream,
                                              const std::vector<std::size_t>& chunks, Outcome& out,
                                              std::size_t capacity = 0, std::uint64_t start = 0,
                                              bool call_eof = true) {
  if (capacity == 0) capacity = std::max<std::size_t>(Kind::min_capacity(), 4096);
  auto ring = Kind::make(capacity, start);
  if (!ring) return ::testing::AssertionFailure() << "ring: " << ring.message();
  auto& w = ring->writer;
  auto& r = ring->reader;
  std::size_t pos = 0;
  std::size_t ci = 0;
  const auto drain = [&]() -> bool {  // false: stop feeding (error)
    for (;;) {
      Decoded d;
      ringkit::ConstSegments view = r.readable_segments();
      if constexpr (Kind::kMirrored) {
        d = dec.next(r.readable());
      } else {
        d = dec.next(view);
      }
      switch (d.status) {
        case FrameStatus::frame: {
          Bytes f;
          for (const auto part : ringkit::frame_view(view, d))
            f.insert(f.end(), part.begin(), part.end());
          out.frames.push_back(std::move(f));
          if (r.consume(d.consume) != Errc::ok) return false;
          break;
        }
        case FrameStatus::skipped:
          if (d.errc != Errc::ok) out.reports.emplace_back(d.errc, d.announced);
          if (r.consume(d.consume) != Errc::ok) return false;
          break;
        case FrameStatus::error:
          out.error = d.errc;
          out.announced = d.announced;
          out.bytes_fed_at_error = pos;
          return false;
        case FrameStatus::need_more:
          if (view.bytes() == r.capacity()) out.stuck = true;
          return !out.stuck;
      }
    }
  };
  while (pos < stream.size()) {
    const std::size_t want = std::min(chunks[ci++ % chunks.size()], stream.size() - pos);
    const std::size_t n = w.write(std::span<const std::byte>(stream.data() + pos, want));
    pos += n;
    if (!drain()) return ::testing::AssertionSuccess();
  }
  if (call_eof) out.eof = dec.on_eof(r.readable_segments());
  return ::testing::AssertionSuccess();
}

LengthFieldDecoder make_lf(const LengthFieldOptions& o) {
  auto d = LengthFieldDecoder::create(o);
  EXPECT_TRUE(d) << d.message();
  return d ? *d : LengthFieldDecoder();
}
DelimiterDecoder make_dd(const DelimiterOptions& o) {
  auto d = DelimiterDecoder::create(o);
  EXPECT_TRUE(d) << d.message();
  return d ? *d : DelimiterDecoder();
}

// Built field by field: g++ 12 fails (internal error) on designated initializers of this
// struct (it has a std::vector member) inside templates.
template <class F>
DelimiterOptions dopt(std::vector<std::string> delims, F&& tweak) {
  DelimiterOptions o;
  o.delimiters = std::move(delims);
  tweak(o);
  return o;
}
DelimiterOptions dopt(std::vector<std::string> delims) {
  return dopt(std::move(delims), [](DelimiterOptions&) {});
}

template <class Kind>
class FramingTest : public ::testing::Test {};
TYPED_TEST_SUITE(FramingTest, ringkit_test::AllRingKinds, ringkit_test::KindName);

const std::vector<std::vector<std::size_t>> kChunkings = {{100000}, {1}, {3, 1, 7}, {5, 64, 2}};

// ---- length fields: limits and adjustments, every width and byte order ----------------------

TYPED_TEST(FramingTest, LengthZeroMaxAndMaxPlusOneWithEveryAdjustment) {
  constexpr std::uint64_t kMax = 40;
  for (const LengthWidth width : kFixedWidths) {
    for (const Endian endian : kEndians) {
      for (const std::int64_t adj : {0, 2, -1}) {
        const auto w = static_cast<std::size_t>(width);
        SCOPED_TRACE(::testing::Message()
                     << "width " << w << " endian " << int(endian) << " adj " << adj);
        const LengthFieldOptions o{
            .length_width = width, .endian = endian, .length_adjustment = adj, .max_frame = kMax};
        // value 0: a frame of header + adj bytes (below the header when adj < 0).
        // value max - header - adj: exactly max_frame. One more: frame_too_long.
        const std::uint64_t vmax = kMax - w - static_cast<std::uint64_t>(adj);
        for (const auto& chunks : kChunkings) {
          Bytes s;
          append_uint(s, 0, w, endian);
          if (adj > 0) append(s, pattern(1, static_cast<std::size_t>(adj)));
          append_uint(s, vmax, w, endian);
          append(s, pattern(2, kMax - w));
          append_uint(s, vmax + 1, w, endian);
          append(s, pattern(3, 8));
          auto dec = make_lf(o);
          Outcome out;
          ASSERT_TRUE(feed<TypeParam>(dec, s, chunks, out));
          if (adj < 0) {
            EXPECT_EQ(out.error, Errc::length_below_header);
            EXPECT_TRUE(out.frames.empty());
            continue;
          }
          ASSERT_EQ(out.frames.size(), 2U);
          EXPECT_EQ(out.frames[0], pattern(1, static_cast<std::size_t>(adj)));
          EXPECT_EQ(out.frames[1], pattern(2, kMax - w));
          EXPECT_EQ(out.error, Errc::frame_too_long);
          EXPECT_EQ(out.announced, kMax + 1);
          EXPECT_EQ(out.eof, Errc::ok);  // not reached: the error stopped the feed
        }
      }
    }
  }
}

TYPED_TEST(FramingTest, AllOnesLengthsAreTooLongOrNegativeNeverHuge) {
  for (const LengthWidth width : kFixedWidths) {
    for (const Endian endian : kEndians) {
      for (const bool is_signed : {false, true}) {
        const auto w = static_cast<std::size_t>(width);
        SCOPED_TRACE(::testing::Message() << "width " << w << " signed " << is_signed);
        Bytes s(w, std::byte{0xFF});
        append(s, pattern(4, 16));
        auto dec = make_lf({.length_width = width, .endian = endian, .length_signed = is_signed});
        Outcome out;
        ASSERT_TRUE(feed<TypeParam>(dec, s, {1}, out));
        const Errc want = is_signed ? Errc::negative_length
                          : w == 8  ? Errc::length_overflow  // 2^64 - 1 + header wraps
                          : w >= 3  ? Errc::frame_too_long
                                    : Errc::ok;  // u8/u16 max fits the 8 MiB default
        if (want == Errc::ok) {
          EXPECT_TRUE(out.frames.empty());
          EXPECT_EQ(out.error, Errc::ok);
          EXPECT_EQ(out.eof, Errc::truncated);
        } else {
          EXPECT_EQ(out.error, want);
          EXPECT_EQ(out.bytes_fed_at_error, w) << "reported as soon as the header is complete";
        }
      }
    }
  }
}

TYPED_TEST(FramingTest, EightByteTopBitSignedIsNegativeUnsignedIsTooLong) {
  for (const Endian endian : kEndians) {
    Bytes s;
    append_uint(s, std::uint64_t{1} << 63U, 8, endian);
    for (const bool is_signed : {false, true}) {
      auto dec =
          make_lf({.length_width = LengthWidth::u64, .endian = endian, .length_signed = is_signed});
      Outcome out;
      ASSERT_TRUE(feed<TypeParam>(dec, s, {3}, out));
      EXPECT_EQ(out.error, is_signed ? Errc::negative_length : Errc::frame_too_long);
      if (!is_signed) {
        EXPECT_EQ(out.announced, (std::uint64_t{1} << 63U) + 8);
      }
    }
  }
}

TYPED_TEST(FramingTest, AdjustedLengthBelowHeaderStripBeyondFrameAndU64Overflow) {
  for (const LengthWidth width : kFixedWidths) {
    for (const Endian endian : kEndians) {
      const auto w = static_cast<std::size_t>(width);
      SCOPED_TRACE(w);
      {  // value counts the header, but is smaller than it
        Bytes s;
        append_uint(s, w - 1, w, endian);
        auto dec =
            make_lf({.length_width = width, .endian = endian, .length_includes_header = true});
        Outcome out;
        ASSERT_TRUE(feed<TypeParam>(dec, s, {1}, out));
        EXPECT_EQ(out.error, Errc::length_below_header);
      }
      {  // negative adjustment larger than value + header
        Bytes s;
        append_uint(s, 1, w, endian);
        auto dec = make_lf({.length_width = width,
                            .endian = endian,
                            .length_adjustment = -static_cast<std::int64_t>(w) - 2});
        Outcome out;
        ASSERT_TRUE(feed<TypeParam>(dec, s, {2}, out));
        EXPECT_EQ(out.error, Errc::length_below_header);
      }
      {  // strip more than the frame
        Bytes s;
        append_uint(s, 2, w, endian);
        append(s, pattern(5, 2));
        auto dec = make_lf({.length_width = width, .endian = endian, .strip_prefix = w + 3});
        Outcome out;
        ASSERT_TRUE(feed<TypeParam>(dec, s, {100}, out));
        EXPECT_EQ(out.error, Errc::strip_exceeds_frame);
      }
    }
  }
  // u64 near max plus a positive adjustment: an error, never a wrapped small frame.
  for (const std::int64_t adj : {std::int64_t{1}, std::int64_t{10}, INT64_MAX}) {
    Bytes s;
    append_uint(s, ~std::uint64_t{0} - 8, 8, Endian::big);
    append(s, pattern(6, 32));
    auto dec = make_lf({.length_width = LengthWidth::u64,
                        .length_adjustment = adj,
                        .max_frame = ringkit::kNoLimit});
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, s, {5}, out));
    EXPECT_EQ(out.error, Errc::length_overflow) << adj;
    EXPECT_TRUE(out.frames.empty());
  }
}

TYPED_TEST(FramingTest, MaxFrameIsClampedToWhatTheWidthCanAnnounce) {
  auto dec = make_lf({.length_width = LengthWidth::u8, .length_adjustment = 3});
  EXPECT_EQ(dec.max_frame(), 255U + 1 + 3);
  auto d16 = make_lf(
      {.length_width = LengthWidth::u16, .length_includes_header = true, .max_frame = 1U << 30U});
  EXPECT_EQ(d16.max_frame(), 65535U);
  ASSERT_EQ(dec.set_max_frame(1U << 30U), Errc::ok);
  EXPECT_EQ(dec.max_frame(), 259U);
  EXPECT_EQ(dec.set_max_frame(0), Errc::invalid_argument);
}

TYPED_TEST(FramingTest, HttpOnABigEndianLengthPortIsImmediatelyTooLong) {
  const Bytes s = bytes_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto dec = make_lf({});
  Outcome out;
  ASSERT_TRUE(feed<TypeParam>(dec, s, {1}, out));
  EXPECT_EQ(out.error, Errc::frame_too_long);
  EXPECT_EQ(out.bytes_fed_at_error, 4U);  // "GET " = 0x47455420: no waiting for 1.2 GB
  EXPECT_EQ(out.announced, 0x47455420ULL + 4);
}

TYPED_TEST(FramingTest, HugeAnnouncedLengthWithATrickleHitsMaxBuffered) {
  Bytes s;
  append_uint(s, 1'000'000, 4, Endian::big);  // below max_frame: accepted, then trickled
  append(s, pattern(7, 3000));
  auto dec = make_lf({.max_buffered = 1000});
  Outcome out;
  ASSERT_TRUE(feed<TypeParam>(dec, s, {100}, out));
  EXPECT_EQ(out.error, Errc::buffered_limit);
  EXPECT_EQ(out.bytes_fed_at_error, 1100U);  // the first chunk past 1000 bytes
  EXPECT_EQ(out.announced, 1'000'004U);
  EXPECT_FALSE(out.stuck);
}

TYPED_TEST(FramingTest, FrameOfExactlyTheRingSizeDecodesOneLargerFailsNeverSpins) {
  const std::size_t cap = std::max<std::size_t>(TypeParam::min_capacity(), 4096);
  auto store = ringkit::MessageStore::create({});
  ASSERT_TRUE(store) << store.message();
  for (const std::size_t total : {cap, cap + 1}) {
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 17);
    auto dec = make_lf({});
    const LengthPrepender enc = *LengthPrepender::create({});
    const Bytes body = pattern(8, total - 4);
    Bytes s;
    append_uint(s, body.size(), 4, Endian::big);
    append(s, body);
    std::size_t pos = 0;
    std::size_t frames = 0;
    ringkit::DecodeRun run;
    for (int guard = 0; guard < 100 && pos < s.size(); ++guard) {
      pos += ring.writer.write(std::span<const std::byte>(s.data() + pos, s.size() - pos));
      run = ringkit::decode_into(ring.reader, dec, *store, [&](const ringkit::MessageRef& m) {
        EXPECT_EQ(m.size(), body.size());
        EXPECT_TRUE(std::equal(body.begin(), body.end(), m.data()));
        ++frames;
      });
      if (run.status == FrameStatus::error) break;
    }
    if (total == cap) {
      EXPECT_EQ(frames, 1U);
      EXPECT_EQ(run.status, FrameStatus::need_more);
    } else {
      EXPECT_EQ(run.status, FrameStatus::error);
      EXPECT_EQ(run.errc, Errc::buffered_limit);
      EXPECT_EQ(run.announced, cap + 1);
      EXPECT_EQ(dec.error(), Errc::buffered_limit) << "sticky";
    }
    (void)enc;
  }
}

// ---- wraps, coalescing, drip-feeding ------------------------------------------------------

TYPED_TEST(FramingTest, HeaderAcrossTheWrapAndFrameEndingExactlyAtTheWrap) {
  const std::size_t cap = std::max<std::size_t>(TypeParam::min_capacity(), 4096);
  for (const LengthWidth width : kFixedWidths) {
    for (const Endian endian : kEndians) {
      const auto w = static_cast<std::size_t>(width);
      Bytes s;
      for (std::size_t i = 0; i < 3; ++i) {
        append_uint(s, 10 + i, w, endian);
        append(s, pattern(10 + i, 10 + i));
      }
      // Every start offset that puts a header byte or a frame end on the wrap.
      for (std::size_t back = 1; back <= 2 * w + 12; ++back) {
        SCOPED_TRACE(::testing::Message() << "width " << w << " back " << back);
        auto dec = make_lf({.length_width = width, .endian = endian});
        Outcome out;
        ASSERT_TRUE(feed<TypeParam>(dec, s, {100000}, out, cap, (1ULL << 40U) * cap - back));
        ASSERT_EQ(out.frames.size(), 3U);
        for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(out.frames[i], pattern(10 + i, 10 + i));
        EXPECT_EQ(out.eof, Errc::ok);
      }
    }
  }
}

TYPED_TEST(FramingTest, CoalescedFramesWithAPartialTail) {
  Bytes s;
  for (std::size_t i = 0; i < 5; ++i) {
    append_uint(s, 20, 2, Endian::little);
    append(s, pattern(20 + i, 20));
  }
  auto dec = make_lf({.length_width = LengthWidth::u16, .endian = Endian::little});
  Outcome out;
  // First read: 3 frames and half of the 4th header; then the rest.
  ASSERT_TRUE(feed<TypeParam>(dec, s, {3 * 22 + 1, 1000}, out));
  ASSERT_EQ(out.frames.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out.frames[i], pattern(20 + i, 20));
}

TYPED_TEST(FramingTest, EofMidHeaderMidBodyAndOnABoundary) {
  Bytes s;
  append_uint(s, 6, 4, Endian::big);
  append(s, pattern(30, 6));
  for (const std::size_t cut :
       {std::size_t{0}, std::size_t{2}, std::size_t{4}, std::size_t{7}, s.size()}) {
    auto dec = make_lf({});
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, Bytes(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(cut)),
                                {1}, out));
    EXPECT_EQ(out.eof, cut == 0 || cut == s.size() ? Errc::ok : Errc::truncated) << cut;
  }
}

// ---- discard policy -----------------------------------------------------------------------

TYPED_TEST(FramingTest, DiscardSpanningReadsIsReportedOnceThenTheStreamGoesOn) {
  for (const bool fail_fast : {true, false}) {
    SCOPED_TRACE(fail_fast);
    Bytes s;
    append_uint(s, 296, 4, Endian::big);  // 300 bytes, max_frame 100
    append(s, pattern(40, 296));
    append_uint(s, 5, 4, Endian::big);
    append(s, pattern(41, 5));
    auto dec =
        make_lf({.max_frame = 100, .too_long = TooLongPolicy::discard, .fail_fast = fail_fast});
    Outcome out;
    // Reads of 100 bytes: the discard spans 3 reads and ends on a read boundary.
    ASSERT_TRUE(feed<TypeParam>(dec, s, {100}, out));
    ASSERT_EQ(out.reports.size(), 1U);
    EXPECT_EQ(out.reports[0].first, Errc::frame_too_long);
    EXPECT_EQ(out.reports[0].second, 300U);
    ASSERT_EQ(out.frames.size(), 1U);
    EXPECT_EQ(out.frames[0], pattern(41, 5));
    EXPECT_EQ(out.error, Errc::ok);
    EXPECT_EQ(out.eof, Errc::ok);
  }
}

TYPED_TEST(FramingTest, DiscardReportTimingFollowsFailFast) {
  for (const bool fail_fast : {true, false}) {
    Bytes s;
    append_uint(s, 196, 4, Endian::big);
    append(s, pattern(42, 196));
    auto dec =
        make_lf({.max_frame = 100, .too_long = TooLongPolicy::discard, .fail_fast = fail_fast});
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, Bytes(s.begin(), s.begin() + 50), {50}, out, 0, 0, false));
    EXPECT_EQ(out.reports.size(), fail_fast ? 1U : 0U);
    EXPECT_EQ(dec.on_eof(ringkit::ConstSegments{}), Errc::truncated) << "inside the discard";
  }
}

// ---- limits at run time ---------------------------------------------------------------------

TYPED_TEST(FramingTest, LimitChangesApplyFromTheNextFrame) {
  auto dec = make_lf({.max_frame = 100});
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam,
                            std::max<std::size_t>(TypeParam::min_capacity(), 4096));
  const auto put = [&](std::size_t body, std::size_t n) {
    Bytes s;
    append_uint(s, body, 4, Endian::big);
    append(s, pattern(body, body));
    return ring.writer.write(std::span<const std::byte>(s.data(), std::min(n, s.size())));
  };
  // During a frame: the header of a 90-byte frame is accepted, then max_frame drops to 50.
  ASSERT_EQ(put(86, 40), 40U);
  EXPECT_EQ(dec.next(ring.reader.readable_segments()).status, FrameStatus::need_more);
  ASSERT_EQ(dec.set_max_frame(50), Errc::ok);
  Bytes rest = pattern(86, 86);
  ASSERT_EQ(ring.writer.write(std::span<const std::byte>(rest.data() + 36, 50)), 50U);
  Decoded d = dec.next(ring.reader.readable_segments());
  ASSERT_TRUE(d) << "the frame in progress completes under its old limit";
  EXPECT_EQ(d.length, 86U);
  ASSERT_EQ(ring.reader.consume(d.consume), Errc::ok);
  // Between frames: the next 90-byte frame is too long now.
  ASSERT_EQ(put(86, 1000), 90U);
  d = dec.next(ring.reader.readable_segments());
  EXPECT_EQ(d.status, FrameStatus::error);
  EXPECT_EQ(d.errc, Errc::frame_too_long);
  // max_buffered: raised between frames, latched per frame.
  auto dec2 = make_lf({.max_buffered = 10});
  ASSERT_EQ(dec2.set_max_buffered(1000), Errc::ok);
  EXPECT_EQ(dec2.max_buffered(), 1000U);
  EXPECT_EQ(dec2.set_max_buffered(0), Errc::invalid_argument);
}

TYPED_TEST(FramingTest, DelimiterLimitChangesApplyFromTheNextFrame) {
  auto dec = make_dd(dopt({"\n"}, [](DelimiterOptions& o) { o.max_frame = 10; }));
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam,
                            std::max<std::size_t>(TypeParam::min_capacity(), 4096));
  const auto put = [&](std::string_view s) { return ring.writer.write(s.data(), s.size()); };
  ASSERT_EQ(put("abcdefgh"), 8U);  // a frame in progress
  EXPECT_EQ(dec.next(ring.reader.readable_segments()).status, FrameStatus::need_more);
  ASSERT_EQ(dec.set_max_frame(4), Errc::ok);
  ASSERT_EQ(put("ij\n"), 3U);
  Decoded d = dec.next(ring.reader.readable_segments());
  ASSERT_TRUE(d) << "the frame in progress keeps its limit";
  EXPECT_EQ(d.length, 10U);
  ASSERT_EQ(ring.reader.consume(d.consume), Errc::ok);
  ASSERT_EQ(put("abcde\n"), 6U);
  d = dec.next(ring.reader.readable_segments());
  EXPECT_EQ(d.status, FrameStatus::error);
  EXPECT_EQ(d.errc, Errc::delimiter_not_found);
  EXPECT_EQ(dec.set_max_frame(0), Errc::invalid_argument);
  dec.reset();
  EXPECT_EQ(dec.error(), Errc::ok);
}

TEST(Framing, CreateRejectsInvalidOptions) {
  EXPECT_FALSE(
      LengthFieldDecoder::create({.length_width = LengthWidth::leb128_u32, .length_signed = true}));
  EXPECT_FALSE(LengthFieldDecoder::create({.max_frame = 0}));
  EXPECT_FALSE(LengthFieldDecoder::create({.max_buffered = 0}));
  EXPECT_FALSE(LengthFieldDecoder::create({.length_width = static_cast<LengthWidth>(5)}));
  auto bad = LengthFieldDecoder::create({.max_frame = 0});
  EXPECT_EQ(bad.error(), Errc::invalid_argument);
  EXPECT_NE(std::string(bad.context()).find("max_frame"), std::string::npos);
  EXPECT_FALSE(DelimiterDecoder::create(dopt({})));
  EXPECT_FALSE(DelimiterDecoder::create(dopt({""})));
  EXPECT_FALSE(DelimiterDecoder::create(dopt({std::string(33, 'x')})));
  EXPECT_FALSE(DelimiterDecoder::create(dopt({"a", "b", "c", "d", "e", "f", "g", "h", "i"})));
  EXPECT_FALSE(
      DelimiterDecoder::create(dopt({"\n"}, [](DelimiterOptions& o) { o.max_frame = 0; })));
  EXPECT_TRUE(ringkit::is_retryable(Errc::store_exhausted));
}

// ---- varints --------------------------------------------------------------------------------

struct VarCase {
  LengthWidth width;
  Bytes field;
  VarintMode mode;
  Errc want;  // ok: a frame whose body has `value` bytes
  std::uint64_t value;
};

TYPED_TEST(FramingTest, VarintEdgeCases) {
  const std::vector<VarCase> cases = {
      // 10-byte u64::MAX is valid (and too long for max_frame).
      {LengthWidth::leb128_u64, raw({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
       VarintMode::strict, Errc::length_overflow, 0},
      {LengthWidth::leb128_u64, raw({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}),
       VarintMode::strict, Errc::varint_overflow, 0},
      {LengthWidth::leb128_u64, raw({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F}),
       VarintMode::strict, Errc::varint_overflow, 0},
      {LengthWidth::leb128_u64,
       raw({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), VarintMode::lenient,
       Errc::varint_too_long, 0},
      {LengthWidth::leb128_u32, raw({0xFF, 0xFF, 0xFF, 0xFF, 0x10}), VarintMode::strict,
       Errc::varint_overflow, 0},
      {LengthWidth::leb128_u32, raw({0xFF, 0xFF, 0xFF, 0xFF, 0x8F}), VarintMode::strict,
       Errc::varint_too_long, 0},
      {LengthWidth::leb128_u32, raw({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}), VarintMode::strict,
       Errc::frame_too_long, 0},
      {LengthWidth::mqtt, raw({0xFF, 0xFF, 0xFF, 0xFF, 0x01}), VarintMode::strict,
       Errc::varint_too_long, 0},
      {LengthWidth::mqtt, raw({0xFF, 0xFF, 0xFF, 0x7F}), VarintMode::strict, Errc::frame_too_long,
       0},
      {LengthWidth::leb128_u32, raw({0x80, 0x00}), VarintMode::strict, Errc::varint_non_minimal, 0},
      {LengthWidth::leb128_u32, raw({0x80, 0x00}), VarintMode::lenient, Errc::ok, 0},
      {LengthWidth::leb128_u64, raw({0x85, 0x00}), VarintMode::lenient, Errc::ok, 5},
      {LengthWidth::mqtt, raw({0x83, 0x80, 0x00}), VarintMode::strict, Errc::varint_non_minimal, 0},
      {LengthWidth::leb128_u32, raw({0x83, 0x01}), VarintMode::strict, Errc::ok, 131},
      {LengthWidth::quic, raw({0x25}), VarintMode::strict, Errc::ok, 37},
      {LengthWidth::quic, raw({0x40, 0x25}), VarintMode::strict, Errc::varint_non_minimal, 0},
      {LengthWidth::quic, raw({0x40, 0x25}), VarintMode::lenient, Errc::ok, 37},
      {LengthWidth::quic, raw({0x7B, 0xBD}), VarintMode::strict, Errc::frame_too_long, 0},
      {LengthWidth::quic, raw({0xC0, 0, 0, 0, 0, 0, 0, 0x03}), VarintMode::lenient, Errc::ok, 3},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const VarCase& c = cases[i];
    for (const auto& chunks : kChunkings) {
      SCOPED_TRACE(::testing::Message() << "case " << i << " chunk " << chunks[0]);
      Bytes s = c.field;
      append(s, pattern(50, c.value));
      auto dec = make_lf({.length_width = c.width, .max_frame = 10000, .varint = c.mode});
      Outcome out;
      ASSERT_TRUE(feed<TypeParam>(dec, s, chunks, out));
      if (c.want == Errc::ok) {
        ASSERT_EQ(out.frames.size(), 1U);
        EXPECT_EQ(out.frames[0], pattern(50, c.value));
        EXPECT_EQ(out.eof, Errc::ok);
      } else {
        EXPECT_EQ(out.error, c.want);
      }
    }
  }
  // Truncated varints: end of stream inside the length field.
  for (const LengthWidth w :
       {LengthWidth::leb128_u32, LengthWidth::leb128_u64, LengthWidth::mqtt, LengthWidth::quic}) {
    auto dec = make_lf({.length_width = w});
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, raw({0xC1, 0x82}), {1}, out));
    EXPECT_EQ(out.error, Errc::ok);
    EXPECT_EQ(out.eof, Errc::truncated);
  }
}

// ---- delimiters -----------------------------------------------------------------------------

std::vector<std::string> strings(const std::vector<Bytes>& frames) {
  std::vector<std::string> v;
  v.reserve(frames.size());
  for (const Bytes& f : frames) v.emplace_back(reinterpret_cast<const char*>(f.data()), f.size());
  return v;
}
using Strings = std::vector<std::string>;

TYPED_TEST(FramingTest, LinesWithCrLfSplitAndEmptyFrames) {
  for (const auto& chunks : kChunkings) {
    auto dec = make_dd(DelimiterOptions::line_mode());
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, bytes_of("a\r\n\nbc\n\r\nlast\r\n"), chunks, out));
    EXPECT_EQ(strings(out.frames), (Strings{"a", "", "bc", "", "last"}));
    EXPECT_EQ(out.eof, Errc::ok);
  }
  // '\r' | '\n' split over two reads.
  auto dec = make_dd(DelimiterOptions::line_mode());
  Outcome out;
  ASSERT_TRUE(feed<TypeParam>(dec, bytes_of("hello\r\nx\n"), {6, 1, 2}, out));
  EXPECT_EQ(strings(out.frames), (Strings{"hello", "x"}));
}

TYPED_TEST(FramingTest, BareCarriageReturnIsRejectedUnlessAllowed) {
  for (const std::string_view s : {"ab\rc\n", "ab\r\r\n", "\rx", "ok\nab\rc"}) {
    SCOPED_TRACE(s);
    auto strict = make_dd(DelimiterOptions::line_mode());
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(strict, bytes_of(s), {1}, out));
    EXPECT_EQ(out.error, Errc::bare_carriage_return);
  }
  DelimiterOptions o = DelimiterOptions::line_mode();
  o.allow_bare_cr = true;
  auto lenient = make_dd(o);
  Outcome out;
  ASSERT_TRUE(feed<TypeParam>(lenient, bytes_of("ab\rc\nab\r\r\n"), {1}, out));
  EXPECT_EQ(strings(out.frames), (Strings{"ab\rc", "ab\r"}));
  // A trailing '\r' at the end of the view is undecided, not an error.
  auto strict = make_dd(DelimiterOptions::line_mode());
  Outcome out2;
  ASSERT_TRUE(feed<TypeParam>(strict, bytes_of("ab\r"), {1}, out2));
  EXPECT_EQ(out2.error, Errc::ok);
  EXPECT_EQ(out2.eof, Errc::truncated);
}

TYPED_TEST(FramingTest, ShortestFrameWinsAndSelfOverlappingDelimiters) {
  for (const auto& chunks : kChunkings) {
    SCOPED_TRACE(chunks[0]);
    // Longer delimiter first in the list, but the shorter frame wins.
    auto dec = make_dd(dopt({"\r\n\r\n", "|"}));
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, bytes_of("ab|cd\r\n\r\nef|"), chunks, out));
    EXPECT_EQ(strings(out.frames), (Strings{"ab", "cd", "ef"}));
    // At equal positions the longest delimiter matches ("\r\n" over "\r").
    auto dec2 = make_dd(dopt({"\r", "\r\n"}));
    Outcome out2;
    ASSERT_TRUE(feed<TypeParam>(dec2, bytes_of("a\r\nb\rc\r\n"), chunks, out2));
    EXPECT_EQ(strings(out2.frames), (Strings{"a", "b", "c"}));
    // Self-overlapping: "aab" inside "aaab" starts at 1.
    auto dec3 = make_dd(dopt({"aab"}, [](DelimiterOptions& o) { o.strip_delimiter = false; }));
    Outcome out3;
    ASSERT_TRUE(feed<TypeParam>(dec3, bytes_of("xaaabyaab"), chunks, out3));
    EXPECT_EQ(strings(out3.frames), (Strings{"xaaab", "yaab"}));
  }
}

TYPED_TEST(FramingTest, DelimiterAcrossTheWrap) {
  const std::size_t cap = std::max<std::size_t>(TypeParam::min_capacity(), 4096);
  for (std::size_t back = 1; back <= 12; ++back) {
    auto dec = make_dd(dopt({"<END>"}));
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, bytes_of("abc<END>de<END>"), {100}, out, cap, cap * 7 - back));
    EXPECT_EQ(strings(out.frames), (Strings{"abc", "de"})) << back;
    auto lines = make_dd(DelimiterOptions::line_mode());
    Outcome out2;
    ASSERT_TRUE(
        feed<TypeParam>(lines, bytes_of("abc\r\nde\r\n"), {100}, out2, cap, cap * 7 - back));
    EXPECT_EQ(strings(out2.frames), (Strings{"abc", "de"})) << back;
  }
}

TYPED_TEST(FramingTest, NoDelimiterWithinMaxThenResync) {
  for (const bool fail_fast : {true, false}) {
    for (const auto& chunks : kChunkings) {
      SCOPED_TRACE(::testing::Message() << fail_fast << " " << chunks[0]);
      std::string s(50, 'x');
      s += "\nok\n";
      auto dec = make_dd(dopt({"\n"}, [&](DelimiterOptions& o) {
        o.max_frame = 10;
        o.too_long = TooLongPolicy::discard;
        o.fail_fast = fail_fast;
      }));
      Outcome out;
      ASSERT_TRUE(feed<TypeParam>(dec, bytes_of(s), chunks, out));
      ASSERT_EQ(out.reports.size(), 1U);
      EXPECT_EQ(out.reports[0].first, Errc::delimiter_not_found);
      EXPECT_EQ(strings(out.frames), (Strings{"ok"}));
      EXPECT_EQ(out.eof, Errc::ok);
    }
  }
  // Exactly max_frame is fine; one more fails (sticky) under the default policy.
  auto dec = make_dd(dopt({"\n"}, [](DelimiterOptions& o) { o.max_frame = 4; }));
  Outcome out;
  ASSERT_TRUE(feed<TypeParam>(dec, bytes_of("abcd\nabcde\n"), {1}, out));
  EXPECT_EQ(strings(out.frames), (Strings{"abcd"}));
  EXPECT_EQ(out.error, Errc::delimiter_not_found);
  auto crlf = make_dd([] {
    auto o = DelimiterOptions::line_mode();
    o.max_frame = 4;
    return o;
  }());
  Outcome out2;
  ASSERT_TRUE(feed<TypeParam>(crlf, bytes_of("abcd\r\nabcde\r\n"), {1}, out2));
  EXPECT_EQ(strings(out2.frames), (Strings{"abcd"}));
  EXPECT_EQ(out2.error, Errc::delimiter_not_found);
}

TYPED_TEST(FramingTest, LongLineInPiecesIsScannedOnceAndMaxBufferedFires) {
  auto dec = make_dd(dopt({"\n"}, [](DelimiterOptions& o) {
    o.max_frame = 1U << 20U;
    o.max_buffered = 3000;
  }));
  Outcome out;
  ASSERT_TRUE(feed<TypeParam>(dec, Bytes(5000, std::byte{'y'}), {7}, out));
  EXPECT_EQ(out.error, Errc::buffered_limit);
  EXPECT_GT(out.bytes_fed_at_error, 3000U);
  EXPECT_LE(out.bytes_fed_at_error, 3007U);
  // A line that ends: one frame, whatever the chunking.
  Bytes line(3000, std::byte{'z'});
  line.push_back(std::byte{'\n'});
  auto dec2 = make_dd(dopt({"\n"}));
  Outcome out2;
  ASSERT_TRUE(feed<TypeParam>(dec2, line, {1}, out2));
  ASSERT_EQ(out2.frames.size(), 1U);
  EXPECT_EQ(out2.frames[0].size(), 3000U);
}

// ---- store exhaustion ----------------------------------------------------------------------

TYPED_TEST(FramingTest, StoreExhaustionIsBackpressureAndRetrySucceedsInOrder) {
  ringkit::MessageStoreOptions so;
  so.pools = ringkit::PoolConfig::custom(2, 1, 1, 1, 1);
  so.pools.xxl_enabled = false;
  so.ring_bytes = 0;
  auto store = ringkit::MessageStore::create(so);
  ASSERT_TRUE(store) << store.message();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, std::max<std::size_t>(TypeParam::min_capacity(), 4096),
                            4096 * 3 - 5);
  const LengthPrepender enc = *LengthPrepender::create({.length_width = LengthWidth::u16});
  auto dec = make_lf({.length_width = LengthWidth::u16});
  for (std::size_t i = 0; i < 20; ++i) {
    const Bytes b = pattern(60 + i, 10);
    ASSERT_EQ(enc.write(ring.writer, b), Errc::ok);
  }
  std::vector<ringkit::MessageRef> held;
  std::size_t next = 0;
  const auto on = [&](ringkit::MessageRef m) {
    EXPECT_EQ(Bytes(m.data(), m.data() + m.size()), pattern(60 + next, 10)) << next;
    ++next;
    held.push_back(std::move(m));
  };
  ringkit::DecodeRun run = ringkit::decode_into(ring.reader, dec, *store, on);
  EXPECT_EQ(run.errc, Errc::store_exhausted);
  EXPECT_EQ(run.status, FrameStatus::frame);
  ASSERT_GT(run.frames, 0U);
  ASSERT_LT(run.frames, 20U);
  const std::size_t before = ring.reader.size_hint();
  run = ringkit::decode_into(ring.reader, dec, *store, on);
  EXPECT_EQ(run.errc, Errc::store_exhausted);
  EXPECT_EQ(run.frames, 0U);
  EXPECT_EQ(ring.reader.size_hint(), before) << "nothing consumed while exhausted";
  while (next < 20) {
    held.clear();  // release
    run = ringkit::decode_into(ring.reader, dec, *store, on);
    ASSERT_GT(run.frames, 0U);
  }
  EXPECT_EQ(run.status, FrameStatus::need_more);
}

// ---- properties ---------------------------------------------------------------------------

/// A stream of up to `count` frames of pseudo-random sizes encoded by `enc` (sizes the options
/// cannot encode are left out); `payloads` gets what the decoder must hand out.
Bytes encode_stream(const LengthPrepender& enc, std::size_t count, std::uint64_t seed,
                    std::vector<Bytes>& payloads, std::size_t max_body) {
  auto ring = ringkit::make_byte_ring(1U << 16U);
  EXPECT_TRUE(ring);
  auto& w = ring->writer;
  auto& r = ring->reader;
  const LengthFieldOptions& o = enc.options();
  Bytes stream;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t body_size = ringkit_test::mix64(seed + i) % (max_body + 1);
    const Bytes body = pattern(seed * 1000 + i, body_size);
    const Bytes prefix = pattern(seed * 7 + i, o.length_offset);
    const std::span<const std::byte> part(body);
    const Errc e = enc.write(w, prefix, std::span<const std::span<const std::byte>>(&part, 1));
    if (e != Errc::ok) {
      EXPECT_TRUE(e == Errc::length_below_header || e == Errc::strip_exceeds_frame ||
                  e == Errc::frame_too_long || e == Errc::length_overflow)
          << ringkit::describe(e);
      continue;
    }
    Bytes frame(r.size_hint());
    EXPECT_EQ(r.read(frame), frame.size());
    const std::size_t header = frame.size() - body.size();
    const std::size_t strip = o.strip_prefix == ringkit::kStripHeader ? header : o.strip_prefix;
    payloads.emplace_back(frame.begin() + static_cast<std::ptrdiff_t>(strip), frame.end());
    append(stream, frame);
  }
  return stream;
}

/// Every option the length codec has, in combinations.
std::vector<LengthFieldOptions> all_length_options() {
  std::vector<LengthFieldOptions> v;
  const LengthWidth widths[] = {LengthWidth::u8,         LengthWidth::u16,  LengthWidth::u24,
                                LengthWidth::u32,        LengthWidth::u64,  LengthWidth::leb128_u32,
                                LengthWidth::leb128_u64, LengthWidth::quic, LengthWidth::mqtt};
  for (const LengthWidth w : widths) {
    const bool fixed = static_cast<unsigned>(w) <= 8;
    for (const Endian e : kEndians) {
      if (!fixed && e == Endian::little) continue;
      for (const bool includes : {false, true}) {
        for (const std::int64_t adj : {0, 3, -2}) {
          for (const std::size_t offset : {0, 2}) {
            for (const std::size_t strip :
                 {ringkit::kStripHeader, std::size_t{0}, std::size_t{1}}) {
              LengthFieldOptions o;
              o.length_width = w;
              o.endian = e;
              o.length_signed = fixed && adj == 3;
              o.length_includes_header = includes;
              o.length_adjustment = adj;
              o.length_offset = offset;
              o.strip_prefix = strip;
              o.max_frame = 5000;
              v.push_back(o);
            }
          }
        }
      }
    }
  }
  return v;
}

TYPED_TEST(FramingTest, EncoderDecoderRoundTripForEveryOption) {
  const auto opts = all_length_options();
  std::size_t checked = 0;
  for (std::size_t k = 0; k < opts.size(); ++k) {
    const LengthFieldOptions& o = opts[k];
    SCOPED_TRACE(::testing::Message()
                 << "option set " << k << " width " << static_cast<int>(o.length_width));
    const LengthPrepender enc = *LengthPrepender::create(o);
    std::vector<Bytes> payloads;
    const std::size_t max_body = o.length_width == LengthWidth::u8 ? 200 : 400;
    const Bytes s = encode_stream(enc, 12, k + 1, payloads, max_body);
    auto dec = make_lf(o);
    Outcome out;
    ASSERT_TRUE(feed<TypeParam>(dec, s, {k % 2 == 0 ? std::size_t{97} : std::size_t{1000000}}, out,
                                0, 4096 - (k % 13)));
    EXPECT_EQ(out.error, Errc::ok) << ringkit::describe(out.error);
    EXPECT_EQ(out.frames, payloads);
    EXPECT_EQ(out.eof, Errc::ok);
    checked += payloads.size();
  }
  EXPECT_GT(checked, opts.size() * 6);
  // Delimiters: writer output decodes to the bodies; bodies the decoder would split are refused.
  for (const DelimiterOptions& o : {dopt({"\n"}), DelimiterOptions::line_mode(),
                                    dopt({"\r\n\r\n", std::string(1, '\0')},
                                         [](DelimiterOptions& x) { x.strip_delimiter = false; })}) {
    const DelimiterWriter dw = *DelimiterWriter::create(o);
    auto dec = make_dd(o);
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam,
                              std::max<std::size_t>(TypeParam::min_capacity(), 4096));
    Strings want;
    for (const std::string_view b : {"abc", "", "x y z", "tail"}) {
      ASSERT_EQ(dw.write(ring.writer, bytes_of(b)), Errc::ok) << b;
      want.emplace_back(b);
      if (!o.strip_delimiter) want.back() += o.delimiters.front();
    }
    EXPECT_EQ(dw.write(ring.writer, bytes_of("bad\nline")),
              o.lines || o.delimiters[0] == "\n" ? Errc::invalid_argument : Errc::ok);
    if (!o.lines && o.delimiters[0] != "\n") {
      want.emplace_back(std::string("bad\nline") + (o.strip_delimiter ? "" : o.delimiters.front()));
    }
    if (o.lines) {
      EXPECT_EQ(dw.write(ring.writer, bytes_of("cr\r")), Errc::invalid_argument);
    }
    Strings got;
    const auto run = ringkit::for_each_frame(ring.reader, dec, [&](ringkit::ConstSegments f) {
      std::string g;
      for (const auto p : f) g.append(reinterpret_cast<const char*>(p.data()), p.size());
      got.push_back(g);
    });
    EXPECT_EQ(run.status, FrameStatus::need_more);
    EXPECT_EQ(got, want);
  }
}

TYPED_TEST(FramingTest, ChunkingInvariance) {
  const auto opts = all_length_options();
  for (std::uint64_t seed = 0; seed < 24; ++seed) {
    const LengthFieldOptions& o = opts[(seed * 37) % opts.size()];
    const LengthPrepender enc = *LengthPrepender::create(o);
    std::vector<Bytes> payloads;
    const Bytes s = encode_stream(enc, 30, seed + 100, payloads, 150);
    Outcome whole;
    auto dec0 = make_lf(o);
    ASSERT_TRUE(feed<TypeParam>(dec0, s, {1000000}, whole));
    EXPECT_EQ(whole.frames, payloads);
    // Random splits, each a different chunking of the same stream.
    for (std::uint64_t split = 0; split < 4; ++split) {
      std::vector<std::size_t> chunks;
      for (std::size_t i = 0; i < 64; ++i) {
        chunks.push_back(1 + ringkit_test::mix64(seed * 131 + split * 17 + i) % (split * 40 + 3));
      }
      auto dec = make_lf(o);
      Outcome out;
      ASSERT_TRUE(feed<TypeParam>(dec, s, chunks, out, 0, std::uint64_t{4096} * 5 - split * 3));
      EXPECT_EQ(out.frames, whole.frames) << seed << "/" << split;
      EXPECT_EQ(out.eof, Errc::ok);
    }
    // Delimited streams, same property.
    std::string text;
    for (std::size_t i = 0; i < 40; ++i) {
      text += std::string(ringkit_test::mix64(seed + i) % 20, static_cast<char>('a' + i % 26));
      text += (i % 3 == 0) ? "\r\n" : "\n";
    }
    Outcome lines_whole;
    auto l0 = make_dd(DelimiterOptions::line_mode());
    ASSERT_TRUE(feed<TypeParam>(l0, bytes_of(text), {1000000}, lines_whole));
    EXPECT_EQ(lines_whole.frames.size(), 40U);
    for (const std::size_t c : {1, 2, 5, 33}) {
      auto l = make_dd(DelimiterOptions::line_mode());
      Outcome out;
      ASSERT_TRUE(
          feed<TypeParam>(l, bytes_of(text), {c, c + 1}, out, 0, std::uint64_t{4096} * 3 - c));
      EXPECT_EQ(out.frames, lines_whole.frames);
    }
  }
}

TEST(Framing, DecodedViewsAndEncodedLengths) {
  std::array<std::byte, ringkit::kMaxLengthField> field{};
  const LengthPrepender u8 = *LengthPrepender::create({.length_width = LengthWidth::u8});
  EXPECT_EQ(*u8.encode_length(255, field), 1U);
  EXPECT_EQ(u8.encode_length(256, field).error(), Errc::length_overflow);
  const LengthPrepender neg = *LengthPrepender::create({.length_adjustment = 4});
  EXPECT_EQ(neg.encode_length(3, field).error(), Errc::length_below_header);
  const LengthPrepender s16 =
      *LengthPrepender::create({.length_width = LengthWidth::u16, .length_signed = true});
  EXPECT_EQ(s16.encode_length(32768, field).error(), Errc::length_overflow);
  const LengthPrepender quic =
      *LengthPrepender::create({.length_width = LengthWidth::quic, .length_includes_header = true});
  EXPECT_EQ(*quic.encode_length(62, field), 1U);  // 62 + 1 = 63: one byte
  EXPECT_EQ(*quic.encode_length(63, field), 2U);  // 63 + 2 = 65: two bytes
  EXPECT_EQ(field[0], std::byte{0x40});
  EXPECT_EQ(field[1], std::byte{65});
  // frame_view over two segments.
  const Bytes a = bytes_of("0123"), b = bytes_of("4567");
  const ringkit::ConstSegments v(a, b);
  const Decoded d{FrameStatus::frame, Errc::ok, 2, 4, 6, 6};
  const ringkit::ConstSegments f = ringkit::frame_view(v, d);
  ASSERT_EQ(f.count(), 2U);
  EXPECT_EQ(f.first().size(), 2U);
  EXPECT_EQ(f.second().size(), 2U);
  EXPECT_EQ(ringkit::frame_view(v, Decoded{FrameStatus::frame, Errc::ok, 5, 2, 7, 7}).count(), 1U);
}

}  // namespace
