// Integration tests of framed I/O on loopback: the framed echo server on both backends with 200
// verified connections and one garbage sender, both ring kinds, copy mode; io::FramedReader's
// backpressure (handler pause, store exhaustion) over a socketpair; net::async_read_frame on a
// DynamicRing and on a plain DynamicBuffer.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ringkit/framing.hpp>
#include <ringkit/net/framed_echo.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#include "support/eventually.hpp"
#include "support/first_error.hpp"
#include "support/pattern.hpp"
#include "support/ring_kinds.hpp"

#ifdef RINGKIT_HAS_URING
#include <ringkit/byte_ring.hpp>
#include <ringkit/io/framed_reader.hpp>
#include <ringkit/io/uring.hpp>
#include <ringkit/message_store.hpp>
#include <ringkit/mirror_ring.hpp>
#endif
#ifdef RINGKIT_HAS_ASIO
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include <ringkit/net/asio.hpp>
#include <ringkit/net/asio_framing.hpp>
#endif

namespace {

using namespace std::chrono_literals;
using ringkit::UniqueFd;
using ringkit::net::FramedEchoOptions;
using ringkit::net::FramedEchoServer;
using ringkit::net::ProxyBackend;
using ringkit_test::eventually;
using ringkit_test::first_mismatch;
using ringkit_test::FirstError;
using ringkit_test::Rng;

constexpr std::size_t kHeader = 4;  // the default framing: 4-byte big-endian length

void put_be32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
}
std::uint32_t get_be32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint32_t>(p[i]);
  return v;
}

bool send_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t r = ::send(fd, b, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}
bool recv_all(int fd, void* p, std::size_t n) {
  auto* b = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = ::recv(fd, b, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}
void set_timeout(int fd, std::chrono::seconds s) {
  const timeval tv{static_cast<time_t>(s.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/// The frames one client sends: payload sizes drawn from Rng(seed), payload bytes the pattern
/// stream `seed` (consecutive payloads are consecutive stream ranges).
class FrameSource {
 public:
  FrameSource(std::uint64_t seed, std::size_t max_payload)
      : seed_(seed), rng_(seed), max_(max_payload) {}
  /// Appends the next frame (header + payload) to `out`; returns its payload size.
  std::size_t next(std::vector<std::byte>& out) {
    // Mostly small frames, now and then an empty one or one near the maximum.
    const std::size_t pick = rng_.below(16);
    const std::size_t len = pick == 0 ? 0 : pick == 1 ? max_ : rng_.between(1, max_ / 4);
    const std::size_t at = out.size();
    out.resize(at + kHeader + len);
    put_be32(out.data() + at, static_cast<std::uint32_t>(len));
    ringkit_test::fill_pattern(seed_, offset_,
                               std::span<std::byte>(out.data() + at + kHeader, len));
    offset_ += len;
    return len;
  }

 private:
  std::uint64_t seed_;
  Rng rng_;
  std::size_t max_;
  std::uint64_t offset_ = 0;
};

/// One verified client connection: sends `rounds` batches of `batch` frames, reads every echo
/// back and checks its header and payload against the stream.
struct VerifiedClient {
  UniqueFd fd;
  std::uint64_t seed = 0;
  std::unique_ptr<FrameSource> source;
  std::vector<std::byte> tx;
  std::deque<std::size_t> expect;  // payload sizes in flight
  std::uint64_t rx_offset = 0;     // stream offset of the next echoed payload
  std::vector<std::byte> rx;
  std::size_t frames = 0;

  /// Sends one batch (kept below the socket buffers, so the send never waits for the echo).
  bool send_batch(std::size_t batch) {
    tx.clear();
    for (std::size_t i = 0; i < batch; ++i) expect.push_back(source->next(tx));
    return send_all(fd.get(), tx.data(), tx.size());
  }
  /// Receives and checks the echo of everything in flight; an empty string when all matched.
  std::string receive_batch() {
    while (!expect.empty()) {
      std::byte hdr[kHeader];
      if (!recv_all(fd.get(), hdr, kHeader)) return "echo header missing (EOF, error or timeout)";
      const std::size_t len = get_be32(hdr);
      if (len != expect.front()) {
        return "echo length " + std::to_string(len) + ", expected " +
               std::to_string(expect.front());
      }
      rx.resize(len);
      if (!recv_all(fd.get(), rx.data(), len)) return "echo payload short";
      if (const auto m = first_mismatch(seed, rx_offset, rx)) {
        return "echo payload mismatch at byte " + std::to_string(*m) + " of frame " +
               std::to_string(frames);
      }
      rx_offset += len;
      expect.pop_front();
      ++frames;
    }
    return {};
  }
};

struct LoadShape {
  std::size_t conns = 200;
  std::size_t threads = 4;
  std::size_t rounds = 10;
  std::size_t batch = 8;
  std::size_t max_payload = 1000;
  bool garbage = true;
};

#ifdef RINGKIT_TEST_SANITIZED
constexpr std::size_t kRounds = 2;
#else
constexpr std::size_t kRounds = 10;
#endif

/// Sends an HTTP request to the binary port; true when the server closed the connection
/// without echoing anything.
bool garbage_is_rejected(std::uint16_t port) {
  auto c = ringkit::net::connect_tcp("127.0.0.1", port);
  if (!c) return false;
  set_timeout(c->get(), 10s);
  const std::string req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  if (!send_all(c->get(), req.data(), req.size())) return true;  // reset already: closed
  char buf[64];
  const ssize_t r = ::recv(c->get(), buf, sizeof buf, 0);
  return r == 0 || (r < 0 && errno == ECONNRESET);
}

/// Runs the load against `port`; returns the first failure or empty. `frames` gets the number
/// of frames verified.
std::string run_load(std::uint16_t port, const LoadShape& shape, std::uint64_t* frames,
                     bool* garbage_rejected) {
  FirstError err;
  std::atomic<std::uint64_t> verified{0};
  std::thread garbage;
  if (shape.garbage) {
    garbage = std::thread([&] { *garbage_rejected = garbage_is_rejected(port); });
  }
  std::vector<std::thread> ts;
  for (std::size_t t = 0; t < shape.threads; ++t) {
    ts.emplace_back([&, t] {
      std::vector<VerifiedClient> cs;
      for (std::size_t i = t; i < shape.conns; i += shape.threads) {
        auto c = ringkit::net::connect_tcp("127.0.0.1", port);
        if (!c) return err.add("connect: " + c.message());
        set_timeout(c->get(), 10s);
        VerifiedClient vc;
        vc.fd = std::move(*c);
        vc.seed = 1000 + i;
        vc.source = std::make_unique<FrameSource>(vc.seed, shape.max_payload);
        cs.push_back(std::move(vc));
      }
      for (std::size_t r = 0; r < shape.rounds && !err.failed(); ++r) {
        for (auto& c : cs) {
          if (!c.send_batch(shape.batch)) return err.add("send failed");
        }
        for (auto& c : cs) {
          if (auto e = c.receive_batch(); !e.empty()) {
            return err.add("connection seed " + std::to_string(c.seed) + ": " + e);
          }
        }
      }
      // Clean end: EOF on a frame boundary, then the server's EOF after the last echo.
      for (auto& c : cs) {
        ::shutdown(c.fd.get(), SHUT_WR);
        char x;
        if (::recv(c.fd.get(), &x, 1, 0) != 0) return err.add("no clean EOF from the server");
        verified.fetch_add(c.frames, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : ts) t.join();
  if (garbage.joinable()) garbage.join();
  *frames = verified.load();
  return err.first();
}

struct EchoCase {
  ProxyBackend backend;
  bool mirrored;
  bool copy;
  std::size_t ring_size;
  const char* name;
};

class FramedEchoTest : public ::testing::TestWithParam<EchoCase> {};

TEST_P(FramedEchoTest, VerifiedConnectionsAndOneGarbageSender) {
  ::signal(SIGPIPE, SIG_IGN);
  const EchoCase& p = GetParam();
  FramedEchoOptions o;
  o.backend = p.backend;
  o.mirrored = p.mirrored;
  o.copy_messages = p.copy;
  o.ring_size = p.ring_size;
  o.threads = 2;
  auto srv = FramedEchoServer::start(o);
  if (!srv && srv.error() == ringkit::Errc::unsupported) GTEST_SKIP() << srv.message();
  ASSERT_TRUE(srv) << srv.message();
  LoadShape shape;
  shape.rounds = kRounds;
  // The small-ring cases: every frame fits the ring, most straddle its wrap somewhere.
  shape.max_payload = std::min<std::size_t>(1000, p.ring_size / 4);
  std::uint64_t frames = 0;
  bool rejected = false;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = run_load((*srv)->port(), shape, &frames, &rejected);
  EXPECT_TRUE(e.empty()) << e;
  EXPECT_TRUE(rejected) << "the garbage connection was not closed";
  EXPECT_EQ(frames, shape.conns * shape.rounds * shape.batch);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
  auto& s = **srv;
  EXPECT_TRUE(eventually([&] { return s.stats().active == 0; }));
  const auto st = s.stats();
  EXPECT_EQ(st.connections, shape.conns + 1);
  EXPECT_EQ(st.errors, 1U);
  EXPECT_EQ(st.last_error, ringkit::Errc::frame_too_long);
  EXPECT_EQ(st.completed, shape.conns);
  EXPECT_EQ(st.frames, frames);
  s.stop();
}

const EchoCase kEchoCases[] = {
    {ProxyBackend::uring, true, false, std::size_t{64} * 1024, "uring_mirrored"},
    {ProxyBackend::uring, false, false, 4096, "uring_two_segment_small"},
    {ProxyBackend::uring, true, true, 4096, "uring_mirrored_copy_small"},
    {ProxyBackend::asio, true, false, std::size_t{64} * 1024, "asio_mirrored"},
    {ProxyBackend::asio, true, true, 4096, "asio_mirrored_copy_small"},
};

INSTANTIATE_TEST_SUITE_P(Backends, FramedEchoTest, ::testing::ValuesIn(kEchoCases),
                         [](const auto& tp) { return std::string(tp.param.name); });

// --- io::FramedReader over a socketpair ---------------------------------------------------------

/// A socketpair: [0] is read by the code under test, [1] is the peer the test writes.
std::array<UniqueFd, 2> socket_pair() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// `n` frames of stream `seed` (payloads up to `max_payload`), and their payload sizes.
std::vector<std::byte> make_frames(std::uint64_t seed, std::size_t n, std::size_t max_payload,
                                   std::vector<std::size_t>* sizes) {
  FrameSource src(seed, max_payload);
  std::vector<std::byte> out;
  for (std::size_t i = 0; i < n; ++i) sizes->push_back(src.next(out));
  return out;
}

/// Checks the received payloads against stream `seed` and the expected sizes.
::testing::AssertionResult frames_match(std::uint64_t seed, const std::vector<std::size_t>& sizes,
                                        const std::vector<std::vector<std::byte>>& got) {
  if (got.size() != sizes.size()) {
    return ::testing::AssertionFailure() << got.size() << " frames, expected " << sizes.size();
  }
  std::uint64_t off = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].size() != sizes[i]) {
      return ::testing::AssertionFailure() << "frame " << i << ": " << got[i].size() << " bytes";
    }
    if (const auto m = first_mismatch(seed, off, got[i])) {
      return ::testing::AssertionFailure() << "frame " << i << " differs at byte " << *m;
    }
    off += sizes[i];
  }
  return ::testing::AssertionSuccess();
}

std::vector<std::byte> gather(const ringkit::ConstSegments& s) {
  std::vector<std::byte> v;
  for (const auto& part : s) v.insert(v.end(), part.begin(), part.end());
  return v;
}

#ifdef RINGKIT_HAS_URING

using ringkit::io::Frame;
using ringkit::io::FrameAction;

/// Records frames; pauses on every `pause_every`-th frame once; keeps up to `hold` stored
/// messages (copy mode) until the test releases them.
struct Recorder {
  std::vector<std::vector<std::byte>> frames;
  std::vector<ringkit::MessageRef> held;
  std::size_t pause_every = 0;
  std::size_t pauses = 0;
  bool paused_last = false;
  bool ended = false;
  ringkit::Errc end = ringkit::Errc::ok;

  FrameAction on_frame(const Frame& f) {
    if (pause_every != 0 && !paused_last && (frames.size() + 1) % pause_every == 0) {
      paused_last = true;  // the same frame comes back after resume(): take it then
      ++pauses;
      return FrameAction::pause;
    }
    paused_last = false;
    frames.push_back(gather(f.payload));
    if (f.message != nullptr) held.push_back(std::move(*f.message));
    return FrameAction::next;
  }
  void on_end(ringkit::Errc e) {
    ended = true;
    end = e;
  }
};

template <class Kind>
class FramedReaderTest : public ::testing::Test {};
using ReaderKinds = ::testing::Types<ringkit_test::TwoSegmentRing, ringkit_test::MirroredRing>;
TYPED_TEST_SUITE(FramedReaderTest, ReaderKinds, ringkit_test::KindName);

/// Runs `reader` until it ended (or 5 s), resuming it whenever it waits; `on_wait` runs first.
template <class Reader, class OnWait>
void run_until_end(ringkit::io::Uring& u, Reader& reader, OnWait on_wait) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((!reader.ended() || !reader.idle()) && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(u.run_once(5ms));
    if (reader.waiting()) {
      on_wait();
      reader.resume();
    }
  }
}

TYPED_TEST(FramedReaderTest, ZeroCopyFramesAcrossTheWrapWithPauses) {
  auto u = ringkit::io::Uring::create();
  if (!u) GTEST_SKIP() << u.message();
  // Start near the wrap so frames and headers straddle it on the two-segment ring.
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, 4096, 4096 * 3 - 5);
  auto [mine, peer] = socket_pair();
  std::vector<std::size_t> sizes;
  const auto wire = make_frames(7, 200, 300, &sizes);
  auto dec = *ringkit::LengthFieldDecoder::create({});
  Recorder rec;
  rec.pause_every = 7;
  ringkit::io::FramedReader reader(*u, mine.get(), std::move(ring), dec, rec);
  ASSERT_EQ(reader.start(), ringkit::Errc::ok);
  std::thread writer([&, fd = peer.get()] {
    // Dribble the stream in odd chunks so frames arrive split at every possible point.
    Rng rng(3);
    for (std::size_t at = 0; at < wire.size();) {
      const std::size_t n = std::min(wire.size() - at, rng.between(1, 700));
      if (!send_all(fd, wire.data() + at, n)) return;
      at += n;
    }
    ::shutdown(fd, SHUT_WR);
  });
  run_until_end(*u, reader, [] {});
  writer.join();
  EXPECT_TRUE(rec.ended);
  EXPECT_EQ(rec.end, ringkit::Errc::ok);  // EOF on a frame boundary
  EXPECT_TRUE(frames_match(7, sizes, rec.frames));
  EXPECT_GT(rec.pauses, 0U);
  EXPECT_EQ(reader.stats().pauses, rec.pauses);
  EXPECT_EQ(reader.stats().frames, sizes.size());
  EXPECT_EQ(reader.stats().bytes, wire.size());
}

TYPED_TEST(FramedReaderTest, CopyModeStoreExhaustionIsBackpressureInOrder) {
  auto u = ringkit::io::Uring::create();
  if (!u) GTEST_SKIP() << u.message();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, 4096, 4096 - 3);
  auto [mine, peer] = socket_pair();
  std::vector<std::size_t> sizes;
  const auto wire = make_frames(11, 120, 200, &sizes);
  ringkit::MessageStoreOptions so;
  so.pools = ringkit::PoolConfig::custom(4, 4, 4, 4, 4);
  so.pools.xxl_enabled = false;
  so.ring_bytes = 0;
  auto store = *ringkit::MessageStore::create(so);
  auto dec = *ringkit::LengthFieldDecoder::create({});
  Recorder rec;
  ringkit::io::FramedReader reader(*u, mine.get(), std::move(ring), dec, rec,
                                   {.store = &store, .retry_after = 1ms});
  ASSERT_EQ(reader.start(), ringkit::Errc::ok);
  std::thread writer([&, fd = peer.get()] {
    (void)send_all(fd, wire.data(), wire.size());
    ::shutdown(fd, SHUT_WR);
  });
  std::size_t releases = 0;
  run_until_end(*u, reader, [&] {
    // The store is out of slots while the handler holds its messages: release them; the
    // reader's retry timer (or the resume) goes on with the very frame that failed.
    EXPECT_FALSE(rec.held.empty());
    rec.held.clear();
    ++releases;
  });
  writer.join();
  EXPECT_EQ(rec.end, ringkit::Errc::ok);
  EXPECT_TRUE(frames_match(11, sizes, rec.frames));
  EXPECT_GT(releases, 0U);
  EXPECT_GT(reader.stats().store_waits, 0U);
}

TYPED_TEST(FramedReaderTest, BadStreamsEndWithTheirError) {
  auto u = ringkit::io::Uring::create();
  if (!u) GTEST_SKIP() << u.message();
  struct Case {
    std::string bytes;
    ringkit::Errc want{};
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", ringkit::Errc::frame_too_long},  // 0x47455420 > max_frame
      {std::string("\0\0\0\x08"
                   "abc",
                   7),
       ringkit::Errc::truncated},                          // EOF mid-body
      {std::string("\0\0", 2), ringkit::Errc::truncated},  // EOF mid-header
      // Announces 8 KiB, more than the 4 KiB ring can ever hold: an error, never a spin.
      {std::string("\0\0\x20\0", 4) + std::string(5000, 'x'), ringkit::Errc::buffered_limit},
  };
  for (const Case& c : cases) {
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, 4096);
    auto [mine, peer] = socket_pair();
    auto dec = *ringkit::LengthFieldDecoder::create({.max_frame = 1 << 20});
    Recorder rec;
    ringkit::io::FramedReader reader(*u, mine.get(), std::move(ring), dec, rec);
    ASSERT_EQ(reader.start(), ringkit::Errc::ok);
    std::thread writer([&, fd = peer.get()] {
      (void)send_all(fd, c.bytes.data(), c.bytes.size());
      ::shutdown(fd, SHUT_WR);
    });
    run_until_end(*u, reader, [] {});
    writer.join();
    EXPECT_TRUE(rec.ended);
    EXPECT_EQ(rec.end, c.want) << "input of " << c.bytes.size() << " bytes";
    EXPECT_TRUE(rec.frames.empty());
    EXPECT_TRUE(reader.idle());
  }
}

/// A Recorder that also takes discard reports.
struct DiscardRecorder : Recorder {
  std::vector<std::pair<ringkit::Errc, std::uint64_t>> discards;
  void on_discard(ringkit::Errc e, std::uint64_t announced) { discards.emplace_back(e, announced); }
};

TYPED_TEST(FramedReaderTest, DiscardPolicyReportsOnceAndGoesOn) {
  auto u = ringkit::io::Uring::create();
  if (!u) GTEST_SKIP() << u.message();
  for (const bool fail_fast : {true, false}) {
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, 4096, 4096 - 1);
    auto [mine, peer] = socket_pair();
    // A 3000-byte frame (above max_frame 1000, but arriving in 3+ reads) between valid ones.
    std::vector<std::size_t> sizes;
    FrameSource src(9, 200);
    std::vector<std::byte> wire;
    sizes.push_back(src.next(wire));
    const std::size_t at = wire.size();
    wire.resize(at + 4 + 3000, std::byte{0x5A});
    put_be32(wire.data() + at, 3000);
    sizes.push_back(src.next(wire));
    auto dec = *ringkit::LengthFieldDecoder::create(
        {.max_frame = 1000, .too_long = ringkit::TooLongPolicy::discard, .fail_fast = fail_fast});
    DiscardRecorder rec;
    ringkit::io::FramedReader reader(*u, mine.get(), std::move(ring), dec, rec);
    ASSERT_EQ(reader.start(), ringkit::Errc::ok);
    std::thread writer([&, fd = peer.get()] {
      for (std::size_t off = 0; off < wire.size(); off += 1000) {
        (void)send_all(fd, wire.data() + off, std::min<std::size_t>(1000, wire.size() - off));
        std::this_thread::sleep_for(2ms);  // separate reads
      }
      ::shutdown(fd, SHUT_WR);
    });
    run_until_end(*u, reader, [] {});
    writer.join();
    EXPECT_EQ(rec.end, ringkit::Errc::ok) << "fail_fast " << fail_fast;
    ASSERT_EQ(rec.discards.size(), 1U) << "fail_fast " << fail_fast;
    EXPECT_EQ(rec.discards[0].first, ringkit::Errc::frame_too_long);
    EXPECT_EQ(reader.stats().discards, 1U);
    // Both valid frames, in order (their payloads are consecutive stream ranges).
    EXPECT_TRUE(frames_match(9, sizes, rec.frames)) << "fail_fast " << fail_fast;
  }
}

#endif  // RINGKIT_HAS_URING

// --- net::async_read_frame ----------------------------------------------------------------------

#ifdef RINGKIT_HAS_ASIO

using LocalSocket = asio::local::stream_protocol::socket;

/// Reads frames with async_read_frame + next_frame until an error; returns that error.
template <class Buffer>
std::error_code read_all_frames(asio::io_context& io, LocalSocket& sock, Buffer buf,
                                ringkit::LengthFieldDecoder& dec,
                                std::vector<std::vector<std::byte>>* out) {
  std::error_code result;
  bool done = false;
  std::function<void()> next = [&] {
    ringkit::net::async_read_frame(sock, buf, dec, [&](std::error_code ec, ringkit::Decoded d) {
      if (ec) {
        result = ec;
        done = true;
        return;
      }
      // The framed DynamicBuffer flow: this frame, then every frame already buffered.
      while (d) {
        out->push_back(gather(ringkit::net::frame_payload(buf, d)));
        buf.consume(d.consume);
        d = ringkit::net::next_frame(buf, dec);
      }
      if (d.status == ringkit::FrameStatus::error) {
        result = d.errc;
        done = true;
        return;
      }
      next();
    });
  };
  next();
  io.run();
  EXPECT_TRUE(done);
  return result;
}

template <class Kind>
class AsyncReadFrameTest : public ::testing::Test {};
TYPED_TEST_SUITE(AsyncReadFrameTest, ReaderKinds, ringkit_test::KindName);

TYPED_TEST(AsyncReadFrameTest, FramesFromADynamicRingThenCleanEof) {
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, 4096, 4096 * 5 - 2);
  ringkit::net::DynamicRing<typename TypeParam::Ring> dyn(std::move(ring));
  auto [mine, peer] = socket_pair();
  std::vector<std::size_t> sizes;
  const auto wire = make_frames(21, 300, 400, &sizes);
  std::thread writer([&, fd = peer.get()] {
    (void)send_all(fd, wire.data(), wire.size());
    ::shutdown(fd, SHUT_WR);
  });
  asio::io_context io(1);
  LocalSocket sock(io, asio::local::stream_protocol(), mine.release());
  auto dec = *ringkit::LengthFieldDecoder::create({});
  std::vector<std::vector<std::byte>> got;
  const std::error_code ec = read_all_frames(io, sock, dyn.dynamic_buffer(), dec, &got);
  writer.join();
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_TRUE(frames_match(21, sizes, got));
}

TEST(AsyncReadFrame, PlainVectorDynamicBufferAndErrors) {
  struct Case {
    std::string tail;
    std::error_code want;
  };
  const Case cases[] = {
      {"", asio::error::eof},
      {std::string("\0\0\0\x09"
                   "abc",
                   7),
       ringkit::Errc::truncated},
      {"GET / HTTP/1.1\r\n", ringkit::Errc::frame_too_long},
  };
  for (const Case& c : cases) {
    auto [mine, peer] = socket_pair();
    std::vector<std::size_t> sizes;
    auto wire = make_frames(5, 50, 3000, &sizes);
    wire.insert(wire.end(), reinterpret_cast<const std::byte*>(c.tail.data()),
                reinterpret_cast<const std::byte*>(c.tail.data()) + c.tail.size());
    std::thread writer([&, fd = peer.get()] {
      (void)send_all(fd, wire.data(), wire.size());
      ::shutdown(fd, SHUT_WR);
    });
    asio::io_context io(1);
    LocalSocket sock(io, asio::local::stream_protocol(), mine.release());
    auto dec = *ringkit::LengthFieldDecoder::create({.max_frame = 1 << 20});
    std::vector<char> storage;
    std::vector<std::vector<std::byte>> got;
    const std::error_code ec =
        read_all_frames(io, sock, asio::dynamic_buffer(storage, 1 << 20), dec, &got);
    writer.join();
    EXPECT_EQ(ec, c.want);
    EXPECT_TRUE(frames_match(5, sizes, got));
    // Memory follows the received bytes, not announced lengths.
    EXPECT_LE(storage.capacity(), std::size_t{256} << 10);
  }
}

#endif  // RINGKIT_HAS_ASIO

}  // namespace
