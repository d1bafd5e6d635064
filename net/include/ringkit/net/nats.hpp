// ringkit/net/nats.hpp: the core NATS client protocol's framing and control lines, as
// ringkit::net::FeedServer reads them (usable by any NATS-speaking server or client).
//
// NATS is a text protocol: a control line ("PUB subject [reply] #bytes\r\n",
// "SUB subject [queue] sid", "UNSUB sid [max]", "PING", "PONG", "CONNECT {json}") optionally
// followed by a payload of the announced length and "\r\n". NatsDecoder is a ringkit frame decoder
// (the frame_decoder concept of ringkit/framing.hpp) made of the library's decoders: the control
// line is found by a DelimiterDecoder in line mode ("\r\n" or "\n", max_frame = the control-line
// limit), and after a PUB the owner calls expect_payload(n): the next frame is then exactly n
// bytes, which must be followed by "\r\n". It reads the ring's view in place and never allocates.
//
//   auto dec = *ringkit::net::NatsDecoder::create({.max_control_line = 4096});
//   ringkit::Decoded d = dec.next(view);
//   if (d && !dec.in_payload()) {
//     ringkit::net::NatsCommand cmd;
//     if (ringkit::net::parse_control_line(line_of(view, d), cmd) == NatsError::none &&
//         cmd.op == ringkit::net::NatsOp::pub)
//       dec.expect_payload(cmd.size);  // after consume(d.consume), the payload is next
//   }
//
// parse_control_line() is a pure function of the line's bytes (no allocation: the command's
// fields are views into the line) and reports every malformed line as a NatsError whose
// text() is what nats-server answers ("-ERR '<text>'").
//
// Thread safety: NatsDecoder is single-owner (one per connection); the free functions are
// thread-safe. NatsCommand's views point into the caller's line and are invalidated with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <ringkit/error.hpp>
#include <ringkit/framing.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>

namespace ringkit::net {

/// The client operations of the core protocol; `ignored` is a line nats-server accepts from a
/// client and does nothing with (INFO, +OK).
enum class NatsOp : std::uint8_t { connect, pub, hpub, sub, unsub, ping, pong, ignored };

/// Why a control line was rejected, as nats-server 2.9 treats it (docs/feed.md). text() is the
/// message of its "-ERR '...'" answer; an empty text means nats-server closes the connection
/// without an answer. closes_connection() says whether the connection ends.
enum class NatsError : std::uint8_t {
  none,
  unknown_operation,        ///< not a client operation (answered, closed)
  bad_arguments,            ///< a known operation with malformed arguments (closed silently)
  max_payload,              ///< PUB announced more than max_payload (answered, closed)
  max_control_line,         ///< the arguments exceed the limit (answered, closed)
  invalid_subject,          ///< SUB subject with an empty token or a misplaced wildcard
  invalid_publish_subject,  ///< pedantic PUB subject with a wildcard or an empty token
  headers,  ///< HPUB without headers negotiated (the caller's check; closed silently)
  no_responders_needs_headers,  ///< CONNECT no_responders without headers (the caller's check)
};

/// The text of the "-ERR '<text>'" answer to `e` (as nats-server spells it); empty when
/// nats-server answers nothing (none, bad_arguments, headers).
[[nodiscard]] std::string_view text(NatsError e) noexcept;
/// True when nats-server closes the connection after `e`.
[[nodiscard]] constexpr bool closes_connection(NatsError e) noexcept {
  return e != NatsError::none && e != NatsError::invalid_subject &&
         e != NatsError::invalid_publish_subject;
}

/// One parsed control line; the views point into the line given to parse_control_line().
struct NatsCommand {
  NatsOp op = NatsOp::ping;
  std::string_view subject;  ///< PUB, SUB
  std::string_view reply;    ///< PUB: the reply subject, may be empty
  std::string_view queue;    ///< SUB: the queue group ("SUB subject queue sid"), may be empty
  std::string_view sid;      ///< SUB, UNSUB: the subscription id (any non-blank token)
  std::string_view json;     ///< CONNECT: the options object
  std::uint64_t size = 0;    ///< PUB, HPUB: the payload's announced length (HPUB: headers included)
  std::uint64_t header_size = 0;  ///< HPUB: how many of the payload's bytes are headers
  std::uint64_t max = 0;          ///< UNSUB: auto-unsubscribe after this many messages (0: now)
  bool has_max = false;           ///< UNSUB: a max was given
};

/// Parses one control line (without its "\r\n" / "\n"), as nats-server's parser does:
/// operations are case-insensitive and must start the line; arguments are separated by runs of
/// spaces or tabs; PING and PONG ignore what follows them. Errors: unknown_operation (not a
/// client operation, or PUB/SUB/UNSUB not followed by a blank), bad_arguments (a missing or
/// extra argument, a size that is not 1 .. 18 decimal digits, an HPUB header size above its
/// total size, CONNECT without an object). Whether the connection negotiated headers (an HPUB
/// without is NatsError::headers) is the caller's check. An UNSUB max that is not a number
/// counts as 0 (unsubscribe now), as in nats-server. Limits (max_payload, the control-line
/// length) and subject checks are the caller's: they depend on the connection.
[[nodiscard]] NatsError parse_control_line(std::string_view line, NatsCommand& out) noexcept;

/// Bytes of a control line that count against max_control_line: the arguments, after the
/// operation and its first blank (nats-server's rule).
[[nodiscard]] std::size_t argument_bytes(std::string_view line) noexcept;

/// A subject for PUB (no wildcards) or SUB (`*` as a whole token, `>` as the last token):
/// non-empty, no empty token (leading, trailing or double dot), no whitespace. nats-server
/// applies the full check only in pedantic mode; the non-pedantic checks of both are in
/// FeedServer (docs/feed.md).
[[nodiscard]] bool valid_subject(std::string_view subject, bool wildcards) noexcept;
/// True when `subject` (a literal subject) matches the subscription `pattern` (which may hold
/// `*` and `>` tokens). O(length).
[[nodiscard]] bool subject_matches(std::string_view pattern, std::string_view subject) noexcept;
/// True when `pattern` contains a wildcard token.
[[nodiscard]] bool has_wildcard(std::string_view pattern) noexcept;

/// Options of NatsDecoder::create().
struct NatsDecoderOptions {
  /// Longest control line, the line break excluded (nats-server: 4096).
  std::size_t max_control_line = 4096;
  /// Largest payload expect_payload() accepts (nats-server: 1 MiB by default).
  std::size_t max_payload = std::size_t{1} << 20U;
};

/// Frame decoder of the NATS stream: control lines, then a payload after expect_payload().
/// Satisfies ringkit::frame_decoder. Control-line frames are the line without its line break
/// (Errc::delimiter_not_found when it exceeds max_control_line, Errc::bare_carriage_return
/// for a "\r" inside it); payload frames are exactly the announced bytes, and the "\r\n" after
/// them is consumed with them (anything else there is Errc::protocol_error). Errors are
/// sticky, as for every ringkit decoder.
class NatsDecoder {
 public:
  /// Errc::invalid_argument (context() names the option) for a zero limit.
  [[nodiscard]] static Result<NatsDecoder> create(const NatsDecoderOptions& options);

  NatsDecoder() noexcept = default;

  [[nodiscard]] Decoded next(const ConstSegments& view) noexcept {
    if (payload_left_ == kNoPayload && error_ == Errc::ok) return lines_.next(view);
    return next_payload(detail::ByteView(view));
  }
  [[nodiscard]] Decoded next(std::span<const std::byte> view) noexcept {
    if (payload_left_ == kNoPayload && error_ == Errc::ok) return lines_.next(view);
    return next_payload(detail::ByteView(view));
  }
  /// The next frame is a payload of `n` bytes plus "\r\n" (call after consuming the PUB line).
  /// Errc::frame_too_long (nothing changed) above max_payload.
  [[nodiscard]] Errc expect_payload(std::size_t n) noexcept;
  /// The owner took the payload frame: the next frame is a control line again. Until then the
  /// same payload frame is handed out again (so a handler may pause on it and see it again).
  void finish_payload() noexcept { payload_left_ = kNoPayload; }
  /// True while the decoder waits for (or hands out) a payload frame.
  [[nodiscard]] bool in_payload() const noexcept { return payload_left_ != kNoPayload; }

  [[nodiscard]] Errc on_eof(const ConstSegments& view) const noexcept;
  [[nodiscard]] Errc on_eof(std::span<const std::byte> view) const noexcept {
    return on_eof(ConstSegments(view));
  }
  Decoded fail(Errc e, std::uint64_t announced = 0) noexcept;
  [[nodiscard]] Errc error() const noexcept { return error_ != Errc::ok ? error_ : lines_.error(); }
  [[nodiscard]] std::size_t max_payload() const noexcept { return max_payload_; }
  /// Forgets the stream state for a new connection.
  void reset() noexcept;

 private:
  static constexpr std::size_t kNoPayload = static_cast<std::size_t>(-1);
  [[nodiscard]] Decoded next_payload(const detail::ByteView& view) noexcept;

  DelimiterDecoder lines_;
  std::size_t max_payload_ = std::size_t{1} << 20U;
  std::size_t payload_left_ = kNoPayload;  // announced payload bytes (without the CRLF)
  Errc error_ = Errc::ok;
};

}  // namespace ringkit::net
