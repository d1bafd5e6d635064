// The NATS control-line parser, subject rules and the stream decoder (ringkit/net/nats.hpp).
#include <array>
#include <cstring>

#include <ringkit/net/nats.hpp>

namespace ringkit::net {
namespace {

[[nodiscard]] constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

[[nodiscard]] constexpr char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

/// Case-insensitive equality with an upper-case keyword.
[[nodiscard]] bool is_op(std::string_view word, std::string_view keyword) noexcept {
  if (word.size() != keyword.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (upper(word[i]) != keyword[i]) return false;
  }
  return true;
}

/// Splits `rest` into at most N blank-separated arguments; returns how many there were (N + 1
/// means "more than N").
template <std::size_t N>
[[nodiscard]] std::size_t split_args(std::string_view rest, std::array<std::string_view, N>& out) {
  std::size_t n = 0;
  std::size_t i = 0;
  while (true) {
    while (i < rest.size() && is_blank(rest[i])) ++i;
    if (i == rest.size()) return n;
    std::size_t j = i;
    while (j < rest.size() && !is_blank(rest[j])) ++j;
    if (n == N) return N + 1;
    out[n++] = rest.substr(i, j - i);
    i = j;
  }
}

/// A payload size or UNSUB max: 1 .. 18 decimal digits, else false.
[[nodiscard]] bool parse_count(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 18) return false;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

/// True when `line` starts with `keyword` (case-insensitive).
[[nodiscard]] bool starts_with_op(std::string_view line, std::string_view keyword) noexcept {
  return line.size() >= keyword.size() && is_op(line.substr(0, keyword.size()), keyword);
}

}  // namespace

std::string_view text(NatsError e) noexcept {
  switch (e) {
    case NatsError::none:
    case NatsError::bad_arguments:
    case NatsError::headers:
      return {};
    case NatsError::unknown_operation:
      return "Unknown Protocol Operation";
    case NatsError::max_payload:
      return "Maximum Payload Violation";
    case NatsError::no_responders_needs_headers:
      return "no responders requires headers support";
    case NatsError::max_control_line:
      return "maximum control line exceeded";
    case NatsError::invalid_subject:
      return "Invalid Subject";
    case NatsError::invalid_publish_subject:
      return "Invalid Publish Subject";
  }
  return "Unknown Protocol Operation";
}

std::size_t argument_bytes(std::string_view line) noexcept {
  const std::size_t op_end = line.find_first_of(" \t");
  return op_end == std::string_view::npos ? 0 : line.size() - op_end - 1;
}

namespace {
/// The arguments of PUB ("subject [reply] #bytes", the hot path of a feed, parsed in one pass)
/// or, with `headers`, of HPUB ("subject [reply] #header-bytes #total-bytes").
[[nodiscard]] NatsError parse_pub(std::string_view rest, NatsCommand& out, bool headers) noexcept {
  std::array<std::string_view, 4> a{};
  const std::size_t sizes = headers ? 2 : 1;
  const std::size_t n = split_args(rest, a);
  if (n < 1 + sizes || n > 2 + sizes) return NatsError::bad_arguments;
  out.op = headers ? NatsOp::hpub : NatsOp::pub;
  out.subject = a[0];
  if (n == 2 + sizes) out.reply = a[1];
  if (!parse_count(a[n - 1], out.size)) return NatsError::bad_arguments;
  if (headers && (!parse_count(a[n - 2], out.header_size) || out.header_size > out.size)) {
    return NatsError::bad_arguments;
  }
  return NatsError::none;
}
}  // namespace

NatsError parse_control_line(std::string_view line, NatsCommand& out) noexcept {
  out = NatsCommand{};
  if (line.size() > 4 && (line[0] | 0x20) == 'p' && (line[1] | 0x20) == 'u' &&
      (line[2] | 0x20) == 'b' && is_blank(line[3])) {
    return parse_pub(line.substr(4), out, false);
  }
  // PING and PONG are recognised by their first four bytes (nats-server answers "PINGX").
  if (starts_with_op(line, "PING")) {
    out.op = NatsOp::ping;
    return NatsError::none;
  }
  if (starts_with_op(line, "PONG")) {
    out.op = NatsOp::pong;
    return NatsError::none;
  }
  std::size_t j = 0;
  while (j < line.size() && !is_blank(line[j])) ++j;
  const std::string_view op = line.substr(0, j);
  const bool has_args = j < line.size();  // a blank follows the operation
  const std::string_view rest = has_args ? line.substr(j + 1) : std::string_view{};
  if (is_op(op, "PUB"))
    return has_args ? parse_pub(rest, out, false) : NatsError::unknown_operation;
  if (is_op(op, "SUB")) {
    if (!has_args) return NatsError::unknown_operation;
    std::array<std::string_view, 3> a{};
    const std::size_t n = split_args(rest, a);
    if (n < 2 || n > 3) return NatsError::bad_arguments;
    out.op = NatsOp::sub;
    out.subject = a[0];
    out.queue = n == 3 ? a[1] : std::string_view{};  // SUB subject [queue] sid
    out.sid = a[n - 1];
    return NatsError::none;
  }
  if (is_op(op, "UNSUB")) {
    if (!has_args) return NatsError::unknown_operation;
    std::array<std::string_view, 2> a{};
    const std::size_t n = split_args(rest, a);
    if (n < 1 || n > 2) return NatsError::bad_arguments;
    out.op = NatsOp::unsub;
    out.sid = a[0];
    if (n == 2) {
      out.has_max = true;
      if (!parse_count(a[1], out.max)) out.max = 0;  // nats-server: unsubscribe now
    }
    return NatsError::none;
  }
  if (is_op(op, "CONNECT")) {
    if (!has_args) return NatsError::bad_arguments;
    std::string_view json = rest;
    while (!json.empty() && is_blank(json.front())) json.remove_prefix(1);
    while (!json.empty() && is_blank(json.back())) json.remove_suffix(1);
    if (json.size() < 2 || json.front() != '{' || json.back() != '}') {
      return NatsError::bad_arguments;
    }
    out.op = NatsOp::connect;
    out.json = json;
    return NatsError::none;
  }
  if (is_op(op, "HPUB"))
    return has_args ? parse_pub(rest, out, true) : NatsError::unknown_operation;
  if (is_op(op, "INFO") || is_op(op, "+OK")) {
    out.op = NatsOp::ignored;
    return NatsError::none;
  }
  if (is_op(op, "-ERR")) return NatsError::bad_arguments;
  return NatsError::unknown_operation;
}

bool valid_subject(std::string_view subject, bool wildcards) noexcept {
  if (subject.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = subject.find('.', start);
    const std::string_view tok =
        subject.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (tok.empty()) return false;
    for (const char c : tok) {
      if (is_blank(c) || c == '\r' || c == '\n') return false;
    }
    const bool last = dot == std::string_view::npos;
    // Only a whole token is a wildcard: "*foo", "f*" and "foo>bar" are literal tokens.
    if (tok == "*" || tok == ">") {
      if (!wildcards) return false;
      if (tok == ">" && !last) return false;
    }
    if (last) return true;
    start = dot + 1;
  }
}

bool has_wildcard(std::string_view pattern) noexcept {
  std::size_t start = 0;
  while (start <= pattern.size()) {
    std::size_t dot = pattern.find('.', start);
    if (dot == std::string_view::npos) dot = pattern.size();
    const std::string_view tok = pattern.substr(start, dot - start);
    if (tok == "*" || tok == ">") return true;
    start = dot + 1;
  }
  return false;
}

bool subject_matches(std::string_view pattern, std::string_view subject) noexcept {
  std::size_t p = 0;
  std::size_t s = 0;
  while (true) {
    std::size_t pe = pattern.find('.', p);
    if (pe == std::string_view::npos) pe = pattern.size();
    const std::string_view ptok = pattern.substr(p, pe - p);
    if (s > subject.size()) return false;  // the subject ran out of tokens
    std::size_t se = subject.find('.', s);
    if (se == std::string_view::npos) se = subject.size();
    const std::string_view stok = subject.substr(s, se - s);
    if (ptok == ">" && pe == pattern.size()) return !stok.empty();  // one or more tokens left
    if (ptok != "*" && ptok != stok) return false;
    if (ptok == "*" && stok.empty()) return false;
    const bool plast = pe == pattern.size();
    const bool slast = se == subject.size();
    if (plast || slast) return plast && slast;
    p = pe + 1;
    s = se + 1;
  }
}

Result<NatsDecoder> NatsDecoder::create(const NatsDecoderOptions& options) {
  if (options.max_control_line == 0) {
    return unexpected(Errc::invalid_argument, "NatsDecoder: max_control_line");
  }
  if (options.max_payload == 0) {
    return unexpected(Errc::invalid_argument, "NatsDecoder: max_payload");
  }
  DelimiterOptions lines = DelimiterOptions::line_mode();
  lines.max_frame = options.max_control_line;
  auto dec = DelimiterDecoder::create(lines);
  if (!dec) return unexpected(dec.error(), dec.context());
  NatsDecoder d;
  d.lines_ = *dec;
  d.max_payload_ = options.max_payload;
  return d;
}

Errc NatsDecoder::expect_payload(std::size_t n) noexcept {
  if (n > max_payload_) return Errc::frame_too_long;
  payload_left_ = n;
  return Errc::ok;
}

Decoded NatsDecoder::next_payload(const detail::ByteView& view) noexcept {
  if (error_ != Errc::ok) return {FrameStatus::error, error_, 0, 0, 0, 0};
  const std::size_t n = payload_left_;
  const std::size_t total = n + 2;
  if (view.size() < total) {
    // The CRLF is checked as soon as its bytes are there: a longer payload than announced is
    // reported without waiting for more.
    if (view.size() > n && view.at(n) != std::byte{'\r'}) return fail(Errc::protocol_error, total);
    return {FrameStatus::need_more, Errc::ok, 0, 0, 0, total};
  }
  if (view.at(n) != std::byte{'\r'} || view.at(n + 1) != std::byte{'\n'}) {
    return fail(Errc::protocol_error, total);
  }
  return {FrameStatus::frame, Errc::ok, 0, n, total, total};
}

Errc NatsDecoder::on_eof(const ConstSegments& view) const noexcept {
  if (error_ != Errc::ok) return error_;
  if (payload_left_ != kNoPayload) return Errc::truncated;
  return lines_.on_eof(view);
}

Decoded NatsDecoder::fail(Errc e, std::uint64_t announced) noexcept {
  if (error_ == Errc::ok) error_ = e;
  return {FrameStatus::error, error_, 0, 0, 0, announced};
}

void NatsDecoder::reset() noexcept {
  lines_.reset();
  payload_left_ = kNoPayload;
  error_ = Errc::ok;
}

}  // namespace ringkit::net
