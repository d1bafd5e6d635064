// Differential fuzzer for the frame decoders: options are drawn from the input, the rest of the
// input is the stream, fed in pseudo-random chunks through a real byte ring (placed so its
// counters and the data wrap), and every next() result of the real decoder is compared with a
// small reference decoder below that re-parses its whole buffer from scratch on every call
// (no resume points, no cached header, no fast path, 128-bit arithmetic). Any difference in
// status, error, bytes to consume or payload bytes is __builtin_trap().
//
// Input layout:
//   byte 0        bit 0: length field (0) or delimiters (1); bits 1-2: ring kind; bits 3-5:
//                 ring capacity 2^(6 + x) (mirrored: one page); bits 6-7: start near the wrap
//   byte 1        seed of the chunk sizes
//   bytes 2..     options (see read_length_options / read_delimiter_options)
//   then          the stream
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <ringkit/byte_ring.hpp>
#include <ringkit/framing.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/mirror_ring.hpp>

#include "support/fuzz_input.hpp"
#include "support/pattern.hpp"

namespace {

using ringkit::Decoded;
using ringkit::DelimiterOptions;
using ringkit::Errc;
using ringkit::FrameStatus;
using ringkit::LengthFieldOptions;
using ringkit::LengthWidth;
using ringkit::TooLongPolicy;
using Bytes = std::vector<std::uint8_t>;
__extension__ using I128 = __int128;  // the reference's arithmetic cannot overflow

constexpr I128 kU64Max = std::numeric_limits<std::uint64_t>::max();

/// What the reference decided for one call (payload as bytes).
struct Ref {
  FrameStatus status = FrameStatus::need_more;
  Errc errc = Errc::ok;
  std::size_t consume = 0;
  std::size_t offset = 0;
  std::size_t length = 0;
};

// ---- reference length-field decoder ---------------------------------------------------------

class RefLength {
 public:
  explicit RefLength(const LengthFieldOptions& o) : o_(o) {}

  Ref next(const Bytes& buf) {
    if (error_ != Errc::ok) return {FrameStatus::error, error_};
    const std::size_t n = buf.size();
    if (discarding_) return discard(n);
    // The length field.
    const std::size_t off = o_.length_offset;
    I128 value = 0;
    std::size_t field = 0;
    const auto at = [&](std::size_t i) { return buf[off + i]; };
    const std::size_t avail = n > off ? n - off : 0;
    const auto w = static_cast<unsigned>(o_.length_width);
    if (w <= 8) {
      if (avail < w) return need_more(n);
      for (std::size_t i = 0; i < w; ++i) {
        const std::size_t k = o_.endian == ringkit::Endian::big ? i : w - 1 - i;
        value = value * 256 + at(k);
      }
      if (o_.length_signed && (at(o_.endian == ringkit::Endian::big ? 0 : w - 1) & 0x80U) != 0) {
        return fail(Errc::negative_length);
      }
      field = w;
    } else if (o_.length_width == LengthWidth::quic) {
      if (avail < 1) return need_more(n);
      field = std::size_t{1} << (at(0) >> 6U);
      if (avail < field) return need_more(n);
      value = at(0) & 0x3FU;
      for (std::size_t i = 1; i < field; ++i) value = value * 256 + at(i);
      const std::size_t minimal = value < 64                ? 1
                                  : value < 16384           ? 2
                                  : value < (I128{1} << 30) ? 4
                                                            : 8;
      if (strict() && minimal < field) return fail(Errc::varint_non_minimal);
    } else {
      const std::size_t max = o_.length_width == LengthWidth::leb128_u32   ? 5
                              : o_.length_width == LengthWidth::leb128_u64 ? 10
                                                                           : 4;
      const I128 type_max = o_.length_width == LengthWidth::leb128_u32   ? I128{0xFFFFFFFF}
                            : o_.length_width == LengthWidth::leb128_u64 ? kU64Max
                                                                         : I128{268435455};
      std::size_t len = 0;  // bytes up to and including the one without the high bit
      for (std::size_t i = 0; i < max && i < avail; ++i) {
        if ((at(i) & 0x80U) == 0) {
          len = i + 1;
          break;
        }
      }
      if (len == 0) {
        if (avail < max) return need_more(n);
        return fail(Errc::varint_too_long);
      }
      for (std::size_t i = len; i-- > 0;) value = value * 128 + (at(i) & 0x7FU);
      if (value > type_max) return fail(Errc::varint_overflow);
      if (strict() && len > 1 && at(len - 1) == 0) return fail(Errc::varint_non_minimal);
      field = len;
    }
    const std::size_t header = off + field;
    const I128 total =
        value + (o_.length_includes_header ? 0 : static_cast<I128>(header)) + o_.length_adjustment;
    if (total > kU64Max) return fail(Errc::length_overflow);
    if (total < static_cast<I128>(header)) return fail(Errc::length_below_header);
    if (total > static_cast<I128>(o_.max_frame)) {
      if (o_.too_long == TooLongPolicy::fail) return fail(Errc::frame_too_long);
      discarding_ = true;
      left_ = static_cast<std::uint64_t>(total);
      report_at_end_ = !o_.fail_fast;
      Ref r = discard(n);
      if (o_.fail_fast) {
        r.status = FrameStatus::skipped;
        r.errc = Errc::frame_too_long;
      }
      return r;
    }
    const std::size_t strip = o_.strip_prefix == ringkit::kStripHeader ? header : o_.strip_prefix;
    if (static_cast<I128>(strip) > total) return fail(Errc::strip_exceeds_frame);
    const auto t = static_cast<std::size_t>(total);
    if (n >= t) return {FrameStatus::frame, Errc::ok, t, strip, t - strip};
    return need_more(n);
  }

  [[nodiscard]] Errc on_eof(const Bytes& buf) const {
    if (error_ != Errc::ok) return error_;
    return buf.empty() && !discarding_ ? Errc::ok : Errc::truncated;
  }

 private:
  [[nodiscard]] bool strict() const { return o_.varint == ringkit::VarintMode::strict; }
  Ref fail(Errc e) {
    error_ = e;
    return {FrameStatus::error, e};
  }
  Ref need_more(std::size_t n) {
    if (n > o_.max_buffered) return fail(Errc::buffered_limit);
    return {};
  }
  Ref discard(std::size_t n) {
    const std::size_t k = left_ < n ? static_cast<std::size_t>(left_) : n;
    left_ -= k;
    Errc e = Errc::ok;
    if (left_ == 0) {
      discarding_ = false;
      if (report_at_end_) e = Errc::frame_too_long;
      report_at_end_ = false;
    }
    if (k == 0 && e == Errc::ok) return {};
    return {FrameStatus::skipped, e, k};
  }

  LengthFieldOptions o_;
  Errc error_ = Errc::ok;
  bool discarding_ = false;
  bool report_at_end_ = false;
  std::uint64_t left_ = 0;
};

// ---- reference delimiter decoder --------------------------------------------------------------

class RefDelim {
 public:
  explicit RefDelim(const DelimiterOptions& o) : o_(o) {
    delims_ = o.lines ? std::vector<std::string>{"\n", "\r\n"} : o.delimiters;
  }

  Ref next(const Bytes& buf) {
    if (error_ != Errc::ok) return {FrameStatus::error, error_};
    const std::size_t n = buf.size();
    const bool strict_lines = o_.lines && !o_.allow_bare_cr;
    for (std::size_t q = 0; q < n; ++q) {
      if (!discarding_ && q > o_.max_frame) return too_long(buf);
      std::size_t full = 0;
      bool partial = false;
      for (const std::string& d : delims_) {
        const std::size_t have = n - q < d.size() ? n - q : d.size();
        if (std::memcmp(buf.data() + q, d.data(), have) != 0) continue;
        if (have < d.size()) {
          partial = true;
        } else if (d.size() > full) {
          full = d.size();
        }
      }
      if (partial) {  // a delimiter may still complete here
        if (discarding_) return dropped(q);
        return need_more(n);
      }
      if (full != 0) {
        if (discarding_) {
          discarding_ = false;
          const bool report = !reported_;
          reported_ = false;
          return {FrameStatus::skipped, report ? Errc::delimiter_not_found : Errc::ok, q + full};
        }
        return {FrameStatus::frame, Errc::ok, q + full, 0, o_.strip_delimiter ? q : q + full};
      }
      if (strict_lines && !discarding_ && buf[q] == '\r') return fail(Errc::bare_carriage_return);
    }
    if (discarding_) return dropped(n);
    if (n > o_.max_frame) return too_long(buf);
    return need_more(n);
  }

  [[nodiscard]] Errc on_eof(const Bytes& buf) const {
    if (error_ != Errc::ok) return error_;
    return buf.empty() && !discarding_ ? Errc::ok : Errc::truncated;
  }

 private:
  Ref fail(Errc e) {
    error_ = e;
    return {FrameStatus::error, e};
  }
  Ref need_more(std::size_t n) {
    if (n > o_.max_buffered) return fail(Errc::buffered_limit);
    return {};
  }
  Ref dropped(std::size_t k) {
    if (k == 0) return {};
    return {FrameStatus::skipped, Errc::ok, k};
  }
  Ref too_long(const Bytes& buf) {
    if (o_.too_long == TooLongPolicy::fail) return fail(Errc::delimiter_not_found);
    discarding_ = true;
    reported_ = o_.fail_fast;
    Ref r = next(buf);
    if (o_.fail_fast) {
      r.status = FrameStatus::skipped;
      r.errc = Errc::delimiter_not_found;
    }
    return r;
  }

  DelimiterOptions o_;
  std::vector<std::string> delims_;
  Errc error_ = Errc::ok;
  bool discarding_ = false;
  bool reported_ = false;
};

// ---- options from the input -------------------------------------------------------------------

LengthFieldOptions read_length_options(ringkit_test::FuzzInput& in) {
  static constexpr LengthWidth kWidths[] = {
      LengthWidth::u8,         LengthWidth::u16,  LengthWidth::u24,
      LengthWidth::u32,        LengthWidth::u64,  LengthWidth::leb128_u32,
      LengthWidth::leb128_u64, LengthWidth::quic, LengthWidth::mqtt};
  LengthFieldOptions o;
  const std::uint8_t a = in.u8();
  o.length_width = kWidths[a % 9];
  const bool fixed = static_cast<unsigned>(o.length_width) <= 8;
  o.endian = (a & 0x10U) != 0 ? ringkit::Endian::little : ringkit::Endian::big;
  o.length_signed = fixed && (a & 0x20U) != 0;
  o.length_includes_header = (a & 0x40U) != 0;
  o.varint = (a & 0x80U) != 0 ? ringkit::VarintMode::lenient : ringkit::VarintMode::strict;
  const std::uint8_t b = in.u8();
  o.length_offset = b & 3U;
  o.too_long = (b & 4U) != 0 ? TooLongPolicy::discard : TooLongPolicy::fail;
  o.fail_fast = (b & 8U) == 0;
  o.strip_prefix = (b & 0x10U) != 0 ? ringkit::kStripHeader : (b >> 5U);
  const std::uint8_t c = in.u8();  // adjustment: small, or near the extremes
  o.length_adjustment = (c & 0x80U) != 0 ? static_cast<std::int8_t>(c << 1U) / 2
                        : (c & 0x40U) != 0
                            ? ((c & 1U) != 0 ? INT64_MAX - (c & 0x3EU) : INT64_MIN + (c & 0x3EU))
                            : static_cast<std::int64_t>(c & 0x3FU) - 32;
  const std::uint16_t mf = in.u16();
  o.max_frame = (mf & 0x8000U) != 0 ? ~std::uint64_t{0} - (mf & 0xFFU) : std::uint64_t{mf} + 1;
  const std::uint16_t mb = in.u16();
  o.max_buffered = (mb & 0x8000U) != 0 ? ringkit::kNoLimit : std::uint64_t{mb} + 1;
  return o;
}

DelimiterOptions read_delimiter_options(ringkit_test::FuzzInput& in) {
  static constexpr char kAlphabet[] = {'\n', '\r', 'a', 'b', '\0', '|', 'x', '\n'};
  DelimiterOptions o;
  const std::uint8_t a = in.u8();
  o.lines = (a & 1U) != 0;
  o.allow_bare_cr = (a & 2U) != 0;
  o.strip_delimiter = (a & 4U) == 0;
  o.too_long = (a & 8U) != 0 ? TooLongPolicy::discard : TooLongPolicy::fail;
  o.fail_fast = (a & 0x10U) == 0;
  o.delimiters.clear();
  const std::size_t count = 1 + ((a >> 5U) % 3);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t d = in.u8();
    std::string s;
    for (std::size_t k = 0; k < 1 + (d & 3U); ++k) s.push_back(kAlphabet[(d >> (2 + k)) & 7U]);
    o.delimiters.push_back(s);
  }
  o.max_frame = 1 + (in.u16() & 0x7FFU);
  const std::uint16_t mb = in.u16();
  o.max_buffered = (mb & 0x8000U) != 0 ? ringkit::kNoLimit : std::uint64_t{mb} + 1;
  return o;
}

// ---- the differential run ---------------------------------------------------------------------

template <class Ring, class Decoder, class Reference>
void run(Ring& ring, Decoder& dec, Reference& ref, const std::uint8_t* data, std::size_t size,
         std::uint64_t chunk_seed) {
  auto& w = ring.writer;
  auto& r = ring.reader;
  Bytes buf;  // the reference's copy of the ring's contents
  std::size_t pos = 0;
  for (std::uint64_t step = 0; pos < size; ++step) {
    const std::uint64_t h = ringkit_test::mix64(chunk_seed + step);
    std::size_t want = (h & 3U) == 0 ? 1 + (h >> 8U) % 3 : 1 + (h >> 8U) % 97;
    if (want > size - pos) want = size - pos;
    const std::size_t put = w.write(data + pos, want);
    buf.insert(buf.end(), data + pos, data + pos + put);
    pos += put;
    for (;;) {
      const ringkit::ConstSegments view = r.readable_segments();
      RINGKIT_FUZZ_CHECK(view.bytes() == buf.size());
      const Decoded d =
          (h & 0x10000U) != 0 && view.count() == 1 ? dec.next(view.first()) : dec.next(view);
      const Ref e = ref.next(buf);
      RINGKIT_FUZZ_CHECK(d.status == e.status);
      RINGKIT_FUZZ_CHECK(d.errc == e.errc);
      if (d.status == FrameStatus::error) {
        RINGKIT_FUZZ_CHECK(dec.error() == e.errc);
        RINGKIT_FUZZ_CHECK(dec.on_eof(view) == e.errc);
        return;
      }
      if (d.status == FrameStatus::need_more) {
        if (view.bytes() == r.capacity()) return;  // a full ring: decode_into's buffered_limit
        break;
      }
      RINGKIT_FUZZ_CHECK(d.consume == e.consume);
      RINGKIT_FUZZ_CHECK(d.consume <= buf.size());
      if (d.status == FrameStatus::frame) {
        RINGKIT_FUZZ_CHECK(d.length == e.length);
        RINGKIT_FUZZ_CHECK(d.offset == e.offset);
        const ringkit::ConstSegments f = ringkit::frame_view(view, d);
        RINGKIT_FUZZ_CHECK(f.bytes() == d.length);
        std::size_t k = e.offset;
        for (const auto part : f) {
          RINGKIT_FUZZ_CHECK(std::memcmp(part.data(), buf.data() + k, part.size()) == 0);
          k += part.size();
        }
      }
      RINGKIT_FUZZ_CHECK(r.consume(d.consume) == Errc::ok);
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(d.consume));
    }
  }
  RINGKIT_FUZZ_CHECK(dec.on_eof(r.readable_segments()) == ref.on_eof(buf));
}

template <class Ring>
void with_decoder(Ring& ring, bool delimited, ringkit_test::FuzzInput& in, const std::uint8_t* data,
                  std::size_t size, std::size_t header_bytes, std::uint64_t chunk_seed) {
  (void)in;
  if (delimited) {
    const DelimiterOptions o = read_delimiter_options(in);
    auto dec = ringkit::DelimiterDecoder::create(o);
    RINGKIT_FUZZ_CHECK(dec.has_value());
    RefDelim ref(o);
    run(ring, *dec, ref, data + header_bytes, size - header_bytes, chunk_seed);
  } else {
    const LengthFieldOptions o = read_length_options(in);
    auto dec = ringkit::LengthFieldDecoder::create(o);
    RINGKIT_FUZZ_CHECK(dec.has_value());
    RefLength ref(o);
    run(ring, *dec, ref, data + header_bytes, size - header_bytes, chunk_seed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ringkit_test::FuzzInput in(data, size);
  const std::uint8_t mode = in.u8();
  const std::uint64_t chunk_seed = in.u8();
  const bool delimited = (mode & 1U) != 0;
  const unsigned kind = (mode >> 1U) % 3;
  const std::size_t cap = std::size_t{64} << ((mode >> 3U) & 7U);
  const std::uint64_t start = (std::uint64_t{(mode >> 6U) & 3U} << 62U) - 7;
  // The options take a fixed number of input bytes: 7 (length) or 9 (delimiters, at most).
  const std::size_t option_bytes = delimited ? 1 + 3 + 2 + 2 : 2 + 1 + 2 + 2;
  if (size < 2 + option_bytes) return 0;
  const std::size_t header = 2 + option_bytes;
  if (kind == 0) {
    auto ring = ringkit::make_byte_ring(cap, {.initial_position = start});
    if (ring) with_decoder(*ring, delimited, in, data, size, header, chunk_seed);
  } else {
    const auto mm = kind == 1 ? ringkit::MirrorMode::automatic : ringkit::MirrorMode::never;
    const std::size_t mcap = kind == 1 && cap < ringkit::MirrorRegion::page_size()
                                 ? ringkit::MirrorRegion::page_size()
                                 : cap;
    auto ring = ringkit::make_mirror_byte_ring(mcap, {.mode = mm, .initial_position = start});
    if (ring) with_decoder(*ring, delimited, in, data, size, header, chunk_seed);
  }
  return 0;
}
