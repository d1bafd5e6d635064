// Fuzzer for the NATS stream decoder and control-line parser (ringkit/net/nats.hpp), the code
// that reads every byte a feed client sends.
//
// The input is a client's byte stream. It is decoded twice the way FeedServer decodes it
// (control line -> parse_control_line() -> expect_payload() after a PUB -> payload ->
// finish_payload()): once with the whole stream in a big mirrored ring, once fed in
// pseudo-random chunks through a small mirrored ring that wraps constantly. The two runs must
// produce the same events (lines parsed, payloads and their bytes, the final error); every
// payload must be exactly the announced size; parse results must be consistent with the
// line; subject_matches() is compared with a reference that splits both subjects into tokens.
//
// Input layout: byte 0 seeds the chunk sizes, byte 1 picks max_payload (1 .. 256 x 16) and the
// control-line limit; the rest is the stream.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/nats.hpp>

#include "support/fuzz_input.hpp"

namespace {

using ringkit::Decoded;
using ringkit::Errc;
using ringkit::FrameStatus;
using ringkit::net::NatsCommand;
using ringkit::net::NatsDecoder;
using ringkit::net::NatsError;
using ringkit::net::NatsOp;

std::vector<std::string> tokens(std::string_view s) {
  std::vector<std::string> t;
  std::string cur;
  for (const char c : s) {
    if (c == '.') {
      t.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  t.push_back(cur);
  return t;
}

/// Reference matcher: token by token, `*` one non-empty token, `>` (last) one or more.
bool ref_matches(std::string_view pattern, std::string_view subject) {
  const auto p = tokens(pattern);
  const auto s = tokens(subject);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">" && i + 1 == p.size()) return s.size() > i && !s[i].empty();
    if (i >= s.size()) return false;
    if (p[i] == "*") {
      if (s[i].empty()) return false;
    } else if (p[i] != s[i]) {
      return false;
    }
  }
  return p.size() == s.size();
}

/// What one decoding run saw, in order.
struct Trace {
  std::string events;
  Errc end = Errc::ok;
};

void add_event(Trace& t, char kind, std::string_view bytes) {
  t.events += kind;
  t.events += std::to_string(bytes.size());
  t.events += ':';
  t.events.append(bytes);
  t.events += '|';
}

/// Decodes `stream` through a mirrored ring of `capacity` bytes, fed in chunks from `seed`.
Trace run(std::span<const std::uint8_t> stream, std::size_t capacity, std::uint32_t seed,
          std::size_t max_payload, std::size_t max_line) {
  Trace t;
  auto dec = NatsDecoder::create({.max_control_line = max_line, .max_payload = max_payload});
  RINGKIT_FUZZ_CHECK(dec.has_value());
  auto ring = ringkit::make_mirror_byte_ring(capacity);
  RINGKIT_FUZZ_CHECK(ring.has_value());
  auto& [w, r] = *ring;
  std::size_t fed = 0;
  std::uint32_t x = seed | 1U;
  std::size_t expect = 0;
  bool in_payload = false;
  while (true) {
    // Feed a chunk (all of it at once when the ring is as big as the stream).
    if (fed < stream.size()) {
      x ^= x << 13U;
      x ^= x >> 17U;
      x ^= x << 5U;
      const std::size_t room = w.writable().size();
      std::size_t n = std::min<std::size_t>({stream.size() - fed, room, 1 + x % 97});
      if (capacity >= stream.size() + 1) n = std::min(stream.size() - fed, room);
      std::memcpy(w.writable().data(), stream.data() + fed, n);
      (void)w.commit(n);
      fed += n;
    }
    bool progressed = false;
    for (;;) {
      const std::span<const std::byte> view = r.readable();
      const Decoded d = dec->next(view);
      if (d.status == FrameStatus::need_more) {
        if (view.size() >= r.capacity() || d.announced > r.capacity()) {
          t.end = Errc::buffered_limit;
          return t;
        }
        break;
      }
      if (d.status == FrameStatus::error) {
        RINGKIT_FUZZ_CHECK(dec->error() == d.errc && d.errc != Errc::ok);
        RINGKIT_FUZZ_CHECK(dec->next(view).status == FrameStatus::error);  // sticky
        t.end = d.errc;
        return t;
      }
      RINGKIT_FUZZ_CHECK(d.status == FrameStatus::frame);
      RINGKIT_FUZZ_CHECK(d.offset + d.length <= d.consume && d.consume <= view.size());
      const std::string_view bytes(reinterpret_cast<const char*>(view.data()) + d.offset, d.length);
      if (in_payload) {
        RINGKIT_FUZZ_CHECK(d.length == expect && d.consume == expect + 2);
        add_event(t, 'P', bytes);
        dec->finish_payload();
        in_payload = false;
      } else {
        RINGKIT_FUZZ_CHECK(bytes.find('\n') == std::string_view::npos);
        NatsCommand cmd;
        const NatsError e = ringkit::net::parse_control_line(bytes, cmd);
        add_event(t, static_cast<char>('a' + static_cast<int>(e)), bytes);
        if (e == NatsError::none && cmd.op == NatsOp::hpub) {
          RINGKIT_FUZZ_CHECK(cmd.header_size <= cmd.size);  // else bad_arguments
        }
        if (e == NatsError::none && (cmd.op == NatsOp::pub || cmd.op == NatsOp::hpub)) {
          RINGKIT_FUZZ_CHECK(!cmd.subject.empty());
          RINGKIT_FUZZ_CHECK(bytes.find(cmd.subject) != std::string_view::npos);
          if (dec->expect_payload(cmd.size) == Errc::ok) {
            in_payload = true;
            expect = cmd.size;
            RINGKIT_FUZZ_CHECK(dec->in_payload());
          } else {
            RINGKIT_FUZZ_CHECK(cmd.size > max_payload);
          }
        }
        if (e == NatsError::none && cmd.op == NatsOp::sub) {
          RINGKIT_FUZZ_CHECK(!cmd.sid.empty() &&
                             (cmd.queue.empty() || cmd.queue.data() < cmd.sid.data()));
          const bool valid = ringkit::net::valid_subject(cmd.subject, true);
          // Match the subscription against the subjects of the line itself.
          if (valid) {
            RINGKIT_FUZZ_CHECK(ringkit::net::subject_matches(cmd.subject, cmd.sid) ==
                               ref_matches(cmd.subject, cmd.sid));
            RINGKIT_FUZZ_CHECK(ringkit::net::subject_matches(cmd.subject, cmd.subject) ==
                               ref_matches(cmd.subject, cmd.subject));
          }
        }
      }
      (void)r.consume(d.consume);
      progressed = true;
    }
    if (fed == stream.size() && !progressed) {
      t.end = dec->on_eof(r.readable());
      return t;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ringkit_test::FuzzInput in(data, size);
  const std::uint32_t seed = in.u8();
  const std::uint8_t limits = in.u8();
  const std::size_t max_payload = 1 + (limits & 0x0fU) * 16U;
  const std::size_t max_line = 16 + ((limits >> 4U) & 0x0fU) * 16U;
  const std::span<const std::uint8_t> stream(data + std::min<std::size_t>(size, 2),
                                             size - std::min<std::size_t>(size, 2));
  if (stream.size() > std::size_t{64} * 1024) return 0;
  // The small ring must hold a whole frame, or the runs legitimately differ (buffered_limit).
  const std::size_t big = std::max<std::size_t>(4096, std::bit_ceil(stream.size() + 1));
  const Trace whole = run(stream, big, seed, max_payload, max_line);
  const Trace pieces = run(stream, 4096, seed + 1, max_payload, max_line);
  if (pieces.end != Errc::buffered_limit) {
    RINGKIT_FUZZ_CHECK(whole.events == pieces.events);
    RINGKIT_FUZZ_CHECK(whole.end == pieces.end);
  }
  return 0;
}
