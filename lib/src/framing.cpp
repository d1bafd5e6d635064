// Frame decoders and encoders: the slow paths (varints, straddling headers, errors, discards),
// the delimiter scan, validation and the message copy. See ringkit/framing.hpp.
#include <cstring>

#include <ringkit/framing.hpp>

namespace ringkit {
namespace {

// ---- length fields ------------------------------------------------------------------------

/// Encoded size of a fixed width (0 for varints).
[[nodiscard]] constexpr std::size_t fixed_width(LengthWidth w) noexcept {
  switch (w) {
    case LengthWidth::u8:
    case LengthWidth::u16:
    case LengthWidth::u24:
    case LengthWidth::u32:
    case LengthWidth::u64:
      return static_cast<std::size_t>(w);
    default:
      return 0;
  }
}

[[nodiscard]] constexpr bool valid_width(LengthWidth w) noexcept {
  switch (w) {
    case LengthWidth::u8:
    case LengthWidth::u16:
    case LengthWidth::u24:
    case LengthWidth::u32:
    case LengthWidth::u64:
    case LengthWidth::leb128_u32:
    case LengthWidth::leb128_u64:
    case LengthWidth::quic:
    case LengthWidth::mqtt:
      return true;
  }
  return false;
}

/// Longest encoding of the width.
[[nodiscard]] constexpr std::size_t max_field_size(LengthWidth w) noexcept {
  switch (w) {
    case LengthWidth::leb128_u32:
      return 5;
    case LengthWidth::leb128_u64:
      return 10;
    case LengthWidth::quic:
      return 8;
    case LengthWidth::mqtt:
      return 4;
    default:
      return fixed_width(w);
  }
}

/// Largest value the width can carry.
[[nodiscard]] constexpr std::uint64_t max_value(LengthWidth w, bool is_signed) noexcept {
  switch (w) {
    case LengthWidth::leb128_u32:
      return 0xFFFF'FFFFULL;
    case LengthWidth::leb128_u64:
      return ~std::uint64_t{0};
    case LengthWidth::quic:
      return (std::uint64_t{1} << 62U) - 1;
    case LengthWidth::mqtt:
      return 268'435'455ULL;
    default: {
      const std::size_t bits = fixed_width(w) * 8 - (is_signed ? 1 : 0);
      return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    }
  }
}

[[nodiscard]] constexpr std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? kNoLimit : r;
}

/// |v| as unsigned, also for INT64_MIN.
[[nodiscard]] constexpr std::uint64_t magnitude(std::int64_t v) noexcept {
  return v >= 0 ? static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(-(v + 1)) + 1;
}

/// The largest frame (header included) the options can announce.
[[nodiscard]] std::uint64_t width_max_frame(const LengthFieldOptions& o) noexcept {
  const std::uint64_t header = sat_add(o.length_offset, max_field_size(o.length_width));
  std::uint64_t t = max_value(o.length_width, o.length_signed);
  if (!o.length_includes_header) t = sat_add(t, header);
  if (o.length_adjustment >= 0) return sat_add(t, magnitude(o.length_adjustment));
  const std::uint64_t m = magnitude(o.length_adjustment);
  return t == kNoLimit ? kNoLimit : (t > m ? t - m : 0);
}

[[nodiscard]] Errc validate(const LengthFieldOptions& o, const char*& what) noexcept {
  what = nullptr;
  if (!valid_width(o.length_width)) {
    what = "LengthFieldOptions::length_width";
  } else if (o.length_signed && fixed_width(o.length_width) == 0) {
    what = "LengthFieldOptions::length_signed (varints are unsigned)";
  } else if (o.length_offset > (std::size_t{1} << 48U)) {
    what = "LengthFieldOptions::length_offset";
  } else if (o.max_frame == 0) {
    what = "LengthFieldOptions::max_frame";
  } else if (o.max_buffered == 0) {
    what = "LengthFieldOptions::max_buffered";
  } else if (o.endian != Endian::big && o.endian != Endian::little) {
    what = "LengthFieldOptions::endian";
  } else if (o.too_long != TooLongPolicy::fail && o.too_long != TooLongPolicy::discard) {
    what = "LengthFieldOptions::too_long";
  }
  return what == nullptr ? Errc::ok : Errc::invalid_argument;
}

enum class VarStatus : std::uint8_t { ok, need_more, error };
struct Varint {
  VarStatus status = VarStatus::need_more;
  Errc errc = Errc::ok;
  std::uint64_t value = 0;
  std::size_t size = 0;
};

/// Decodes a varint of kind `w` from the `avail` bytes at `p`.
[[nodiscard]] Varint decode_varint(LengthWidth w, const std::byte* p, std::size_t avail,
                                   bool strict) noexcept {
  if (avail == 0) return {};
  if (w == LengthWidth::quic) {
    const auto b0 = std::to_integer<std::uint8_t>(p[0]);
    const std::size_t n = std::size_t{1} << (b0 >> 6U);
    if (avail < n) return {};
    std::uint64_t v = b0 & 0x3FU;
    for (std::size_t i = 1; i < n; ++i) v = (v << 8U) | std::to_integer<std::uint64_t>(p[i]);
    if (strict && n > 1 && v < (std::uint64_t{1} << (8 * (n / 2) - 2))) {
      return {VarStatus::error, Errc::varint_non_minimal, v, n};
    }
    return {VarStatus::ok, Errc::ok, v, n};
  }
  const std::size_t max = max_field_size(w);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < max; ++i) {
    if (i >= avail) return {};
    const auto b = std::to_integer<std::uint8_t>(p[i]);
    const std::uint64_t payload = b & 0x7FU;
    const bool more = (b & 0x80U) != 0;
    if (i == max - 1) {
      if (more) return {VarStatus::error, Errc::varint_too_long, v, i + 1};
      const std::uint64_t last_max = w == LengthWidth::leb128_u32   ? 0x0FU
                                     : w == LengthWidth::leb128_u64 ? 0x01U
                                                                    : 0x7FU;
      if (payload > last_max) return {VarStatus::error, Errc::varint_overflow, v, i + 1};
    }
    v |= payload << (7 * i);
    if (!more) {
      if (strict && i > 0 && payload == 0) {
        return {VarStatus::error, Errc::varint_non_minimal, v, i + 1};
      }
      return {VarStatus::ok, Errc::ok, v, i + 1};
    }
  }
  return {VarStatus::error, Errc::varint_too_long, v, max};  // not reached
}

/// Size of the minimal encoding of `v` (0 when it does not fit the kind).
[[nodiscard]] std::size_t varint_size(LengthWidth w, std::uint64_t v) noexcept {
  if (v > max_value(w, false)) return 0;
  if (w == LengthWidth::quic) {
    if (v < (std::uint64_t{1} << 6U)) return 1;
    if (v < (std::uint64_t{1} << 14U)) return 2;
    if (v < (std::uint64_t{1} << 30U)) return 4;
    return 8;
  }
  std::size_t n = 1;
  while (v >= 0x80U) {
    v >>= 7U;
    ++n;
  }
  return n;
}

void encode_varint(LengthWidth w, std::uint64_t v, std::size_t n, std::byte* out) noexcept {
  if (w == LengthWidth::quic) {
    const std::uint64_t prefix = n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3;
    for (std::size_t i = n; i-- > 0;) {
      out[i] = static_cast<std::byte>(v & 0xFFU);
      v >>= 8U;
    }
    out[0] |= static_cast<std::byte>(prefix << 6U);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = static_cast<std::uint8_t>(v & 0x7FU);
    v >>= 7U;
    out[i] = static_cast<std::byte>(i + 1 < n ? (b | 0x80U) : b);
  }
}

[[nodiscard]] Errc to_store_errc(const std::error_code& ec) noexcept {
  if (&ec.category() != &error_category()) return Errc::store_exhausted;  // ENOMEM & co.
  const auto e = static_cast<Errc>(ec.value());
  return is_retryable(e) ? Errc::store_exhausted : e;
}

// ---- delimiter scan -----------------------------------------------------------------------

/// Position of the first `c` in [from, end) of `v`, or `end`.
[[nodiscard]] std::size_t find_byte(const detail::ByteView& v, std::size_t from, std::size_t end,
                                    std::byte c) noexcept {
  if (from >= end) return end;
  if (from < v.na) {
    const std::size_t stop = end < v.na ? end : v.na;
    const void* hit = std::memchr(v.a + from, std::to_integer<int>(c), stop - from);
    if (hit != nullptr) return static_cast<std::size_t>(static_cast<const std::byte*>(hit) - v.a);
    from = stop;
  }
  if (from >= end) return end;
  const void* hit = std::memchr(v.b + (from - v.na), std::to_integer<int>(c), end - from);
  if (hit != nullptr) {
    return v.na + static_cast<std::size_t>(static_cast<const std::byte*>(hit) - v.b);
  }
  return end;
}

/// True when the `n` bytes at `q` of `v` equal `d`.
[[nodiscard]] bool equal_at(const detail::ByteView& v, std::size_t q, const std::byte* d,
                            std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (v.at(q + i) != d[i]) return false;
  }
  return true;
}

}  // namespace

// ---- LengthFieldDecoder -------------------------------------------------------------------

Result<LengthFieldDecoder> LengthFieldDecoder::create(const LengthFieldOptions& options) {
  const char* what = nullptr;
  if (validate(options, what) != Errc::ok) return unexpected(Errc::invalid_argument, what);
  LengthFieldDecoder d;
  d.options_ = options;
  d.offset_ = options.length_offset;
  d.width_ = fixed_width(options.length_width);
  d.varint_ = d.width_ == 0;
  d.header_ = d.offset_ + (d.varint_ ? 1 : d.width_);
  d.strip_ = options.strip_prefix == kStripHeader ? d.header_ : options.strip_prefix;
  d.adjust_ = options.length_adjustment;
  d.big_ = options.endian == Endian::big;
  d.signed_ = options.length_signed;
  d.strict_ = options.varint == VarintMode::strict;
  // Fixed widths: total = value + (header unless included) + adjustment. The inline path takes
  // the non-negative constant; a negative one needs the underflow checks of the slow path.
  const std::uint64_t base = options.length_includes_header ? 0 : d.header_;
  d.slow_ = d.varint_;
  if (!d.slow_) {
    if (d.adjust_ >= 0) {
      d.slow_ = __builtin_add_overflow(base, magnitude(d.adjust_), &d.add_);
    } else if (base >= magnitude(d.adjust_)) {
      d.add_ = base - magnitude(d.adjust_);
    } else {
      d.slow_ = true;
    }
  }
  d.width_max_frame_ = width_max_frame(options);
  d.max_frame_ = options.max_frame < d.width_max_frame_ ? options.max_frame : d.width_max_frame_;
  d.max_buffered_ = d.next_max_buffered_ = options.max_buffered;
  d.update_fast();
  return d;
}

void LengthFieldDecoder::update_fast() noexcept {
  fast_ =
      !slow_ && error_ == Errc::ok && discard_left_ == 0 && !report_at_end_ && pending_total_ == 0;
}

Decoded LengthFieldDecoder::set_error(Errc e, std::uint64_t announced) noexcept {
  error_ = e;
  error_announced_ = announced;
  pending_total_ = 0;
  update_fast();
  return {FrameStatus::error, e, 0, 0, 0, announced};
}

Decoded LengthFieldDecoder::fail(Errc e, std::uint64_t announced) noexcept {
  if (error_ != Errc::ok) return {FrameStatus::error, error_, 0, 0, 0, error_announced_};
  return set_error(e == Errc::ok ? Errc::invalid_argument : e, announced);
}

Errc LengthFieldDecoder::set_max_frame(std::uint64_t n) noexcept {
  if (n == 0) return Errc::invalid_argument;
  max_frame_ = n < width_max_frame_ ? n : width_max_frame_;
  return Errc::ok;
}

Errc LengthFieldDecoder::set_max_buffered(std::uint64_t n) noexcept {
  if (n == 0) return Errc::invalid_argument;
  next_max_buffered_ = n;
  if (pending_total_ == 0 && discard_left_ == 0) max_buffered_ = n;
  return Errc::ok;
}

void LengthFieldDecoder::reset() noexcept {
  pending_total_ = 0;
  pending_strip_ = 0;
  discard_left_ = 0;
  discard_total_ = 0;
  report_at_end_ = false;
  error_ = Errc::ok;
  error_announced_ = 0;
  max_buffered_ = next_max_buffered_;
  update_fast();
}

Errc LengthFieldDecoder::on_eof(const ConstSegments& view) const noexcept {
  if (error_ != Errc::ok) return error_;
  if (view.empty() && discard_left_ == 0 && !report_at_end_) return Errc::ok;
  return Errc::truncated;
}

Decoded LengthFieldDecoder::discard(std::size_t avail) noexcept {
  const std::size_t n = discard_left_ < avail ? static_cast<std::size_t>(discard_left_) : avail;
  discard_left_ -= n;
  Errc e = Errc::ok;
  if (discard_left_ == 0 && report_at_end_) {
    report_at_end_ = false;
    e = Errc::frame_too_long;
  }
  update_fast();
  if (n == 0 && e == Errc::ok) return {};  // need_more, nothing announced
  return {FrameStatus::skipped, e, 0, 0, n, e == Errc::ok ? 0 : discard_total_};
}

Decoded LengthFieldDecoder::too_long(std::uint64_t announced, std::size_t avail) noexcept {
  if (options_.too_long == TooLongPolicy::fail) return set_error(Errc::frame_too_long, announced);
  discard_left_ = announced;
  discard_total_ = announced;
  report_at_end_ = !options_.fail_fast;
  Decoded d = discard(avail);
  if (options_.fail_fast) {  // the report goes on the first result, whatever it carries
    d.status = FrameStatus::skipped;
    d.errc = Errc::frame_too_long;
    d.announced = announced;
  }
  return d;
}

Decoded LengthFieldDecoder::next_slow(const detail::ByteView& view) noexcept {
  if (error_ != Errc::ok) return {FrameStatus::error, error_, 0, 0, 0, error_announced_};
  if (discard_left_ != 0 || report_at_end_) return discard(view.size());
  const std::size_t avail = view.size();
  std::uint64_t total = pending_total_;
  std::size_t strip = pending_strip_;
  if (total == 0) {
    max_buffered_ = next_max_buffered_;  // a new frame: latch the limit
    const std::size_t field_max = max_field_size(options_.length_width);
    std::byte field[16];
    if (avail <= offset_) {
      if (avail > max_buffered_) return set_error(Errc::buffered_limit, avail);
      return {};
    }
    const std::size_t have = avail - offset_ < field_max ? avail - offset_ : field_max;
    for (std::size_t i = 0; i < have; ++i) field[i] = view.at(offset_ + i);  // staging copy
    std::uint64_t value = 0;
    std::size_t field_size = width_;
    if (!varint_) {
      if (have < width_) {
        if (avail > max_buffered_) return set_error(Errc::buffered_limit, avail);
        return {};
      }
      value = detail::load_uint(field, width_, big_);
      if (signed_ && (value >> (width_ * 8U - 1U)) != 0) {
        return set_error(Errc::negative_length, value);
      }
    } else {
      const Varint v = decode_varint(options_.length_width, field, have, strict_);
      if (v.status == VarStatus::need_more) {
        if (avail > max_buffered_) return set_error(Errc::buffered_limit, avail);
        return {};
      }
      if (v.status == VarStatus::error) return set_error(v.errc, v.value);
      value = v.value;
      field_size = v.size;
    }
    const std::size_t header = offset_ + field_size;
    // total = value + (header unless included) + adjustment, exactly: a negative adjustment
    // first (below zero means below the header), then the additions, each overflow-checked.
    total = value;
    if (adjust_ < 0) {
      if (total < magnitude(adjust_)) return set_error(Errc::length_below_header, value);
      total -= magnitude(adjust_);
    }
    if (!options_.length_includes_header && __builtin_add_overflow(total, header, &total)) {
      return set_error(Errc::length_overflow, value);
    }
    if (adjust_ > 0 && __builtin_add_overflow(total, magnitude(adjust_), &total)) {
      return set_error(Errc::length_overflow, value);
    }
    if (total < header) return set_error(Errc::length_below_header, total);
    if (total > max_frame_) return too_long(total, avail);
    strip = options_.strip_prefix == kStripHeader ? header : options_.strip_prefix;
    if (strip > total) return set_error(Errc::strip_exceeds_frame, total);
  }
  if (avail >= total) {
    pending_total_ = 0;
    update_fast();
    return {FrameStatus::frame,
            Errc::ok,
            strip,
            static_cast<std::size_t>(total) - strip,
            static_cast<std::size_t>(total),
            total};
  }
  if (avail > max_buffered_) return set_error(Errc::buffered_limit, total);
  pending_total_ = total;
  pending_strip_ = strip;
  update_fast();
  return {FrameStatus::need_more, Errc::ok, 0, 0, 0, total};
}

// ---- DelimiterDecoder ---------------------------------------------------------------------

Result<DelimiterDecoder> DelimiterDecoder::create(const DelimiterOptions& options) {
  DelimiterDecoder d;
  if (!options.lines) {
    if (options.delimiters.empty() || options.delimiters.size() > kMaxDelimiters) {
      return unexpected(Errc::invalid_argument, "DelimiterOptions::delimiters (count)");
    }
    for (const std::string& s : options.delimiters) {
      if (s.empty() || s.size() > kMaxDelimiterSize) {
        return unexpected(Errc::invalid_argument, "DelimiterOptions::delimiters (size)");
      }
      Delim& out = d.delims_[d.count_++];
      std::memcpy(out.bytes.data(), s.data(), s.size());
      out.size = static_cast<std::uint8_t>(s.size());
      if (s.size() > d.longest_) d.longest_ = s.size();
    }
  } else {
    d.lines_ = true;
    d.longest_ = 2;
  }
  if (options.max_frame == 0)
    return unexpected(Errc::invalid_argument, "DelimiterOptions::max_frame");
  if (options.max_buffered == 0) {
    return unexpected(Errc::invalid_argument, "DelimiterOptions::max_buffered");
  }
  if (options.too_long != TooLongPolicy::fail && options.too_long != TooLongPolicy::discard) {
    return unexpected(Errc::invalid_argument, "DelimiterOptions::too_long");
  }
  d.allow_bare_cr_ = options.allow_bare_cr;
  d.strip_ = options.strip_delimiter;
  d.policy_ = options.too_long;
  d.fail_fast_ = options.fail_fast;
  d.max_frame_ = d.next_max_frame_ = options.max_frame;
  d.max_buffered_ = d.next_max_buffered_ = options.max_buffered;
  return d;
}

Decoded DelimiterDecoder::fail(Errc e, std::uint64_t announced) noexcept {
  if (error_ == Errc::ok) {
    error_ = e == Errc::ok ? Errc::invalid_argument : e;
    error_announced_ = announced;
  }
  return {FrameStatus::error, error_, 0, 0, 0, error_announced_};
}

Errc DelimiterDecoder::set_max_frame(std::size_t n) noexcept {
  if (n == 0) return Errc::invalid_argument;
  next_max_frame_ = n;
  return Errc::ok;
}

Errc DelimiterDecoder::set_max_buffered(std::uint64_t n) noexcept {
  if (n == 0) return Errc::invalid_argument;
  next_max_buffered_ = n;
  return Errc::ok;
}

void DelimiterDecoder::reset() noexcept {
  start_frame();
  discarding_ = false;
  reported_ = false;
  discarded_ = 0;
  error_ = Errc::ok;
  error_announced_ = 0;
}

void DelimiterDecoder::start_frame() noexcept {
  scanned_ = 0;
  in_frame_ = false;
}

Errc DelimiterDecoder::on_eof(const ConstSegments& view) const noexcept {
  if (error_ != Errc::ok) return error_;
  return view.empty() && !discarding_ ? Errc::ok : Errc::truncated;
}

DelimiterDecoder::Match DelimiterDecoder::find(const detail::ByteView& view, std::size_t from,
                                               std::size_t end) const noexcept {
  Match m;
  // The earliest full match of any delimiter (the longest at equal positions); each search
  // stops at the best match found so far.
  for (std::size_t i = 0; i < count_; ++i) {
    const Delim& d = delims_[i];
    if (end < d.size) continue;
    std::size_t last = end - d.size;  // last start whose match lies inside [0, end)
    if (m.found && m.pos < last) last = m.pos;
    for (std::size_t q = from; q <= last;) {
      q = find_byte(view, q, last + 1, d.bytes[0]);
      if (q > last) break;
      if (equal_at(view, q + 1, d.bytes.data() + 1, d.size - 1U)) {
        if (!m.found || q < m.pos || d.size > m.size) m = {q, d.size, true, false};
        break;
      }
      ++q;
    }
  }
  // Undecided starts near the end: a delimiter that runs past `end` but matches so far. Any
  // such start at or before the match means "wait"; without a match the first one is where
  // the next scan resumes.
  std::size_t tail = end >= longest_ ? end - longest_ + 1 : 0;
  if (tail < from) tail = from;
  const std::size_t stop = m.found ? m.pos + 1 : end;
  for (std::size_t q = tail; q < stop; ++q) {
    for (std::size_t i = 0; i < count_; ++i) {
      const Delim& d = delims_[i];
      if (q + d.size <= end) continue;
      if (equal_at(view, q, d.bytes.data(), end - q)) {
        return {q, 0, false, m.found};  // pos: resume point
      }
    }
  }
  if (!m.found) m.pos = end;  // resume point
  return m;
}

DelimiterDecoder::Match DelimiterDecoder::find_line(const detail::ByteView& view, std::size_t from,
                                                    std::size_t end) noexcept {
  const std::size_t lf = find_byte(view, from, end, std::byte{'\n'});
  const bool strict = !allow_bare_cr_ && !discarding_;
  if (strict) {
    const std::size_t cr = find_byte(view, from, lf, std::byte{'\r'});
    if (cr + 1 < lf || (cr < lf && lf == end && cr + 1 < end)) {
      error_ = Errc::bare_carriage_return;
      error_announced_ = cr;
      return {cr, 0, false, false};
    }
    if (lf == end) return {cr < end ? cr : end, 0, false, false};  // '\r' last: undecided
    if (cr + 1 == lf) return {cr, 2, true, false};
    return {lf, 1, true, false};
  }
  if (lf == end) {  // a '\r' last may be the start of "\r\n"
    const bool cr_last = end > from && view.at(end - 1) == std::byte{'\r'};
    return {cr_last ? end - 1 : end, 0, false, false};
  }
  if (lf > 0 && view.at(lf - 1) == std::byte{'\r'}) return {lf - 1, 2, true, false};
  return {lf, 1, true, false};
}

Decoded DelimiterDecoder::next_impl(const detail::ByteView& view) noexcept {
  if (error_ != Errc::ok) return {FrameStatus::error, error_, 0, 0, 0, error_announced_};
  if (!in_frame_) {  // a new frame: latch the limits
    max_frame_ = next_max_frame_;
    max_buffered_ = next_max_buffered_;
    in_frame_ = true;
    scanned_ = 0;
  }
  const std::size_t n = view.size();
  // Only starts up to max_frame_ can end an acceptable frame, so a frame's scan never looks
  // further than max_frame_ + longest_ bytes; a discard looks at everything.
  std::size_t end = n;
  if (!discarding_ && max_frame_ < n && n - max_frame_ > longest_) end = max_frame_ + longest_;
  const Match m = lines_ ? find_line(view, scanned_, end) : find(view, scanned_, end);
  if (error_ != Errc::ok) return {FrameStatus::error, error_, 0, 0, 0, error_announced_};
  if (discarding_) {
    if (m.found && !m.wait) {  // the discard ends with this delimiter
      const std::size_t consume = m.pos + m.size;
      const std::uint64_t total = discarded_ + consume;
      const bool report = !reported_;
      discarding_ = false;
      reported_ = false;
      discarded_ = 0;
      start_frame();
      return {FrameStatus::skipped, report ? Errc::delimiter_not_found : Errc::ok, 0, 0, consume,
              report ? total : 0};
    }
    // Everything before the resume point holds no delimiter start: drop it.
    const std::size_t consume = m.pos;
    discarded_ += consume;
    scanned_ = 0;
    if (consume == 0) return {};
    return {FrameStatus::skipped, Errc::ok, 0, 0, consume, 0};
  }
  if (m.found && !m.wait && m.pos <= max_frame_) {
    start_frame();
    const std::size_t length = strip_ ? m.pos : m.pos + m.size;
    return {FrameStatus::frame, Errc::ok, 0, length, m.pos + m.size, m.pos + m.size};
  }
  if ((m.found && !m.wait) || m.pos > max_frame_) {  // no delimiter within max_frame_
    const std::uint64_t seen = m.found ? m.pos : n;
    if (policy_ == TooLongPolicy::fail) return fail(Errc::delimiter_not_found, seen);
    discarding_ = true;
    reported_ = fail_fast_;
    discarded_ = 0;
    scanned_ = 0;
    Decoded d = next_impl(view);  // continue as a discard over the same view
    if (fail_fast_) {
      d.status = FrameStatus::skipped;
      d.errc = Errc::delimiter_not_found;
      d.announced = seen;
    }
    return d;
  }
  scanned_ = m.pos;  // need more bytes (m.wait: a longer delimiter may still match)
  if (n > max_buffered_) return fail(Errc::buffered_limit, n);
  return {};
}

// ---- copy_frame ---------------------------------------------------------------------------

Result<MessageRef> copy_frame(MessageStore& store, const ConstSegments& view, const Decoded& d,
                              std::uint32_t type) noexcept {
  if (d.status != FrameStatus::frame || d.offset + d.length > view.bytes()) {
    return unexpected(Errc::invalid_argument, "copy_frame");
  }
  const ConstSegments f = frame_view(view, d);
  Result<MessageWriter> w = store.allocate(d.length, type);
  if (!w) return unexpected(to_store_errc(w.error()), w.context());
  std::byte* out = w->writable().data();
  for (const std::span<const std::byte> part : f) {  // once, from one or both segments
    std::memcpy(out, part.data(), part.size());
    out += part.size();
  }
  Result<MessageRef> m = std::move(*w).publish(d.length);
  if (!m) return unexpected(to_store_errc(m.error()), m.context());
  return m;
}

// ---- LengthPrepender ----------------------------------------------------------------------

Result<LengthPrepender> LengthPrepender::create(const LengthFieldOptions& options) {
  const char* what = nullptr;
  if (validate(options, what) != Errc::ok) return unexpected(Errc::invalid_argument, what);
  LengthPrepender p;
  p.options_ = options;
  const std::uint64_t wmax = width_max_frame(options);
  p.max_frame_ = options.max_frame < wmax ? options.max_frame : wmax;
  return p;
}

Result<std::size_t> LengthPrepender::encode_length(
    std::uint64_t body_size, std::span<std::byte, kMaxLengthField> out) const noexcept {
  const LengthWidth w = options_.length_width;
  const std::size_t fixed = fixed_width(w);
  const std::uint64_t vmax = max_value(w, options_.length_signed);
  // The decoder computes total = value + (header unless included) + adjustment with
  // total = header + body_size, so value = body_size (+ header if included) - adjustment.
  const auto value_for = [&](std::size_t header, std::uint64_t& v) -> Errc {
    v = body_size;
    if (options_.length_includes_header && __builtin_add_overflow(v, header, &v)) {
      return Errc::length_overflow;
    }
    const std::uint64_t m = magnitude(options_.length_adjustment);
    if (options_.length_adjustment >= 0) {
      if (v < m) return Errc::length_below_header;
      v -= m;
    } else if (__builtin_add_overflow(v, m, &v)) {
      return Errc::length_overflow;
    }
    return v > vmax ? Errc::length_overflow : Errc::ok;
  };
  std::uint64_t v = 0;
  std::size_t size = fixed;
  if (fixed != 0) {
    if (const Errc e = value_for(options_.length_offset + fixed, v); e != Errc::ok) {
      return unexpected(e, "LengthPrepender::encode_length");
    }
    for (std::size_t i = 0; i < fixed; ++i) {
      const std::size_t shift = options_.endian == Endian::big ? (fixed - 1 - i) * 8 : i * 8;
      out[i] = static_cast<std::byte>((v >> shift) & 0xFFU);
    }
  } else {
    // The header's size depends on the value when the value counts the header: the smallest
    // size whose value needs exactly that size is the minimal encoding.
    Errc last = Errc::length_overflow;
    size = 0;
    for (std::size_t n = 1; n <= max_field_size(w); ++n) {
      if (w == LengthWidth::quic && n != 1 && n != 2 && n != 4 && n != 8) continue;
      last = value_for(options_.length_offset + n, v);
      if (last != Errc::ok) {
        if (last == Errc::length_below_header) continue;  // a longer header may fix it
        break;
      }
      const std::size_t need = varint_size(w, v);
      if (need != 0 && need <= n) {
        size = n;
        break;
      }
      if (!options_.length_includes_header) {  // the value does not depend on n
        size = need;
        break;
      }
    }
    if (size == 0)
      return unexpected(last == Errc::ok ? Errc::length_overflow : last,
                        "LengthPrepender::encode_length");
    encode_varint(w, v, size, out.data());
  }
  std::uint64_t total = 0;
  if (__builtin_add_overflow(options_.length_offset + size, body_size, &total)) {
    return unexpected(Errc::length_overflow, "LengthPrepender::encode_length");
  }
  if (total > max_frame_) return unexpected(Errc::frame_too_long, "LengthPrepender::encode_length");
  const std::size_t strip =
      options_.strip_prefix == kStripHeader ? options_.length_offset + size : options_.strip_prefix;
  if (strip > total) {
    return unexpected(Errc::strip_exceeds_frame, "LengthPrepender::encode_length");
  }
  return size;
}

// ---- DelimiterWriter ----------------------------------------------------------------------

Result<DelimiterWriter> DelimiterWriter::create(const DelimiterOptions& options) {
  Result<DelimiterDecoder> d = DelimiterDecoder::create(options);
  if (!d) return unexpected(d.error(), d.context());
  DelimiterWriter w;
  w.decoder_ = *d;
  const std::string delim = options.lines ? std::string("\n") : options.delimiters.front();
  std::memcpy(w.delim_.data(), delim.data(), delim.size());
  w.delim_size_ = delim.size();
  w.max_frame_ = options.max_frame;
  w.lines_ = options.lines;
  w.allow_bare_cr_ = options.allow_bare_cr;
  return w;
}

Errc DelimiterWriter::check(std::span<const std::byte> body) const noexcept {
  if (body.size() > max_frame_) return Errc::frame_too_long;
  // Exactly what a fresh decoder makes of body + delimiter: it must be this one frame.
  DelimiterDecoder probe = decoder_;
  const ConstSegments frame(body, std::span<const std::byte>(delim_.data(), delim_size_));
  const Decoded d = probe.next(frame);
  const std::size_t total = body.size() + delim_size_;
  // Stripped, the frame must be the body; unstripped, body + delimiter (the whole input).
  if (d.status == FrameStatus::frame && d.consume == total && d.offset == 0 &&
      (d.length == body.size() || d.length == total)) {
    return Errc::ok;
  }
  return Errc::invalid_argument;
}

}  // namespace ringkit
