// Tests of ringkit/io/vectored.hpp: read_some/write_some/send_some on every ring kind through
// pipes, AF_UNIX socketpairs and loopback TCP, blocking and non-blocking; every byte checked.
#include <ringkit/io/vectored.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/error.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#include "support/pattern.hpp"
#include "support/ring_kinds.hpp"

namespace ringkit::io {
/// GoogleTest prints IoStatus by name.
inline void PrintTo(IoStatus s, std::ostream* os) { *os << to_string(s); }
}  // namespace ringkit::io

namespace {

using ringkit::Errc;
using ringkit::UniqueFd;
using ringkit::io::IoResult;
using ringkit::io::IoStatus;
using ringkit::io::read_some;
using ringkit::io::send_some;
using ringkit::io::write_some;
using ringkit_test::AllRingKinds;
using ringkit_test::KindName;
using ringkit_test::matches_pattern;

constexpr std::uint64_t kSeed = 0x10'5eed;

struct FdPair {
  UniqueFd a;  // read end of a pipe
  UniqueFd b;  // write end of a pipe
};

FdPair make_pipe(bool non_blocking) {
  int fds[2];
  const int flags = O_CLOEXEC | (non_blocking ? O_NONBLOCK : 0);
  EXPECT_EQ(::pipe2(fds, flags), 0) << std::error_code(errno, std::system_category()).message();
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

FdPair make_socketpair(bool non_blocking) {
  int fds[2];
  const int type = SOCK_STREAM | SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0);
  EXPECT_EQ(::socketpair(AF_UNIX, type, 0, fds), 0)
      << std::error_code(errno, std::system_category()).message();
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// Writes all of `data` to a blocking or non-blocking fd (polling on EAGAIN).
void write_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ASSERT_GE(::poll(&p, 1, 10'000), 0);
      continue;
    }
    ASSERT_GT(n, 0) << std::error_code(errno, std::system_category()).message();
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

/// Reads exactly `n` bytes (polling on EAGAIN).
std::vector<std::byte> read_exactly(int fd, std::size_t n) {
  std::vector<std::byte> out(n);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t k = ::read(fd, out.data() + got, n - got);
    if (k < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLIN, 0};
      EXPECT_GE(::poll(&p, 1, 10'000), 0);
      continue;
    }
    EXPECT_GT(k, 0) << (k < 0 ? std::error_code(errno, std::system_category()).message()
                              : "unexpected EOF");
    if (k <= 0) break;
    got += static_cast<std::size_t>(k);
  }
  out.resize(got);
  return out;
}

std::vector<std::byte> pattern(std::uint64_t offset, std::size_t n) {
  std::vector<std::byte> v(n);
  ringkit_test::fill_pattern(kSeed, offset, v);
  return v;
}

/// Fills a non-blocking pipe or socket until write() says EAGAIN; returns the bytes written.
std::size_t fill_until_eagain(int fd) {
  std::vector<char> chunk(65536, 'x');
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0) {
      EXPECT_EQ(errno, EAGAIN);
      return total;
    }
    total += static_cast<std::size_t>(n);
  }
}

/// Moves both positions of an empty ring forward by `offset`.
template <class Ring>
void advance_empty(Ring& ring, std::size_t offset) {
  const auto junk = pattern(0, offset);
  ASSERT_EQ(ring.writer.write(std::span<const std::byte>(junk)), offset);
  ASSERT_EQ(ring.reader.consume(offset), Errc::ok);
}

/// Runs `f` with SIGPIPE blocked in this thread; returns whether a SIGPIPE became pending (and
/// discards it).
template <class F>
bool raises_sigpipe(F&& f) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  EXPECT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  f();
  sigset_t pending;
  sigemptyset(&pending);
  EXPECT_EQ(::sigpending(&pending), 0);
  const bool raised = sigismember(&pending, SIGPIPE) == 1;
  if (raised) {
    const timespec zero{0, 0};
    (void)::sigtimedwait(&block, nullptr, &zero);
  }
  EXPECT_EQ(::pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  return raised;
}

// ---------------------------------------------------------------------------------------------
// IoStatus and IoResult

TEST(IoStatus, ToStringNamesEveryStatus) {
  const std::array<std::pair<IoStatus, const char*>, 7> all{{
      {IoStatus::ok, "ok"},
      {IoStatus::would_block, "would_block"},
      {IoStatus::eof, "eof"},
      {IoStatus::error, "error"},
      {IoStatus::ring_full, "ring_full"},
      {IoStatus::ring_empty, "ring_empty"},
      {IoStatus::cancelled, "cancelled"},
  }};
  std::set<std::string> names;
  for (const auto& [status, name] : all) {
    EXPECT_STREQ(ringkit::io::to_string(status), name);
    names.insert(ringkit::io::to_string(status));
  }
  EXPECT_EQ(names.size(), all.size());
  EXPECT_STREQ(ringkit::io::to_string(static_cast<IoStatus>(200)), "unknown");
}

TEST(IoResult, ErrorCodeOnlyForErrors) {
  const IoResult ok{5, IoStatus::ok, 0};
  EXPECT_TRUE(ok.ok());
  EXPECT_FALSE(ok.error());
  const IoResult wb{0, IoStatus::would_block, 0};
  EXPECT_FALSE(wb.ok());
  EXPECT_FALSE(wb.error());
  const IoResult bad{0, IoStatus::error, ECONNRESET};
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), std::error_code(ECONNRESET, std::system_category()));
  EXPECT_EQ(bad.error(), std::errc::connection_reset);
  EXPECT_FALSE(bad.error().message().empty());
}

// ---------------------------------------------------------------------------------------------
// Every ring kind

template <class Kind>
class VectoredIo : public ::testing::Test {
 protected:
  static std::size_t cap() { return std::max<std::size_t>(4096, Kind::min_capacity()); }
};
TYPED_TEST_SUITE(VectoredIo, AllRingKinds, KindName);

TYPED_TEST(VectoredIo, PipeToRingToPipe) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto in = make_pipe(true);
  auto out = make_pipe(true);
  const auto data = pattern(0, cap / 2 + 7);
  write_all(in.b.get(), data);

  const IoResult r = read_some(in.a.get(), ring.writer);
  EXPECT_EQ(r.status, IoStatus::ok);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.bytes, data.size());
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(ring.reader.size_hint(), data.size());

  const IoResult w = write_some(out.b.get(), ring.reader);
  EXPECT_EQ(w.status, IoStatus::ok);
  EXPECT_EQ(w.bytes, data.size());
  EXPECT_EQ(ring.reader.size_hint(), 0U);
  EXPECT_TRUE(matches_pattern(kSeed, 0, read_exactly(out.a.get(), data.size())));
}

TYPED_TEST(VectoredIo, WrappedRingFillsAndDrainsBothPartsInOneCall) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  advance_empty(ring, 3 * cap / 4);  // the free space is [3C/4, C) + [0, 3C/4)
  auto in = make_pipe(true);
  auto out = make_pipe(true);
  write_all(in.b.get(), pattern(0, cap + 100));  // more than fits

  const IoResult r = read_some(in.a.get(), ring.writer);
  ASSERT_EQ(r.status, IoStatus::ok);
  EXPECT_EQ(r.bytes, cap);  // both parts filled by one readv
  EXPECT_TRUE(ring.writer.writable_segments().empty());
  EXPECT_EQ(ring.reader.readable_segments().count(), TypeParam::kMirrored ? 1U : 2U);
  EXPECT_EQ(read_some(in.a.get(), ring.writer).status, IoStatus::ring_full);

  const IoResult w = write_some(out.b.get(), ring.reader);
  ASSERT_EQ(w.status, IoStatus::ok);
  EXPECT_EQ(w.bytes, cap);  // both parts drained by one writev
  EXPECT_TRUE(matches_pattern(kSeed, 0, read_exactly(out.a.get(), cap)));

  // The 100 bytes left in the pipe come next, in order.
  const IoResult r2 = read_some(in.a.get(), ring.writer);
  ASSERT_EQ(r2.status, IoStatus::ok);
  EXPECT_EQ(r2.bytes, 100U);
  EXPECT_EQ(send_some(out.b.get(), ring.reader).err, ENOTSOCK);  // a pipe is not a socket
  EXPECT_EQ(ring.reader.size_hint(), 100U);                      // nothing consumed
  EXPECT_EQ(write_some(out.b.get(), ring.reader).bytes, 100U);
  EXPECT_TRUE(matches_pattern(kSeed, cap, read_exactly(out.a.get(), 100)));
}

TYPED_TEST(VectoredIo, SocketpairBothDirections) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, ringkit_test::mix64(1) | 0xffff'ffff'0000'0000);
  auto sp = make_socketpair(true);
  std::uint64_t sent = 0, received = 0;
  const std::uint64_t total = 8 * cap + 123;  // several wraps
  std::vector<std::byte> got;
  for (int i = 0; i < 100000 && received < total; ++i) {
    if (sent < total) {  // socket a -> ring
      const auto chunk = pattern(sent, std::min<std::uint64_t>(cap / 3, total - sent));
      const ssize_t n = ::write(sp.a.get(), chunk.data(), chunk.size());
      if (n > 0) sent += static_cast<std::uint64_t>(n);
    }
    const IoResult r = read_some(sp.b.get(), ring.writer);
    ASSERT_TRUE(r.status == IoStatus::ok || r.status == IoStatus::would_block ||
                r.status == IoStatus::ring_full)
        << ringkit::io::to_string(r.status) << " " << r.error().message();
    // ring -> socket b -> back out of socket a
    const IoResult s = send_some(sp.b.get(), ring.reader);
    ASSERT_TRUE(s.status == IoStatus::ok || s.status == IoStatus::would_block ||
                s.status == IoStatus::ring_empty)
        << ringkit::io::to_string(s.status) << " " << s.error().message();
    std::vector<std::byte> buf(cap);
    const ssize_t k = ::read(sp.a.get(), buf.data(), buf.size());
    if (k > 0) {
      ASSERT_TRUE(
          matches_pattern(kSeed, received, std::span(buf).first(static_cast<std::size_t>(k))));
      received += static_cast<std::uint64_t>(k);
    }
  }
  EXPECT_EQ(received, total);
}

TYPED_TEST(VectoredIo, WouldBlockOnNonBlockingDescriptors) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  for (const bool socket : {false, true}) {
    SCOPED_TRACE(socket ? "socketpair" : "pipe");
    auto fds = socket ? make_socketpair(true) : make_pipe(true);
    const int reader_fd = fds.a.get();
    const int writer_fd = socket ? fds.a.get() : fds.b.get();
    // Nothing to read.
    const IoResult r = read_some(reader_fd, ring.writer);
    EXPECT_EQ(r.status, IoStatus::would_block);
    EXPECT_EQ(r.bytes, 0U);
    EXPECT_EQ(r.err, 0);
    EXPECT_FALSE(r.error());
    EXPECT_EQ(ring.reader.size_hint(), 0U);
    // No room to write.
    fill_until_eagain(writer_fd);
    const auto data = pattern(0, 10);
    ASSERT_EQ(ring.writer.write(std::span<const std::byte>(data)), 10U);
    const IoResult w = write_some(writer_fd, ring.reader);
    EXPECT_EQ(w.status, IoStatus::would_block);
    EXPECT_EQ(w.bytes, 0U);
    EXPECT_EQ(ring.reader.size_hint(), 10U);  // nothing consumed
    if (socket) {
      const IoResult s = send_some(writer_fd, ring.reader);
      EXPECT_EQ(s.status, IoStatus::would_block);
      EXPECT_EQ(ring.reader.size_hint(), 10U);
    }
    ASSERT_EQ(ring.reader.consume(10), Errc::ok);
  }
}

TYPED_TEST(VectoredIo, EofWhenThePeerClosesItsWriteSide) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  {
    auto p = make_pipe(true);
    write_all(p.b.get(), pattern(0, 5));
    p.b.reset();
    const IoResult first = read_some(p.a.get(), ring.writer);
    EXPECT_EQ(first.status, IoStatus::ok);
    EXPECT_EQ(first.bytes, 5U);
    const IoResult r = read_some(p.a.get(), ring.writer);
    EXPECT_EQ(r.status, IoStatus::eof);
    EXPECT_EQ(r.bytes, 0U);
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(ring.reader.size_hint(), 5U);
  }
  {
    auto sp = make_socketpair(true);
    ASSERT_EQ(::shutdown(sp.a.get(), SHUT_WR), 0);
    const IoResult r = read_some(sp.b.get(), ring.writer);
    EXPECT_EQ(r.status, IoStatus::eof);
    EXPECT_EQ(ring.reader.size_hint(), 5U);
  }
  {
    auto p = make_pipe(false);  // blocking: EOF is still EOF
    p.b.reset();
    EXPECT_EQ(read_some(p.a.get(), ring.writer).status, IoStatus::eof);
  }
}

TYPED_TEST(VectoredIo, FullAndEmptyRingsMakeNoSystemCall) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  // An invalid descriptor would give EBADF if a system call were made.
  for (const int fd : {-1, 1'000'000}) {
    const IoResult e = write_some(fd, ring.reader);
    EXPECT_EQ(e.status, IoStatus::ring_empty);
    EXPECT_EQ(e.err, 0);
    EXPECT_EQ(send_some(fd, ring.reader).status, IoStatus::ring_empty);
  }
  const auto data = pattern(0, cap);
  ASSERT_EQ(ring.writer.write(std::span<const std::byte>(data)), cap);
  for (const int fd : {-1, 1'000'000}) {
    const IoResult f = read_some(fd, ring.writer);
    EXPECT_EQ(f.status, IoStatus::ring_full);
    EXPECT_EQ(f.bytes, 0U);
    EXPECT_EQ(f.err, 0);
  }
  // Moved-from halves offer nothing either.
  auto w = std::move(ring.writer);
  auto r = std::move(ring.reader);
  EXPECT_EQ(read_some(-1, ring.writer).status,
            IoStatus::ring_full);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(write_some(-1, ring.reader).status,
            IoStatus::ring_empty);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(send_some(-1, ring.reader).status, IoStatus::ring_empty);
}

TYPED_TEST(VectoredIo, BadDescriptorIsAnErrorWithErrno) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  const IoResult r = read_some(-1, ring.writer);
  EXPECT_EQ(r.status, IoStatus::error);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.err, EBADF);
  EXPECT_EQ(r.bytes, 0U);
  EXPECT_EQ(r.error(), std::errc::bad_file_descriptor);
  EXPECT_TRUE(r.error().category() == std::system_category());
  EXPECT_FALSE(r.error().message().empty());
  EXPECT_EQ(ring.reader.size_hint(), 0U);  // nothing committed

  const auto data = pattern(0, 64);
  ASSERT_EQ(ring.writer.write(std::span<const std::byte>(data)), 64U);
  for (const IoResult& w : {write_some(-1, ring.reader), send_some(-1, ring.reader)}) {
    EXPECT_EQ(w.status, IoStatus::error);
    EXPECT_EQ(w.err, EBADF);
    EXPECT_FALSE(w.error().message().empty());
  }
  EXPECT_EQ(ring.reader.size_hint(), 64U);  // nothing consumed

  // Reading from a write-only descriptor.
  auto p = make_pipe(true);
  const IoResult wrong = read_some(p.b.get(), ring.writer);
  EXPECT_EQ(wrong.status, IoStatus::error);
  EXPECT_EQ(wrong.err, EBADF);
}

TYPED_TEST(VectoredIo, BlockingDescriptors) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto in = make_pipe(false);
  auto out = make_pipe(false);
  auto& w = ring.writer;
  auto& r = ring.reader;
  // The reading thread blocks in readv until the data arrives.
  IoResult got;
  std::thread reader_thread([&] { got = read_some(in.a.get(), w); });
  write_all(in.b.get(), pattern(0, 1000));
  reader_thread.join();
  ASSERT_EQ(got.status, IoStatus::ok);
  ASSERT_GT(got.bytes, 0U);
  std::size_t have = got.bytes;
  while (have < 1000) {
    const IoResult more = read_some(in.a.get(), w);
    ASSERT_EQ(more.status, IoStatus::ok);
    have += more.bytes;
  }
  const IoResult sent = write_some(out.b.get(), r);
  ASSERT_EQ(sent.status, IoStatus::ok);
  EXPECT_EQ(sent.bytes, 1000U);
  EXPECT_TRUE(matches_pattern(kSeed, 0, read_exactly(out.a.get(), 1000)));
}

TYPED_TEST(VectoredIo, LoopbackTcpVerified) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(tx, TypeParam, cap, 0);
  RINGKIT_MAKE_RING_OR_SKIP(rx, TypeParam, cap, ringkit_test::mix64(2));
  auto listener = ringkit::net::listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(listener) << listener.message();
  const auto port = ringkit::net::local_port(listener->get());
  ASSERT_TRUE(port) << port.message();
  auto client = ringkit::net::connect_tcp("127.0.0.1", *port);
  ASSERT_TRUE(client) << client.message();
  auto server = ringkit::net::accept_tcp(listener->get());
  ASSERT_TRUE(server) << server.message();
  ASSERT_TRUE(ringkit::net::set_non_blocking(client->get()));
  ASSERT_TRUE(ringkit::net::set_non_blocking(server->get()));

  EXPECT_EQ(read_some(server->get(), rx.writer).status, IoStatus::would_block);

  const std::uint64_t total = std::uint64_t{1} << 20;
  std::uint64_t produced = 0, received = 0;
  std::vector<std::byte> buf(cap);
  for (int i = 0; i < 1'000'000 && received < total; ++i) {
    if (produced < total) {  // top up the sending ring
      const auto chunk = pattern(produced, std::min<std::uint64_t>(cap, total - produced));
      produced += tx.writer.write(std::span<const std::byte>(chunk));
    }
    const IoResult s = send_some(client->get(), tx.reader);
    ASSERT_NE(s.status, IoStatus::error) << s.error().message();
    const IoResult r = read_some(server->get(), rx.writer);
    ASSERT_NE(r.status, IoStatus::error) << r.error().message();
    ASSERT_NE(r.status, IoStatus::eof);
    const std::size_t k = rx.reader.read(std::span<std::byte>(buf));
    ASSERT_TRUE(matches_pattern(kSeed, received, std::span(buf).first(k)));
    received += k;
    if (s.status != IoStatus::ok && r.status != IoStatus::ok && k == 0) {
      pollfd p{server->get(), POLLIN, 0};
      (void)::poll(&p, 1, 100);
    }
  }
  EXPECT_EQ(received, total);

  // Closing the client is EOF at the server.
  client->reset();
  IoResult end;
  for (int i = 0; i < 1000; ++i) {
    end = read_some(server->get(), rx.writer);
    if (end.status != IoStatus::would_block) break;
    pollfd p{server->get(), POLLIN, 0};
    (void)::poll(&p, 1, 100);
  }
  EXPECT_EQ(end.status, IoStatus::eof);
}

// ---------------------------------------------------------------------------------------------
// SIGPIPE, EPIPE, EINTR

TEST(VectoredIoSignals, SendSomeAfterPeerCloseIsEpipeWithoutSigpipe) {
  auto ring = *ringkit::make_byte_ring(4096);
  auto sp = make_socketpair(true);
  sp.b.reset();
  const auto data = pattern(0, 100);
  ASSERT_EQ(ring.writer.write(std::span<const std::byte>(data)), 100U);
  IoResult s;
  EXPECT_FALSE(raises_sigpipe([&] { s = send_some(sp.a.get(), ring.reader); }));
  EXPECT_EQ(s.status, IoStatus::error);
  EXPECT_EQ(s.err, EPIPE);
  EXPECT_EQ(s.error(), std::errc::broken_pipe);
  EXPECT_EQ(ring.reader.size_hint(), 100U);  // nothing consumed
}

TEST(VectoredIoSignals, SendSomeToAClosedTcpPeerNeverRaisesSigpipe) {
  auto ring = *ringkit::make_byte_ring(65536);
  auto listener = *ringkit::net::listen_tcp("127.0.0.1", 0);
  auto client = *ringkit::net::connect_tcp("127.0.0.1", *ringkit::net::local_port(listener.get()));
  auto server = *ringkit::net::accept_tcp(listener.get());
  server.reset();
  IoResult s;
  bool raised = false;
  for (int i = 0; i < 1000 && s.status != IoStatus::error; ++i) {
    if (ring.writer.size_hint() == 0) {
      const auto data = pattern(0, 65536);
      ASSERT_EQ(ring.writer.write(std::span<const std::byte>(data)), 65536U);
    }
    raised = raised || raises_sigpipe([&] { s = send_some(client.get(), ring.reader); });
    if (s.status != IoStatus::error) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_FALSE(raised);
  ASSERT_EQ(s.status, IoStatus::error);
  EXPECT_TRUE(s.err == EPIPE || s.err == ECONNRESET) << s.error().message();
}

TEST(VectoredIoSignals, WriteSomeToAPipeWithoutReaderIsEpipeWhenSigpipeIsIgnored) {
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old), 0);
  auto ring = *ringkit::make_byte_ring(4096);
  auto p = make_pipe(true);
  p.a.reset();
  const auto data = pattern(0, 10);
  ASSERT_EQ(ring.writer.write(std::span<const std::byte>(data)), 10U);
  const IoResult w = write_some(p.b.get(), ring.reader);
  EXPECT_EQ(::sigaction(SIGPIPE, &old, nullptr), 0);  // restore before asserting
  EXPECT_EQ(w.status, IoStatus::error);
  EXPECT_EQ(w.err, EPIPE);
  EXPECT_EQ(ring.reader.size_hint(), 10U);
}

TEST(VectoredIoSignals, WriteSomeRaisesSigpipeLikeWritev) {
  // Documented: write_some() is plain writev(), so a pipe without reader raises SIGPIPE (here
  // blocked and discarded); send_some() is the call for sockets.
  auto ring = *ringkit::make_byte_ring(4096);
  auto p = make_pipe(true);
  p.a.reset();
  const auto data = pattern(0, 10);
  ASSERT_EQ(ring.writer.write(std::span<const std::byte>(data)), 10U);
  IoResult w;
  EXPECT_TRUE(raises_sigpipe([&] { w = write_some(p.b.get(), ring.reader); }));
  EXPECT_EQ(w.err, EPIPE);
}

std::atomic<int> g_signals{0};
extern "C" void count_signal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

/// True once thread `tid` of this process is blocked in system call `nr` (per /proc); false if
/// that cannot be seen within the bounded number of polls.
bool wait_until_in_syscall(pid_t tid, long nr) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/syscall";
  for (int i = 0; i < 5000; ++i) {
    std::ifstream f(path);
    long current = -1;
    if (f >> current && current == nr) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(VectoredIoSignals, EintrIsRetried) {
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = count_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked readv returns EINTR
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
  g_signals = 0;

  auto ring = *ringkit::make_byte_ring(4096);
  auto& w = ring.writer;
  auto p = make_pipe(false);
  std::atomic<pid_t> tid{0};
  IoResult got;
  std::thread t([&] {
    tid = static_cast<pid_t>(::syscall(SYS_gettid));
    got = read_some(p.a.get(), w);
  });
  while (tid.load() == 0) std::this_thread::yield();
  int interrupted = 0;
  for (int i = 0; i < 3; ++i) {
    if (!wait_until_in_syscall(tid.load(), SYS_readv)) break;
    ASSERT_EQ(::pthread_kill(t.native_handle(), SIGUSR1), 0);
    for (int k = 0; k < 5000 && g_signals.load() <= i; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ++interrupted;
  }
  write_all(p.b.get(), pattern(0, 33));
  t.join();
  EXPECT_EQ(::sigaction(SIGUSR1, &old, nullptr), 0);
  if (interrupted == 0) GTEST_SKIP() << "could not see the thread blocked in readv via /proc";
  EXPECT_EQ(g_signals.load(), interrupted);
  ASSERT_EQ(got.status, IoStatus::ok) << got.error().message();
  EXPECT_EQ(got.bytes, 33U);
  std::vector<std::byte> out(33);
  ASSERT_EQ(ring.reader.read(std::span<std::byte>(out)), 33U);
  EXPECT_TRUE(matches_pattern(kSeed, 0, out));
}

}  // namespace
