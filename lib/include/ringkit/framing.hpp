// ringkit/framing.hpp: stream reassembly: find message boundaries in a byte ring's readable view
// (length-prefixed or delimited frames) and hand each message out in place or copied once into
// a MessageStore; plus the matching encoders.
//
// A decoder inspects the consumer's view WITHOUT consuming: next(view) says "frame at [offset,
// offset + length), consume(n) afterwards", "need more bytes", "skipped: consume(n) and call
// again" or "stream error". The view is what the reader's readable_segments() returns (one span
// on a mirrored ring, up to two otherwise); every call must get the view starting where the
// previous call's `consume` left off. The frame is read in place: on a mirrored ring it is one
// span; on a two-segment ring a header that straddles the wrap is read through a small stack
// copy, and copy_frame() copies the body once from both parts. The decoder allocates nothing and
// never reserves an announced length: memory is the ring, which grows with received bytes only.
//
//   auto dec = *ringkit::LengthFieldDecoder::create({.length_width = ringkit::LengthWidth::u32});
//   auto store = *ringkit::MessageStore::create({});
//   // after each recv() into the ring's writer half:
//   ringkit::DecodeRun run = ringkit::decode_into(reader, dec, store,
//                                                 [&](ringkit::MessageRef m) { route(std::move(m));
//                                                 });
//   if (run.errc == ringkit::Errc::store_exhausted) { /* backpressure: retry after releases */ }
//   else if (run.status == ringkit::FrameStatus::error) { /* close this stream: run.errc */ }
//
// Or zero-copy, one frame at a time:
//
//   ringkit::Decoded d = dec.next(reader.readable_segments());
//   if (d) { use(ringkit::frame_view(reader.readable_segments(), d));
//   (void)reader.consume(d.consume); }
//
// Errors are per stream and sticky (every later next() repeats them), so one bad stream never
// affects another; only a too-long frame under TooLongPolicy::discard is skipped and the stream
// goes on. Limits changed at run time (set_max_frame, set_max_buffered) apply from the next frame.
//
// Thread safety: decoders and encoders are single-owner (one per stream; they hold the stream's
// scan state). Options structs, Decoded and DecodeRun are plain values. The decoded views belong
// to the reader half and are invalidated by its consume(); MessageRefs from copy_frame() are
// independent of the ring and may be handed to any thread.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ringkit/concepts.hpp>
#include <ringkit/detail/config.hpp>
#include <ringkit/error.hpp>
#include <ringkit/message_store.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>

namespace ringkit {

/// How the length field is encoded.
enum class LengthWidth : std::uint8_t {
  u8 = 1,           ///< 1 byte
  u16 = 2,          ///< 2 bytes
  u24 = 3,          ///< 3 bytes
  u32 = 4,          ///< 4 bytes
  u64 = 8,          ///< 8 bytes
  leb128_u32 = 16,  ///< LEB128 (protobuf varint), value < 2^32, at most 5 bytes
  leb128_u64,       ///< LEB128, value < 2^64, at most 10 bytes
  quic,             ///< QUIC (RFC 9000 16): 2-bit length prefix, 1/2/4/8 bytes, value < 2^62
  mqtt,             ///< MQTT remaining length: LEB128 of at most 4 bytes, value < 2^28
};

/// Byte order of a fixed-width length field.
enum class Endian : std::uint8_t { big, little };

/// What a frame longer than max_frame does to the stream.
enum class TooLongPolicy : std::uint8_t {
  fail,     ///< sticky stream error (the default): the stream is unusable afterwards
  discard,  ///< skip the frame's bytes, report it exactly once, go on with the next frame
};

/// Whether a varint with redundant continuation bytes ([0x80 0x00] for 0) is accepted.
enum class VarintMode : std::uint8_t {
  strict,   ///< reject non-minimal encodings (Errc::varint_non_minimal), the default
  lenient,  ///< accept them
};

/// No limit (max_buffered's default).
inline constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
/// strip_prefix's default: strip the whole header (length_offset + the length field).
inline constexpr std::size_t kStripHeader = std::numeric_limits<std::size_t>::max();

/// Options of LengthFieldDecoder and LengthPrepender (the union of Netty's
/// LengthFieldBasedFrameDecoder and tokio-util's LengthDelimitedCodec).
///
/// A frame is  [length_offset bytes][length field][rest]  and its total length (header
/// included) is
///   header + value + length_adjustment    (length_includes_header == false, the default)
///   value + length_adjustment             (length_includes_header == true)
/// where header = length_offset + the length field's encoded size. The total must be at least
/// the header (else Errc::length_below_header) and at most max_frame. The payload handed out is
/// the frame without its first strip_prefix bytes.
struct LengthFieldOptions {
  /// Bytes before the length field (part of the header; e.g. a type byte). Default 0.
  std::size_t length_offset = 0;
  /// Encoding of the length field. Default 4 bytes.
  LengthWidth length_width = LengthWidth::u32;
  /// Byte order of fixed widths (varints have their own). Default big endian (network order).
  Endian endian = Endian::big;
  /// Fixed widths only: two's complement; a negative length is Errc::negative_length, never a
  /// huge number. Default unsigned.
  bool length_signed = false;
  /// Added to the value to get the frame's length (see above); may be negative. Default 0.
  std::int64_t length_adjustment = 0;
  /// The value counts the header too (see above). Default false.
  bool length_includes_header = false;
  /// Bytes stripped from the front of each frame before it is handed out; must not exceed the
  /// frame (Errc::strip_exceeds_frame). Default kStripHeader: the whole header is stripped.
  std::size_t strip_prefix = kStripHeader;
  /// Largest frame accepted, header included, checked after the adjustment; clamped to what
  /// the width can announce. Default 8 MiB.
  std::uint64_t max_frame = std::uint64_t{8} << 20U;
  /// Largest number of bytes held without a complete frame (Errc::buffered_limit); lets a
  /// stream that announces a large frame and then trickles be cut off early. Default kNoLimit.
  std::uint64_t max_buffered = kNoLimit;
  /// Frames above max_frame: sticky error (default) or discard-and-continue.
  TooLongPolicy too_long = TooLongPolicy::fail;
  /// Discard policy: report the too-long frame as soon as its header is read (true, default)
  /// or once all its bytes have been discarded (false). The fail policy always reports at the
  /// header.
  bool fail_fast = true;
  /// Varint widths: reject (default) or accept non-minimal encodings.
  VarintMode varint = VarintMode::strict;
};

/// Options of DelimiterDecoder and DelimiterWriter.
struct DelimiterOptions {
  /// Frame terminators, 1 .. kMaxDelimiters of them, each 1 .. kMaxDelimiterSize bytes. The
  /// earliest delimiter in the stream ends the frame (the shortest frame wins); at the same
  /// position the longest one matches. Ignored in line mode. Default {"\n"}.
  std::vector<std::string> delimiters = {"\n"};
  /// Line mode: "\n" and "\r\n" end a frame. Default false.
  bool lines = false;
  /// Line mode: a "\r" not followed by "\n" is data (true) or Errc::bare_carriage_return
  /// (false, the default).
  bool allow_bare_cr = false;
  /// Hand out the frame without its delimiter (default) or with it.
  bool strip_delimiter = true;
  /// Largest frame accepted, delimiter excluded: no delimiter within max_frame bytes is
  /// Errc::delimiter_not_found (or a discard until the next delimiter). Default 64 KiB.
  std::size_t max_frame = std::size_t{64} << 10U;
  /// As LengthFieldOptions::max_buffered. Default kNoLimit.
  std::uint64_t max_buffered = kNoLimit;
  /// As LengthFieldOptions::too_long: the discard skips up to and including the next delimiter.
  TooLongPolicy too_long = TooLongPolicy::fail;
  /// Discard policy: report when the limit is passed (true, default) or when the discard ends
  /// at the next delimiter (false).
  bool fail_fast = true;

  /// Line mode with the other options at their defaults.
  [[nodiscard]] static DelimiterOptions line_mode() {
    DelimiterOptions o;
    o.lines = true;
    return o;
  }
};

/// Most delimiters a DelimiterDecoder takes.
inline constexpr std::size_t kMaxDelimiters = 8;
/// Longest delimiter a DelimiterDecoder takes.
inline constexpr std::size_t kMaxDelimiterSize = 32;
/// Longest encoded header a LengthPrepender writes (length_offset is the caller's own bytes).
inline constexpr std::size_t kMaxLengthField = 10;

/// What one next() call found.
enum class FrameStatus : std::uint8_t {
  frame,      ///< a complete frame: payload at [offset, offset + length); consume(consume) after
  need_more,  ///< no complete frame yet (not an error): call again when more bytes arrived
  skipped,    ///< bytes of a discarded frame: consume(consume) and call again; errc reports it
  error,      ///< the stream is bad (errc); sticky
};

/// The result of a decoder's next(): a small value, no allocation, no error_code.
struct Decoded {
  FrameStatus status = FrameStatus::need_more;
  /// error: why. skipped: frame_too_long / delimiter_not_found on the ONE result that reports
  /// the discarded frame, ok on the others. Otherwise ok.
  Errc errc = Errc::ok;
  /// frame: the payload's offset inside the view (after strip) and its length.
  std::size_t offset = 0;
  std::size_t length = 0;
  /// frame / skipped: bytes the caller must consume() before the next call.
  std::size_t consume = 0;
  /// Announced frame length, header included, when known: need_more after the header (bytes
  /// the frame needs in all), frame_too_long, buffered_limit; for delimiter_not_found the bytes
  /// seen without a delimiter. 0 when unknown.
  std::uint64_t announced = 0;

  /// True for FrameStatus::frame.
  [[nodiscard]] explicit constexpr operator bool() const noexcept {
    return status == FrameStatus::frame;
  }
};

namespace detail {

/// A read-only view of one or two byte runs, indexed as one (a decoder's input).
struct ByteView {
  const std::byte* a = nullptr;
  std::size_t na = 0;
  const std::byte* b = nullptr;
  std::size_t nb = 0;

  constexpr ByteView() noexcept = default;
  explicit constexpr ByteView(std::span<const std::byte> s) noexcept : a(s.data()), na(s.size()) {}
  explicit constexpr ByteView(const ConstSegments& s) noexcept
      : a(s.first().data()), na(s.first().size()), b(s.second().data()), nb(s.second().size()) {}

  [[nodiscard]] constexpr std::size_t size() const noexcept { return na + nb; }
  [[nodiscard]] constexpr std::byte at(std::size_t i) const noexcept {
    return i < na ? a[i] : b[i - na];
  }
};

/// Reads an unsigned big- or little-endian integer of `width` (1..8) bytes.
[[nodiscard]] inline std::uint64_t load_uint(const std::byte* p, std::size_t width,
                                             bool big) noexcept {
  std::uint64_t v = 0;
  if (big) {
    for (std::size_t i = 0; i < width; ++i) v = (v << 8U) | std::to_integer<std::uint64_t>(p[i]);
  } else {
    for (std::size_t i = width; i-- > 0;) v = (v << 8U) | std::to_integer<std::uint64_t>(p[i]);
  }
  return v;
}

}  // namespace detail

/// Length-prefixed frame decoder (see LengthFieldOptions for the frame layout).
///
/// Design: next() is a pure function of the view plus a little per-stream state, so the caller
/// can feed bytes in any chunking and the answers do not change. Fixed-width headers that lie
/// in one contiguous run are parsed inline; everything else (varints, a header straddling the
/// wrap of a two-segment ring, errors, discards) goes to an out-of-line slow path that reads
/// the length field through a 16-byte stack copy. Once a header is parsed its frame length is
/// kept (pending_total_), so a frame arriving in pieces is parsed once and a limit changed
/// meanwhile applies only from the next frame. The length arithmetic is 64-bit with explicit
/// overflow checks (__builtin_add_overflow), negative values and adjustments are handled before
/// any unsigned conversion, and max_frame is clamped to the largest frame the width can
/// announce. A too-long frame under the discard policy becomes a countdown (discard_left_)
/// that turns each later view into `skipped` results until the frame's bytes are gone; the
/// report is attached to exactly one of them (the first or, without fail_fast, the last).
class LengthFieldDecoder {
 public:
  /// Validates the options. Errc::invalid_argument (context() names the option) when:
  /// length_signed with a varint width; max_frame or max_buffered is 0; length_offset is so
  /// large that no frame fits in 64 bits.
  [[nodiscard]] static Result<LengthFieldDecoder> create(const LengthFieldOptions& options);

  LengthFieldDecoder() noexcept = default;

  /// Looks for the next frame in `view` (the reader's readable_segments(), starting where the
  /// previous call's `consume` ended). Never consumes. O(header) for a fixed width.
  [[nodiscard]] Decoded next(const ConstSegments& view) noexcept {
    if (view.count() <= 1) return next(view.first());
    return next_slow(detail::ByteView(view));
  }
  /// Same, for one contiguous span (a mirrored ring's readable()).
  [[nodiscard]] Decoded next(std::span<const std::byte> view) noexcept {
    if (fast_ && view.size() >= header_) [[likely]] {
      const std::uint64_t value = detail::load_uint(view.data() + offset_, width_, big_);
      std::uint64_t total = 0;
      if ((!signed_ || (value >> (width_ * 8U - 1U)) == 0) &&
          !__builtin_add_overflow(value, add_, &total) && total >= header_ && total <= max_frame_ &&
          strip_ <= total && view.size() >= total) [[likely]] {
        return {FrameStatus::frame,
                Errc::ok,
                strip_,
                static_cast<std::size_t>(total) - strip_,
                static_cast<std::size_t>(total),
                total};
      }
    }
    return next_slow(detail::ByteView(view));
  }

  /// End of stream with `view` still unconsumed: Errc::ok when the view is empty at a frame
  /// boundary, Errc::truncated when it ends inside a frame, the sticky error if there is one.
  [[nodiscard]] Errc on_eof(const ConstSegments& view) const noexcept;
  [[nodiscard]] Errc on_eof(std::span<const std::byte> view) const noexcept {
    return on_eof(ConstSegments(view));
  }

  /// Marks the stream bad with `e` (sticky), for loops that detect what the decoder cannot see
  /// (a full ring without a complete frame, a protocol error above framing). Returns the error
  /// result next() will repeat.
  Decoded fail(Errc e, std::uint64_t announced = 0) noexcept;

  /// Changes max_frame (clamped as at create()); applies from the next frame (a frame whose
  /// header was already accepted completes). Errc::invalid_argument (nothing changed) for 0.
  [[nodiscard]] Errc set_max_frame(std::uint64_t n) noexcept;
  /// Changes max_buffered; applies from the next frame. Errc::invalid_argument for 0.
  [[nodiscard]] Errc set_max_buffered(std::uint64_t n) noexcept;
  /// max_frame in effect for the next frame (after the clamp).
  [[nodiscard]] std::uint64_t max_frame() const noexcept { return max_frame_; }
  [[nodiscard]] std::uint64_t max_buffered() const noexcept { return next_max_buffered_; }

  /// The sticky error, or Errc::ok.
  [[nodiscard]] Errc error() const noexcept { return error_; }
  /// Forgets the stream state (sticky error, discard, partial frame) for a new stream.
  void reset() noexcept;
  /// The options as given to create().
  [[nodiscard]] const LengthFieldOptions& options() const noexcept { return options_; }

 private:
  [[nodiscard]] Decoded next_slow(const detail::ByteView& view) noexcept;
  [[nodiscard]] Decoded too_long(std::uint64_t announced, std::size_t avail) noexcept;
  [[nodiscard]] Decoded discard(std::size_t avail) noexcept;
  [[nodiscard]] Decoded set_error(Errc e, std::uint64_t announced) noexcept;
  void update_fast() noexcept;

  LengthFieldOptions options_;
  // Derived from options_ at create().
  std::size_t offset_ = 0;   // length_offset
  std::size_t width_ = 4;    // fixed width in bytes, 0 for varints
  std::size_t header_ = 4;   // offset_ + width_ (fixed widths; varints: offset_ + 1 minimum)
  std::size_t strip_ = 4;    // strip_prefix resolved (fixed widths)
  std::int64_t adjust_ = 0;  // length_adjustment
  std::uint64_t add_ = 0;    // fixed widths: total = value + add_ (when that is >= 0)
  bool big_ = true;
  bool signed_ = false;
  bool varint_ = false;
  bool strict_ = true;
  bool slow_ = false;  // the options rule out the inline path (varint, add_ < 0)
  bool fast_ = false;  // the inline path applies now (!slow_ and no stream state)
  // Limits. max_frame_ is checked when a header is parsed, so a change applies from the next
  // frame by itself; max_buffered_ is latched per frame from next_max_buffered_.
  std::uint64_t max_frame_ = std::uint64_t{8} << 20U;
  std::uint64_t max_buffered_ = kNoLimit;
  std::uint64_t next_max_buffered_ = kNoLimit;
  std::uint64_t width_max_frame_ = kNoLimit;  // largest frame the width can announce
  // Stream state.
  std::uint64_t pending_total_ = 0;  // parsed frame length while waiting for its body
  std::size_t pending_strip_ = 0;
  std::uint64_t discard_left_ = 0;   // bytes of a too-long frame still to skip
  std::uint64_t discard_total_ = 0;  // its announced length (the deferred report)
  bool report_at_end_ = false;       // fail_fast == false: report when discard_left_ hits 0
  Errc error_ = Errc::ok;
  std::uint64_t error_announced_ = 0;
};

/// Delimited frame decoder (lines, NUL-terminated records, "\r\n\r\n"-separated blocks).
///
/// Design: the scan resumes where the last call stopped: scanned_ bytes at the front of the
/// view are known to hold no delimiter start except possibly in the last (longest delimiter - 1)
/// bytes, so a long line arriving in pieces is scanned O(n) in total. A one-byte delimiter (and
/// line mode) is found with memchr over each segment; multi-byte delimiters with memchr on their
/// first byte plus a compare that may cross from one segment into the other (a delimiter split
/// by the wrap or by two reads). With several delimiters the earliest match wins, the longest
/// at equal positions; a shorter match that a longer delimiter could still extend (e.g. "\r"
/// vs "\r\n" at the end of the view) waits for more bytes. max_frame is latched when a frame's
/// scan starts, so a limit change applies from the next frame.
class DelimiterDecoder {
 public:
  /// Validates the options. Errc::invalid_argument (context() names the option) for: no
  /// delimiter, more than kMaxDelimiters, an empty one or one above kMaxDelimiterSize bytes;
  /// max_frame or max_buffered 0.
  [[nodiscard]] static Result<DelimiterDecoder> create(const DelimiterOptions& options);

  DelimiterDecoder() noexcept = default;

  /// Looks for the next frame in `view` (as LengthFieldDecoder::next). O(new bytes) amortised.
  [[nodiscard]] Decoded next(const ConstSegments& view) noexcept {
    return next_impl(detail::ByteView(view));
  }
  [[nodiscard]] Decoded next(std::span<const std::byte> view) noexcept {
    return next_impl(detail::ByteView(view));
  }

  /// End of stream: ok on a frame boundary (empty view), truncated for an unterminated frame,
  /// or the sticky error.
  [[nodiscard]] Errc on_eof(const ConstSegments& view) const noexcept;
  [[nodiscard]] Errc on_eof(std::span<const std::byte> view) const noexcept {
    return on_eof(ConstSegments(view));
  }

  /// As LengthFieldDecoder::fail.
  Decoded fail(Errc e, std::uint64_t announced = 0) noexcept;
  /// Applies from the next frame; Errc::invalid_argument (nothing changed) for 0.
  [[nodiscard]] Errc set_max_frame(std::size_t n) noexcept;
  [[nodiscard]] Errc set_max_buffered(std::uint64_t n) noexcept;
  [[nodiscard]] std::size_t max_frame() const noexcept { return next_max_frame_; }
  [[nodiscard]] std::uint64_t max_buffered() const noexcept { return next_max_buffered_; }
  [[nodiscard]] Errc error() const noexcept { return error_; }
  void reset() noexcept;

 private:
  struct Delim {
    std::array<std::byte, kMaxDelimiterSize> bytes{};
    std::uint8_t size = 0;
  };
  struct Match {
    std::size_t pos = 0;   // delimiter start
    std::size_t size = 0;  // delimiter length
    bool found = false;
    bool wait = false;  // a longer delimiter may still match at pos: need more bytes
  };
  [[nodiscard]] Decoded next_impl(const detail::ByteView& view) noexcept;
  [[nodiscard]] Match find(const detail::ByteView& view, std::size_t from,
                           std::size_t limit) const noexcept;
  [[nodiscard]] Match find_line(const detail::ByteView& view, std::size_t from,
                                std::size_t limit) noexcept;
  void start_frame() noexcept;

  std::array<Delim, kMaxDelimiters> delims_{};
  std::size_t count_ = 0;
  std::size_t longest_ = 1;
  bool lines_ = false;
  bool allow_bare_cr_ = false;
  bool strip_ = true;
  TooLongPolicy policy_ = TooLongPolicy::fail;
  bool fail_fast_ = true;
  std::size_t max_frame_ = std::size_t{64} << 10U;
  std::uint64_t max_buffered_ = kNoLimit;
  std::size_t next_max_frame_ = std::size_t{64} << 10U;
  std::uint64_t next_max_buffered_ = kNoLimit;
  // Stream state.
  std::size_t scanned_ = 0;      // view bytes known to start no delimiter (resume point)
  bool in_frame_ = false;        // a frame's scan has started (limits latched)
  bool discarding_ = false;      // skipping a too-long frame up to its delimiter
  bool reported_ = false;        // the discarded frame was reported (fail_fast)
  std::uint64_t discarded_ = 0;  // bytes skipped so far in this discard
  Errc error_ = Errc::ok;
  std::uint64_t error_announced_ = 0;
};

/// A type with the decoders' interface (LengthFieldDecoder, DelimiterDecoder, or your own):
/// d.next(ConstSegments) / d.next(span) -> Decoded, d.on_eof(view) -> Errc, d.fail(e, n),
/// d.error() -> Errc.
template <class D>
concept frame_decoder = requires(D& d, const ConstSegments& s, std::span<const std::byte> sp) {
  { d.next(s) } -> std::same_as<Decoded>;
  { d.next(sp) } -> std::same_as<Decoded>;
  { d.on_eof(s) } -> std::same_as<Errc>;
  { d.fail(Errc::ok, std::uint64_t{0}) } -> std::same_as<Decoded>;
  { d.error() } -> std::same_as<Errc>;
};

/// The payload of frame `d` inside `view` (zero-copy; `view` is the one passed to next()).
/// Valid until the reader's consume(); one span on a mirrored ring, up to two otherwise.
[[nodiscard]] constexpr ConstSegments frame_view(const ConstSegments& view,
                                                 const Decoded& d) noexcept {
  const std::span<const std::byte> a = view.first();
  const std::span<const std::byte> b = view.second();
  if (d.offset + d.length <= a.size()) return ConstSegments(a.subspan(d.offset, d.length));
  if (d.offset >= a.size()) return ConstSegments(b.subspan(d.offset - a.size(), d.length));
  return ConstSegments(a.subspan(d.offset), b.first(d.offset + d.length - a.size()));
}
/// Same, for one contiguous span.
[[nodiscard]] constexpr std::span<const std::byte> frame_view(std::span<const std::byte> view,
                                                              const Decoded& d) noexcept {
  return view.subspan(d.offset, d.length);
}

/// Copies the payload of frame `d` (inside `view`) once into `store`: a pool slot or a
/// ring-allocator buffer by size; from both segments when it straddles the wrap. Errors:
/// Errc::store_exhausted (retryable: nothing stored; consume nothing and retry after releases),
/// too_large / never_fits (this frame can never be stored).
[[nodiscard]] Result<MessageRef> copy_frame(MessageStore& store, const ConstSegments& view,
                                            const Decoded& d, std::uint32_t type = 0) noexcept;
[[nodiscard]] inline Result<MessageRef> copy_frame(MessageStore& store,
                                                   std::span<const std::byte> view,
                                                   const Decoded& d,
                                                   std::uint32_t type = 0) noexcept {
  return copy_frame(store, ConstSegments(view), d, type);
}

/// What a decode_into() / for_each_frame() call did.
struct DecodeRun {
  std::size_t frames = 0;  ///< frames handed out (and consumed)
  /// Why it stopped: need_more (all complete frames done; wait for bytes), frame (the callback
  /// asked to stop, max_frames reached, or errc == store_exhausted / too_large / never_fits:
  /// that frame is NOT consumed), skipped (errc reports a discarded frame, exactly once; call
  /// again), error (the stream is bad: errc; close it).
  FrameStatus status = FrameStatus::need_more;
  Errc errc = Errc::ok;
  std::uint64_t announced = 0;  ///< as Decoded::announced
};

namespace detail {

/// Calls f(arg), treating a void return as "continue".
template <class F, class Arg>
[[nodiscard]] bool invoke_continue(F& f, Arg&& arg) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&, Arg&&>>) {
    f(std::forward<Arg>(arg));
    return true;
  } else {
    return static_cast<bool>(f(std::forward<Arg>(arg)));
  }
}

/// The loop behind decode_into() and for_each_frame(): `handle(view, decoded)` returns Errc::ok
/// to consume the frame and continue, another Errc to stop without consuming it, and sets
/// `stop` to end the loop after consuming.
template <byte_reader Reader, frame_decoder Decoder, class Handle>
[[nodiscard]] DecodeRun decode_loop(Reader& reader, Decoder& decoder, std::size_t max_frames,
                                    Handle&& handle) {
  DecodeRun run;
  while (run.frames < max_frames) {
    const ConstSegments view = reader.readable_segments();
    Decoded d = view.count() <= 1 ? decoder.next(view.first()) : decoder.next(view);
    switch (d.status) {
      case FrameStatus::frame: {
        bool stop = false;
        const Errc e = handle(view, d, stop);
        if (e != Errc::ok) return {run.frames, FrameStatus::frame, e, d.announced};
        (void)reader.consume(d.consume);  // d.consume <= view.bytes(): cannot fail
        ++run.frames;
        if (stop) return {run.frames, FrameStatus::frame, Errc::ok, 0};
        break;
      }
      case FrameStatus::skipped:
        (void)reader.consume(d.consume);
        if (d.errc != Errc::ok) return {run.frames, FrameStatus::skipped, d.errc, d.announced};
        break;
      case FrameStatus::need_more:
        // A full ring that holds no complete frame can never make progress: a stream error,
        // never a spin. Likewise a frame announced larger than the ring.
        if (view.bytes() >= reader.capacity() || d.announced > reader.capacity()) {
          d = decoder.fail(Errc::buffered_limit, d.announced > 0 ? d.announced : view.bytes());
          return {run.frames, FrameStatus::error, d.errc, d.announced};
        }
        return {run.frames, FrameStatus::need_more, Errc::ok, d.announced};
      case FrameStatus::error:
        return {run.frames, FrameStatus::error, d.errc, d.announced};
    }
  }
  return {run.frames, FrameStatus::frame, Errc::ok, 0};
}

}  // namespace detail

/// Decodes every complete frame in `reader`'s view, copies each once into `store` and calls
/// `on_message(MessageRef)` (returning void, or bool: false stops after this message), then
/// consumes it. Works with any byte ring reader (ByteReader, MirrorByteReader). Stops at
/// need_more, a stream error, a discard report, `max_frames`, or a store failure (that frame
/// stays unconsumed: Errc::store_exhausted is backpressure and a retry after releases goes on in
/// order). A full ring without a complete frame, or a frame announced larger than the ring,
/// is Errc::buffered_limit (sticky), never a spin. O(frames + bytes).
template <byte_reader Reader, frame_decoder Decoder, class OnMessage>
[[nodiscard]] DecodeRun decode_into(
    Reader& reader, Decoder& decoder, MessageStore& store, OnMessage&& on_message,
    std::size_t max_frames = std::numeric_limits<std::size_t>::max(), std::uint32_t type = 0) {
  return detail::decode_loop(reader, decoder, max_frames,
                             [&](const ConstSegments& view, const Decoded& d, bool& stop) -> Errc {
                               Result<MessageRef> m = copy_frame(store, view, d, type);
                               if (!m) return static_cast<Errc>(m.error().value());
                               stop = !detail::invoke_continue(on_message, std::move(*m));
                               return Errc::ok;
                             });
}

/// Zero-copy variant: calls `on_frame(ConstSegments payload)` (one span on a mirrored ring;
/// valid only during the call; void or bool return as above) for each complete frame and then
/// consumes it. Same stops as decode_into().
template <byte_reader Reader, frame_decoder Decoder, class OnFrame>
[[nodiscard]] DecodeRun for_each_frame(
    Reader& reader, Decoder& decoder, OnFrame&& on_frame,
    std::size_t max_frames = std::numeric_limits<std::size_t>::max()) {
  return detail::decode_loop(reader, decoder, max_frames,
                             [&](const ConstSegments& view, const Decoded& d, bool& stop) -> Errc {
                               stop = !detail::invoke_continue(on_frame, frame_view(view, d));
                               return Errc::ok;
                             });
}

namespace detail {
/// Writes `parts` (total `n` bytes) into `w` only if all of them fit; returns whether they did.
template <byte_writer Writer>
[[nodiscard]] bool write_all(Writer& w, std::span<const std::span<const std::byte>> parts,
                             std::size_t n) noexcept {
  if (w.writable_segments().bytes() < n) return false;  // the free space only grows meanwhile
  for (const std::span<const std::byte> p : parts) (void)w.write(p);
  return true;
}
}  // namespace detail

/// Length-field encoder, the inverse of LengthFieldDecoder with the same options: writes
/// [prefix (length_offset bytes, the caller's)][length field][body] so that the decoder, given
/// the same options, hands back the frame minus its first strip_prefix bytes.
class LengthPrepender {
 public:
  /// Same validation as LengthFieldDecoder::create().
  [[nodiscard]] static Result<LengthPrepender> create(const LengthFieldOptions& options);

  LengthPrepender() noexcept = default;

  /// Encodes the length field for a frame whose bytes after the length field number
  /// `body_size` into `out`; returns its size (1 .. kMaxLengthField). Errors:
  /// Errc::length_below_header (the inverse adjustment is negative), Errc::length_overflow (the
  /// value does not fit the width or its signed range), Errc::frame_too_long (above max_frame).
  [[nodiscard]] Result<std::size_t> encode_length(
      std::uint64_t body_size, std::span<std::byte, kMaxLengthField> out) const noexcept;

  /// Writes one frame (prefix, then the length field, then the body parts, gathered) into
  /// `w` if the whole frame fits in its free space. Returns Errc::ok, Errc::ring_full (nothing
  /// written; retry when the reader consumed), Errc::invalid_argument (prefix.size() !=
  /// length_offset), or encode_length()'s errors.
  template <byte_writer Writer>
  [[nodiscard]] Errc write(Writer& w, std::span<const std::byte> prefix,
                           std::span<const std::span<const std::byte>> body) const noexcept {
    if (prefix.size() != options_.length_offset) return Errc::invalid_argument;
    std::uint64_t body_size = 0;
    for (const auto& p : body) body_size += p.size();
    std::array<std::byte, kMaxLengthField> field{};
    const Result<std::size_t> fl = encode_length(body_size, field);
    if (!fl) return static_cast<Errc>(fl.error().value());
    std::size_t total = prefix.size() + *fl;
    for (const auto& p : body) total += p.size();
    if (total > w.capacity()) return Errc::frame_too_long;
    if (w.writable_segments().bytes() < total) return Errc::ring_full;
    (void)w.write(prefix);
    (void)w.write(std::span<const std::byte>(field.data(), *fl));
    for (const auto& p : body) (void)w.write(p);
    return Errc::ok;
  }
  /// One contiguous body, no prefix (length_offset == 0).
  template <byte_writer Writer>
  [[nodiscard]] Errc write(Writer& w, std::span<const std::byte> body) const noexcept {
    return write(w, {}, std::span<const std::span<const std::byte>>(&body, 1));
  }

  [[nodiscard]] const LengthFieldOptions& options() const noexcept { return options_; }

 private:
  LengthFieldOptions options_;
  std::uint64_t max_frame_ = 0;  // clamped as in the decoder
};

/// Delimiter encoder: writes [body][delimiter] with the first delimiter of the options ("\n"
/// in line mode). Refuses a body that contains a delimiter (the decoder would split it), and
/// in strict line mode a "\r".
class DelimiterWriter {
 public:
  /// Same validation as DelimiterDecoder::create().
  [[nodiscard]] static Result<DelimiterWriter> create(const DelimiterOptions& options);

  DelimiterWriter() noexcept = default;

  /// Errc::invalid_argument when `body` contains a delimiter (or a "\r" in strict line mode),
  /// Errc::frame_too_long above max_frame or the ring's capacity, Errc::ring_full when the
  /// frame does not fit now (nothing written). O(body) for the check.
  [[nodiscard]] Errc check(std::span<const std::byte> body) const noexcept;
  template <byte_writer Writer>
  [[nodiscard]] Errc write(Writer& w, std::span<const std::byte> body) const noexcept {
    if (const Errc e = check(body); e != Errc::ok) return e;
    const std::span<const std::byte> delim(delim_.data(), delim_size_);
    if (body.size() + delim_size_ > w.capacity()) return Errc::frame_too_long;
    const std::array<std::span<const std::byte>, 2> parts{body, delim};
    return detail::write_all(w, parts, body.size() + delim_size_) ? Errc::ok : Errc::ring_full;
  }

 private:
  DelimiterDecoder decoder_;  // check(): a body must decode as one unterminated frame
  std::array<std::byte, kMaxDelimiterSize> delim_{};
  std::size_t delim_size_ = 0;
  std::size_t max_frame_ = 0;
  bool lines_ = false;
  bool allow_bare_cr_ = false;
};

}  // namespace ringkit
