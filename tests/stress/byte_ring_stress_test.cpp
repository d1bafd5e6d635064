// Stress tests of the byte ring (ringkit/byte_ring.hpp, mirror_ring.hpp) and of vectored I/O on
// it (ringkit/io/vectored.hpp), for every ring kind. Two threads move a seeded pseudo-random
// byte stream through the ring with random chunk sizes, each side switching at random between
// its three APIs (write/read, writable()+commit / readable()+consume, io_slices); the consumer
// regenerates the stream and checks every byte, reporting the first mismatch with its offset.
// Runs include counters starting near 2^64 and rings from 4 KiB (wraps constantly) to 1 MiB.
// Everything is bounded by byte counts, never by time; there are no timing assertions.
#include <ringkit/byte_ring.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ringkit/io/vectored.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/unique_fd.hpp>

#include "support/pattern.hpp"
#include "support/ring_kinds.hpp"

namespace {

using ringkit::Errc;
using ringkit::segments_of;
using ringkit::SliceResult;
using ringkit::UniqueFd;
using ringkit::io::IoResult;
using ringkit::io::IoStatus;
using ringkit_test::AllRingKinds;
using ringkit_test::KindName;
using ringkit_test::Rng;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
#ifdef RINGKIT_TEST_SANITIZED
constexpr std::uint64_t kVolume = 8 * kMiB;      // per headline run
constexpr std::uint64_t kPumpVolume = 4 * kMiB;  // per pipe pump run
#else
constexpr std::uint64_t kVolume = 256 * kMiB;
constexpr std::uint64_t kPumpVolume = 64 * kMiB;
#endif

/// Which API a side uses for one chunk.
enum class Api { copy, view, slices };
constexpr int kApis = 3;

/// A random chunk size: mostly small (the common record sizes), sometimes larger than the ring.
std::size_t chunk_size(Rng& rng, std::size_t cap) {
  switch (rng.below(4)) {
    case 0:
      return rng.between(1, 16);
    case 1:
      return rng.between(1, 512);
    case 2:
      return rng.between(1, cap / 2 + 1);
    default:
      return rng.between(1, 2 * cap);
  }
}

struct StressConfig {
  std::size_t capacity;
  std::uint64_t start;   // initial position of both counters
  std::uint64_t volume;  // bytes through the ring
  std::uint64_t seed;
};

/// What the two threads saw.
struct StressReport {
  std::uint64_t produced = 0;
  std::uint64_t consumed = 0;
  std::optional<std::uint64_t> first_mismatch;  // stream offset
  std::uint64_t writer_position = 0, reader_position = 0;
  std::uint64_t producer_calls[kApis] = {}, consumer_calls[kApis] = {};
  std::uint64_t full_waits = 0, empty_waits = 0;  // starvation indicators (reported only)
  std::string producer_error, consumer_error;     // a contract violation seen by a thread
};

/// Copies stream bytes [offset, offset + n) into the first n bytes of `iov`.
void fill_iovecs(std::uint64_t seed, std::uint64_t offset, std::span<iovec> iov, std::size_t n) {
  for (const iovec& v : iov) {
    if (n == 0) break;
    const std::size_t k = std::min(n, v.iov_len);
    ringkit_test::fill_pattern(seed, offset,
                               std::span<std::byte>(static_cast<std::byte*>(v.iov_base), k));
    offset += k;
    n -= k;
  }
}

/// Checks the first n bytes of `parts` against stream bytes from `offset`; returns the stream
/// offset of the first mismatch.
template <class Parts>
std::optional<std::uint64_t> check_parts(std::uint64_t seed, std::uint64_t offset,
                                         const Parts& parts, std::size_t n) {
  for (const auto& part : parts) {
    if (n == 0) break;
    const std::size_t k = std::min(n, part.size());
    const auto bytes = std::span<const std::byte>(part.data(), k);
    if (auto m = ringkit_test::first_mismatch(seed, offset, bytes)) return offset + *m;
    offset += k;
    n -= k;
  }
  return std::nullopt;
}

std::vector<std::span<const std::byte>> iov_parts(std::span<iovec> iov) {
  std::vector<std::span<const std::byte>> out;
  for (const iovec& v : iov) out.emplace_back(static_cast<const std::byte*>(v.iov_base), v.iov_len);
  return out;
}

template <class Writer>
void produce(Writer& w, const StressConfig& cfg, StressReport& rep) {
  Rng rng(cfg.seed ^ 0x9e0d);
  std::vector<std::byte> scratch(2 * cfg.capacity + 1);
  std::uint64_t written = 0;
  while (written < cfg.volume) {
    const std::size_t want =
        std::min<std::uint64_t>(chunk_size(rng, cfg.capacity), cfg.volume - written);
    const auto api = static_cast<Api>(rng.below(kApis));
    ++rep.producer_calls[static_cast<int>(api)];
    std::size_t did = 0;
    switch (api) {
      case Api::copy: {
        const auto src = std::span(scratch).first(want);
        ringkit_test::fill_pattern(cfg.seed, written, src);
        did = w.write(std::span<const std::byte>(src));
        break;
      }
      case Api::view: {
        const ringkit::MutableSegments free = segments_of(w.writable());
        did = std::min(want, free.bytes());
        std::size_t left = did;
        std::uint64_t off = written;
        for (const auto& part : free) {
          const std::size_t k = std::min(left, part.size());
          ringkit_test::fill_pattern(cfg.seed, off, part.first(k));
          off += k;
          left -= k;
        }
        if (w.commit(did) != Errc::ok) {
          rep.producer_error = "commit() refused bytes writable() offered";
          return;
        }
        break;
      }
      case Api::slices: {
        const SliceResult s = w.io_slices([&](std::span<iovec> iov, std::size_t total) {
          const std::size_t k = std::min(want, total);
          fill_iovecs(cfg.seed, written, iov, k);
          return static_cast<ssize_t>(k);
        });
        if (s.errc != Errc::ok && s.errc != Errc::ring_full) {
          rep.producer_error = std::string("writer io_slices: ") + ringkit::describe(s.errc);
          return;
        }
        did = s.bytes;
        break;
      }
    }
    written += did;
    if (did == 0) {
      if (!w.peer_alive()) break;  // the consumer gave up (mismatch)
      ++rep.full_waits;
      std::this_thread::yield();
    }
  }
  rep.produced = written;
  rep.writer_position = w.position();
  w.close();  // end of stream
}

template <class Reader>
void consume(Reader& r, const StressConfig& cfg, StressReport& rep) {
  Rng rng(cfg.seed ^ 0xc0de);
  std::vector<std::byte> scratch(2 * cfg.capacity + 1);
  std::uint64_t consumed = 0;
  for (;;) {
    const std::size_t want = chunk_size(rng, cfg.capacity);
    const auto api = static_cast<Api>(rng.below(kApis));
    ++rep.consumer_calls[static_cast<int>(api)];
    // Read the end-of-stream flag before looking at the data: once the writer is gone and the
    // ring is then empty, nothing more can come.
    const bool writer_gone = !r.peer_alive();
    std::size_t did = 0;
    std::optional<std::uint64_t> bad;
    switch (api) {
      case Api::copy: {
        const auto dst = std::span(scratch).first(want);
        did = r.read(dst);
        if (auto m = ringkit_test::first_mismatch(cfg.seed, consumed, dst.first(did))) {
          bad = consumed + *m;
        }
        break;
      }
      case Api::view: {
        const ringkit::ConstSegments data = segments_of(r.readable());
        did = std::min(want, data.bytes());
        bad = check_parts(cfg.seed, consumed, data, did);
        if (r.consume(did) != Errc::ok) {
          rep.consumer_error = "consume() refused bytes readable() offered";
          return;
        }
        break;
      }
      case Api::slices: {
        const SliceResult s = r.io_slices([&](std::span<iovec> iov, std::size_t total) {
          const std::size_t k = std::min(want, total);
          bad = check_parts(cfg.seed, consumed, iov_parts(iov), k);
          return static_cast<ssize_t>(k);
        });
        if (s.errc != Errc::ok && s.errc != Errc::ring_empty) {
          rep.consumer_error = std::string("reader io_slices: ") + ringkit::describe(s.errc);
          return;
        }
        did = s.bytes;
        break;
      }
    }
    if (bad) {
      rep.first_mismatch = bad;
      r.close();  // lets the producer stop
      break;
    }
    consumed += did;
    if (did == 0) {
      if (writer_gone) break;
      ++rep.empty_waits;
      std::this_thread::yield();
    }
  }
  rep.consumed = consumed;
  rep.reader_position = r.position();
}

template <class Kind>
void run_stress(const StressConfig& cfg) {
  SCOPED_TRACE(testing::Message() << Kind::kName << " capacity " << cfg.capacity << " start "
                                  << cfg.start << " volume " << cfg.volume);
  RINGKIT_MAKE_RING_OR_SKIP(ring, Kind, cfg.capacity, cfg.start);
  StressReport rep;
  auto& w = ring.writer;
  auto& r = ring.reader;
  std::thread producer([&] { produce(w, cfg, rep); });
  consume(r, cfg, rep);
  producer.join();

  ASSERT_EQ(rep.producer_error, "");
  ASSERT_EQ(rep.consumer_error, "");
  ASSERT_FALSE(rep.first_mismatch.has_value())
      << "first mismatch at stream offset " << *rep.first_mismatch;
  EXPECT_EQ(rep.produced, cfg.volume);
  EXPECT_EQ(rep.consumed, cfg.volume);
  EXPECT_EQ(rep.writer_position, cfg.start + cfg.volume);
  EXPECT_EQ(rep.reader_position, cfg.start + cfg.volume);
  for (int api = 0; api < kApis; ++api) {  // every API was exercised on both sides
    EXPECT_GT(rep.producer_calls[api], 0U) << "producer api " << api;
    EXPECT_GT(rep.consumer_calls[api], 0U) << "consumer api " << api;
  }
  ::testing::Test::RecordProperty("full_waits", std::to_string(rep.full_waits));
  ::testing::Test::RecordProperty("empty_waits", std::to_string(rep.empty_waits));
}

template <class Kind>
class ByteRingStress : public ::testing::Test {};
TYPED_TEST_SUITE(ByteRingStress, AllRingKinds, KindName);

TYPED_TEST(ByteRingStress, Capacity64KiB) { run_stress<TypeParam>({64 * 1024, 0, kVolume, 1}); }

TYPED_TEST(ByteRingStress, Capacity4KiBWrapsConstantly) {
  run_stress<TypeParam>({4096, 0, kVolume / 4, 2});
}

TYPED_TEST(ByteRingStress, Capacity1MiB) {
  run_stress<TypeParam>({1024 * 1024, 0, kVolume / 2, 3});
}

TYPED_TEST(ByteRingStress, CountersStartNear2Pow64) {
  // The counters wrap within the first few chunks, then run far past the wrap.
  run_stress<TypeParam>({4096, UINT64_MAX - 10'000, kVolume / 8, 4});
  run_stress<TypeParam>(
      {64 * 1024, UINT64_MAX - std::uint64_t{3} * 64 * 1024 + 17, kVolume / 8, 5});
}

// ---------------------------------------------------------------------------------------------
// Pipe pump: generator -> pipe -> read_some -> ring -> write_some -> pipe -> verifier, one
// thread each, blocking pipes; every byte verified at the far end.

struct PumpReport {  // each field is written by one thread
  std::uint64_t generated = 0, pumped_in = 0, pumped_out = 0, verified = 0;
  std::optional<std::uint64_t> first_mismatch;
};

template <class Kind>
void run_pump(std::size_t capacity, std::uint64_t volume, std::uint64_t seed) {
  SCOPED_TRACE(testing::Message() << Kind::kName << " capacity " << capacity);
  RINGKIT_MAKE_RING_OR_SKIP(ring, Kind, capacity, UINT64_MAX - capacity / 2);
  int a[2], b[2];
  ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
  UniqueFd in_r(a[0]), in_w(a[1]), out_r(b[0]), out_w(b[1]);
  auto& w = ring.writer;
  auto& r = ring.reader;
  PumpReport rep;
  std::string gen_error, in_error, out_error;

  // A thread that stops early closes its ends so that every other thread still terminates; a
  // generator writing into a closed pipe then gets EPIPE, so SIGPIPE is ignored meanwhile.
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old), 0);

  std::thread generator([&] {
    Rng rng(seed);
    std::vector<std::byte> buf(std::size_t{256} * 1024);
    std::uint64_t sent = 0;
    while (sent < volume) {
      const std::size_t n = std::min<std::uint64_t>(rng.between(1, buf.size()), volume - sent);
      ringkit_test::fill_pattern(seed, sent, std::span(buf).first(n));
      std::size_t off = 0;
      while (off < n) {
        const ssize_t k = ::write(in_w.get(), buf.data() + off, n - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
          gen_error = std::string("generator write: ") +
                      std::error_code(errno, std::system_category()).message();
          in_w.reset();
          return;
        }
        off += static_cast<std::size_t>(k);
      }
      sent += n;
    }
    rep.generated = sent;
    in_w.reset();  // EOF for the pump
  });

  std::thread pump_in([&] {
    std::uint64_t got = 0;
    for (;;) {
      const IoResult res = ringkit::io::read_some(in_r.get(), w);
      if (res.status == IoStatus::ok) {
        got += res.bytes;
      } else if (res.status == IoStatus::ring_full) {
        if (!w.peer_alive()) break;
        std::this_thread::yield();
      } else if (res.status == IoStatus::eof) {
        break;
      } else {
        in_error = std::string("read_some: ") + ringkit::io::to_string(res.status) + " " +
                   res.error().message();
        break;
      }
    }
    rep.pumped_in = got;
    w.close();
    in_r.reset();
  });

  std::thread pump_out([&] {
    std::uint64_t put = 0;
    for (;;) {
      const bool writer_gone = !r.peer_alive();
      const IoResult res = ringkit::io::write_some(out_w.get(), r);
      if (res.status == IoStatus::ok) {
        put += res.bytes;
      } else if (res.status == IoStatus::ring_empty) {
        if (writer_gone) break;
        std::this_thread::yield();
      } else {
        out_error = std::string("write_some: ") + ringkit::io::to_string(res.status) + " " +
                    res.error().message();
        break;
      }
    }
    rep.pumped_out = put;
    r.close();
    out_w.reset();  // EOF for the verifier
  });

  // Verifier (this thread): read to EOF, check every byte, remember the first mismatch.
  std::vector<std::byte> buf(std::size_t{128} * 1024);
  std::uint64_t seen = 0;
  for (;;) {
    const ssize_t k = ::read(out_r.get(), buf.data(), buf.size());
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    const auto got = std::span(buf).first(static_cast<std::size_t>(k));
    if (!rep.first_mismatch) {
      if (auto m = ringkit_test::first_mismatch(seed, seen, got)) {
        rep.first_mismatch = seen + *m;
        out_r.reset();  // stop the pump: write_some gets EPIPE
        break;
      }
    }
    seen += static_cast<std::uint64_t>(k);
  }
  rep.verified = seen;
  out_r.reset();
  generator.join();
  pump_in.join();
  pump_out.join();
  EXPECT_EQ(::sigaction(SIGPIPE, &old, nullptr), 0);

  ASSERT_FALSE(rep.first_mismatch.has_value())
      << "first mismatch at stream offset " << *rep.first_mismatch;
  EXPECT_EQ(gen_error, "");
  EXPECT_EQ(in_error, "");
  EXPECT_EQ(out_error, "");
  EXPECT_EQ(rep.generated, volume);
  EXPECT_EQ(rep.pumped_in, volume);
  EXPECT_EQ(rep.pumped_out, volume);
  EXPECT_EQ(rep.verified, volume);
}

template <class Kind>
class PipePumpStress : public ::testing::Test {};
TYPED_TEST_SUITE(PipePumpStress, AllRingKinds, KindName);

TYPED_TEST(PipePumpStress, EveryByteArrivesInOrder) {
  run_pump<TypeParam>(64 * 1024, kPumpVolume, 11);
}

TYPED_TEST(PipePumpStress, SmallRingWrapsOnEveryCall) {
  run_pump<TypeParam>(4096, kPumpVolume / 4, 12);
}

}  // namespace
