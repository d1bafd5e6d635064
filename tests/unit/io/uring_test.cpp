// Tests of ringkit/io/uring.hpp: the io_uring engine over both ring kinds.
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/io/uring.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

namespace {

using namespace std::chrono_literals;
using ringkit::Errc;
using ringkit::UniqueFd;
using ringkit::io::IoStatus;
using ringkit::io::OpResult;
using ringkit::io::Uring;

/// True when `ec` says io_uring itself is unavailable: no kernel support (ENOSYS) or disabled
/// or forbidden (EPERM: /proc/sys/kernel/io_uring_disabled, seccomp, a container profile).
/// Anything else (ENOMEM, EINVAL, a ringkit error) is a failure, never a skip.
bool uring_unavailable(const std::error_code& ec) {
  return ec.category() == std::system_category() && (ec.value() == ENOSYS || ec.value() == EPERM);
}

/// Creates an engine; skips the test only when io_uring is unavailable, fails on any other error.
#define RINGKIT_URING_OR_SKIP(var)                                                   \
  auto var##_r = Uring::create();                                                    \
  if (!var##_r && uring_unavailable(var##_r.error()))                                \
    GTEST_SKIP() << "io_uring unavailable: " << var##_r.message();                   \
  ASSERT_TRUE(var##_r.has_value()) << "Uring::create failed: " << var##_r.message(); \
  Uring& var = *var##_r  // NOLINT(bugprone-macro-parentheses): names the new variable

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

struct TwoSegment {
  static ringkit::ByteRing make(std::size_t cap) { return *ringkit::make_byte_ring(cap); }
};
struct Mirrored {
  static ringkit::MirrorByteRing make(std::size_t cap) {
    return *ringkit::make_mirror_byte_ring(cap);
  }
};

template <class K>
class UringRingTest : public ::testing::Test {};
using Kinds = ::testing::Types<TwoSegment, Mirrored>;
TYPED_TEST_SUITE(UringRingTest, Kinds);

std::array<UniqueFd, 2> make_pipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::array<UniqueFd, 2> make_socketpair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

TEST(Uring, CreateReportsFlags) {
  RINGKIT_URING_OR_SKIP(ring);
  EXPECT_EQ(ring.in_flight(), 0U);
  auto bad = Uring::create({.entries = 0});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), Errc::invalid_argument);
}

TYPED_TEST(UringRingTest, ReadvCommitsExactlyWhatArrivedAndEof) {
  RINGKIT_URING_OR_SKIP(ring);
  auto [w, r] = TypeParam::make(4096);
  auto p = make_pipe();
  const std::string msg = "hello from io_uring";
  ASSERT_EQ(::write(p[1].get(), msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
  OpResult got;
  int calls = 0;
  ASSERT_TRUE(ring.readv(p[0].get(), w, [&](const OpResult& res) {
    got = res;
    ++calls;
  }));
  // A second read on the same writer while one is in flight is rejected.
  EXPECT_EQ(ring.readv(p[0].get(), w, [](const OpResult&) {}).errc, Errc::busy);
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.status, IoStatus::ok);
  EXPECT_EQ(got.bytes, msg.size());
  EXPECT_EQ(r.size_hint(), msg.size());
  std::string out(msg.size(), '\0');
  EXPECT_EQ(r.read(out.data(), out.size()), msg.size());
  EXPECT_EQ(out, msg);

  p[1].reset();  // EOF
  calls = 0;
  ASSERT_TRUE(ring.readv(p[0].get(), w, [&](const OpResult& res) {
    got = res;
    ++calls;
  }));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.status, IoStatus::eof);
  EXPECT_EQ(r.size_hint(), 0U);
  EXPECT_EQ(ring.in_flight(), 0U);
}

TYPED_TEST(UringRingTest, FullAndEmptyRingsSubmitNothing) {
  RINGKIT_URING_OR_SKIP(ring);
  auto [w, r] = TypeParam::make(4096);
  auto p = make_pipe();
  EXPECT_EQ(ring.writev(p[1].get(), r, [](const OpResult&) {}).errc, Errc::ring_empty);
  std::vector<std::byte> fill(4096, std::byte{1});
  ASSERT_EQ(w.write(fill), 4096U);
  EXPECT_EQ(ring.readv(p[0].get(), w, [](const OpResult&) {}).errc, Errc::ring_full);
  EXPECT_EQ(ring.in_flight(), 0U);
}

TYPED_TEST(UringRingTest, WrappedDataGoesOutInOrder) {
  RINGKIT_URING_OR_SKIP(ring);
  auto [w, r] = TypeParam::make(4096);
  auto p = make_pipe();
  std::vector<std::byte> a(3000), b(2000);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<std::byte>(i);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(i * 7);
  ASSERT_EQ(w.write(a), a.size());
  std::vector<std::byte> sink(3000);
  ASSERT_EQ(r.read(sink), 3000U);
  ASSERT_EQ(w.write(b), b.size());  // wraps at 4096
  int calls = 0;
  OpResult got;
  ASSERT_TRUE(ring.writev(p[1].get(), r, [&](const OpResult& res) {
    got = res;
    ++calls;
  }));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  ASSERT_EQ(got.status, IoStatus::ok);
  EXPECT_EQ(got.bytes, b.size());
  std::vector<std::byte> out(b.size());
  ASSERT_EQ(::read(p[0].get(), out.data(), out.size()), static_cast<ssize_t>(out.size()));
  EXPECT_EQ(out, b);
}

TYPED_TEST(UringRingTest, CancelInFlightReadCommitsNothing) {
  RINGKIT_URING_OR_SKIP(ring);
  auto [w, r] = TypeParam::make(4096);
  auto sp = make_socketpair();
  OpResult got;
  int calls = 0;
  auto sub = ring.readv(sp[0].get(), w, [&](const OpResult& res) {
    got = res;
    ++calls;
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(ring.run_once(10ms));  // submitted, nothing to read yet
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(ring.cancel(sub.id), Errc::ok);
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.status, IoStatus::cancelled);
  EXPECT_EQ(r.size_hint(), 0U);
  EXPECT_EQ(ring.cancel(sub.id), Errc::invalid_argument);  // no longer in flight
  // The writer is usable again.
  EXPECT_TRUE(ring.readv(sp[0].get(), w, [&](const OpResult& res) { got = res; }));
  const char c = 'x';
  ASSERT_EQ(::write(sp[1].get(), &c, 1), 1);
  while (ring.in_flight() != 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.bytes, 1U);
}

TEST(Uring, TimeoutFiresAndCanBeCancelled) {
  RINGKIT_URING_OR_SKIP(ring);
  OpResult a, b;
  int calls = 0;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(ring.timeout(20ms, [&](const OpResult& res) {
    a = res;
    ++calls;
  }));
  auto s = ring.timeout(10s, [&](const OpResult& res) {
    b = res;
    ++calls;
  });
  ASSERT_TRUE(s);
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  EXPECT_EQ(a.status, IoStatus::ok);
  EXPECT_EQ(ring.cancel(s.id), Errc::ok);
  while (calls < 2) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(b.status, IoStatus::cancelled);
}

TEST(Uring, ResetPeerReportsError) {
  RINGKIT_URING_OR_SKIP(ring);  // send() uses MSG_NOSIGNAL: no SIGPIPE handler needed
  auto lis = *ringkit::net::listen_tcp("127.0.0.1", 0);
  const auto port = *ringkit::net::local_port(lis.get());
  auto cli = *ringkit::net::connect_tcp("127.0.0.1", port);
  auto srv = *ringkit::net::accept_tcp(lis.get());
  // Close with unread data pending and SO_LINGER 0 -> RST.
  linger lg{1, 0};
  ASSERT_EQ(::setsockopt(cli.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  cli.reset();
  auto [w, r] = *ringkit::make_byte_ring(4096);
  std::vector<std::byte> data(4096, std::byte{7});
  ASSERT_EQ(w.write(data), data.size());
  OpResult got;
  // Writes to a reset connection fail with EPIPE or ECONNRESET (first one may succeed).
  for (int i = 0; i < 10 && got.status != IoStatus::error; ++i) {
    if (r.size_hint() == 0) {
      ASSERT_EQ(w.write(data), data.size());
    }
    int calls = 0;
    ASSERT_TRUE(ring.send(srv.get(), r, [&](const OpResult& res) {
      got = res;
      ++calls;
    }));
    while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  }
  ASSERT_EQ(got.status, IoStatus::error);
  EXPECT_TRUE(got.err == EPIPE || got.err == ECONNRESET) << got.err;
  EXPECT_FALSE(got.error().message().empty());
}

TYPED_TEST(UringRingTest, LoopbackEcho64MiBVerifiedNoLeaks) {
#ifdef RINGKIT_TEST_SANITIZED
  constexpr std::size_t kTotal = std::size_t{8} << 20;
#else
  constexpr std::size_t kTotal = std::size_t{64} << 20;
#endif
  const std::size_t fds_before = open_fds();
  {
    RINGKIT_URING_OR_SKIP(ring);
    auto lis = *ringkit::net::listen_tcp("127.0.0.1", 0);
    const auto port = *ringkit::net::local_port(lis.get());
    UniqueFd srv;
    int accepted = 0;
    ASSERT_TRUE(ring.accept(lis.get(), [&](const OpResult& res) {
      if (res.ok()) {
        srv.reset(res.fd);
        ++accepted;
      }
    }));
    auto cli = *ringkit::net::connect_tcp("127.0.0.1", port);
    while (accepted == 0) ASSERT_TRUE(ring.run_once(1s));

    // The echo server runs on the engine; the client is a plain blocking thread pair.
    auto echo_ring = TypeParam::make(64 * 1024);  // no structured binding: clang 14 lambdas
    auto& w = echo_ring.writer;
    auto& r = echo_ring.reader;
    bool eof = false, reading = false, writing = false, failed = false;
    std::function<void()> pump = [&] {
      if (!reading && !eof && w.size_hint() < w.capacity()) {
        reading = ring.readv(srv.get(), w,
                             [&](const OpResult& res) {
                               reading = false;
                               if (res.status == IoStatus::eof)
                                 eof = true;
                               else if (!res.ok())
                                 failed = true;
                               pump();
                             })
                      .errc == Errc::ok;
      }
      if (!writing && r.size_hint() > 0) {
        writing = ring.writev(srv.get(), r,
                              [&](const OpResult& res) {
                                writing = false;
                                if (!res.ok()) failed = true;
                                pump();
                              })
                      .errc == Errc::ok;
      }
      if (eof && !writing && r.size_hint() == 0) ::shutdown(srv.get(), SHUT_WR);
    };
    pump();
    std::thread sender([&] {
      std::mt19937_64 rng(7);
      std::vector<std::uint64_t> chunk(4096);
      std::size_t sent = 0;
      while (sent < kTotal) {
        for (auto& x : chunk) x = rng();
        const auto* p = reinterpret_cast<const char*>(chunk.data());
        std::size_t left = chunk.size() * 8;
        while (left > 0) {
          const ssize_t n = ::write(cli.get(), p, left);
          if (n <= 0) return;
          p += n;
          left -= static_cast<std::size_t>(n);
        }
        sent += chunk.size() * 8;
      }
      ::shutdown(cli.get(), SHUT_WR);
    });
    std::size_t received = 0;
    bool mismatch = false;
    std::thread receiver([&] {
      std::mt19937_64 rng(7);
      std::vector<std::uint64_t> want(4096), got(4096);
      while (received < kTotal) {
        for (auto& x : want) x = rng();
        auto* p = reinterpret_cast<char*>(got.data());
        std::size_t left = got.size() * 8;
        while (left > 0) {
          const ssize_t n = ::read(cli.get(), p, left);
          if (n <= 0) return;
          p += n;
          left -= static_cast<std::size_t>(n);
        }
        if (std::memcmp(got.data(), want.data(), got.size() * 8) != 0) {
          mismatch = true;
          return;
        }
        received += got.size() * 8;
      }
    });
    while ((reading || writing || !eof) && !failed) ASSERT_TRUE(ring.run_once(1s));
    sender.join();
    receiver.join();
    EXPECT_FALSE(failed);
    EXPECT_FALSE(mismatch);
    EXPECT_EQ(received, kTotal);
    // Cancel the multishot accept so no op state is left behind.
    srv.reset();
  }
  EXPECT_EQ(open_fds(), fds_before);
}

TEST(Uring, FixedBuffersOnMirroredRing) {
  RINGKIT_URING_OR_SKIP(ring);
  auto mr = *ringkit::make_mirror_byte_ring(std::size_t{16} * 1024);
  auto& w = mr.writer;
  auto& r = mr.reader;
  ASSERT_TRUE(w.mirrored());
  const iovec bufs[] = {ringkit::io::fixed_buffer(w)};
  auto reg = ring.register_buffers(bufs);
  if (!reg) GTEST_SKIP() << "kernel refused to register the double mapping: " << reg.message();
  auto in = make_pipe();
  auto out = make_pipe();
  std::mt19937 rng(3);
  std::vector<std::byte> sent, got, chunk(5000), back(std::size_t{16} * 1024);
  // 40 chunks of 5000 bytes through a 16 KiB ring: spans straddle the wrap all the time, and
  // each op is one READ_FIXED / WRITE_FIXED on the double mapping (short reads are allowed).
  for (int round = 0; round < 40; ++round) {
    for (auto& b : chunk) b = static_cast<std::byte>(rng());
    sent.insert(sent.end(), chunk.begin(), chunk.end());
    ASSERT_EQ(::write(in[1].get(), chunk.data(), chunk.size()), 5000);
    std::size_t moved = 0;
    while (moved < chunk.size()) {
      int calls = 0;
      OpResult res;
      ASSERT_TRUE(ring.readv(in[0].get(), w, [&](const OpResult& x) {
        res = x;
        ++calls;
      }));
      while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
      ASSERT_TRUE(res.ok());
      moved += res.bytes;
      calls = 0;
      ASSERT_TRUE(ring.writev(out[1].get(), r, [&](const OpResult& x) {
        res = x;
        ++calls;
      }));
      while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
      ASSERT_TRUE(res.ok());
      ASSERT_EQ(r.size_hint(), 0U);
      const ssize_t n = ::read(out[0].get(), back.data(), res.bytes);
      ASSERT_EQ(n, static_cast<ssize_t>(res.bytes));
      got.insert(got.end(), back.begin(), back.begin() + n);
    }
  }
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  EXPECT_GE(ring.fixed_ops(), 80U);  // every op went through the fixed path
  ring.unregister_buffers();
}

TEST(Uring, CloseAndConnect) {
  RINGKIT_URING_OR_SKIP(ring);
  auto lis = *ringkit::net::listen_tcp("127.0.0.1", 0);
  const auto port = *ringkit::net::local_port(lis.get());
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  OpResult got;
  int calls = 0;
  ASSERT_TRUE(ring.connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr,
                           [&](const OpResult& res) {
                             got = res;
                             ++calls;
                           }));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.status, IoStatus::ok) << got.error().message();
  calls = 0;
  ASSERT_TRUE(ring.close(s.release(), [&](const OpResult& res) {
    got = res;
    ++calls;
  }));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.status, IoStatus::ok);
  // Connecting to a closed port is refused.
  lis.reset();
  UniqueFd s2(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  calls = 0;
  ASSERT_TRUE(ring.connect(s2.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr,
                           [&](const OpResult& res) {
                             got = res;
                             ++calls;
                           }));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.status, IoStatus::error);
  EXPECT_EQ(got.err, ECONNREFUSED);
}

}  // namespace

// recv (IORING_OP_RECV, optionally poll-first) and send (IORING_OP_SEND for one segment,
// SENDMSG for two), on a ring created and run on its own thread with SINGLE_ISSUER and
// DEFER_TASKRUN when the kernel has them.
TYPED_TEST(UringRingTest, RecvSendOnSocketsWithDeferredTaskRun) {
  for (const bool poll_first : {false, true}) {
    std::string failure;
    std::thread t([&] {
      auto made = Uring::create(
          {.single_issuer = true, .defer_taskrun = true, .recv_poll_first = poll_first});
      if (!made) {
        failure = uring_unavailable(made.error()) ? "skip" : "create: " + made.message();
        return;
      }
      Uring& ring = *made;
      if (ring.has_defer_taskrun() && !ring.has_single_issuer()) failure = "defer without issuer";
      auto [w, r] = TypeParam::make(4096);
      auto sp = make_socketpair();
      // Wrap the ring so that the data to send sits in two segments on a two-segment ring.
      std::vector<std::byte> pad(3000, std::byte{1});
      if (w.write(pad) != pad.size() || r.consume(pad.size()) != Errc::ok) failure = "pad";
      OpResult got;
      int calls = 0;
      // A recv submitted before the data arrives completes when it does.
      if (!ring.recv(sp[0].get(), w, [&](const OpResult& res) {
            got = res;
            ++calls;
          })) {
        failure = "recv submit";
        return;
      }
      if (!ring.run_once(10ms)) failure = "run_once";
      if (calls != 0) failure = "recv completed without data";
      std::string msg(2000, 'a');
      for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>('a' + i % 26);
      if (::write(sp[1].get(), msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) {
        failure = "write";
      }
      while (calls == 0) {
        if (!ring.run_once(1s)) {
          failure = "run_once";
          return;
        }
      }
      // recv fills one span: up to the wrap on a two-segment ring, all of it when mirrored.
      const std::size_t first = got.bytes;
      if (got.status != IoStatus::ok || first == 0) failure = "recv result";
      std::size_t total = first;
      while (total < msg.size()) {
        calls = 0;
        if (!ring.recv(sp[0].get(), w, [&](const OpResult& res) {
              got = res;
              ++calls;
            })) {
          failure = "recv again";
          return;
        }
        while (calls == 0) {
          if (!ring.run_once(1s)) {
            failure = "run_once";
            return;
          }
        }
        total += got.bytes;
      }
      if (r.size_hint() != msg.size()) failure = "committed bytes";
      // send everything back (two segments on the two-segment ring: sendmsg; one: send).
      calls = 0;
      if (!ring.send(sp[0].get(), r, [&](const OpResult& res) {
            got = res;
            ++calls;
          })) {
        failure = "send submit";
        return;
      }
      while (calls == 0) {
        if (!ring.run_once(1s)) {
          failure = "run_once";
          return;
        }
      }
      if (got.bytes != msg.size() || r.size_hint() != 0) failure = "send result";
      std::string back(msg.size(), '\0');
      std::size_t have = 0;
      while (have < back.size()) {
        const ssize_t n = ::read(sp[1].get(), back.data() + have, back.size() - have);
        if (n <= 0) break;
        have += static_cast<std::size_t>(n);
      }
      if (back != msg) failure = "echoed bytes differ";
      // EOF on recv.
      sp[1].reset();
      calls = 0;
      if (!ring.recv(sp[0].get(), w, [&](const OpResult& res) {
            got = res;
            ++calls;
          })) {
        failure = "recv eof submit";
        return;
      }
      while (calls == 0) {
        if (!ring.run_once(1s)) {
          failure = "run_once";
          return;
        }
      }
      if (got.status != IoStatus::eof) failure = "no eof";
    });
    t.join();
    if (failure == "skip") GTEST_SKIP() << "io_uring unavailable";
    EXPECT_EQ(failure, "") << "poll_first=" << poll_first;
  }
}

namespace {

TEST(Uring, SlabGrowsToMaxOpsThenSaysPoolExhausted) {
  // 600 in flight needs three slab chunks; one more than max_ops is refused with its own error,
  // and a slot freed by a completion is usable again.
  auto ring = *Uring::create({.entries = 64, .max_ops = 600});
  int fired = 0;
  for (int i = 0; i < 600; ++i) {
    auto s = ring.timeout(1ms, [&](const OpResult&) { ++fired; });
    ASSERT_EQ(s.errc, Errc::ok) << i;
  }
  auto over = ring.timeout(1ms, [&](const OpResult&) { ++fired; });
  EXPECT_EQ(over.errc, Errc::pool_exhausted);
  EXPECT_FALSE(over.id.valid());
  EXPECT_EQ(ring.in_flight(), 600U);
  for (int i = 0; i < 200 && fired < 600; ++i) ASSERT_TRUE(ring.run_once(100ms));
  EXPECT_EQ(fired, 600);
  EXPECT_EQ(ring.timeout(1ms, [&](const OpResult&) { ++fired; }).errc, Errc::ok);
  EXPECT_EQ(ring.accept(-1, [](const OpResult&) {}).errc, Errc::invalid_argument);
}

TEST(Uring, AcceptOnceTakesOneConnectionPerArm) {
  // Multishot accept() takes every queued connection; accept_once() exactly one, then ends
  // (more == false) and leaves the rest queued until it is armed again.
  RINGKIT_URING_OR_SKIP(ring);
  auto lis = *ringkit::net::listen_tcp("127.0.0.1", 0);
  const auto port = *ringkit::net::local_port(lis.get());
  auto a = *ringkit::net::connect_tcp("127.0.0.1", port);
  auto b = *ringkit::net::connect_tcp("127.0.0.1", port);
  std::vector<UniqueFd> got;
  int calls = 0;
  bool more = true;
  auto on = [&](const OpResult& r) {
    ++calls;
    more = r.more;
    if (r.ok() && r.fd >= 0) got.emplace_back(r.fd);
  };
  ASSERT_TRUE(ring.accept_once(lis.get(), on));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.run_once(10ms));  // nothing else arrives
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(more);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(ring.in_flight(), 0U);
  ASSERT_TRUE(ring.accept_once(lis.get(), on));  // the second queued connection
  while (calls == 1) ASSERT_TRUE(ring.run_once(1s));
  ASSERT_EQ(got.size(), 2U);
  EXPECT_NE(got[0].get(), got[1].get());
  EXPECT_EQ(ring.accept_once(-1, on).errc, Errc::invalid_argument);
  // Cancelled before a connection arrives: the handler runs once, with cancelled.
  IoStatus last = IoStatus::ok;
  auto sub = ring.accept_once(lis.get(), [&](const OpResult& r) {
    ++calls;
    last = r.status;
  });
  ASSERT_TRUE(sub);
  ASSERT_EQ(ring.cancel(sub.id), Errc::ok);
  for (int i = 0; i < 20 && calls < 3; ++i) ASSERT_TRUE(ring.run_once(100ms));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(last, IoStatus::cancelled);
  EXPECT_EQ(got.size(), 2U);
}

TEST(Uring, PollReportsReadiness) {
  auto ring = *Uring::create();
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  std::uint32_t events = 0;
  ASSERT_TRUE(ring.poll(a.get(), POLLIN, [&](const OpResult& r) { events = r.events; }));
  ASSERT_TRUE(ring.run_once(1ms));
  EXPECT_EQ(events, 0U);  // nothing to read yet
  ASSERT_EQ(::write(b.get(), "x", 1), 1);
  for (int i = 0; i < 100 && events == 0; ++i) ASSERT_TRUE(ring.run_once(50ms));
  EXPECT_NE(events & POLLIN, 0U);
}

}  // namespace

TEST(Uring, SendGatherSendsEveryIovecInOrder) {
  RINGKIT_URING_OR_SKIP(ring);
  auto sp = make_socketpair();
  const std::string a = "MSG feed 1 5\r\n";
  const std::string b = "hello\r\n";
  const std::string c = "PONG\r\n";
  const std::array<iovec, 3> iov{iovec{const_cast<char*>(a.data()), a.size()},   // NOLINT
                                 iovec{const_cast<char*>(b.data()), b.size()},   // NOLINT
                                 iovec{const_cast<char*>(c.data()), c.size()}};  // NOLINT
  OpResult got;
  int calls = 0;
  ASSERT_TRUE(ring.send_gather(sp[0].get(), std::span<const iovec>(iov), [&](const OpResult& r) {
    got = r;
    ++calls;
  }));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.bytes, a.size() + b.size() + c.size());
  std::string out(got.bytes, '\0');
  ASSERT_EQ(::read(sp[1].get(), out.data(), out.size()), static_cast<ssize_t>(out.size()));
  EXPECT_EQ(out, a + b + c);
  // Bad arguments submit nothing.
  auto nop = [](const OpResult&) {};
  EXPECT_EQ(ring.send_gather(-1, std::span<const iovec>(iov), nop).errc, Errc::invalid_argument);
  EXPECT_EQ(ring.send_gather(sp[0].get(), std::span<const iovec>(), nop).errc,
            Errc::invalid_argument);
  // A peer that is gone: an error, never SIGPIPE.
  sp[1].reset();
  calls = 0;
  ASSERT_TRUE(ring.send_gather(sp[0].get(), std::span<const iovec>(iov), [&](const OpResult& r) {
    got = r;
    ++calls;
  }));
  while (calls == 0) ASSERT_TRUE(ring.run_once(1s));
  EXPECT_EQ(got.status, IoStatus::error);
  EXPECT_EQ(got.err, EPIPE);
  EXPECT_EQ(ring.in_flight(), 0U);
}

namespace {

/// An engine with `n` provided receive buffers of `size` bytes; nullopt-like skip handled by
/// the caller through has_recv_multishot().
ringkit::Result<Uring> multishot_ring(unsigned n, std::size_t size) {
  return Uring::create(ringkit::io::UringOptions{.recv_buffers = n, .recv_buffer_size = size});
}

/// Runs `ring` until `done()` or 5 s have passed.
template <class Done>
void run_until(Uring& ring, Done done) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < until) ASSERT_TRUE(ring.run_once(50ms));
}

}  // namespace

TEST(Uring, RecvMultishotDeliversEveryArrivalThenEof) {
  auto made = multishot_ring(8, 256);
  if (!made && uring_unavailable(made.error())) GTEST_SKIP() << made.message();
  ASSERT_TRUE(made) << made.message();
  Uring& ring = *made;
  if (!ring.has_recv_multishot()) GTEST_SKIP() << "kernel without provided buffer rings";
  auto sp = make_socketpair();
  std::string got;
  int completions = 0;
  bool ended = false;  // a completion with more == false came
  OpResult last;
  auto arm = [&] {
    ended = false;
    return ring.recv_multishot(sp[0].get(), [&](const OpResult& r) {
      EXPECT_EQ(r.bytes, r.data.size());
      got.append(reinterpret_cast<const char*>(r.data.data()), r.data.size());
      ++completions;
      last = r;
      ended = !r.more;
    });
  };
  ASSERT_TRUE(arm());
  // Three arrivals, each received by the one armed operation.
  std::string sent;
  for (int i = 0; i < 3; ++i) {
    const std::string m = "message " + std::to_string(i) + ";";
    ASSERT_EQ(::write(sp[1].get(), m.data(), m.size()), static_cast<ssize_t>(m.size()));
    sent += m;
    run_until(ring, [&] { return got.size() == sent.size(); });
    EXPECT_FALSE(ended);
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(completions, 3);
  // Many times more than all the buffers hold at once: every byte, in order, as the handlers
  // give the buffers back (ENOBUFS ends the multishot when all were in use: re-armed).
  std::string big(200000, '\0');
  std::mt19937 rng(7);
  for (char& ch : big) ch = static_cast<char>('a' + rng() % 26);
  sent += big;
  std::size_t off = 0;
  int rearmed = 0;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (got.size() < sent.size() && std::chrono::steady_clock::now() < until) {
    if (off < big.size()) {
      const ssize_t w = ::send(sp[1].get(), big.data() + off, big.size() - off, MSG_DONTWAIT);
      if (w > 0) off += static_cast<std::size_t>(w);
    }
    ASSERT_TRUE(ring.run_once(1ms));
    if (ended) {
      ASSERT_EQ(last.status, IoStatus::error);
      ASSERT_EQ(last.err, ENOBUFS);
      ASSERT_TRUE(arm());
      ++rearmed;
    }
  }
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "received bytes differ from those sent";
  RecordProperty("rearmed_after_enobufs", rearmed);
  // End of stream: eof, and the multishot ends.
  sp[1].reset();
  run_until(ring, [&] { return ended; });
  EXPECT_TRUE(ended);
  EXPECT_EQ(last.status, IoStatus::eof);
  EXPECT_EQ(ring.in_flight(), 0U);
}

TEST(Uring, RecvMultishotCancelAndBadArguments) {
  {
    RINGKIT_URING_OR_SKIP(plain);
    EXPECT_FALSE(plain.has_recv_multishot());
    EXPECT_EQ(plain.recv_multishot(0, [](const OpResult&) {}).errc, Errc::invalid_argument);
  }
  EXPECT_EQ(multishot_ring(3, 4096).error(), ringkit::make_error_code(Errc::invalid_argument));
  EXPECT_EQ(multishot_ring(4, 16).error(), ringkit::make_error_code(Errc::invalid_argument));
  auto made = multishot_ring(4, 4096);
  if (!made && uring_unavailable(made.error())) GTEST_SKIP() << made.message();
  ASSERT_TRUE(made) << made.message();
  Uring& ring = *made;
  if (!ring.has_recv_multishot()) GTEST_SKIP() << "kernel without provided buffer rings";
  EXPECT_EQ(ring.recv_multishot(-1, [](const OpResult&) {}).errc, Errc::invalid_argument);
  auto sp = make_socketpair();
  OpResult last;
  int calls = 0;
  auto sub = ring.recv_multishot(sp[0].get(), [&](const OpResult& r) {
    last = r;
    ++calls;
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(ring.run_once(1ms));
  EXPECT_EQ(calls, 0);
  ASSERT_EQ(ring.cancel(sub.id), Errc::ok);
  run_until(ring, [&] { return calls > 0; });
  EXPECT_EQ(last.status, IoStatus::cancelled);
  EXPECT_FALSE(last.more);
  EXPECT_EQ(ring.in_flight(), 0U);
}

TEST(Uring, MinWaitReturnsWithFewerCompletionsThanTheBatch) {
  auto made = Uring::create(
      ringkit::io::UringOptions{.min_wait = std::chrono::microseconds(20'000), .wait_batch = 8});
  if (!made && uring_unavailable(made.error())) GTEST_SKIP() << made.message();
  ASSERT_TRUE(made) << made.message();
  Uring& ring = *made;
  if (!ring.has_min_wait()) GTEST_SKIP() << "kernel without IORING_FEAT_MIN_TIMEOUT";
  auto sp = make_socketpair();
  int calls = 0;
  ASSERT_TRUE(ring.poll(sp[0].get(), POLLIN, [&](const OpResult& r) {
    EXPECT_NE(r.events & POLLIN, 0U);
    ++calls;
  }));
  ASSERT_EQ(::write(sp[1].get(), "x", 1), 1);
  // One completion of the eight asked for: run_once returns once min_wait has passed, long
  // before its own 10 s timeout (it would wait for all of it if the batch were required).
  const auto t0 = std::chrono::steady_clock::now();
  auto ran = ring.run_once(10s);
  ASSERT_TRUE(ran) << ran.message();
  EXPECT_EQ(*ran, 1U);
  EXPECT_EQ(calls, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // Nothing in flight: returns at once.
  EXPECT_EQ(*ring.run_once(10s), 0U);
}
