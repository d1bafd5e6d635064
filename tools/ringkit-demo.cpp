// ringkit-demo: a byte stream pumped pipe -> ring -> pipe with readv/writev, every byte verified.
//
//   source thread   : generated stream (or --file) -> pipe A
//   producer thread : read_some(pipe A, ByteWriter)       (readv into <= 2 free segments)
//   consumer thread : write_some(pipe B, ByteReader)      (writev from <= 2 filled segments)
//   main thread     : pipe B -> verify against the same stream, live progress line
//
// Exit status: 0 when every byte arrived intact, 1 on a mismatch or I/O error, 2 on bad arguments.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/io/vectored.hpp>
#include <ringkit/unique_fd.hpp>
#include <ringkit/version.hpp>

#include "cli.hpp"
#include "support/pattern.hpp"

namespace {

struct Options {
  std::uint64_t bytes = 2ULL << 30;  // 2 GiB generated
  std::size_t ring_size = std::size_t{256} * 1024;
  std::string file;
  std::uint64_t seed = 0x5eed;
  bool quiet = false;
};

void usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ringkit-demo [--bytes SIZE] [--ring-size SIZE] [--file PATH] [--seed N]\n"
      "                    [--quiet] [--help] [--version]\n"
      "\n"
      "Pumps a byte stream pipe -> ringkit byte ring -> pipe with readv/writev on the\n"
      "ring's split halves (one producer thread, one consumer thread) and verifies every\n"
      "byte at the far end.\n"
      "  --bytes SIZE      bytes of generated stream (default 2GiB; units B, KiB, MiB, GiB)\n"
      "  --ring-size SIZE  ring capacity, a power of two (default 256KiB)\n"
      "  --file PATH       pump this file instead of a generated stream\n"
      "  --seed N          seed of the generated stream (default 0x5eed)\n"
      "  --quiet           no progress line\n");
}

/// Parses "256KiB", "64k", "2GiB", "1000" into bytes; false on bad input.
bool parse_size(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    const std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
    ++i;
  }
  if (i == 0) return false;
  std::string unit(s.substr(i));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::uint64_t mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    mul = 1ULL << 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    mul = 1ULL << 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    mul = 1ULL << 30;
  } else {
    return false;
  }
  if (v > UINT64_MAX / mul) return false;
  out = v * mul;
  return true;
}

/// The generated stream: 8-byte words of splitmix64(seed + word index), so any offset can be
/// regenerated independently by the verifier.
void fill_stream(std::uint64_t seed, std::uint64_t offset, std::byte* dst, std::size_t n) {
  ringkit_test::fill_pattern(seed, offset, std::span<std::byte>(dst, n));
}

bool write_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

/// Spins briefly, then sleeps in growing steps (capped at 200 us) so a waiting thread does not
/// burn the core its peer needs (this machine may have only two).
class Backoff {
 public:
  void wait() {
    if (++n_ < 64) {
      std::this_thread::yield();
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::min<unsigned>(n_ - 63, 200)));
  }
  void reset() { n_ = 0; }

 private:
  unsigned n_ = 0;
};

struct Stats {
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<std::uint64_t> readv_calls{0};
  std::atomic<std::uint64_t> writev_calls{0};
  std::atomic<std::uint64_t> two_segment_calls{0};
  std::atomic<bool> failed{false};
  std::string error;  // written by the failing thread before `failed` (release)
};

void enlarge_pipe(int fd) {
  // Best effort: bigger pipes mean fewer syscalls; the demo works with the default too.
  (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

double mib(std::uint64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); }

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    auto value = [&](std::string_view name) -> std::string_view {
      if (i + 1 >= argc) {
        ringkit::tools::usage_error("ringkit-demo", std::string(name) + " needs a value");
      }
      return argv[++i];
    };
    std::uint64_t v = 0;
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("ringkit-demo %s\n", ringkit::kVersionString);
      return 0;
    } else if (a == "--bytes") {
      if (!parse_size(value(a), v) || v == 0) {
        std::fprintf(stderr, "ringkit-demo: bad --bytes value\n");
        return 2;
      }
      opt.bytes = v;
    } else if (a == "--ring-size") {
      if (!parse_size(value(a), v)) {
        std::fprintf(stderr, "ringkit-demo: bad --ring-size value\n");
        return 2;
      }
      opt.ring_size = static_cast<std::size_t>(v);
    } else if (a == "--file") {
      opt.file = std::string(value(a));
    } else if (a == "--seed") {
      opt.seed = std::strtoull(std::string(value(a)).c_str(), nullptr, 0);
    } else if (a == "--quiet") {
      opt.quiet = true;
    } else {
      std::fprintf(stderr, "ringkit-demo: unknown argument '%s' (see --help)\n", argv[i]);
      return 2;
    }
  }

  auto ring = ringkit::make_byte_ring(opt.ring_size);
  if (!ring) {
    std::fprintf(stderr, "ringkit-demo: --ring-size %zu: %s\n", opt.ring_size,
                 ring.error().message().c_str());
    return 2;
  }
  ringkit::UniqueFd src_file, check_file;
  if (!opt.file.empty()) {
    src_file.reset(::open(opt.file.c_str(), O_RDONLY | O_CLOEXEC));
    check_file.reset(::open(opt.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!src_file || !check_file) {
      std::fprintf(stderr, "ringkit-demo: cannot open %s: %s\n", opt.file.c_str(),
                   ringkit::tools::errno_text(errno).c_str());
      return 2;
    }
    const off_t size = ::lseek(src_file.get(), 0, SEEK_END);
    if (size < 0 || ::lseek(src_file.get(), 0, SEEK_SET) != 0) {
      std::fprintf(stderr, "ringkit-demo: cannot size %s\n", opt.file.c_str());
      return 2;
    }
    opt.bytes = static_cast<std::uint64_t>(size);
  }
  ::signal(SIGPIPE, SIG_IGN);

  int a[2], b[2];
  if (::pipe2(a, O_CLOEXEC) != 0 || ::pipe2(b, O_CLOEXEC) != 0) {
    std::perror("ringkit-demo: pipe2");
    return 1;
  }
  ringkit::UniqueFd a_rd(a[0]), a_wr(a[1]), b_rd(b[0]), b_wr(b[1]);
  enlarge_pipe(a_wr.get());
  enlarge_pipe(b_wr.get());

  Stats st;
  auto fail = [&st](std::string msg) {
    bool expected = false;
    if (st.failed.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      st.error = std::move(msg);
    }
  };

  std::printf("ringkit-demo: %.1f MiB %s -> pipe -> byte ring (%zu KiB, split halves) -> pipe\n",
              mib(opt.bytes), opt.file.empty() ? "generated stream" : opt.file.c_str(),
              opt.ring_size / 1024);
  const auto t0 = std::chrono::steady_clock::now();

  // Source: the stream into pipe A, then close it (EOF for the producer).
  std::thread source([&, wr = std::move(a_wr)]() mutable {
    std::vector<std::byte> buf(
        65521);  // a prime: pipe contents and ring offsets drift, so slices wrap
    std::uint64_t off = 0;
    while (off < opt.bytes && !st.failed.load(std::memory_order_relaxed)) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), opt.bytes - off));
      if (src_file) {
        const ssize_t r = ::read(src_file.get(), buf.data(), n);
        if (r <= 0) {
          if (r < 0 && errno == EINTR) continue;
          fail("source: read of the input file failed");
          break;
        }
        if (!write_all(wr.get(), buf.data(), static_cast<std::size_t>(r))) break;
        off += static_cast<std::uint64_t>(r);
      } else {
        fill_stream(opt.seed, off, buf.data(), n);
        if (!write_all(wr.get(), buf.data(), n)) break;
        off += n;
      }
    }
    wr.reset();
  });

  // Producer: readv from pipe A straight into the writer's free segments.
  std::thread producer([&, writer = std::move(ring->writer)]() mutable {
    Backoff backoff;
    for (;;) {
      const auto r = ringkit::io::read_some(a_rd.get(), writer);
      switch (r.status) {
        case ringkit::io::IoStatus::ok:
          st.readv_calls.fetch_add(1, std::memory_order_relaxed);
          st.produced.fetch_add(r.bytes, std::memory_order_relaxed);
          backoff.reset();
          break;
        case ringkit::io::IoStatus::ring_full:
          if (st.failed.load(std::memory_order_relaxed)) return;
          backoff.wait();
          break;
        case ringkit::io::IoStatus::eof:
          return;  // destroying the writer tells the consumer the stream ended
        case ringkit::io::IoStatus::would_block:
          backoff.wait();
          break;
        case ringkit::io::IoStatus::error:
        case ringkit::io::IoStatus::ring_empty:
        case ringkit::io::IoStatus::cancelled:
          fail("producer: readv: " + r.error().message());
          return;
      }
    }
  });

  // Consumer: writev from the reader's filled segments into pipe B.
  std::thread consumer([&, reader = std::move(ring->reader)]() mutable {
    Backoff backoff;
    for (;;) {
      const bool writer_gone = !reader.peer_alive();
      const auto segs = reader.readable().count();
      const auto r = ringkit::io::write_some(b_wr.get(), reader);
      if (r.status == ringkit::io::IoStatus::ok) {
        st.writev_calls.fetch_add(1, std::memory_order_relaxed);
        if (segs == 2) st.two_segment_calls.fetch_add(1, std::memory_order_relaxed);
        st.consumed.fetch_add(r.bytes, std::memory_order_relaxed);
        backoff.reset();
      } else if (r.status == ringkit::io::IoStatus::ring_empty) {
        if (writer_gone || st.failed.load(std::memory_order_relaxed)) break;  // drained
        backoff.wait();
      } else if (r.status == ringkit::io::IoStatus::error) {
        fail("consumer: writev: " + r.error().message());
        break;
      } else {
        backoff.wait();
      }
    }
    b_wr.reset();
  });

  // Verifier: pipe B against the same stream.
  const bool tty = !opt.quiet && ::isatty(STDOUT_FILENO) == 1;
  std::vector<std::byte> got(std::size_t{256} * 1024), want(std::size_t{256} * 1024);
  std::uint64_t verified = 0;
  auto last_print = t0;
  for (;;) {
    const ssize_t r = ::read(b_rd.get(), got.data(), got.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      fail("verifier: read: " + ringkit::tools::errno_text(errno));
      break;
    }
    if (r == 0) break;
    const std::size_t n = static_cast<std::size_t>(r);
    if (check_file) {
      std::size_t have = 0;
      while (have < n) {
        const ssize_t c = ::pread(check_file.get(), want.data() + have, n - have,
                                  static_cast<off_t>(verified + have));
        if (c <= 0) break;
        have += static_cast<std::size_t>(c);
      }
      if (have != n) {
        fail("verifier: received more bytes than the file holds");
        break;
      }
    } else {
      fill_stream(opt.seed, verified, want.data(), n);
    }
    if (std::memcmp(got.data(), want.data(), n) != 0) {
      std::size_t at = 0;
      while (got[at] == want[at]) ++at;
      char msg[128];
      std::snprintf(msg, sizeof msg, "verifier: MISMATCH at byte %" PRIu64, verified + at);
      fail(msg);
      break;
    }
    verified += n;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_print >= std::chrono::milliseconds(tty ? 100 : 1000) && !opt.quiet) {
      last_print = now;
      const double secs = std::chrono::duration<double>(now - t0).count();
      std::printf("%s  %7.1f / %.1f MiB verified  %7.1f MiB/s  ring fill %3.0f%%%s",
                  tty ? "\r" : "", mib(verified), mib(opt.bytes), mib(verified) / secs,
                  100.0 *
                      static_cast<double>(st.produced.load(std::memory_order_relaxed) -
                                          st.consumed.load(std::memory_order_relaxed)) /
                      static_cast<double>(opt.ring_size),
                  tty ? "" : "\n");
      std::fflush(stdout);
    }
  }
  if (st.failed.load(std::memory_order_acquire)) {
    // Unblock the other threads: closing our read end makes writers see EPIPE.
    b_rd.reset();
  }
  source.join();
  producer.join();
  consumer.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (tty) std::printf("\n");

  if (st.failed.load(std::memory_order_acquire)) {
    std::fprintf(stderr, "ringkit-demo: FAILED: %s\n", st.error.c_str());
    return 1;
  }
  if (verified != opt.bytes) {
    std::fprintf(stderr, "ringkit-demo: FAILED: verified %" PRIu64 " of %" PRIu64 " bytes\n",
                 verified, opt.bytes);
    return 1;
  }
  const std::uint64_t rv = st.readv_calls.load(), wv = st.writev_calls.load();
  std::printf("ringkit-demo: OK  %" PRIu64
              " bytes verified in %.2f s  =  %.1f MiB/s\n"
              "  readv calls %" PRIu64 " (avg %.1f KiB)  writev calls %" PRIu64
              " (avg %.1f KiB, %" PRIu64 " with two segments across the wrap)\n",
              verified, secs, mib(verified) / secs, rv,
              rv ? static_cast<double>(verified) / static_cast<double>(rv) / 1024 : 0.0, wv,
              wv ? static_cast<double>(verified) / static_cast<double>(wv) / 1024 : 0.0,
              st.two_segment_calls.load());
  return 0;
}
