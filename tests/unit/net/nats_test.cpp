// Tests of ringkit/net/nats.hpp: the control-line parser (every operation and every error, as
// nats-server 2.9 classifies them), the subject rules, the matcher, and NatsDecoder over both
// ring kinds (payload exactly the announced size, CRLF checked, sticky errors, EOF inside a
// payload, limits); and FeedOptions validation (each bad option named).
#include <ringkit/net/nats.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/feed.hpp>

namespace {

using ringkit::Decoded;
using ringkit::Errc;
using ringkit::FrameStatus;
using ringkit::net::NatsCommand;
using ringkit::net::NatsDecoder;
using ringkit::net::NatsError;
using ringkit::net::NatsOp;
using ringkit::net::parse_control_line;

NatsError parse(std::string_view line, NatsCommand* out = nullptr) {
  NatsCommand c;
  const NatsError e = parse_control_line(line, c);
  if (out != nullptr) *out = c;
  return e;
}

TEST(NatsParse, Pub) {
  NatsCommand c;
  ASSERT_EQ(parse("PUB foo.bar 5", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::pub);
  EXPECT_EQ(c.subject, "foo.bar");
  EXPECT_EQ(c.reply, "");
  EXPECT_EQ(c.size, 5U);
  ASSERT_EQ(parse("pub\tfoo  inbox.1 \t 0 ", &c), NatsError::none);  // case, tabs, runs, trailing
  EXPECT_EQ(c.subject, "foo");
  EXPECT_EQ(c.reply, "inbox.1");
  EXPECT_EQ(c.size, 0U);
  ASSERT_EQ(parse("PUB big 999999999999999999", &c), NatsError::none);  // 18 digits: the caller
  EXPECT_EQ(c.size, 999999999999999999U);                               // checks max_payload
}

TEST(NatsParse, SubUnsubPingPongConnect) {
  NatsCommand c;
  ASSERT_EQ(parse("SUB foo.* 7", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::sub);
  EXPECT_EQ(c.subject, "foo.*");
  EXPECT_EQ(c.sid, "7");
  EXPECT_TRUE(c.queue.empty());
  ASSERT_EQ(parse("SUB work.> \tworkers  8", &c), NatsError::none);  // a queue group
  EXPECT_EQ(c.op, NatsOp::sub);
  EXPECT_EQ(c.subject, "work.>");
  EXPECT_EQ(c.queue, "workers");
  EXPECT_EQ(c.sid, "8");
  ASSERT_EQ(parse("HPUB foo.bar 18 23", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::hpub);
  EXPECT_EQ(c.subject, "foo.bar");
  EXPECT_TRUE(c.reply.empty());
  EXPECT_EQ(c.header_size, 18U);
  EXPECT_EQ(c.size, 23U);
  ASSERT_EQ(parse("hpub foo rep 0 5", &c), NatsError::none);
  EXPECT_EQ(c.reply, "rep");
  EXPECT_EQ(c.header_size, 0U);
  ASSERT_EQ(parse("UNSUB 7", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::unsub);
  EXPECT_FALSE(c.has_max);
  ASSERT_EQ(parse("UNSUB 7 3", &c), NatsError::none);
  EXPECT_TRUE(c.has_max);
  EXPECT_EQ(c.max, 3U);
  ASSERT_EQ(parse("UNSUB 7 x", &c), NatsError::none);  // nats-server: unsubscribe now
  EXPECT_TRUE(c.has_max);
  EXPECT_EQ(c.max, 0U);
  ASSERT_EQ(parse("PING", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::ping);
  ASSERT_EQ(parse("pingx", &c), NatsError::none);  // nats-server answers PONG
  EXPECT_EQ(c.op, NatsOp::ping);
  ASSERT_EQ(parse("PONG", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::pong);
  ASSERT_EQ(parse("CONNECT {\"verbose\":false} ", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::connect);
  EXPECT_EQ(c.json, "{\"verbose\":false}");
  ASSERT_EQ(parse("INFO {}", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::ignored);
  ASSERT_EQ(parse("+OK", &c), NatsError::none);
  EXPECT_EQ(c.op, NatsOp::ignored);
}

TEST(NatsParse, EveryErrorAsNatsServerClassifiesIt) {
  // Not a client operation: answered 'Unknown Protocol Operation', closed.
  for (const char* l : {"HELLO", "", " PING", "PUB", "SUB", "UNSUB", "MSG foo 1 1", "\x01\x02"}) {
    EXPECT_EQ(parse(l), NatsError::unknown_operation) << l;
  }
  // A known operation with malformed arguments: closed without an answer.
  for (const char* l :
       {"PUB ", "PUB foo", "PUB foo bar", "PUB foo -1", "PUB foo 1x", "PUB foo +1",
        "PUB foo bar baz 1", "PUB foo 1234567890123456789", "SUB foo", "SUB foo 1 2 3",
        "UNSUB 1 2 3", "UNSUB ", "CONNECT", "CONNECT hello", "CONNECT {", "-ERR 'x'"}) {
    EXPECT_EQ(parse(l), NatsError::bad_arguments) << l;
  }
  for (const char* l : {"HPUB foo 10 5", "HPUB foo 5", "HPUB foo x 5", "HPUB a b c 1 2"}) {
    EXPECT_EQ(parse(l), NatsError::bad_arguments) << l;
  }
}

TEST(NatsParse, ErrorTextsAndWhichOnesClose) {
  EXPECT_EQ(ringkit::net::text(NatsError::unknown_operation), "Unknown Protocol Operation");
  EXPECT_EQ(ringkit::net::text(NatsError::max_payload), "Maximum Payload Violation");
  EXPECT_EQ(ringkit::net::text(NatsError::max_control_line), "maximum control line exceeded");
  EXPECT_EQ(ringkit::net::text(NatsError::invalid_subject), "Invalid Subject");
  EXPECT_EQ(ringkit::net::text(NatsError::invalid_publish_subject), "Invalid Publish Subject");
  EXPECT_EQ(ringkit::net::text(NatsError::bad_arguments), "");  // closed silently
  EXPECT_EQ(ringkit::net::text(NatsError::headers), "");
  EXPECT_EQ(ringkit::net::text(NatsError::no_responders_needs_headers),
            "no responders requires headers support");
  EXPECT_TRUE(ringkit::net::closes_connection(NatsError::no_responders_needs_headers));
  EXPECT_TRUE(ringkit::net::closes_connection(NatsError::unknown_operation));
  EXPECT_TRUE(ringkit::net::closes_connection(NatsError::bad_arguments));
  EXPECT_TRUE(ringkit::net::closes_connection(NatsError::max_payload));
  EXPECT_FALSE(ringkit::net::closes_connection(NatsError::invalid_subject));
  EXPECT_FALSE(ringkit::net::closes_connection(NatsError::invalid_publish_subject));
  EXPECT_FALSE(ringkit::net::closes_connection(NatsError::none));
}

TEST(NatsParse, ArgumentBytesCountWhatFollowsTheOperation) {
  EXPECT_EQ(ringkit::net::argument_bytes("PUB foo 1"), 5U);
  EXPECT_EQ(ringkit::net::argument_bytes("PING"), 0U);
}

TEST(NatsSubjects, Validity) {
  using ringkit::net::valid_subject;
  for (const char* s : {"foo", "foo.bar", "*foo", "f*", "foo>bar", "a.b.c.d"}) {
    EXPECT_TRUE(valid_subject(s, false)) << s;  // literal tokens
    EXPECT_TRUE(valid_subject(s, true)) << s;
  }
  for (const char* s : {"*", ">", "foo.*", "foo.>", "*.bar", "foo.*.>"}) {
    EXPECT_FALSE(valid_subject(s, false)) << s;  // a publish subject has no wildcard
    EXPECT_TRUE(valid_subject(s, true)) << s;
  }
  for (const char* s : {"", ".", "foo..bar", ".foo", "foo.", "foo.>.bar", ">.foo", "a b"}) {
    EXPECT_FALSE(valid_subject(s, true)) << s;
  }
}

TEST(NatsSubjects, Matching) {
  using ringkit::net::subject_matches;
  EXPECT_TRUE(subject_matches("foo", "foo"));
  EXPECT_FALSE(subject_matches("foo", "foo.bar"));
  EXPECT_TRUE(subject_matches("*", "foo"));
  EXPECT_FALSE(subject_matches("*", "foo.bar"));
  EXPECT_TRUE(subject_matches(">", "foo.bar.baz"));
  EXPECT_TRUE(subject_matches("foo.*", "foo.bar"));
  EXPECT_FALSE(subject_matches("foo.*", "foo"));
  EXPECT_FALSE(subject_matches("foo.*", "foo.bar.baz"));
  EXPECT_TRUE(subject_matches("foo.>", "foo.bar.baz"));
  EXPECT_FALSE(subject_matches("foo.>", "foo"));
  EXPECT_TRUE(subject_matches("*.bar", "x.bar"));
  EXPECT_TRUE(subject_matches("foo.*.>", "foo.x.y"));
  EXPECT_FALSE(subject_matches("foo.*.>", "foo.x"));
  EXPECT_TRUE(subject_matches("f*", "f*"));  // a literal token
  EXPECT_FALSE(subject_matches("f*", "foo"));
  EXPECT_TRUE(ringkit::net::has_wildcard("foo.*"));
  EXPECT_TRUE(ringkit::net::has_wildcard(">"));
  EXPECT_FALSE(ringkit::net::has_wildcard("f*.foo>"));
}

NatsDecoder decoder(std::size_t max_payload = 64, std::size_t max_line = 32) {
  return *NatsDecoder::create({.max_control_line = max_line, .max_payload = max_payload});
}

TEST(NatsDecoderTest, CreateRejectsZeroLimits) {
  EXPECT_EQ(NatsDecoder::create({.max_control_line = 0}).error(), Errc::invalid_argument);
  EXPECT_EQ(NatsDecoder::create({.max_payload = 0}).error(), Errc::invalid_argument);
}

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

TEST(NatsDecoderTest, LineThenPayloadThenLine) {
  NatsDecoder d = decoder();
  const std::string_view in = "PUB a 5\r\nhello\r\nPING\n";
  Decoded r = d.next(bytes(in));
  ASSERT_EQ(r.status, FrameStatus::frame);
  EXPECT_EQ(in.substr(r.offset, r.length), "PUB a 5");
  EXPECT_EQ(r.consume, 9U);
  ASSERT_EQ(d.expect_payload(5), Errc::ok);
  EXPECT_TRUE(d.in_payload());
  const std::string_view rest = in.substr(9);
  r = d.next(bytes(rest));
  ASSERT_EQ(r.status, FrameStatus::frame);
  EXPECT_EQ(rest.substr(r.offset, r.length), "hello");
  EXPECT_EQ(r.consume, 7U);  // the CRLF goes with the payload
  r = d.next(bytes(rest));   // not taken yet: handed out again (a paused handler sees it again)
  EXPECT_EQ(r.length, 5U);
  d.finish_payload();
  EXPECT_FALSE(d.in_payload());
  r = d.next(bytes(rest.substr(7)));
  ASSERT_EQ(r.status, FrameStatus::frame);
  EXPECT_EQ(rest.substr(7).substr(r.offset, r.length), "PING");
}

TEST(NatsDecoderTest, PayloadNeedsItsCrlfAndNothingElse) {
  for (const char* bad : {"hello\n", "helloXY", "hel", "hello\rX"}) {
    NatsDecoder d = decoder();
    const std::size_t n = std::strcmp(bad, "hel") == 0 ? 2 : 5;  // "hel": announced 2, 'l' after
    ASSERT_EQ(d.expect_payload(n), Errc::ok);
    const Decoded r = d.next(bytes(bad));
    EXPECT_EQ(r.status, FrameStatus::error) << bad;
    EXPECT_EQ(r.errc, Errc::protocol_error) << bad;
    EXPECT_EQ(d.next(bytes("hello\r\n")).errc, Errc::protocol_error) << "sticky";
    EXPECT_EQ(d.error(), Errc::protocol_error);
  }
  NatsDecoder d = decoder();
  ASSERT_EQ(d.expect_payload(5), Errc::ok);
  Decoded r = d.next(bytes("hello\r"));  // the LF may come with the next read
  EXPECT_EQ(r.status, FrameStatus::need_more);
  EXPECT_EQ(r.announced, 7U);
  r = d.next(bytes("hello\r\n"));
  EXPECT_EQ(r.status, FrameStatus::frame);
}

TEST(NatsDecoderTest, LimitsAndEof) {
  NatsDecoder d = decoder(64, 32);
  EXPECT_EQ(d.expect_payload(65), Errc::frame_too_long);
  EXPECT_FALSE(d.in_payload());
  const std::string longline(40, 'x');
  EXPECT_EQ(d.next(bytes(longline)).errc, Errc::delimiter_not_found);  // no line end within 32
  NatsDecoder e = decoder();
  EXPECT_EQ(e.next(bytes("PI\rNG\r\n")).errc, Errc::bare_carriage_return);
  NatsDecoder f = decoder();
  EXPECT_EQ(f.on_eof(bytes("")), Errc::ok);
  EXPECT_EQ(f.on_eof(bytes("PUB a")), Errc::truncated);
  ASSERT_EQ(f.expect_payload(3), Errc::ok);
  EXPECT_EQ(f.on_eof(bytes("ab")), Errc::truncated);  // EOF inside a payload
  f.reset();
  EXPECT_FALSE(f.in_payload());
  EXPECT_EQ(f.error(), Errc::ok);
}

TEST(NatsDecoderTest, PayloadAcrossTheWrapOfATwoSegmentRing) {
  auto ring = *ringkit::make_byte_ring(64);
  auto& [w, r] = ring;
  const std::string pad(50, 'p');
  ASSERT_EQ(w.write(bytes(pad)), pad.size());
  ASSERT_EQ(r.consume(pad.size()), Errc::ok);
  const std::string_view msg = "PUB a 20\r\n0123456789abcdefghij\r\n";
  ASSERT_EQ(w.write(bytes(msg)), msg.size());
  NatsDecoder d = decoder();
  Decoded x = d.next(r.readable_segments());
  ASSERT_EQ(x.status, FrameStatus::frame);
  ASSERT_EQ(r.consume(x.consume), Errc::ok);
  ASSERT_EQ(d.expect_payload(20), Errc::ok);
  const auto view = r.readable_segments();
  ASSERT_EQ(view.count(), 2U);  // the payload straddles the wrap
  x = d.next(view);
  ASSERT_EQ(x.status, FrameStatus::frame);
  EXPECT_EQ(x.length, 20U);
  std::string got;
  for (const auto part : ringkit::frame_view(view, x)) {
    got.append(reinterpret_cast<const char*>(part.data()), part.size());
  }
  EXPECT_EQ(got, "0123456789abcdefghij");
}

TEST(FeedOptionsTest, EveryBadOptionIsRejectedWithItsName) {
  struct Case {
    const char* name;
    void (*bad)(ringkit::net::FeedOptions&);
  };
  const Case cases[] = {
      {"threads", [](ringkit::net::FeedOptions& o) { o.threads = 0; }},
      {"threads", [](ringkit::net::FeedOptions& o) { o.threads = 65; }},
      {"max_payload", [](ringkit::net::FeedOptions& o) { o.max_payload = 0; }},
      {"max_payload", [](ringkit::net::FeedOptions& o) { o.max_payload = (64U << 20U) + 1; }},
      {"max_control_line", [](ringkit::net::FeedOptions& o) { o.max_control_line = 31; }},
      {"max_conns", [](ringkit::net::FeedOptions& o) { o.max_conns = 0; }},
      {"max_pending", [](ringkit::net::FeedOptions& o) { o.max_pending = 1023; }},
      {"write_deadline",
       [](ringkit::net::FeedOptions& o) { o.write_deadline = std::chrono::milliseconds(0); }},
      {"ping_interval",
       [](ringkit::net::FeedOptions& o) { o.ping_interval = std::chrono::milliseconds(-1); }},
      {"max_pings_out", [](ringkit::net::FeedOptions& o) { o.max_pings_out = 0; }},
      {"max_pings_out", [](ringkit::net::FeedOptions& o) { o.max_pings_out = 1001; }},
      {"out_ring", [](ringkit::net::FeedOptions& o) { o.out_ring = 5000; }},
      {"out_ring", [](ringkit::net::FeedOptions& o) { o.out_ring = 2048; }},
      {"server_name", [](ringkit::net::FeedOptions& o) { o.server_name = "a\"b"; }},
  };
  for (const Case& c : cases) {
    ringkit::net::FeedOptions o;
    c.bad(o);
    auto s = ringkit::net::FeedServer::start(o);
    ASSERT_FALSE(s.has_value()) << c.name;
    EXPECT_EQ(s.error(), Errc::invalid_argument) << c.name;
    EXPECT_NE(s.message().find(c.name), std::string::npos) << s.message();
  }
}

}  // namespace
